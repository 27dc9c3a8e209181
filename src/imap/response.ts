// Encoding values for IMAP responses (RFC 9051 §4, §9): strings as atoms, quoted strings
// or literals; mailbox names in modified UTF-7 unless UTF-8 was enabled; flag lists.
//
// Response text is built as byte strings: every character is one octet (UTF-8 already
// encoded), and the connection writes them as latin1. Helpers here return byte strings.
import { encodeMailboxName } from '../message/index.js';
import { flagNames } from '../store/index.js';

/** Longest string sent quoted; longer ones go as literals. */
const QUOTED_MAX = 1024;

export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, '\\$&') + '"';
}

/**
 * A string: quoted when possible, else a literal (RFC 9051 §4.3). Quoted strings carry
 * no CR, LF or NUL, and 8-bit characters only with UTF-8 (RFC 9051 §9 quoted, RFC 6855).
 * Literals carry no NUL either (CHAR8): text such as a header value stored with one gets
 * U+FFFD in its place. One pass over the characters decides: most strings are short
 * plain ASCII and are returned in quotes without further work.
 */
export function str(s0: string | Buffer, utf8: boolean): string {
  if (typeof s0 !== 'string') return bufferStr(s0);
  const s = s0.includes('\0') ? s0.replaceAll('\0', '\ufffd') : s0;
  const n = s.length;
  if (n > QUOTED_MAX) return stringLiteral(s);
  let escape = false;
  let wide = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) {
      if (c === 0x22 || c === 0x5c) escape = true;
    } else if (c >= 0x80) {
      if (!utf8) return stringLiteral(s);
      wide = true;
    } else if (c === 0x0d || c === 0x0a) return stringLiteral(s);
  }
  const q = escape ? quote(s) : '"' + s + '"';
  return wide ? Buffer.from(q, 'utf8').toString('latin1') : q;
}

/** A JS string as a literal of its UTF-8 encoding. */
function stringLiteral(s: string): string {
  const b = Buffer.from(s, 'utf8');
  return `{${b.length}}\r\n${b.toString('latin1')}`;
}

/** Raw octets: quoted when 7-bit without CR, LF or NUL, else a literal, NUL as 0x80. */
function bufferStr(b: Buffer): string {
  const text = b.toString('latin1');
  if (b.includes(0)) return `{${b.length}}\r\n${text.replaceAll('\0', '\x80')}`;
  if (b.length > QUOTED_MAX) return `{${b.length}}\r\n${text}`;
  for (let i = 0; i < b.length; i++) {
    const c = b[i] as number;
    if (c >= 0x80 || c === 0x0d || c === 0x0a) return `{${b.length}}\r\n${text}`;
  }
  return quote(text);
}

export function nstr(s: string | Buffer | null | undefined, utf8: boolean): string {
  return s === null || s === undefined ? 'NIL' : str(s, utf8);
}

const ATOM_SAFE = /^[!#$&'+,\-./0-9:;<=>?@A-Z[^_`a-z|}~]+$/;

/** An astring: a bare atom when it is one, else a string. */
export function astr(s: string, utf8: boolean): string {
  if (ATOM_SAFE.test(s) && s.toUpperCase() !== 'NIL') return s;
  return str(s, utf8);
}

/** A mailbox name for a response. */
export function mailboxName(name: string, utf8: boolean): string {
  const n = utf8 ? name : encodeMailboxName(name);
  // Quote always: names like "Sent Items" or with "]" are common; quoting is always valid.
  return str(n, utf8);
}

/** "(\Seen \Flagged kw)" from flag bits and keywords. */
export function flagList(bits: number, keywords: readonly string[], recent = false): string {
  const names = [...flagNames(bits), ...keywords];
  if (recent) names.unshift('\\Recent');
  return '(' + names.join(' ') + ')';
}

/** A JS (Unicode) string as a byte string of its UTF-8 encoding. */
export function bytes(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}

/** A byte string as the octets to send. */
export function toWire(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}

/**
 * The MAILBOXID of a mailbox (RFC 8474 §4): its row, which a rename keeps, and its
 * UIDVALIDITY, so a mailbox deleted and created again under the same name gets another.
 */
export function mailboxObjectId(mb: { id: number; uidvalidity: number }): string {
  return `F${mb.id.toString(36)}-${mb.uidvalidity.toString(36)}`;
}

/**
 * The EMAILID of a message (RFC 8474 §5.1): its row, which a MOVE keeps (the row goes
 * to the new mailbox) and which is never given to another message.
 */
export function emailObjectId(rowId: number): string {
  return `M${rowId.toString(36)}`;
}

/** The THREADID of a thread (RFC 8474 §5.2): its id, the row id of its first message. */
export function threadObjectId(threadId: number): string {
  return `T${threadId.toString(36)}`;
}
