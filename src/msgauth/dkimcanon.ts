// DKIM canonicalization (RFC 6376 §3.4) shared by the signer and the verifiers (DKIM and
// ARC, RFC 8617 §4.1.2, §4.1.3): splitting a message into its header fields and body, the
// "simple" and "relaxed" header algorithms, and the body algorithms as one pass over the
// bytes that feeds every hash wanted of it (one per hash algorithm and l= length), so a
// body is canonicalized once per algorithm however many signatures name it.
import { createHash, type Hash } from 'node:crypto';

/** A header field: lower-case name and its text (latin1, folded lines joined by CRLF). */
export interface Field {
  name: string;
  text: string;
}

/** Finds the end of the header section across chunks: the LF of the empty line. */
export class HeaderEndScanner {
  // 1: after LF (or at message start), 2: after LF CR, 0: elsewhere.
  private state = 1;

  /** Index just past the header section in `chunk`, or -1 when not yet found. */
  push(chunk: Uint8Array): number {
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 0x0a) {
        if (this.state !== 0) return i + 1;
        this.state = 1;
      } else if (c === 0x0d && this.state === 1) this.state = 2;
      else this.state = 0;
    }
    return -1;
  }
}

/**
 * The header fields of a header section, in order. A line without a colon (not a field,
 * RFC 5322 §2.2) is skipped with its continuation lines; a bare LF ends a line as CRLF does.
 */
export function parseFields(header: Buffer): Field[] {
  const out: Field[] = [];
  const s = header.toString('latin1');
  let current: Field | undefined;
  let skipping = false;
  let pos = 0;
  while (pos < s.length) {
    let nl = s.indexOf('\n', pos);
    if (nl < 0) nl = s.length;
    const end = nl > pos && s.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
    const first = s.charCodeAt(pos);
    if (end > pos && (first === 0x20 || first === 0x09)) {
      if (current) current.text += '\r\n' + s.slice(pos, end);
    } else if (end === pos) {
      current = undefined;
      skipping = false;
    } else {
      const colon = s.indexOf(':', pos);
      current = undefined;
      skipping = colon < 0 || colon >= end || colon === pos;
      if (!skipping) {
        current = { name: asciiLower(trimWspEnd(s.slice(pos, colon))), text: s.slice(pos, end) };
        out.push(current);
      }
    }
    pos = nl + 1;
  }
  return out;
}

/** Fields by lower-case name, each list in header order. */
export function fieldsByName(fields: readonly Field[]): Map<string, Field[]> {
  const byName = new Map<string, Field[]>();
  for (const f of fields) {
    const list = byName.get(f.name);
    if (list) list.push(f);
    else byName.set(f.name, [f]);
  }
  return byName;
}

