// Decoding of header and body content: RFC 2047 encoded words, RFC 2045 §5.1 structured
// values with RFC 2231 parameters, and content-transfer-encodings (RFC 2045 §6).
import { decodeCharset, knownCharset, utf8OrLatin1 } from './charset.js';

export { decodeToText, knownCharset } from './charset.js';

// RFC 2047 §2: =?charset?encoding?encoded-text?= (charset may carry an RFC 2231 *language).
const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;
const B_TEXT = /^[A-Za-z0-9+/]*={0,2}$/;
const Q_TEXT = /^(?:[^=]|=[0-9A-Fa-f]{2})*$/;
const ONLY_SPACE = /^[ \t\r\n]*$/;

function decodeWordBytes(encoding: string, text: string): Buffer | undefined {
  if (encoding === 'b' || encoding === 'B') {
    if (!B_TEXT.test(text)) return undefined;
    const data = text.replace(/=+$/, '');
    if (data.length % 4 === 1) return undefined;
    return Buffer.from(data, 'base64');
  }
  // RFC 2047 §4.2: "_" is a space, "=XX" a byte.
  if (!Q_TEXT.test(text)) return undefined;
  const out = Buffer.allocUnsafe(text.length);
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5f) out[o++] = 0x20;
    else if (c === 0x3d) {
      out[o++] = parseInt(text.slice(i + 1, i + 3), 16);
      i += 2;
    } else if (c > 0x7e)
      return undefined; // RFC 2047 §5: encoded-text is US-ASCII
    else out[o++] = c;
  }
  return out.subarray(0, o);
}

/**
 * Decodes RFC 2047 encoded words in a header value. White space between adjacent encoded
 * words is dropped (§6.2) and adjacent words in one charset are decoded together, so a
 * character split over two words survives. Malformed words and words in unsupported
 * charsets are left as they are.
 */
export function decodeEncodedWords(s: string): string {
  if (!s.includes('=?')) return s;
  let out = '';
  let last = 0;
  let runCharset = '';
  let runBytes: Buffer[] = [];
  const flush = (): void => {
    if (runBytes.length === 0) return;
    const data = runBytes.length === 1 ? (runBytes[0] as Buffer) : Buffer.concat(runBytes);
    out += decodeCharset(data, runCharset) ?? utf8OrLatin1(data);
    runBytes = [];
  };
  for (const m of s.matchAll(ENCODED_WORD)) {
    const gap = s.slice(last, m.index);
    last = m.index + m[0].length;
    // RFC 2231 §5: a language may follow the charset after "*".
    const label = (m[1] as string).split('*')[0] as string;
    const charset = knownCharset(label);
    const bytes =
      charset === undefined ? undefined : decodeWordBytes(m[2] as string, m[3] as string);
    if (charset === undefined || bytes === undefined) {
      flush();
      out += gap + m[0];
      continue;
    }
    const adjacent = runBytes.length > 0 && ONLY_SPACE.test(gap);
    if (!adjacent || charset !== runCharset) {
      flush();
      if (!adjacent) out += gap;
      runCharset = charset;
    }
    runBytes.push(bytes);
  }
  flush();
  return out + s.slice(last);
}

/** Unfolds a raw header value (RFC 5322 §2.2.3), decodes encoded words and trims it. */
export function decodeHeaderValue(value: string | Buffer): string {
  const s = typeof value === 'string' ? value : utf8OrLatin1(value);
  return decodeEncodedWords(s.replace(/\r?\n(?=[ \t])/g, '')).trim();
}

/** A structured header value such as Content-Type or Content-Disposition. */
export interface StructuredValue {
  /** The value before the first ";", comments removed and white space trimmed (case kept). */
  value: string;
  /** Lower-cased parameter names to decoded values, in order of first appearance. */
  params: Record<string, string>;
}

interface RawParam {
  name: string;
  value: string;
}

function skipComment(s: string, i: number): number {
  // RFC 5322 §3.2.2: comments nest and may hold quoted pairs.
  let depth = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return i;
}

function readQuoted(s: string, i: number): { text: string; next: number } {
  let text = '';
  for (i++; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '"') return { text, next: i + 1 };
    if (c === '\\' && i + 1 < s.length) text += s[++i];
    else text += c;
  }
  return { text, next: i };
}

/** Drops a comment that follows white space at the end: "us-ascii (Plain text)". */
function dropTrailingComment(v: string): string {
  if (!v.endsWith(')')) return v;
  const open = v.lastIndexOf('(');
  if (open <= 0 || !/\s/.test(v[open - 1] as string)) return v;
  if (v.indexOf(')', open) !== v.length - 1) return v;
  return v.slice(0, open).trim();
}

