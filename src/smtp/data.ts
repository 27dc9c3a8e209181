// Message data of the DATA command (RFC 5321 §4.5.2 transparency): reading with
// dot-unstuffing up to "CRLF.CRLF" on the server, dot-stuffing on the client.

/** Where DotReader gets its bytes (the connection's LineReader implements this). */
export interface ByteSource {
  /** The next available bytes, at most max; never empty. */
  readSome(max: number): Promise<Buffer>;
  /** Puts bytes back in front of the unread input. */
  unread(data: Buffer): void;
}

/** The source returned no bytes before the end of the data. */
export class DataTruncatedError extends Error {
  constructor() {
    super('input ended before the end of the message data');
    this.name = 'DataTruncatedError';
  }
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const EMPTY = Buffer.alloc(0);
const CR_BUF = Buffer.from('\r');
const DEFAULT_CHUNK = 64 * 1024;

// Reader states: what the bytes just before the scan position were.
const MID = 0; // inside a line, previous byte not CR
const AFTER_CR = 1; // previous byte was a CR (emitted)
const BOL = 2; // at the start of a line: after CRLF, or at the start of the data
const DOT_SEEN = 3; // a dot at the start of a line was dropped
const DOT_CR = 4; // ".\r" at the start of a line; the CR is held back

type State = typeof MID | typeof AFTER_CR | typeof BOL | typeof DOT_SEEN | typeof DOT_CR;

/**
 * Reads message data after the 354 reply. Each next() returns the next piece of the
 * message with dot-unstuffing applied and CRLFs kept, or null after the terminating
 * "CRLF.CRLF" (whose ".CRLF" is not part of the data). Bytes after the terminator go
 * back to the source. Only CRLF ends a line: a bare CR or LF sets bareCRLF (possible
 * SMTP smuggling) and reading goes on to the real terminator.
 */
export class DotReader {
  private readonly src: ByteSource;
  private readonly chunkSize: number;
  private state: State = BOL;
  private bare = false;
  private done = false;

  constructor(src: ByteSource, opts: { chunkSize?: number } = {}) {
    this.src = src;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK;
  }

  /** A bare CR or bare LF was seen in the data so far. */
  get bareCRLF(): boolean {
    return this.bare;
  }

  /** The terminator was read. */
  get finished(): boolean {
    return this.done;
  }

  async next(): Promise<Buffer | null> {
    while (!this.done) {
      const chunk = await this.src.readSome(this.chunkSize);
      if (chunk.length === 0) throw new DataTruncatedError();
      const out = this.scan(chunk);
      if (out.length > 0) return out;
    }
    return null;
  }

  /** Processes one chunk; returns its data part. */
  private scan(buf: Buffer): Buffer {
    const parts: Buffer[] = [];
    let seg = 0; // start of the bytes not yet added to parts
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case MID:
          i = this.scanLine(buf, i);
          break;
        case AFTER_CR:
          if (buf[i] === LF) {
            this.state = BOL;
            i++;
          } else {
            this.bare = true;
            this.state = MID;
          }
          break;
        case BOL:
          if (buf[i] === DOT) {
            // RFC 5321 §4.5.2: a leading dot is removed (or starts the terminator).
            parts.push(buf.subarray(seg, i));
            seg = ++i;
            this.state = DOT_SEEN;
          } else {
            this.state = MID;
          }
          break;
        case DOT_SEEN:
          if (buf[i] === CR) {
            parts.push(buf.subarray(seg, i));
            seg = ++i;
            this.state = DOT_CR;
          } else {
            this.state = MID;
          }
          break;
        case DOT_CR:
          if (buf[i] === LF) return this.finish(buf, i + 1, parts);
          // Not the terminator: the held CR is data, and bare.
          this.bare = true;
          parts.push(buf.subarray(seg, i), CR_BUF);
          seg = i;
          this.state = MID;
          break;
      }
    }
    if (parts.length === 0) return buf;
    parts.push(buf.subarray(seg));
    return Buffer.concat(parts);
  }

  /**
   * In state MID: skips lines up to one that starts with a dot, the chunk end or a bare
   * LF, noting bare CR/LF. Ordinary lines stay in this loop, without a state change each.
   */
  private scanLine(buf: Buffer, i: number): number {
    const n = buf.length;
    for (;;) {
      const lf = buf.indexOf(LF, i);
      const end = lf < 0 ? n : lf;
      if (!this.bare) {
        // A CR inside [i, end) is bare unless it is the CR of a CRLF, or the chunk's last byte.
        const cr = buf.indexOf(CR, i);
        if (cr >= 0 && cr < end - 1) this.bare = true;
      }
      if (lf < 0) {
        this.state = buf[n - 1] === CR ? AFTER_CR : MID;
        return n;
      }
      // MID is entered only after a byte that is not CR, so an LF at i is bare.
      if (lf === i || buf[lf - 1] !== CR) {
        this.bare = true;
        this.state = MID;
        return lf + 1;
      }
      i = lf + 1;
      // At the start of a line: one that does not start with a dot is scanned here.
      if (i < n && buf[i] !== DOT) continue;
      this.state = BOL;
      return i;
    }
  }

  private finish(buf: Buffer, after: number, parts: Buffer[]): Buffer {
    this.done = true;
    if (after < buf.length) this.src.unread(buf.subarray(after));
    return parts.length === 0 ? EMPTY : Buffer.concat(parts);
  }
}