export function asciiLower(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

function trimWspEnd(s: string): string {
  let e = s.length;
  while (e > 0 && (s.charCodeAt(e - 1) === 0x20 || s.charCodeAt(e - 1) === 0x09)) e--;
  return e === s.length ? s : s.slice(0, e);
}

/** RFC 6376 §3.4.2 "relaxed" header canonicalization, without the trailing CRLF. */
export function relaxedField(text: string): string {
  const colon = text.indexOf(':');
  const name = asciiLower(text.slice(0, colon).replace(/[ \t]+$/, ''));
  const value = text
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}`;
}

/** A header field canonicalized by `canon`, without the trailing CRLF (RFC 6376 §3.4.1). */
export function canonField(canon: 'simple' | 'relaxed', text: string): string {
  return canon === 'relaxed' ? relaxedField(text) : text;
}

/**
 * A signature header field with its b= value deleted, surrounding whitespace included
 * (RFC 6376 §3.7; the same for ARC, RFC 8617 §4.1.2, §4.1.3). Only the tag named exactly
 * "b" is emptied: "bh=" and a "b" inside another tag's value are left alone.
 */
export function withoutB(text: string): string {
  const colon = text.indexOf(':');
  let start = colon + 1;
  while (start <= text.length) {
    let semi = text.indexOf(';', start);
    if (semi < 0) semi = text.length;
    const eq = text.indexOf('=', start);
    if (eq >= 0 && eq < semi && text.slice(start, eq).replace(/[ \t\r\n]+/g, '') === 'b') {
      return text.slice(0, eq + 1) + text.slice(semi);
    }
    start = semi + 1;
  }
  return text;
}

export type BodyCanon = 'simple' | 'relaxed';

/** One body hash to compute: the canonical body's first `limit` bytes (all when undefined). */
export interface BodyHashWanted {
  algorithm: 'sha256';
  limit: number | undefined;
}

/** A computed body hash; `length` is the whole canonical body's length. */
export interface BodyHashResult {
  digest: string;
  /** Bytes hashed: `limit` when the canonical body reached it, else the whole body. */
  hashed: number;
  length: number;
}

interface Sink {
  hash: Hash;
  limit: number;
  hashed: number;
}

const OUT_SIZE = 64 * 1024;
// Canonical bytes are gathered here and handed to the hashes before update() or finish()
// returns, so every canonicalizer can share it (no allocation per message).
const out = Buffer.allocUnsafe(OUT_SIZE);
const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const TAB = 0x09;

/**
 * Canonicalizes a body in chunks (RFC 6376 §3.4.3 simple, §3.4.4 relaxed) into hashes.
 * Lines end at LF, a CR before it dropped; a CR elsewhere is line content. Empty lines at
 * the end are held back until content follows, so they never reach the hash.
 */
export class BodyCanonicalizer {
  private readonly sinks: Sink[];
  private total = 0;
  private pendingEmpty = 0;
  private pendingWsp = false;
  private pendingCR = false;
  private lineHasContent = false;

  constructor(
    readonly canon: BodyCanon,
    wanted: readonly BodyHashWanted[],
  ) {
    this.sinks = wanted.map((w) => ({
      hash: createHash(w.algorithm),
      limit: w.limit ?? Infinity,
      hashed: 0,
    }));
  }

  private flush(n: number): void {
    if (n === 0) return;
    for (const s of this.sinks) {
      const take = Math.min(n, s.limit - s.hashed);
      if (take <= 0) continue;
      s.hash.update(out.subarray(0, take));
      s.hashed += take;
    }
    this.total += n;
  }

  update(chunk: Uint8Array): void {
    const relaxed = this.canon === 'relaxed';
    // The state in locals for the loop; written back at the end.
    let n = 0;
    let pendingEmpty = this.pendingEmpty;
    let pendingWsp = this.pendingWsp;
    let pendingCR = this.pendingCR;
    let content = this.lineHasContent;
    const len = chunk.length;
    for (let i = 0; i < len; i++) {
      let c = chunk[i] as number;
      if (n > OUT_SIZE - 8) {
        this.flush(n);
        n = 0;
      }
      if (pendingCR) {
        pendingCR = false;
        if (c === LF) {
          // End of line: trailing whitespace dropped, an empty line held back.
          pendingWsp = false;
          if (content) {
            out[n++] = CR;
            out[n++] = LF;
            content = false;
          } else pendingEmpty++;
          continue;
        }
        // A CR not before LF is content; `c` is handled after it.
        i--;
        c = CR;
      } else if (c === CR) {
        pendingCR = true;
        continue;
      } else if (c === LF) {
        pendingWsp = false;
        if (content) {
          out[n++] = CR;
          out[n++] = LF;
          content = false;
        } else pendingEmpty++;
        continue;
      } else if (relaxed && (c === SP || c === TAB)) {
        pendingWsp = true;
        continue;
      }
      if (!content) {
        for (; pendingEmpty > 0; pendingEmpty--) {
          if (n > OUT_SIZE - 8) {
            this.flush(n);
            n = 0;
          }
          out[n++] = CR;
          out[n++] = LF;
        }
        content = true;
      }
      if (pendingWsp) {
        pendingWsp = false;
        out[n++] = SP;
      }
      out[n++] = c;
    }
    this.flush(n);
    this.pendingEmpty = pendingEmpty;
    this.pendingWsp = pendingWsp;
    this.pendingCR = pendingCR;
    this.lineHasContent = content;
  }

  /** The hashes, in the order asked for. No more updates after this. */
  finish(): BodyHashResult[] {
    // A last line without CRLF gets one; RFC 6376 §3.4.3: an empty body is one CRLF in
    // "simple", and nothing in "relaxed" (§3.4.4, erratum 1384). Whitespace ending such a
    // line is kept as one space, as dkimpy and mailauth do: they add the CRLF after
    // canonicalizing, and a signer using them signs it so.
    let n = 0;
    if (this.lineHasContent || this.pendingWsp || this.pendingCR) {
      if (!this.lineHasContent) {
        for (; this.pendingEmpty > 0; this.pendingEmpty--) {
          if (n > OUT_SIZE - 8) {
            this.flush(n);
            n = 0;
          }
          out[n++] = CR;
          out[n++] = LF;
        }
      }
      if (this.pendingWsp) out[n++] = SP;
      if (this.pendingCR) out[n++] = CR;
      out[n++] = CR;
      out[n++] = LF;
    } else if (this.canon === 'simple' && this.total === 0) {
      out[n++] = CR;
      out[n++] = LF;
    }
    this.flush(n);
    this.pendingWsp = this.pendingCR = this.lineHasContent = false;
    return this.sinks.map((s) => ({
      digest: s.hash.digest('base64'),
      hashed: s.hashed,
      length: this.total,
    }));
  }
}

const HASH_SLICE = 256 * 1024;
const CRLF = Buffer.from('\r\n');
const SPACE_CRLF = Buffer.from(' \r\n');
const TWO_SPACES = Buffer.from('  ');

/** Whether every CR and LF of a body is part of a CRLF. Native searches only: no copy. */
function onlyCRLF(body: Buffer): boolean {
  let lfs = 0;
  for (let i = body.indexOf(LF); i >= 0; i = body.indexOf(LF, i + 1)) {
    if (i === 0 || body[i - 1] !== CR) return false;
    lfs++;
  }
  let crs = 0;
  for (let i = body.indexOf(CR); i >= 0 && crs <= lfs; i = body.indexOf(CR, i + 1)) crs++;
  return crs === lfs;
}

/**
 * Whether relaxed canonicalization would change a body whose line ends are all CRLF: a
 * tab, two spaces in a row, or a space ending a line. (A single space ending the body
 * stays, before the CRLF added after it.)
 */
function relaxedChanges(body: Buffer): boolean {
  return body.includes(TAB) || body.includes(TWO_SPACES) || body.includes(SPACE_CRLF);
}

/**
 * The canonical form of a body that is its own bytes up to `end` (its trailing CRLFs cut),
 * then CRLF when `crlf`; null when canonicalization changes more. Most bodies sent over
 * SMTP are so, and then the bytes are hashed as they are, without a pass in JavaScript.
 */
function asIs(canon: BodyCanon, body: Buffer): { end: number; crlf: boolean } | null {
  if (!onlyCRLF(body) || (canon === 'relaxed' && relaxedChanges(body))) return null;
  let end = body.length;
  while (end >= 2 && body[end - 1] === LF && body[end - 2] === CR) end -= 2;
  // RFC 6376 §3.4.3, §3.4.4: an empty body is CRLF in "simple", nothing in "relaxed".
  return { end, crlf: end > 0 || canon === 'simple' };
}

/** The body hashes of an in-memory body, yielding to the event loop between large slices. */
export async function hashBody(
  canon: BodyCanon,
  wanted: readonly BodyHashWanted[],
  body: Buffer,
  yieldToLoop: () => Promise<void>,
): Promise<BodyHashResult[]> {
  const fast = body.length <= HASH_SLICE ? asIs(canon, body) : null;
  if (fast) {
    const length = fast.end + (fast.crlf ? 2 : 0);
    return wanted.map((w) => {
      const hash = createHash(w.algorithm);
      const hashed = Math.min(w.limit ?? Infinity, length);
      hash.update(body.subarray(0, Math.min(hashed, fast.end)));
      if (hashed > fast.end) hash.update(CRLF.subarray(0, hashed - fast.end));
      return { digest: hash.digest('base64'), hashed, length };
    });
  }
  const c = new BodyCanonicalizer(canon, wanted);
  for (let pos = 0; pos < body.length; pos += HASH_SLICE) {
    c.update(body.subarray(pos, pos + HASH_SLICE));
    if (pos + HASH_SLICE < body.length && (pos / HASH_SLICE) % 16 === 15) await yieldToLoop();
  }
  return c.finish();
}

/**
 * The data a DKIM-Signature or ARC-Message-Signature signs (RFC 6376 §3.7, §5.4.2): each
 * name of h= takes the last instance of that field not yet taken (a name with none left
 * adds nothing), then the signature field itself with b= empty and no trailing CRLF.
 */
export function signedHeaderData(
  canon: 'simple' | 'relaxed',
  names: readonly string[],
  byName: ReadonlyMap<string, readonly Field[]>,
  signatureField: Field,
): Buffer {
  const taken = new Map<string, number>();
  let s = '';
  for (const name of names) {
    const list = byName.get(name);
    const k = taken.get(name) ?? 0;
    if (!list || k >= list.length) continue;
    taken.set(name, k + 1);
    s += canonField(canon, (list[list.length - 1 - k] as Field).text) + '\r\n';
  }
  s += canonField(canon, withoutB(signatureField.text));
  return Buffer.from(s, 'latin1');
}