/** RFC 2045 §5.1: the value before the parameters, and the raw parameter list. */
function splitParams(s: string): { value: string; params: RawParam[] } {
  let value = '';
  let i = 0;
  while (i < s.length && s[i] !== ';') {
    const c = s[i] as string;
    if (c === '(') i = skipComment(s, i);
    else if (c === '"') {
      const q = readQuoted(s, i);
      value += q.text;
      i = q.next;
    } else {
      value += c;
      i++;
    }
  }
  // White space may surround the "/" of a media type, but not split a token.
  value = value
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/ ?\/ ?/, '/');
  const params: RawParam[] = [];
  while (i < s.length) {
    i++; // the ";"
    let eq = i;
    while (eq < s.length && s[eq] !== '=' && s[eq] !== ';') eq++;
    const name = s.slice(i, eq).replace(/\s+/g, '').toLowerCase();
    i = eq;
    if (s[i] !== '=') continue;
    i++;
    while (i < s.length && /\s/.test(s[i] as string)) i++;
    let v: string;
    if (s[i] === '"') {
      const q = readQuoted(s, i);
      v = q.text;
      i = q.next;
      while (i < s.length && s[i] !== ';') i++;
    } else {
      const semi = s.indexOf(';', i);
      const stop = semi < 0 ? s.length : semi;
      v = dropTrailingComment(s.slice(i, stop).trim());
      i = stop;
    }
    if (name !== '') params.push({ name, value: v });
  }
  return { value, params };
}

function percentDecode(s: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else for (const b of Buffer.from(s[i] as string, 'utf8')) bytes.push(b);
  }
  return Buffer.from(bytes);
}

interface Segment {
  value: string;
  encoded: boolean;
}

