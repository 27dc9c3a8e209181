// Charset conversion through libmime's charset table (iconv-lite underneath, plus the
// Japanese ISO-2022-JP family). The tables are large (several MB of memory), so they
// are loaded on first use: UTF-8 and ASCII text never needs them.
import { isUtf8 } from 'node:buffer';
import { createRequire } from 'node:module';

interface CharsetModule {
  normalizeCharset(name: string): string;
  decode(buf: Buffer, charset: string): string;
}

const require = createRequire(import.meta.url);
let tables: { iconv: typeof import('iconv-lite'); charset: CharsetModule } | null = null;

function lib() {
  tables ??= {
    iconv: require('iconv-lite') as typeof import('iconv-lite'),
    charset: require('libmime/lib/charset.js') as CharsetModule,
  };
  return tables;
}

const JAPANESE = /^(jis|iso-?2022-?jp|eucjp)/i;
const UTF8 = /^utf-?8$/i;
const ASCII = /^(us-?)?ascii$|^ansi_x3\.4-1968$/i;

/** The canonical name for a charset label, or undefined when it is not supported. */
export function knownCharset(label: string): string | undefined {
  const name = label.trim();
  if (name === '') return undefined;
  if (UTF8.test(name)) return 'UTF-8';
  const { iconv, charset } = lib();
  let norm: string;
  try {
    norm = charset.normalizeCharset(name);
  } catch {
    return undefined;
  }
  if (UTF8.test(norm) || JAPANESE.test(norm) || iconv.encodingExists(norm)) return norm;
  return undefined;
}

// windows-1252 is ISO-8859-1 but for 0x80-0x9F; these are its characters there (U+FFFD
// where it has none, as iconv-lite decodes them).
const CP1252_HIGH = '€\ufffd‚ƒ„…†‡ˆ‰Š‹Œ\ufffdŽ\ufffd\ufffd‘’“”•–—˜™š›œ\ufffdžŸ';
const C1 = /[\x80-\x9f]/g;

/**
 * windows-1252, which is also what ISO-8859-1 labels mean (WHATWG Encoding): Node's
 * latin1 decoder with the 0x80-0x9F range mapped, many times faster than a table
 * decoder on large bodies.
 */
function windows1252(data: Buffer): string {
  const s = data.toString('latin1');
  C1.lastIndex = 0;
  if (!C1.test(s)) return s;
  return s.replace(C1, (c) => CP1252_HIGH[c.charCodeAt(0) - 0x80] as string);
}

/** UTF-8 when the bytes are valid UTF-8, windows-1252 (a latin1 superset) otherwise. */
export function utf8OrLatin1(data: Buffer): string {
  return isUtf8(data) ? data.toString('utf8') : windows1252(data);
}

/**
 * Decodes bytes in a known charset; undefined when the charset is not supported.
 * Declared US-ASCII that holds 8-bit bytes is read as UTF-8 or windows-1252.
 */
export function decodeCharset(data: Buffer, label: string): string | undefined {
  const trimmed = label.trim();
  if (ASCII.test(trimmed)) return utf8OrLatin1(data);
  const norm = knownCharset(trimmed);
  if (norm === undefined) return undefined;
  if (UTF8.test(norm)) return data.toString('utf8');
  if (norm === 'windows-1252') return windows1252(data);
  try {
    return lib().charset.decode(data, norm);
  } catch {
    return undefined;
  }
}

/**
 * Text of a body in its declared charset. A missing, US-ASCII or unsupported charset
 * is read as UTF-8 when valid and windows-1252 otherwise.
 */
export function decodeToText(data: Buffer, charset?: string): string {
  if (charset === undefined || charset.trim() === '') return utf8OrLatin1(data);
  return decodeCharset(data, charset) ?? utf8OrLatin1(data);
}