const DOT_BUF = Buffer.from('.');
const LF_DOT = Buffer.from('\n.');

/**
 * Dot-stuffs message data for DATA (RFC 5321 §4.5.2): a "." at the start of a line
 * (after any LF, or at the start) is doubled. push() may return a view of its input.
 */
export class DotStuffer {
  private bol = true;
  private last = -1;
  private prev = -1;
  private total = 0;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return EMPTY;
    const parts: Buffer[] = [];
    if (this.bol && chunk[0] === DOT) parts.push(DOT_BUF);
    let seg = 0;
    for (let j = chunk.indexOf(LF_DOT); j >= 0; j = chunk.indexOf(LF_DOT, j + 2)) {
      parts.push(chunk.subarray(seg, j + 1), DOT_BUF);
      seg = j + 1;
    }
    const n = chunk.length;
    this.prev = n >= 2 ? (chunk[n - 2] as number) : this.last;
    this.last = chunk[n - 1] as number;
    this.bol = this.last === LF;
    this.total += n;
    if (parts.length === 0) return chunk;
    parts.push(chunk.subarray(seg));
    return Buffer.concat(parts);
  }

  /** What follows the data: a CRLF unless the data ended in one, then ".\r\n". */
  end(): Buffer {
    const crlf = this.total === 0 || (this.prev === CR && this.last === LF);
    return Buffer.from(crlf ? '.\r\n' : '\r\n.\r\n');
  }
}

const LF_BUF = Buffer.from('\n');
const CRLF_BUF = Buffer.from('\r\n');

/**
 * Turns every bare CR and bare LF into CRLF (RFC 5321 §2.3.8: CR and LF occur only
 * together, as a line end). Data sent this way, with DATA or as 7BIT/8BITMIME in BDAT
 * chunks, holds no line end that another server could read differently and so end the
 * message where we did not (SMTP smuggling). A CR at the end of a piece is passed on;
 * the next piece (or end()) tells whether it was bare. push() may return its input.
 */
export class CRLFNormalizer {
  /** The last byte passed on was a CR. */
  private cr = false;
  /** Bare CRs and LFs replaced so far. */
  fixed = 0;

  push(chunk: Buffer): Buffer {
    const n = chunk.length;
    if (n === 0) return EMPTY;
    const parts: Buffer[] = [];
    let i = 0;
    if (this.cr) {
      this.cr = false;
      if (chunk[0] === LF) i = 1;
      else {
        parts.push(LF_BUF);
        this.fixed++;
      }
    }
    let seg = 0;
    let cr = chunk.indexOf(CR, i);
    let lf = chunk.indexOf(LF, i);
    while (cr >= 0 || lf >= 0) {
      if (lf >= 0 && (cr < 0 || lf < cr)) {
        // An LF before any CR: the CR of a CRLF is consumed with its LF, so this is bare.
        parts.push(chunk.subarray(seg, lf), CRLF_BUF);
        this.fixed++;
        seg = lf + 1;
        lf = chunk.indexOf(LF, seg);
        continue;
      }
      if (cr === n - 1) {
        this.cr = true;
        break;
      }
      if (chunk[cr + 1] === LF) {
        cr = chunk.indexOf(CR, cr + 2);
        lf = chunk.indexOf(LF, lf + 1);
        continue;
      }
      parts.push(chunk.subarray(seg, cr + 1), LF_BUF);
      this.fixed++;
      seg = cr + 1;
      cr = chunk.indexOf(CR, seg);
    }
    if (parts.length === 0) return chunk;
    parts.push(chunk.subarray(seg));
    return Buffer.concat(parts);
  }

  /** What completes the data: an LF when it ended in a bare CR. */
  end(): Buffer {
    if (!this.cr) return EMPTY;
    this.cr = false;
    this.fixed++;
    return LF_BUF;
  }
}

/**
 * Notes whether data arriving in pieces holds a bare CR or bare LF (RFC 5321 §2.3.8),
 * for BDAT chunks, which are not dot-stuffed and so are not read by DotReader. A CRLF
 * may be split between pieces.
 */
export class BareCRLFDetector {
  /** The previous piece ended with a CR. */
  private cr = false;
  private bare = false;

  get found(): boolean {
    return this.bare;
  }

  push(chunk: Buffer): void {
    const n = chunk.length;
    if (this.bare || n === 0) return;
    let i = 0;
    if (this.cr) {
      if (chunk[0] !== LF) {
        this.bare = true;
        return;
      }
      i = 1;
    }
    for (let lf = chunk.indexOf(LF, i); lf >= 0; lf = chunk.indexOf(LF, lf + 1)) {
      if (lf === 0 || chunk[lf - 1] !== CR) {
        this.bare = true;
        return;
      }
    }
    for (let cr = chunk.indexOf(CR, i); cr >= 0 && cr < n - 1; cr = chunk.indexOf(CR, cr + 1)) {
      if (chunk[cr + 1] !== LF) {
        this.bare = true;
        return;
      }
    }
    this.cr = chunk[n - 1] === CR;
  }

  /** The data is complete: a CR at its very end is bare too. Returns found. */
  end(): boolean {
    if (this.cr) this.bare = true;
    this.cr = false;
    return this.bare;
  }
}
