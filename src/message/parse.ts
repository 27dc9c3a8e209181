// Streaming MIME structure parser (RFC 2045, RFC 2046). It is fed a whole stored
// message in chunks and keeps only header blocks and the start of the current line:
// body bytes are scanned for delimiter lines and counted, never kept. It never throws
// on any input and returns a best-effort tree with byte offsets.
import { buildEnvelope } from './envelope.js';
import { headerValue, parseHeaderBlock, type HeaderField } from './header.js';
import { parseStructuredValue } from './decode.js';
import type { Part } from './types.js';

export interface ParseOptions {
  /** Parts at this depth (the top level is 0) are leaves. Default 50. */
  maxDepth?: number;
  /** Parts beyond this count are not created; the rest of a multipart is skipped. Default 10000. */
  maxParts?: number;
  /** A header block longer than this ends at the line that crosses it. Default 1 MiB. */
  maxHeaderBytes?: number;
  /** Called when a part's header block is complete, with its bytes and fields. */
  onHeader?: (part: Part, header: Buffer, fields: HeaderField[]) => void;
  /** Build the envelopes of the message and of enclosed messages. Default true. */
  envelopes?: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const DASH = 0x2d;

// Bytes kept of a line that spans chunks: enough for "--" boundary "--".
const HEAD_CAP = 1024;
const MAX_BOUNDARY = HEAD_CAP - 4;

// Frame phases.
const HEADER = 0;
const BODY = 1;
const PREAMBLE = 2;
const PARTS = 3;
const EPILOGUE = 4;

interface Frame {
  part: Part;
  depth: number;
  phase: number;
  /** Boundary bytes (without the leading "--") of a multipart in its body. */
  boundary: Buffer | null;
  /** Root or message/rfc822 body: gets an envelope. */
  isMessage: boolean;
  /** Child of a multipart/digest: defaults to message/rfc822 (RFC 2046 §5.1.5). */
  inDigest: boolean;
  /** Line breaks before bodyStart. */
  eolsAtBody: number;
  countLines: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`{|}~0-9A-Za-z]+$/;
const IDENTITY_ENCODINGS = new Set(['7bit', '8bit', 'binary']);

function newPart(at: number, inDigest: boolean): Part {
  return {
    headerStart: at,
    bodyStart: at,
    end: at,
    type: inDigest ? 'message' : 'text',
    subtype: inDigest ? 'rfc822' : 'plain',
    encoding: '7bit',
    bodySize: 0,
  };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** Applies Content-* fields (RFC 2045, RFC 2183, RFC 3282, RFC 2557) to a part. */
function applyContentFields(part: Part, fields: readonly HeaderField[], inDigest: boolean): void {
  const ct = headerValue(fields, 'content-type');
  if (ct !== undefined) {
    const sv = parseStructuredValue(ct);
    const slash = sv.value.indexOf('/');
    const type = sv.value.slice(0, slash);
    const subtype = sv.value.slice(slash + 1);
    if (slash > 0 && TOKEN.test(type) && TOKEN.test(subtype)) {
      part.type = type.toLowerCase();
      part.subtype = subtype.toLowerCase();
      if (Object.keys(sv.params).length > 0) part.params = sv.params;
    } else {
      // RFC 2045 §5.2: an unreadable Content-Type is text/plain.
      part.type = 'text';
      part.subtype = 'plain';
    }
  } else if (inDigest) {
    part.type = 'message';
    part.subtype = 'rfc822';
  }
  const cte = headerValue(fields, 'content-transfer-encoding');
  if (cte !== undefined) {
    const token = parseStructuredValue(cte).value.toLowerCase();
    if (token !== '') part.encoding = token;
  }
  const id = nonEmpty(headerValue(fields, 'content-id'));
  if (id !== undefined) part.id = id;
  const description = nonEmpty(headerValue(fields, 'content-description'));
  if (description !== undefined) part.description = description;
  const md5 = nonEmpty(headerValue(fields, 'content-md5'));
  if (md5 !== undefined) part.md5 = md5;
  const cd = headerValue(fields, 'content-disposition');
  if (cd !== undefined) {
    const sv = parseStructuredValue(cd);
    if (sv.value !== '') {
      part.disposition = { type: sv.value.toLowerCase() };
      if (Object.keys(sv.params).length > 0) part.disposition.params = sv.params;
    }
  }
  const lang = headerValue(fields, 'content-language');
  if (lang !== undefined) {
    const tags = lang
      .replace(/\([^()]*\)/g, ' ')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    if (tags.length > 0) part.language = tags;
  }
  const location = nonEmpty(headerValue(fields, 'content-location'));
  if (location !== undefined) part.location = location;
}

/**
 * Push parser: write() the message in chunks of any size, then end() for the tree.
 * Part offsets are absolute byte offsets into the message. Lines end at LF or CR LF;
 * a bare CR is data.
 */
export class MimeParser {
  private readonly maxDepth: number;
  private readonly maxParts: number;
  private readonly maxHeader: number;
  private readonly onHeader: ParseOptions['onHeader'];
  private readonly envelopes: boolean;

  private readonly root: Part;
  private readonly frames: Frame[] = [];
  /** Open boundaries: length -> boundary (latin1) -> frame indexes, innermost last. */
  private readonly boundaries = new Map<number, Map<string, number[]>>();
  /** Distinct boundary lengths, longest first. */
  private boundaryLengths: number[] = [];
  private partCount = 1;
  private ended = false;

  /** Absolute offset of the current chunk, and the chunk while write() runs. */
  private offset = 0;
  private chunk: Buffer | null = null;

  /** The current line: its start, bytes seen in earlier chunks, their first bytes. */
  private lineStart = 0;
  private carry = 0;
  private readonly head = Buffer.allocUnsafe(HEAD_CAP);
  private headFill = 0;
  private lastCR = false;
  /** Line breaks so far, and the previous line's break and length. */
  private eols = 0;
  private prevTermStart = -1;
  private prevContentLen = 0;

  /** Header bytes of the innermost part while it is in its header phase. */
  private hdr = Buffer.allocUnsafe(4096);
  private hdrLen = 0;
  private collectedUpTo = 0;

  constructor(opts: ParseOptions = {}) {
    this.maxDepth = Math.max(0, opts.maxDepth ?? 50);
    this.maxParts = Math.max(1, opts.maxParts ?? 10000);
    this.maxHeader = Math.max(0, opts.maxHeaderBytes ?? 1024 * 1024);
    this.onHeader = opts.onHeader;
    this.envelopes = opts.envelopes ?? true;
    this.root = newPart(0, false);
    this.frames.push(this.frame(this.root, 0, true, false));
  }

  private frame(part: Part, depth: number, isMessage: boolean, inDigest: boolean): Frame {
    return {
      part,
      depth,
      phase: HEADER,
      boundary: null,
      isMessage,
      inDigest,
      eolsAtBody: 0,
      countLines: false,
    };
  }

  private top(): Frame {
    return this.frames[this.frames.length - 1] as Frame;
  }

  /** Feeds the next bytes of the message. */
  write(data: Uint8Array): void {
    if (this.ended || data.length === 0) return;
    const chunk = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.chunk = chunk;
    const len = chunk.length;
    let pos = 0;
    for (let nl = chunk.indexOf(LF, pos); nl >= 0; nl = chunk.indexOf(LF, pos)) {
      this.completeLine(chunk, pos, nl);
      pos = nl + 1;
      // In a body with no multipart open, no line can change the structure any more:
      // the rest only needs counting.
      if (this.boundaryLengths.length === 0 && this.top().phase !== HEADER) {
        pos = this.countLines(chunk, pos);
        break;
      }
    }
    if (pos < len) {
      this.saveHead(chunk, pos, len);
      this.carry += len - pos;
      this.lastCR = chunk[len - 1] === CR;
    }
    const top = this.top();
    if (top.phase === HEADER) {
      this.collect(this.offset + len);
      if (this.offset + len - top.part.headerStart > this.maxHeader) {
        this.endHeader(top, this.lineStart, this.eols, true);
      }
    }
    this.offset += len;
    this.chunk = null;
  }

  /** Ends the input and returns the part tree. Further calls return the same tree. */
  end(): Part {
    if (this.ended) return this.root;
    this.ended = true;
    if (this.carry > 0) {
      // The last line has no line break.
      const next = this.lineStart + this.carry;
      this.onLine(this.head, 0, Math.min(this.carry, this.headFill), this.carry, next);
    }
    this.closeAbove(-1, true);
    this.hdr = Buffer.alloc(0);
    return this.root;
  }

  private saveHead(chunk: Buffer, from: number, to: number): void {
    const n = Math.min(to - from, HEAD_CAP - this.headFill);
    if (n > 0) {
      chunk.copy(this.head, this.headFill, from, from + n);
      this.headFill += n;
    }
  }

  /**
   * Counts the complete lines of chunk from pos on, as completeLine would one by one
   * when no line can be a delimiter or a header; returns where the last one ends.
   */
  private countLines(chunk: Buffer, pos: number): number {
    let n = 0;
    let begin = pos;
    let lastBegin = pos;
    let lastNl = -1;
    for (let k = chunk.indexOf(LF, pos); k >= 0; k = chunk.indexOf(LF, k + 1)) {
      n++;
      lastBegin = begin;
      lastNl = k;
      begin = k + 1;
    }
    if (n === 0) return pos;
    const absNl = this.offset + lastNl;
    const termStart = lastNl > lastBegin && chunk[lastNl - 1] === CR ? absNl - 1 : absNl;
    this.prevTermStart = termStart;
    this.prevContentLen = termStart - (this.offset + lastBegin);
    this.lineStart = absNl + 1;
    this.eols += n;
    return lastNl + 1;
  }

  private completeLine(chunk: Buffer, from: number, nl: number): void {
    const absNl = this.offset + nl;
    const cr = nl > from ? chunk[nl - 1] === CR : this.carry > 0 && this.lastCR;
    const termStart = cr ? absNl - 1 : absNl;
    const contentLen = termStart - this.lineStart;
    if (this.carry === 0) {
      this.onLine(chunk, from, Math.min(contentLen, HEAD_CAP), contentLen, absNl + 1);
    } else {
      this.saveHead(chunk, from, nl);
      const hl = Math.min(contentLen, this.headFill);
      this.onLine(this.head, 0, hl, contentLen, absNl + 1);
    }
    this.prevTermStart = termStart;
    this.prevContentLen = contentLen;
    this.lineStart = absNl + 1;
    this.carry = 0;
    this.headFill = 0;
    this.lastCR = false;
    this.eols++;
  }

  /**
   * One complete line of contentLen bytes (line break excluded) starting at lineStart.
   * Its first `hl` bytes are at head[hs..]; the next line starts at next.
   */
  private onLine(head: Buffer, hs: number, hl: number, contentLen: number, next: number): void {
    if (
      hl >= 3 &&
      head[hs] === DASH &&
      head[hs + 1] === DASH &&
      this.delimiter(head, hs, hl, next)
    ) {
      return;
    }
    const top = this.top();
    if (top.phase !== HEADER) return;
    if (contentLen === 0) {
      this.endHeader(top, next, this.eols + 1, false);
    } else if (next - top.part.headerStart > this.maxHeader) {
      // Too long a header block: this line starts the body.
      this.endHeader(top, this.lineStart, this.eols, true);
    }
  }

  /**
   * RFC 2046 §5.1.1: a line that starts with "--" and a boundary of an open multipart is
   * a delimiter (the rest of the line is ignored). The longest matching boundary wins,
   * then the innermost. Returns false when the line is no delimiter.
   */
  private delimiter(head: Buffer, hs: number, hl: number, next: number): boolean {
    let best = -1;
    let bestLen = 0;
    for (const len of this.boundaryLengths) {
      if (hl < 2 + len) continue;
      const ks = this.boundaries.get(len)?.get(head.toString('latin1', hs + 2, hs + 2 + len));
      if (ks === undefined) continue;
      // Only the top frame can be in its epilogue, so this looks at two entries at most.
      for (let j = ks.length - 1; j >= 0 && best < 0; j--) {
        const k = ks[j] as number;
        if ((this.frames[k] as Frame).phase !== EPILOGUE) best = k;
      }
      if (best >= 0) {
        bestLen = len;
        break;
      }
    }
    if (best < 0) return false;
    const close =
      hl >= 4 + bestLen && head[hs + 2 + bestLen] === DASH && head[hs + 3 + bestLen] === DASH;
    this.closeAbove(best, false);
    const m = this.frames[best] as Frame;
    if (close || this.partCount >= this.maxParts) {
      m.phase = EPILOGUE;
      return true;
    }
    m.phase = PARTS;
    const child = newPart(next, m.part.subtype === 'digest');
    (m.part.parts ??= []).push(child);
    this.partCount++;
    this.pushHeaderFrame(this.frame(child, m.depth + 1, false, m.part.subtype === 'digest'));
    return true;
  }

  private pushHeaderFrame(f: Frame): void {
    this.frames.push(f);
    this.hdrLen = 0;
    this.collectedUpTo = f.part.headerStart;
  }

  /** Copies header bytes of the current chunk up to the absolute offset `upTo`. */
  private collect(upTo: number): void {
    const chunk = this.chunk;
    if (chunk === null) return;
    const top = this.top();
    const limit = Math.min(upTo, top.part.headerStart + this.maxHeader, this.offset + chunk.length);
    const from = Math.max(this.collectedUpTo, this.offset);
    if (limit <= from) return;
    const n = limit - from;
    if (this.hdrLen + n > this.hdr.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.hdr.length * 2, this.hdrLen + n));
      this.hdr.copy(grown, 0, 0, this.hdrLen);
      this.hdr = grown;
    }
    chunk.copy(this.hdr, this.hdrLen, from - this.offset, limit - this.offset);
    this.hdrLen += n;
    this.collectedUpTo = limit;
  }

  /** Ends the header block of frame f at hend; the body starts there. */
  private endHeader(f: Frame, hend: number, eolsAtBody: number, truncated: boolean): void {
    this.collect(hend);
    const p = f.part;
    const size = Math.max(0, Math.min(hend - p.headerStart, this.hdrLen));
    const header = Buffer.from(this.hdr.subarray(0, size));
    this.hdrLen = 0;
    const fields = parseHeaderBlock(header);
    applyContentFields(p, fields, f.inDigest);
    if (f.isMessage && this.envelopes) p.envelope = buildEnvelope(fields);
    p.bodyStart = hend;
    f.eolsAtBody = eolsAtBody;
    f.phase = BODY;
    const isMessage = p.type === 'message' && (p.subtype === 'rfc822' || p.subtype === 'global');
    f.countLines = p.type === 'text' || isMessage;
    this.onHeader?.(p, header, fields);
    if (f.depth >= this.maxDepth) return;
    if (p.type === 'multipart') {
      const b = (p.params?.boundary ?? '').replace(/[ \t]+$/, '');
      const bytes = Buffer.from(b, 'utf8');
      if (bytes.length > 0 && bytes.length <= MAX_BOUNDARY) {
        f.boundary = bytes;
        f.phase = PREAMBLE;
        this.addBoundary(bytes, this.frames.length - 1);
      }
    } else if (
      isMessage &&
      !truncated &&
      IDENTITY_ENCODINGS.has(p.encoding) &&
      this.partCount < this.maxParts
    ) {
      const inner = newPart(hend, false);
      p.message = inner;
      this.partCount++;
      this.pushHeaderFrame(this.frame(inner, f.depth + 1, true, false));
    }
  }

  /**
   * Closes every frame above index k. For a delimiter, a part ends before the line break
   * that precedes the delimiter line (RFC 2046 §5.1.1); at the end of input it ends there.
   */
  private closeAbove(k: number, atEof: boolean): void {
    while (this.frames.length - 1 > k) {
      const f = this.top();
      let end: number;
      let eolsBefore: number;
      let lastIsEol: boolean;
      if (atEof) {
        end = this.offset;
        eolsBefore = this.eols;
        lastIsEol = this.carry === 0;
      } else if (f.part.headerStart < this.lineStart) {
        end = this.prevTermStart;
        eolsBefore = this.eols - 1;
        lastIsEol = this.prevContentLen === 0;
      } else {
        end = this.lineStart;
        eolsBefore = this.eols;
        lastIsEol = true;
      }
      if (f.phase === HEADER) {
        const depth = this.frames.length;
        this.endHeader(f, end, eolsBefore, false);
        if (this.frames.length !== depth) continue;
      }
      this.finish(f, end, eolsBefore, lastIsEol);
      if (f.boundary !== null) this.removeBoundary(f.boundary);
      this.frames.pop();
    }
  }

  private addBoundary(b: Buffer, k: number): void {
    let byKey = this.boundaries.get(b.length);
    if (byKey === undefined) {
      this.boundaries.set(b.length, (byKey = new Map()));
      this.boundaryLengths = [...this.boundaries.keys()].sort((x, y) => y - x);
    }
    const key = b.toString('latin1');
    const ks = byKey.get(key);
    if (ks === undefined) byKey.set(key, [k]);
    else ks.push(k);
  }

  /** Forgets the innermost registration of b (frames close innermost first). */
  private removeBoundary(b: Buffer): void {
    const byKey = this.boundaries.get(b.length);
    const key = b.toString('latin1');
    const ks = byKey?.get(key);
    if (byKey === undefined || ks === undefined) return;
    ks.pop();
    if (ks.length > 0) return;
    byKey.delete(key);
    if (byKey.size > 0) return;
    this.boundaries.delete(b.length);
    this.boundaryLengths = [...this.boundaries.keys()].sort((x, y) => y - x);
  }

  private finish(f: Frame, end: number, eolsBefore: number, lastIsEol: boolean): void {
    const p = f.part;
    p.end = end;
    if (p.bodyStart > end) p.bodyStart = end;
    p.bodySize = end - p.bodyStart;
    if (f.countLines) {
      p.bodyLines = p.bodySize === 0 ? 0 : eolsBefore - f.eolsAtBody + (lastIsEol ? 0 : 1);
    }
    if (p.parts !== undefined && p.parts.length === 0) delete p.parts;
  }
}

/** Parses a complete message held in memory. */
export function parseMessage(buf: Uint8Array, opts?: ParseOptions): Part {
  const p = new MimeParser(opts);
  p.write(buf);
  return p.end();
}