/** RFC 2231 §3-4: joins continuations and decodes charset'language'value. */
function joinExtended(segments: Map<number, Segment>): string {
  const order = [...segments.keys()].sort((a, b) => a - b);
  let charset = '';
  const bytes: Buffer[] = [];
  order.forEach((n, idx) => {
    const seg = segments.get(n) as Segment;
    let v = seg.value;
    if (idx === 0 && seg.encoded) {
      const m = /^([^']*)'[^']*'(.*)$/s.exec(v);
      if (m) {
        charset = m[1] as string;
        v = m[2] as string;
      }
    }
    bytes.push(seg.encoded ? percentDecode(v) : Buffer.from(v, 'utf8'));
  });
  const data = Buffer.concat(bytes);
  return (charset ? decodeCharset(data, charset) : undefined) ?? utf8OrLatin1(data);
}

function setOwn(obj: Record<string, string>, key: string, value: string): void {
  // A "__proto__" parameter must become a plain own property.
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Parses a structured value with parameters (RFC 2045 §5.1), joining RFC 2231
 * continuations and decoding their charsets. Plain values that hold RFC 2047 encoded
 * words (a common non-standard practice for file names) are decoded too, except the
 * multipart boundary. For repeated parameters the first one wins; an RFC 2231 form wins
 * over a plain one of the same name.
 */
export function parseStructuredValue(s: string): StructuredValue {
  const split = splitParams(s);
  const order: string[] = [];
  const plain = new Map<string, string>();
  const extended = new Map<string, Map<number, Segment>>();
  for (const p of split.params) {
    const m = /^(.*?)(?:\*(\d{1,5}))?(\*)?$/.exec(p.name) as RegExpExecArray;
    const base = m[1] as string;
    const star = m[2] !== undefined || m[3] !== undefined;
    if (base === '') continue;
    if (!plain.has(base) && !extended.has(base)) order.push(base);
    if (!star) {
      if (!plain.has(base)) plain.set(base, p.value);
      continue;
    }
    let segs = extended.get(base);
    if (!segs) extended.set(base, (segs = new Map()));
    const n = m[2] === undefined ? 0 : Number(m[2]);
    if (!segs.has(n)) segs.set(n, { value: p.value, encoded: m[3] !== undefined });
  }
  const params: Record<string, string> = {};
  for (const name of order) {
    const segs = extended.get(name);
    if (segs) setOwn(params, name, joinExtended(segs));
    else {
      const v = plain.get(name) as string;
      setOwn(params, name, name === 'boundary' ? v : decodeEncodedWords(v));
    }
  }
  return { value: split.value, params };
}

/** Result of content-transfer decoding. */
export interface TransferDecoded {
  data: Buffer;
  /** False when the encoding is unknown or the data is not validly encoded. */
  ok: boolean;
}

const IDENTITY = new Set(['', '7bit', '8bit', 'binary']);

/** Whether decodeTransfer understands this Content-Transfer-Encoding. */
export function knownTransferEncoding(encoding: string): boolean {
  const e = encoding.trim().toLowerCase();
  return IDENTITY.has(e) || e === 'base64' || e === 'quoted-printable';
}

// Base64 alphabet values; -1 invalid, -2 white space, -3 padding.
const B64 = new Int8Array(256).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  .split('')
  .forEach((c, i) => (B64[c.charCodeAt(0)] = i));
for (const c of [0x20, 0x09, 0x0d, 0x0a]) B64[c] = -2;
B64[0x3d] = -3;

/**
 * RFC 2045 §6.8 base64. Line breaks and white space are ignored; missing padding and
 * several padded segments in a row are accepted; other characters, a stray "=" and a
 * dangling single character make the result not ok.
 */
export function decodeBase64(data: Buffer): TransferDecoded {
  const out = Buffer.allocUnsafe(Math.floor((data.length * 3) / 4) + 3);
  let o = 0;
  let acc = 0;
  let n = 0;
  let padded = false;
  let ok = true;
  for (let i = 0; i < data.length; i++) {
    const v = B64[data[i] as number] as number;
    if (v >= 0) {
      padded = false;
      acc = (acc << 6) | v;
      if (++n === 4) {
        out[o++] = (acc >> 16) & 0xff;
        out[o++] = (acc >> 8) & 0xff;
        out[o++] = acc & 0xff;
        n = 0;
        acc = 0;
      }
    } else if (v === -3) {
      if (n >= 2) {
        out[o++] = (acc >> (n === 2 ? 4 : 10)) & 0xff;
        if (n === 3) out[o++] = (acc >> 2) & 0xff;
        n = 0;
        acc = 0;
        padded = true;
      } else if (!(n === 0 && padded)) {
        ok = false;
        n = 0;
        acc = 0;
      }
    } else if (v === -1) ok = false;
  }
  if (n === 1) ok = false;
  else if (n >= 2) {
    out[o++] = (acc >> (n === 2 ? 4 : 10)) & 0xff;
    if (n === 3) out[o++] = (acc >> 2) & 0xff;
  }
  return { data: out.subarray(0, o), ok };
}

function hexValue(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

function skipSpace(data: Buffer, i: number): number {
  while (i < data.length && (data[i] === 0x20 || data[i] === 0x09)) i++;
  return i;
}

/** Whether a line break (CR LF or LF) or the end of the data is at j. */
function atBreak(data: Buffer, j: number): boolean {
  return j === data.length || data[j] === 0x0a || (data[j] === 0x0d && data[j + 1] === 0x0a);
}

/**
 * RFC 2045 §6.7 quoted-printable. "=XX" (either case) is a byte, "=" before a line break
 * (after optional white space) is a soft break, white space at line ends is removed.
 * Any other "=" is kept literally and makes the result not ok.
 */
export function decodeQuotedPrintable(data: Buffer): TransferDecoded {
  const out = Buffer.allocUnsafe(data.length);
  let o = 0;
  let ok = true;
  let i = 0;
  while (i < data.length) {
    const c = data[i] as number;
    if (c === 0x3d) {
      const h = hexValue(data[i + 1]);
      const l = hexValue(data[i + 2]);
      if (h >= 0 && l >= 0) {
        out[o++] = (h << 4) | l;
        i += 3;
        continue;
      }
      const br = skipSpace(data, i + 1);
      if (atBreak(data, br)) {
        // Soft line break: skip the padding and the break itself.
        i = br === data.length ? br : data[br] === 0x0d ? br + 2 : br + 1;
        continue;
      }
      ok = false;
      out[o++] = c;
      i++;
    } else if (c === 0x20 || c === 0x09) {
      const j = skipSpace(data, i);
      if (!atBreak(data, j)) o += data.copy(out, o, i, j);
      i = j;
    } else {
      out[o++] = c;
      i++;
    }
  }
  return { data: out.subarray(0, o), ok };
}

/**
 * Undoes a Content-Transfer-Encoding. 7bit, 8bit, binary and none return the data as is.
 * Unknown encodings return the data unchanged with ok = false (IMAP answers those
 * with UNKNOWN-CTE, RFC 3516 §4.3); use knownTransferEncoding to tell the two apart.
 */
export function decodeTransfer(encoding: string, data: Buffer): TransferDecoded {
  const e = encoding.trim().toLowerCase();
  if (IDENTITY.has(e)) return { data, ok: true };
  if (e === 'base64') return decodeBase64(data);
  if (e === 'quoted-printable') return decodeQuotedPrintable(data);
  return { data, ok: false };
}
