// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable US-ASCII stands for
// itself, "&-" is "&", and other characters are UTF-16 in modified base64 between "&"
// and "-" (alphabet with "," for "/", no padding).

/** Thrown for a mailbox name that is not valid modified UTF-7. */
export class Utf7Error extends Error {
  override readonly name = 'Utf7Error';
  constructor(
    message: string,
    /** Offset in the input where the problem is. */
    readonly position: number,
  ) {
    super(message);
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

function printable(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

function isHigh(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

function encodeUnits(units: readonly number[]): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const u of units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += ALPHABET[(acc >> bits) & 0x3f];
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(acc << (6 - bits)) & 0x3f];
  return out;
}

/**
 * Encodes a mailbox name. Runs of characters outside printable US-ASCII become one
 * shift sequence. Throws Utf7Error for an unpaired surrogate (not valid Unicode).
 */
export function encodeMailboxName(s: string): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (printable(c)) {
      out += c === 0x26 ? '&-' : s[i];
      i++;
      continue;
    }
    const units: number[] = [];
    while (i < s.length && !printable(s.charCodeAt(i))) {
      const u = s.charCodeAt(i);
      if (isHigh(u) && isLow(s.charCodeAt(i + 1))) {
        units.push(u, s.charCodeAt(i + 1));
        i += 2;
        continue;
      }
      if (isHigh(u) || isLow(u)) throw new Utf7Error('unpaired surrogate in mailbox name', i);
      units.push(u);
      i++;
    }
    out += '&' + encodeUnits(units) + '-';
  }
  return out;
}

/** Decodes the base64 between "&" (at start - 1) and "-" (at end) into UTF-16 units. */
function decodeUnits(s: string, start: number, end: number): number[] {
  const units: number[] = [];
  let acc = 0;
  let bits = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? (VALUE[c] as number) : -1;
    if (v < 0)
      throw new Utf7Error(`invalid character ${JSON.stringify(s[i])} in modified base64`, i);
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 16) {
      bits -= 16;
      units.push((acc >> bits) & 0xffff);
    }
  }
  // RFC 2152: at most the bits of one partial character remain, and they are zero.
  if (bits >= 8) throw new Utf7Error('odd number of bytes in modified base64', end);
  if ((acc & ((1 << bits) - 1)) !== 0) throw new Utf7Error('non-zero padding bits', end);
  return units;
}

function unitsToString(units: readonly number[], start: number): string {
  let allPrintable = true;
  for (let k = 0; k < units.length; k++) {
    const u = units[k] as number;
    if (isHigh(u)) {
      if (!isLow(units[k + 1] ?? 0)) throw new Utf7Error('unpaired high surrogate', start);
      k++;
    } else if (isLow(u)) throw new Utf7Error('unpaired low surrogate', start);
    if (!printable(u)) allPrintable = false;
  }
  if (units.length === 0) throw new Utf7Error('incomplete modified base64', start);
  if (allPrintable) {
    throw new Utf7Error('shift sequence encodes only printable US-ASCII', start - 1);
  }
  let out = '';
  for (let k = 0; k < units.length; k += 4096) {
    out += String.fromCharCode(...units.slice(k, k + 4096));
  }
  return out;
}

/**
 * Decodes a modified UTF-7 mailbox name. Throws Utf7Error for anything not in canonical
 * form: characters outside printable US-ASCII, an unterminated or malformed shift
 * sequence, one that encodes only printable US-ASCII, or one that directly follows
 * another (the two must be one sequence).
 */
export function decodeMailboxName(s: string): string {
  let out = '';
  let lastShiftEnd = -2;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!printable(c)) {
      throw new Utf7Error('character outside printable US-ASCII in mailbox name', i);
    }
    if (c !== 0x26) {
      out += s[i];
      i++;
      continue;
    }
    const dash = s.indexOf('-', i + 1);
    if (dash < 0) throw new Utf7Error('unterminated shift sequence', i);
    if (dash === i + 1) {
      out += '&';
      i = dash + 1;
      continue;
    }
    if (lastShiftEnd === i - 1) {
      throw new Utf7Error('shift sequence directly after another', i);
    }
    out += unitsToString(decodeUnits(s, i + 1, dash), i + 1);
    lastShiftEnd = dash;
    i = dash + 1;
  }
  return out;
}
