// Composing messages the server writes itself: RFC 5322 dates and Message-IDs, folded
// header fields, RFC 2047 encoded words and small MIME bodies (RFC 2045, RFC 2046).
import { randomBytes } from 'node:crypto';

/** A value that cannot be put into a message as asked. */
export class ComposeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ComposeError';
  }
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** RFC 5322 §3.3 date-time in UTC, e.g. "Sat, 02 Jan 2027 10:04:05 +0000". */
export function formatDate(d: Date | number): string {
  const t = typeof d === 'number' ? new Date(d) : d;
  const year = t.getUTCFullYear();
  // RFC 5322 §3.3: year = 4*DIGIT, and no year before 1900.
  if (Number.isNaN(year) || year < 1900) throw new ComposeError('date out of range');
  const time = `${pad2(t.getUTCHours())}:${pad2(t.getUTCMinutes())}:${pad2(t.getUTCSeconds())}`;
  const day = DAYS[t.getUTCDay()] as string;
  const month = MONTHS[t.getUTCMonth()] as string;
  return `${day}, ${pad2(t.getUTCDate())} ${month} ${year} ${time} +0000`;
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** Lower-case RFC 4648 base32 without padding: only atext characters. */
function base32(b: Buffer): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const x of b) {
    acc = ((acc << 8) | x) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >>> bits) & 31];
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31];
  return out;
}

// RFC 5322 §3.6.4: id-right is dot-atom-text or a no-fold-literal.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*$/;
const LITERAL = /^\[[\x21-\x5a\x5e-\x7e]*\]$/;

/** A new "<id@hostname>" with 160 random bits (RFC 5322 §3.6.4). */
export function newMessageId(hostname: string): string {
  if (!DOT_ATOM.test(hostname) && !LITERAL.test(hostname)) {
    throw new ComposeError(`hostname not usable in a Message-ID: ${JSON.stringify(hostname)}`);
  }
  return `<${base32(randomBytes(20))}@${hostname}>`;
}

// RFC 5322 §2.2: printable US-ASCII except ":".
const FIELD_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const LINE_LIMIT = 78;

