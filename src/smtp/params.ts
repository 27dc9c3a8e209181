// ESMTP parameters of MAIL and RCPT (RFC 5321 §4.1.2) and the encodings their values
// use: xtext (RFC 3461 §4) and utf-8-addr-xtext / utf-8-addr-unitext (RFC 6533 §3).

export type Param = { key: string; value: string | null };

export class ParamError extends Error {
  constructor(
    message: string,
    readonly duplicate = false,
  ) {
    super(message);
    this.name = 'ParamError';
  }
}

// RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// esmtp-value = 1*(%d33-60 / %d62-126), extended with UTF8-non-ascii by RFC 6531 §3.3.
const VALUE = /^[\x21-\x3c\x3e-\x7e\u0080-\uffff]+$/;

/**
 * Parses SP-separated esmtp-params. Keys are upper-cased, values kept raw. Runs of
 * spaces and leading/trailing spaces are tolerated. Throws ParamError.
 */
export function parseParams(s: string): Param[] {
  const t = s.replace(/^ +| +$/g, '');
  if (t === '') return [];
  const seen = new Set<string>();
  const out: Param[] = [];
  for (const word of t.split(/ +/)) {
    const eq = word.indexOf('=');
    const key = eq < 0 ? word : word.slice(0, eq);
    if (!KEYWORD.test(key)) throw new ParamError('invalid param keyword');
    const value = eq < 0 ? null : word.slice(eq + 1);
    if (value !== null && !VALUE.test(value)) throw new ParamError('invalid param value');
    const upper = key.toUpperCase();
    if (seen.has(upper)) throw new ParamError('duplicate param', true);
    seen.add(upper);
    out.push({ key: upper, value });
  }
  return out;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    throw new ParamError('invalid utf-8 in xtext');
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/**
 * Decodes xtext (RFC 3461 §4): "+XX" is an octet, other chars are 33-126 except "+"
 * and "=". The octets are read as UTF-8. Lower-case hex digits are accepted.
 */
export function decodeXtext(s: string): string {
  if (!s.includes('+')) {
    if (!/^[\x21-\x3c\x3e-\x7e]*$/.test(s)) throw new ParamError('invalid xtext character');
    return s;
  }
  const bytes = new Uint8Array(s.length);
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) {
      const hi = hexValue(s.charCodeAt(i + 1));
      const lo = hexValue(s.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) throw new ParamError('invalid xtext hexchar');
      bytes[n++] = hi * 16 + lo;
      i += 2;
    } else if (c >= 0x21 && c <= 0x7e && c !== 0x3d) {
      bytes[n++] = c;
    } else {
      throw new ParamError('invalid xtext character');
    }
  }
  return decodeUtf8(bytes.subarray(0, n));
}

const HEX = '0123456789ABCDEF';

/** Encodes as xtext (RFC 3461 §4): octets of the UTF-8 form outside 33-126, "+" and "=" become "+XX". */
export function encodeXtext(s: string): string {
  if (/^[\x21-\x2a\x2c-\x3c\x3e-\x7e]*$/.test(s)) return s;
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b >= 0x21 && b <= 0x7e && b !== 0x2b && b !== 0x3d) out += String.fromCharCode(b);
    else out += '+' + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

// RFC 6533 §3: QCHAR = %x21-2a / %x2c-3c / %x3e-5b / %x5d-7e
function isQchar(c: number): boolean {
  return c >= 0x21 && c <= 0x7e && c !== 0x2b && c !== 0x3d && c !== 0x5c;
}

const EMBEDDED = /\\x\{([0-9A-Fa-f]{1,6})\}/y;

/**
 * Decodes utf-8-addr-xtext or utf-8-addr-unitext (RFC 6533 §3): QCHARs, raw non-ASCII
 * (unitext) and "\x{HEX}" escapes. HEXPOINT is accepted in any case and length 1-6;
 * NUL, surrogates and values above U+10FFFF are refused.
 */
export function decodeUtf8AddrXtext(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) {
      EMBEDDED.lastIndex = i;
      const m = EMBEDDED.exec(s);
      if (!m) throw new ParamError('invalid utf-8-addr-xtext escape');
      const cp = parseInt(m[1] as string, 16);
      if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new ParamError('invalid utf-8-addr-xtext code point');
      }
      out += String.fromCodePoint(cp);
      i += m[0].length;
    } else if (isQchar(c) || c >= 0x80) {
      out += s[i];
      i++;
    } else {
      throw new ParamError('invalid utf-8-addr-xtext character');
    }
  }
  return out;
}

function embed(cp: number): string {
  return `\\x{${cp.toString(16).toUpperCase().padStart(2, '0')}}`;
}

