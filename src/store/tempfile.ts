// Incoming message data is streamed into a temp file under data/tmp (the same file
// system as the accounts, so delivery hard-links it into place). While writing, bare LF
// line endings become CRLF and the MIME structure is parsed, so the message is never
// held in memory and never re-read to parse it.
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MimeParser, type Part } from '../message/index.js';

export type PreparedMessage = {
  /** Path of the temp file holding the normalised message (without any delivery prefix). */
  path: string;
  /** Octets in the file. */
  size: number;
  /** MIME structure with offsets into the file. */
  part: Part;
  /** The top-level header block (capped), for threading fields. */
  header: Buffer;
  /** Removes the temp file; safe to call more than once and after delivery. */
  cleanup(): Promise<void>;
};

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n');
/** Header bytes kept for threading fields; longer headers are cut here. */
const MAX_HEADER = 256 * 1024;

export class TempMessage {
  private fh: FileHandle | null;
  private size = 0;
  private lastWasCR = false;
  private parser = new MimeParser();
  private failed = false;
  private header: Buffer[] = [];
  private headerLen = 0;
  private headerDone = false;

  private constructor(
    readonly path: string,
    fh: FileHandle,
    private readonly binary: boolean,
  ) {
    this.fh = fh;
  }

  /**
   * `binary` keeps the data exactly as written: for RFC 3030 BINARYMIME bodies, where a
   * lone LF is content, not a line ending.
   */
  static async create(tmpDir: string, opts: { binary?: boolean } = {}): Promise<TempMessage> {
    const path = join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.msg`);
    const fh = await open(path, 'wx', 0o660);
    return new TempMessage(path, fh, opts.binary ?? false);
  }

  get written(): number {
    return this.size;
  }

  /** Appends data, turning bare LF into CRLF unless the message is binary. */
  async write(chunk: Buffer): Promise<void> {
    const data = this.binary ? chunk : this.normalize(chunk);
    if (data.length === 0) return;
    if (!this.fh) throw new Error('temp message already finished');
    try {
      await this.fh.write(data);
    } catch (e) {
      this.failed = true;
      throw e;
    }
    this.size += data.length;
    this.parser.write(data);
    if (!this.headerDone) this.captureHeader(data);
  }

  private captureHeader(data: Buffer): void {
    // Look for the blank line in the new data plus the last 3 bytes already kept.
    const keep = data.subarray(0, Math.max(0, MAX_HEADER - this.headerLen));
    const prev = this.header[this.header.length - 1];
    const tail = prev ? prev.subarray(Math.max(0, prev.length - 3)) : Buffer.alloc(0);
    const probe = Buffer.concat([tail, keep]);
    const end = probe.indexOf('\r\n\r\n');
    if (end >= 0) {
      const upto = end + 4 - tail.length;
      this.header.push(keep.subarray(0, upto));
      this.headerDone = true;
    } else {
      this.header.push(keep);
      this.headerLen += keep.length;
      if (this.headerLen >= MAX_HEADER) this.headerDone = true;
    }
  }

  private normalize(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    let i = chunk.indexOf(LF);
    if (i < 0) {
      this.lastWasCR = chunk[chunk.length - 1] === CR;
      return chunk;
    }
    const pieces: Buffer[] = [];
    let start = 0;
    while (i >= 0) {
      const prevCR = i > 0 ? chunk[i - 1] === CR : this.lastWasCR;
      if (!prevCR) {
        pieces.push(chunk.subarray(start, i), CRLF);
        start = i + 1;
      }
      i = chunk.indexOf(LF, i + 1);
    }
    this.lastWasCR = chunk[chunk.length - 1] === CR;
    if (pieces.length === 0) return chunk;
    pieces.push(chunk.subarray(start));
    return Buffer.concat(pieces);
  }

  /** Flushes the file to disk and returns it ready for delivery. */
  async finish(): Promise<PreparedMessage> {
    const fh = this.fh;
    if (!fh) throw new Error('temp message already finished');
    this.fh = null;
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const path = this.path;
    let removed = false;
    return {
      path,
      size: this.size,
      part: this.parser.end(),
      header: Buffer.concat(this.header),
      cleanup: async () => {
        if (removed) return;
        removed = true;
        await unlink(path).catch(() => {});
      },
    };
  }

  /** Abandons the message: closes and removes the temp file. */
  async abort(): Promise<void> {
    const fh = this.fh;
    this.fh = null;
    if (fh) await fh.close().catch(() => {});
    await unlink(this.path).catch(() => {});
  }

  get hadError(): boolean {
    return this.failed;
  }
}

/** Writes a whole buffer as a prepared message (APPEND of small messages, tests, DSNs). */
export async function prepareMessage(tmpDir: string, data: Buffer): Promise<PreparedMessage> {
  const t = await TempMessage.create(tmpDir);
  try {
    await t.write(data);
    return await t.finish();
  } catch (e) {
    await t.abort();
    throw e;
  }
}