function isWsp(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** Unfolds line breaks before white space and turns other CR and LF into spaces. */
function oneLine(value: string): string {
  if (!value.includes('\r') && !value.includes('\n')) return value;
  return value.replace(/\r?\n(?=[ \t])/g, '').replace(/\r\n|[\r\n]/g, ' ');
}

/**
 * Splits s where a fold may go: before each run of white space that has more text after
 * it (RFC 5322 §2.2.3: a folded line must not be white space only).
 */
function foldChunks(s: string): string[] {
  const chunks: string[] = [];
  let start = 0;
  let i = 1;
  while (i < s.length) {
    if (isWsp(s.charCodeAt(i)) && !isWsp(s.charCodeAt(i - 1))) {
      let j = i;
      while (j < s.length && isWsp(s.charCodeAt(j))) j++;
      if (j < s.length) {
        chunks.push(s.slice(start, i));
        start = i;
      }
      i = j;
    } else i++;
  }
  chunks.push(s.slice(start));
  return chunks;
}

/**
 * "Name: value\r\n", folded before white space so that lines stay within 78 octets where
 * the words allow (RFC 5322 §2.2.3); a longer word keeps a line of its own. CR and LF in
 * the value cannot end the field: a line break before white space is unfolded, any
 * other becomes a space.
 */
export function foldHeader(name: string, value: string): string {
  if (!FIELD_NAME.test(name)) {
    throw new ComposeError(`invalid header field name ${JSON.stringify(name)}`);
  }
  const chunks = foldChunks(' ' + oneLine(value));
  let out = name + ':';
  let len = Buffer.byteLength(out);
  for (let i = 0; i < chunks.length; i++) {
    const c = chunks[i] as string;
    const n = Buffer.byteLength(c);
    if (i > 0 && len + n > LINE_LIMIT) {
      out += '\r\n';
      len = 0;
    }
    out += c;
    len += n;
  }
  return out + '\r\n';
}

// RFC 2047 §5(3): characters that may stand for themselves in a "Q" word anywhere.
const Q_SAFE = /^[A-Za-z0-9!*+\-/]$/;
const HEX = '0123456789ABCDEF';
const Q_PREFIX = '=?utf-8?q?';
const B_PREFIX = '=?utf-8?b?';
// RFC 2047 §2: an encoded word is at most 75 characters.
const MAX_WORD = 75;
const WORD_OVERHEAD = 12;

function qEncode(bytes: Buffer): string {
  let out = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (b === 0x20) out += '_';
    else if (Q_SAFE.test(ch)) out += ch;
    else out += '=' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/** Groups whole characters into encoded-text of at most the given lengths. */
function splitWords(text: string, useQ: boolean, firstMax: number): string[] {
  const words: string[] = [];
  let max = firstMax;
  let q = '';
  let bytes: Buffer[] = [];
  let byteLen = 0;
  const flush = (): void => {
    words.push(useQ ? q : Buffer.concat(bytes, byteLen).toString('base64'));
    q = '';
    bytes = [];
    byteLen = 0;
    max = MAX_WORD - WORD_OVERHEAD;
  };
  for (const ch of text) {
    const b = Buffer.from(ch, 'utf8');
    if (useQ) {
      const e = qEncode(b);
      if (q !== '' && q.length + e.length > max) flush();
      q += e;
    } else {
      if (byteLen > 0 && Math.ceil((byteLen + b.length) / 3) * 4 > max) flush();
      bytes.push(b);
      byteLen += b.length;
    }
  }
  if (q !== '' || byteLen > 0) flush();
  return words;
}

/**
 * Text for an unstructured header field: unchanged when it is printable US-ASCII,
 * otherwise RFC 2047 encoded words in UTF-8 ("Q" or "B", whichever is shorter), each at
 * most 75 characters and never splitting a character. `used` is the number of characters
 * before the text on the first line ("Subject: " is 9), so that the first line stays
 * within 76 characters (RFC 2047 §2). ASCII text that holds "=?" is encoded too, since
 * a reader would otherwise decode it.
 */
export function encodeHeaderWord(text: string, used = 0): string {
  if (/^[\x20-\x7e]*$/.test(text) && !text.includes('=?')) return text;
  const bytes = Buffer.from(text, 'utf8');
  const useQ = qEncode(bytes).length <= Math.ceil(bytes.length / 3) * 4;
  const firstMax = Math.min(MAX_WORD, Math.max(76 - used, 24)) - WORD_OVERHEAD;
  const prefix = useQ ? Q_PREFIX : B_PREFIX;
  return splitWords(text, useQ, firstMax)
    .map((w) => prefix + w + '?=')
    .join(' ');
}

// RFC 2045 §5.1: token characters (no tspecials, SPACE or CTLs).
const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/;

/** "; name=value" parameters, quoted (RFC 2045 §5.1) or RFC 2231 encoded as needed. */
function formatParams(params: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(params)) {
    if (!TOKEN.test(name)) throw new ComposeError(`invalid parameter name ${JSON.stringify(name)}`);
    if (TOKEN.test(value)) out += `; ${name}=${value}`;
    else if (/^[\x20-\x7e]*$/.test(value)) out += `; ${name}="${value.replace(/["\\]/g, '\\$&')}"`;
    else out += `; ${name}*=utf-8''${encodeURIComponent(value).replace(/['()*!]/g, pctEncode)}`;
  }
  return out;
}

function pctEncode(c: string): string {
  return '%' + c.charCodeAt(0).toString(16).toUpperCase();
}

/** Whether CR LF text can go as 7bit: US-ASCII without NUL, lines of ≤ 998 octets. */
function is7bit(text: string): boolean {
  if (!/^[\x01-\x7f]*$/.test(text)) return false;
  let start = 0;
  for (let nl = text.indexOf('\r\n'); nl >= 0; nl = text.indexOf('\r\n', start)) {
    if (nl - start > 998) return false;
    start = nl + 2;
  }
  return text.length - start <= 998;
}

/** One quoted-printable line (RFC 2045 §6.7), soft breaks keeping lines ≤ 76 characters. */
function qpLine(bytes: Buffer, from: number, to: number): string {
  let out = '';
  let len = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i] as number;
    const last = i === to - 1;
    let piece: string;
    if (isWsp(c)) piece = last ? '=' + HEX[c >> 4] + HEX[c & 15] : String.fromCharCode(c);
    else if (c >= 33 && c <= 126 && c !== 61) piece = String.fromCharCode(c);
    else piece = '=' + HEX[c >> 4] + HEX[c & 15];
    // Room for the "=" of a soft break unless this is the line's last piece.
    if (len + piece.length > (last ? 76 : 75)) {
      out += '=\r\n';
      len = 0;
    }
    out += piece;
    len += piece.length;
  }
  return out;
}

