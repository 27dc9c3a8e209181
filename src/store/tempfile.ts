// Incoming message data is streamed into a temp file under data/tmp (the same file
// system as the accounts, so delivery hard-links it into place). While writing, bare LF
// line endings become CRLF and the MIME structure is parsed, so the message is never
// held in memory and never re-read to parse it.
import { unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MimeParser, type Part } from '../message/index.js';
import { createPrivateFile } from './fsmode.js';

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
  /** The store moved the file into place (NewMessage.take): cleanup() leaves it alone. */
  disown(): void;
  /**
   * Settles when the file's data is on disk. The store waits for it before the commit
   * that references the file; finish({ syncLater }) lets that wait overlap other work.
   */
  durable: Promise<void>;
};

const CR = 13;
const LF = 10;
const CRLF = Buffer.from('\r\n');
/** Header bytes kept for threading fields; longer headers are cut here. */
const MAX_HEADER = 256 * 1024;

/** writev of all the buffers, continuing after a short write. */
async function writeAll(fh: FileHandle, bufs: Buffer[], len: number): Promise<void> {
  let done = (await fh.writev(bufs)).bytesWritten;
  if (done === len) return;
  // A short write (rare for regular files): the rest one piece at a time.
  for (const b of bufs) {
    if (done >= b.length) {
      done -= b.length;
      continue;
    }
    await fh.write(b.subarray(done));
    done = 0;
  }
}

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
    private readonly verbatim: boolean,
  ) {
    this.fh = fh;
  }

  /**
   * `verbatim` keeps the data exactly as written: for RFC 3030 BINARYMIME bodies, where a
   * lone LF is content, not a line ending, and for data whose line endings the writer
   * has checked already (SMTP DATA and BDAT refuse a message with a bare CR or LF).
   */
  static async create(tmpDir: string, opts: { verbatim?: boolean } = {}): Promise<TempMessage> {
    const path = join(tmpDir, `${Date.now()}-${randomBytes(8).toString('hex')}.msg`);
    // Mode 0600: the file becomes the message file (and queue file) by a hard link.
    const fh = await createPrivateFile(path);
    return new TempMessage(path, fh, opts.verbatim ?? false);
  }

  get written(): number {
    return this.size;
  }

  /** Appends data, turning bare LF into CRLF unless the message is verbatim. */
  write(chunk: Buffer): Promise<void> {
    return this.writeChunks([chunk]);
  }

  /** Appends several pieces of data with one write (no copy into one buffer). */
  async writeChunks(chunks: Buffer[]): Promise<void> {
    const data = this.verbatim ? chunks : chunks.map((c) => this.normalize(c));
    if (!this.fh) throw new Error('temp message already finished');
    let len = 0;
    for (const d of data) len += d.length;
    if (len === 0) return;
    try {
      if (data.length === 1) await this.fh.write(data[0]!);
      else await writeAll(this.fh, data, len);
    } catch (e) {
      this.failed = true;
      throw e;
    }
    this.size += len;
    for (const d of data) {
      this.parser.write(d);
      if (!this.headerDone) this.captureHeader(d);
    }
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

  /**
   * Flushes the file to disk and returns it ready for delivery. With syncLater the flush
   * runs on while the store links the file into place and syncs its directory (the
   * store awaits `durable` before its commit), which saves an APPEND one disk flush of
   * waiting.
   */
  async finish(opts: { syncLater?: boolean } = {}): Promise<PreparedMessage> {
    const fh = this.fh;
    if (!fh) throw new Error('temp message already finished');
    this.fh = null;
    const flushed = fh.sync().finally(() => fh.close());
    let durable: Promise<void>;
    if (opts.syncLater) {
      durable = flushed;
      // Awaited by the store; a message never stored must not make it an unhandled error.
      durable.catch(() => {});
    } else {
      await flushed;
      durable = Promise.resolve();
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
      disown: () => {
        removed = true;
      },
      durable,
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

/**
 * Writes a whole buffer as a prepared message (APPEND of small messages, imports, tests,
 * DSNs); with syncLater its flush runs on (see TempMessage.finish).
 */
export async function prepareMessage(
  tmpDir: string,
  data: Buffer,
  opts: { syncLater?: boolean } = {},
): Promise<PreparedMessage> {
  const t = await TempMessage.create(tmpDir);
  try {
    await t.write(data);
    return await t.finish(opts);
  } catch (e) {
    await t.abort();
    throw e;
  }
}