function encodeAddr(s: string, keepNonAscii: boolean): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    if (isQchar(cp) || (keepNonAscii && cp >= 0x80)) out += ch;
    else out += embed(cp);
  }
  return out;
}

/** Encodes as utf-8-addr-xtext (RFC 6533 §3): everything but QCHARs becomes "\x{HEX}". */
export function encodeUtf8AddrXtext(s: string): string {
  return encodeAddr(s, false);
}

/** Encodes as utf-8-addr-unitext (RFC 6533 §3): like xtext, but non-ASCII stays raw (needs SMTPUTF8). */
export function encodeUtf8AddrUnitext(s: string): string {
  return encodeAddr(s, true);
}

export type Orcpt = { addrType: string; address: string };

// RFC 3461 §4.2: addr-type is an atom; the whole ORCPT value is at most 500 characters.
const ADDR_TYPE = /^[A-Za-z0-9!#$%&'*+\-/?^_`{|}~]+$/;
const ORCPT_MAX = 500;

/**
 * Parses ORCPT "addr-type;xtext" (RFC 3461 §4.2). addrType is lower-cased; for "utf-8"
 * the address is utf-8-addr-xtext/unitext (RFC 6533 §3), for other types xtext.
 */
export function parseOrcpt(v: string): Orcpt {
  if (v.length > ORCPT_MAX) throw new ParamError('ORCPT too long');
  const semi = v.indexOf(';');
  if (semi < 0) throw new ParamError('ORCPT needs addr-type;address');
  const addrType = v.slice(0, semi).toLowerCase();
  const raw = v.slice(semi + 1);
  if (!ADDR_TYPE.test(addrType)) throw new ParamError('invalid ORCPT addr-type');
  if (raw === '') throw new ParamError('empty ORCPT address');
  const address = addrType === 'utf-8' ? decodeUtf8AddrXtext(raw) : decodeXtext(raw);
  return { addrType, address };
}

/** Formats an ORCPT value, encoding the address for its type. */
export function formatOrcpt(o: Orcpt): string {
  const utf8 = o.addrType.toLowerCase() === 'utf-8';
  return `${o.addrType};${utf8 ? encodeUtf8AddrXtext(o.address) : encodeXtext(o.address)}`;
}

export type NotifyEvent = 'SUCCESS' | 'FAILURE' | 'DELAY';

/** Parses NOTIFY (RFC 3461 §4.1): "NEVER" alone, or a comma list of SUCCESS, FAILURE, DELAY. */
export function parseNotify(v: string): 'NEVER' | NotifyEvent[] {
  const items = v.toUpperCase().split(',');
  if (items.includes('NEVER')) {
    if (items.length !== 1) throw new ParamError('NOTIFY=NEVER cannot be combined');
    return 'NEVER';
  }
  const out: NotifyEvent[] = [];
  for (const item of items) {
    if (item !== 'SUCCESS' && item !== 'FAILURE' && item !== 'DELAY') {
      throw new ParamError('invalid NOTIFY value');
    }
    if (out.includes(item)) throw new ParamError('duplicate NOTIFY value');
    out.push(item);
  }
  return out;
}

/** Parses RET (RFC 3461 §4.3), case-insensitive. */
export function parseRet(v: string): 'FULL' | 'HDRS' {
  const u = v.toUpperCase();
  if (u !== 'FULL' && u !== 'HDRS') throw new ParamError('invalid RET value');
  return u;
}

const ENVID_MAX = 100;

/**
 * Parses ENVID (RFC 3461 §4.4): xtext of at most 100 characters whose decoded form is
 * printable US-ASCII. Returns the decoded envelope id.
 */
export function parseEnvid(v: string): string {
  if (v === '') throw new ParamError('empty ENVID');
  if (v.length > ENVID_MAX) throw new ParamError('ENVID too long');
  const id = decodeXtext(v);
  if (!/^[\x20-\x7e]*$/.test(id)) throw new ParamError('ENVID must be printable ASCII');
  return id;
}

/** Parses SIZE (RFC 1870 §6): 1 to 20 digits. Values beyond 2^53 are clamped. */
export function parseSize(v: string): number {
  if (!/^[0-9]{1,20}$/.test(v)) throw new ParamError('invalid SIZE value');
  return Math.min(Number(v), Number.MAX_SAFE_INTEGER);
}

/** Parses BODY (RFC 6152 §2): 7BIT or 8BITMIME, case-insensitive. */
export function parseBody(v: string): '7BIT' | '8BITMIME' {
  const u = v.toUpperCase();
  if (u !== '7BIT' && u !== '8BITMIME') throw new ParamError('invalid BODY value');
  return u;
}
