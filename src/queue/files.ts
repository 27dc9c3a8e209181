// Message files of the queue: data/queue/<id / 1000>/<id>. A file is hard-linked in
// from a temp file and fsynced (file, then directory) before its rows commit; it is
// never rewritten, and removed only after the commit that drops its last row.
import { createReadStream } from 'node:fs';
import { link, open, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fsyncPath, mkdirDurable } from '../store/fsutil.js';

export const FILES_PER_DIR = 1000;

/** Where the queue keeps a message file, relative to the data directory. */
export function queueFileName(fileId: number): string {
  return join('queue', String(Math.floor(fileId / FILES_PER_DIR)), String(fileId));
}

export class QueueFiles {
  constructor(readonly dir: string) {}

  path(fileId: number): string {
    return join(this.dir, String(Math.floor(fileId / FILES_PER_DIR)), String(fileId));
  }

  /** Links `from` to the file's path and makes the new entry durable. */
  async linkIn(from: string, fileId: number): Promise<void> {
    const dest = this.path(fileId);
    const dir = join(dest, '..');
    await mkdirDurable(dir);
    try {
      await link(from, dest);
    } catch (e) {
      // A file left by a crash before its commit: no row references it.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await unlink(dest);
      await link(from, dest);
    }
    try {
      await fsyncPath(dest);
      await fsyncPath(dir);
    } catch (e) {
      await this.remove(fileId);
      throw e;
    }
  }

  async remove(fileId: number): Promise<void> {
    await unlink(this.path(fileId)).catch(() => {});
  }

  async exists(fileId: number): Promise<boolean> {
    return (await stat(this.path(fileId)).catch(() => null)) !== null;
  }

  /** Ids of all files on disk. */
  async scan(): Promise<number[]> {
    await mkdirDurable(this.dir);
    const ids: number[] = [];
    for (const sub of await readdir(this.dir)) {
      if (!/^\d+$/.test(sub)) continue;
      const names = await readdir(join(this.dir, sub)).catch(() => [] as string[]);
      for (const n of names) if (/^\d+$/.test(n)) ids.push(Number(n));
    }
    return ids.sort((a, b) => a - b);
  }

  /** The prefix followed by the file, streamed. */
  stream(fileId: number, prefix: Buffer): Readable {
    const path = this.path(fileId);
    async function* gen(): AsyncGenerator<Buffer> {
      if (prefix.length > 0) yield prefix;
      for await (const c of createReadStream(path)) yield c as Buffer;
    }
    return Readable.from(gen(), { objectMode: false });
  }

  /** Reads the file into memory, prefix first (for returning a message in a DSN). */
  async read(fileId: number, prefix: Buffer): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.stream(fileId, prefix)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  /**
   * The header block of prefix plus file, up to and including the empty line that ends
   * it, read at most `max` bytes into the file.
   */
  async readHeader(fileId: number, prefix: Buffer, max: number): Promise<Buffer> {
    const fh = await open(this.path(fileId), 'r');
    try {
      const buf = Buffer.allocUnsafe(max);
      let n = 0;
      while (n < max) {
        const { bytesRead } = await fh.read(buf, n, Math.min(64 * 1024, max - n), n);
        if (bytesRead === 0) break;
        const from = Math.max(0, n - 3);
        n += bytesRead;
        const end = headerEnd(buf.subarray(0, n), from);
        if (end >= 0) return Buffer.concat([prefix, buf.subarray(0, end)]);
      }
      return Buffer.concat([prefix, buf.subarray(0, n)]);
    } finally {
      await fh.close();
    }
  }
}

/** Offset just past the empty line ending a header block, or -1. */
function headerEnd(b: Buffer, from: number): number {
  if (b.length >= 2 && b[0] === 13 && b[1] === 10) return 2; // no header fields at all
  const i = b.indexOf('\r\n\r\n', from);
  return i < 0 ? -1 : i + 4;
}
