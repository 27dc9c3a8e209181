// Encoding values for IMAP responses (RFC 9051 §4, §9): strings as atoms, quoted strings
// or literals; mailbox names in modified UTF-7 unless UTF-8 was enabled; flag lists.
//
// Response text is built as byte strings: every character is one octet (UTF-8 already
// encoded), and the connection writes them as latin1. Helpers here return byte strings.
import { encodeMailboxName } from '../message/index.js';
import { flagNames } from '../store/index.js';

/** True when s can be sent as a quoted string (no CR, LF, NUL; 8-bit only with UTF-8). */
function quotable(s: string, utf8: boolean): boolean {
  if (s.length > 1024) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0d || c === 0x0a) return false;
    if (c >= 0x80 && !utf8) return false;
  }
  return true;
}

export function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, (c) => '\\' + c) + '"';
}

/** A string: quoted when possible, else a literal (RFC 9051 §4.3). */
export function str(s: string | Buffer, utf8: boolean): string {
  if (typeof s === 'string') {
    if (quotable(s, utf8)) return bytes(quote(s));
    const b = Buffer.from(s, 'utf8');
    return `{${b.length}}\r\n${b.toString('latin1')}`;
  }
  const text = s.toString('latin1');
  if (quotable(text, false)) return quote(text);
  return `{${s.length}}\r\n${text}`;
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
export function flagList(bits: number, keywords: string[]): string {
  return '(' + [...flagNames(bits), ...keywords].join(' ') + ')';
}

/** A JS (Unicode) string as a byte string of its UTF-8 encoding. */
export function bytes(s: string): string {
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}

/** A byte string as the octets to send. */
export function toWire(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