function quotedPrintable(bytes: Buffer): Buffer {
  const lines: string[] = [];
  let start = 0;
  for (let nl = bytes.indexOf('\r\n'); nl >= 0; nl = bytes.indexOf('\r\n', start)) {
    lines.push(qpLine(bytes, start, nl));
    start = nl + 2;
  }
  lines.push(qpLine(bytes, start, bytes.length));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** A text/plain entity in UTF-8: 7bit when it can be, else quoted-printable. */
export function textEntity(text: string): { headers: Record<string, string>; body: Buffer } {
  let t = text.replace(/\r\n|\r|\n/g, '\r\n');
  if (!t.endsWith('\r\n')) t += '\r\n';
  const plain = is7bit(t);
  return {
    headers: {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Transfer-Encoding': plain ? '7bit' : 'quoted-printable',
    },
    body: plain ? Buffer.from(t, 'latin1') : quotedPrintable(Buffer.from(t, 'utf8')),
  };
}

// RFC 2046 §5.1.1: boundary characters; the last one must not be a space.
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

export interface BuilderOptions {
  /** A fixed multipart boundary instead of a random one. */
  boundary?: string;
}

interface Entity {
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A small message builder. Header values are used as given and folded. With multipart()
 * the parts become a multipart body; without it the single part's fields join the
 * message header. MIME-Version is added unless set. Lines end in CR LF.
 */
export class MessageBuilder {
  private readonly fields: string[] = [];
  private readonly names = new Set<string>();
  private readonly parts: Entity[] = [];
  private multi: { subtype: string; params: Record<string, string> } | null = null;

  constructor(private readonly opts: BuilderOptions = {}) {}

  header(name: string, value: string): this {
    this.fields.push(foldHeader(name, value));
    this.names.add(name.toLowerCase());
    return this;
  }

  multipart(subtype: string, params: Record<string, string> = {}): this {
    if (!TOKEN.test(subtype)) throw new ComposeError(`invalid multipart subtype ${subtype}`);
    this.multi = { subtype, params };
    return this;
  }

  part(headers: Record<string, string>, body: Buffer): this {
    this.parts.push({ headers, body });
    return this;
  }

  /** Adds a text/plain part in UTF-8 (7bit or quoted-printable). */
  textPart(text: string): this {
    const e = textEntity(text);
    return this.part(e.headers, e.body);
  }

  build(): Buffer {
    const head = [...this.fields];
    if (!this.names.has('mime-version')) head.push(foldHeader('MIME-Version', '1.0'));
    if (this.multi === null) {
      if (this.parts.length > 1) throw new ComposeError('several parts need multipart()');
      const p = this.parts[0];
      if (p === undefined) return Buffer.from(head.join('') + '\r\n', 'utf8');
      for (const [n, v] of Object.entries(p.headers)) head.push(foldHeader(n, v));
      return Buffer.concat([Buffer.from(head.join('') + '\r\n', 'utf8'), p.body]);
    }
    const boundary = this.boundary();
    const params = { ...this.multi.params, boundary };
    head.push(foldHeader('Content-Type', `multipart/${this.multi.subtype}${formatParams(params)}`));
    const out: Buffer[] = [Buffer.from(head.join('') + '\r\n', 'utf8')];
    for (const p of this.parts) {
      let ph = `--${boundary}\r\n`;
      for (const [n, v] of Object.entries(p.headers)) ph += foldHeader(n, v);
      out.push(Buffer.from(ph + '\r\n', 'utf8'), p.body, Buffer.from('\r\n', 'latin1'));
    }
    out.push(Buffer.from(`--${boundary}--\r\n`, 'latin1'));
    return Buffer.concat(out);
  }

  private occursInParts(boundary: string): boolean {
    return this.parts.some((p) => p.body.includes(boundary, 0, 'latin1'));
  }

  /** The fixed boundary, or a random one that no part contains (RFC 2046 §5.1.1). */
  private boundary(): string {
    const fixed = this.opts.boundary;
    if (fixed !== undefined) {
      if (!BOUNDARY.test(fixed))
        throw new ComposeError(`invalid boundary ${JSON.stringify(fixed)}`);
      if (this.occursInParts(fixed)) throw new ComposeError('boundary occurs in a part');
      return fixed;
    }
    for (;;) {
      const b = '=_' + base32(randomBytes(15));
      if (!this.occursInParts(b)) return b;
    }
  }
}
