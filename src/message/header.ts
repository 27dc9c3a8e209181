// Header blocks: splitting into fields (RFC 5322 §2.2), unfolding (§2.2.3), lookups,
// and the byte-exact field selection of IMAP BODY[HEADER.FIELDS] (RFC 9051 §6.4.5).
import { isUtf8 } from 'node:buffer';

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const TAB = 0x09;
const COLON = 0x3a;

export interface HeaderField {
  /** Field name as written (case preserved). */
  name: string;
  /** Unfolded value with surrounding white space removed; UTF-8, or latin1 if not valid UTF-8. */
  value: string;
  /** The exact bytes of the field: name, colon, value, continuation lines and line ending. */
  raw: Buffer;
}

interface ScannedBlock {
  fields: HeaderField[];
  /** Offsets of the empty line that ends the block, if the block has one. */
  blankStart: number;
  blankEnd: number;
}

function isWsp(c: number | undefined): boolean {
  return c === SP || c === TAB;
}

/** Decodes header bytes: UTF-8 when valid (RFC 6532), latin1 otherwise. */
export function headerBytesToString(b: Buffer): string {
  return isUtf8(b) ? b.toString('utf8') : b.toString('latin1');
}

/** The end of the field name, or -1 when the line is not a field (RFC 5322 §2.2). */
function fieldNameEnd(buf: Buffer, start: number, colon: number): number {
  let end = colon;
  // RFC 5322 §4.5.3: obsolete syntax allows white space before the colon.
  while (end > start && isWsp(buf[end - 1])) end--;
  if (end === start) return -1;
  for (let i = start; i < end; i++) {
    const c = buf[i] as number;
    if (c < 33 || c > 126) return -1;
  }
  return end;
}

/** The value of a field: unfolded (RFC 5322 §2.2.3), decoded and trimmed. */
function fieldValue(buf: Buffer, from: number, to: number): string {
  let end = to;
  if (end > from && buf[end - 1] === LF) end--;
  if (end > from && buf[end - 1] === CR) end--;
  let b = buf.subarray(from, end);
  if (b.indexOf(LF) >= 0) {
    const parts: Buffer[] = [];
    let p = 0;
    for (let nl = b.indexOf(LF); nl >= 0; nl = b.indexOf(LF, p)) {
      parts.push(b.subarray(p, nl > p && b[nl - 1] === CR ? nl - 1 : nl));
      p = nl + 1;
    }
    parts.push(b.subarray(p));
    b = Buffer.concat(parts);
  }
  return headerBytesToString(b).trim();
}

function scanBlock(buf: Buffer): ScannedBlock {
  const fields: HeaderField[] = [];
  let start = -1; // start of the field being collected
  let colon = -1;
  let nameEnd = -1;
  let end = -1;
  const finish = (): void => {
    if (start < 0) return;
    fields.push({
      name: buf.toString('latin1', start, nameEnd),
      value: fieldValue(buf, colon + 1, end),
      raw: buf.subarray(start, end),
    });
    start = -1;
  };
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(LF, pos);
    const lineEnd = nl < 0 ? buf.length : nl + 1;
    const contentEnd = nl < 0 ? buf.length : nl > pos && buf[nl - 1] === CR ? nl - 1 : nl;
    if (contentEnd === pos && nl >= 0) {
      finish();
      return { fields, blankStart: pos, blankEnd: lineEnd };
    }
    if (isWsp(buf[pos])) {
      // Continuation line; one without a field before it is ignored.
      if (start >= 0) end = lineEnd;
    } else {
      finish();
      // Search only this line, so colon-less lines cost linear time.
      const rel = buf.subarray(pos, contentEnd).indexOf(COLON);
      const c = rel < 0 ? -1 : pos + rel;
      const ne = c >= 0 ? fieldNameEnd(buf, pos, c) : -1;
      if (ne >= 0) {
        start = pos;
        colon = c;
        nameEnd = ne;
        end = lineEnd;
      }
    }
    pos = lineEnd;
  }
  finish();
  return { fields, blankStart: -1, blankEnd: -1 };
}

/**
 * Splits a header block into fields. The block may include the empty line that ends
 * it; parsing stops there. Lines that are not fields are skipped.
 */
export function parseHeaderBlock(buf: Buffer): HeaderField[] {
  return scanBlock(buf).fields;
}

/** The first field with this name (case-insensitive). */
export function findHeader(fields: readonly HeaderField[], name: string): HeaderField | undefined {
  const n = name.toLowerCase();
  return fields.find((f) => f.name.toLowerCase() === n);
}

/** All fields with this name (case-insensitive), in order. */
export function findHeaders(fields: readonly HeaderField[], name: string): HeaderField[] {
  const n = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === n);
}

/** The value of the first field with this name, or undefined. */
export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  return findHeader(fields, name)?.value;
}

/**
 * The original bytes of the fields whose names are (not = false) or are not (not = true)
 * in `names`, compared case-insensitively, followed by the empty line that ends the block
 * if the block has one (RFC 9051 §6.4.5 HEADER.FIELDS and HEADER.FIELDS.NOT).
 */
export function selectHeaderFields(
  headerBytes: Buffer,
  names: readonly string[],
  not: boolean,
): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const block = scanBlock(headerBytes);
  const out: Buffer[] = [];
  for (const f of block.fields) {
    if (wanted.has(f.name.toLowerCase()) !== not) out.push(f.raw);
  }
  if (block.blankStart >= 0) out.push(headerBytes.subarray(block.blankStart, block.blankEnd));
  return Buffer.concat(out);
}
