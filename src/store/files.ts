// An account's message files: where they live, reading them, linking new ones into
// place durably (link, then fsync of the directory, before the commit that references
// them), erasing those of expunged messages once no session references them, and
// removing what a crash left behind.
import { link, rename, unlink, readdir, open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { mkdirDurable } from './fsutil.js';
import type { Message } from './rows.js';
import type { PreparedMessage } from './tempfile.js';
import type { AccountCore } from './core.js';

/** Message files are spread over directories of this many ids. */
export const FILES_PER_DIR = 8192;

export const unlinkAll = (paths: string[]) =>
  Promise.all(paths.map((f) => unlink(f).catch(() => {})));

export function messagePath(core: AccountCore, fileId: number): string {
  return join(core.dir, 'msg', String(Math.floor(fileId / FILES_PER_DIR)), String(fileId));
}

/** Streams bytes [start, end) of the stored message: the prefix followed by the file. */
export function messageStream(core: AccountCore, m: Message, start = 0, end = m.size): Readable {
  const prefix = m.prefix ?? Buffer.alloc(0);
  const path = messagePath(core, m.fileId);
  start = Math.max(0, Math.min(start, m.size));
  end = Math.max(start, Math.min(end, m.size));
  async function* gen(): AsyncGenerator<Buffer> {
    if (start < prefix.length) yield prefix.subarray(start, Math.min(end, prefix.length));
    const fs = Math.max(0, start - prefix.length);
    const fe = end - prefix.length;
    if (fe > fs) {
      for await (const c of createReadStream(path, { start: fs, end: fe - 1 })) {
        yield c as Buffer;
      }
    }
  }
  return Readable.from(gen(), { objectMode: false });
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads bytes [start, end) of the stored message (prefix, then file) into memory with
 * one positioned read: cheaper than a stream for the many small sections of a FETCH.
 * A file shorter than recorded gives what is there.
 */
export async function readMessage(
  core: AccountCore,
  m: Message,
  start = 0,
  end = m.size,
): Promise<Buffer> {
  const prefix = m.prefix ?? EMPTY;
  const head = start < prefix.length ? prefix.subarray(start, Math.min(end, prefix.length)) : EMPTY;
  const from = Math.max(0, start - prefix.length);
  const to = end - prefix.length;
  if (to <= from) return Buffer.from(head);
  const buf = Buffer.allocUnsafe(head.length + to - from);
  head.copy(buf);
  let n = head.length;
  const fh = await open(messagePath(core, m.fileId), 'r');
  try {
    while (n < buf.length) {
      const r = await fh.read(buf, n, buf.length - n, from + n - head.length);
      if (r.bytesRead === 0) break;
      n += r.bytesRead;
    }
  } finally {
    await fh.close();
  }
  return buf.subarray(0, n);
}

/** The size of a message file, or null when it is missing (for verifydata). */
export async function fileSize(core: AccountCore, fileId: number): Promise<number | null> {
  try {
    return (await stat(messagePath(core, fileId))).size;
  } catch {
    return null;
  }
}

// ---- linking new files into place ----

/** fsyncs a message directory, so the names linked into it survive a crash. */
export async function syncDir(core: AccountCore, dir: string): Promise<void> {
  if (core.dirHandle?.dir !== dir) {
    const old = core.dirHandle;
    core.dirHandle = null;
    await old?.fh.close().catch(() => {});
    core.dirHandle = { dir, fh: await open(dir, 'r') };
  }
  await core.dirHandle.fh.sync();
}

/**
 * Hard-links sources to the message paths of ids (moves them, for `take`), noting
 * their directories; the caller fsyncs those (syncDir) before its commit.
 */
export async function linkInto(
  core: AccountCore,
  pairs: { from: string; id: number; take?: PreparedMessage }[],
  dirs: Set<string>,
): Promise<string[]> {
  const done: string[] = [];
  try {
    for (const p of pairs) {
      const dest = messagePath(core, p.id);
      const dir = join(dest, '..');
      if (!dirs.has(dir)) {
        // Created once per process; a mkdir per delivery is a wasted system call.
        if (!core.madeDirs.has(dir)) await mkdirDurable(dir);
        core.madeDirs.add(dir);
        dirs.add(dir);
      }
      if (p.take) {
        // Replaces a file left by a crash before its commit, as link does below.
        await rename(p.from, dest);
        p.take.disown();
      } else {
        try {
          await link(p.from, dest);
        } catch (e) {
          // A file left by a crash before its commit: nothing references it.
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
          await unlink(dest);
          await link(p.from, dest);
        }
      }
      done.push(dest);
    }
  } catch (e) {
    await unlinkAll(done);
    throw e;
  }
  return done;
}

/** Hard-links sources to the message paths of ids; fsyncs each directory. */
export async function linkFiles(
  core: AccountCore,
  pairs: { from: string; id: number }[],
): Promise<string[]> {
  const dirs = new Set<string>();
  const done = await linkInto(core, pairs, dirs);
  try {
    for (const d of dirs) await syncDir(core, d);
  } catch (e) {
    await unlinkAll(done);
    throw e;
  }
  return done;
}

// ---- erasing expunged message files ----

/** Queues the files of expunged rows for erasure, soon, under the lock. */
export function scheduleErase(core: AccountCore, ids: number[]): void {
  // One by one: spreading a list into push throws beyond about 120,000 ids (a move or
  // expunge of a whole large mailbox), after its commit.
  for (const id of ids) core.eraseQueue.push(id);
  if (!core.erasing) {
    core.erasing = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => eraseNow(core))
      .finally(() => {
        core.erasing = null;
        if (core.eraseQueue.length > 0 && !core.closed) scheduleErase(core, []);
      });
  }
}

async function eraseNow(core: AccountCore): Promise<void> {
  const ids = core.eraseQueue;
  core.eraseQueue = [];
  if (ids.length === 0 || core.closed) return;
  await core.mutex.run(() => eraseIds(core, ids));
}

/** Erases what is still queued, at close. Lock held. */
export async function eraseQueued(core: AccountCore): Promise<void> {
  if (core.eraseQueue.length > 0) {
    const ids = core.eraseQueue;
    core.eraseQueue = [];
    await eraseIds(core, ids);
  }
}

/** Removes files of expunged rows unless a live row still uses the file. Lock held. */
async function eraseIds(core: AccountCore, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    // The file index, named: left to itself SQLite answers the EXISTS from the index
    // on (expunged, erased), a walk over every live message of the account per row.
    const rows = core
      .stmt(
        `SELECT m.id, m.file_id,
             EXISTS (SELECT 1 FROM messages l INDEXED BY messages_file
                     WHERE l.file_id = m.file_id AND l.expunged = 0) AS shared
           FROM messages m WHERE m.id IN (${chunk.map(() => '?').join(',')}) AND m.expunged = 1 AND m.erased = 0`,
      )
      .all(...chunk) as { id: number; file_id: number; shared: number }[];
    for (const r of rows) {
      if (!r.shared) {
        await unlink(messagePath(core, r.file_id)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'ENOENT') throw e;
        });
      }
    }
    const mark = core.stmt('UPDATE messages SET erased = 1 WHERE id = ?');
    core.db.transaction(() => rows.forEach((r) => mark.run(r.id)))();
  }
}

/** Waits until pending file erasures are done. */
export async function settle(core: AccountCore): Promise<void> {
  while (core.erasing) await core.erasing;
}

/**
 * After a crash: removes files that were linked but never committed (ids at or above
 * next_message_id), and files of expunged rows that were never erased (no session
 * exists yet that could reference them).
 */
export async function cleanupAfterCrash(core: AccountCore): Promise<void> {
  const next = core.nextMessageId();
  const msgDir = join(core.dir, 'msg');
  const dirs = (await readdir(msgDir).catch(() => [] as string[]))
    .map(Number)
    .filter((d) => Number.isInteger(d) && d >= Math.floor(next / FILES_PER_DIR));
  for (const d of dirs) {
    for (const f of await readdir(join(msgDir, String(d)))) {
      const id = Number(f);
      if (!Number.isInteger(id) || id >= next) await unlink(join(msgDir, String(d), f));
    }
  }
  const pending = core
    .stmt('SELECT id FROM messages WHERE expunged = 1 AND erased = 0')
    .pluck()
    .all() as number[];
  if (pending.length > 0) await eraseIds(core, pending);
}

/** Closes the kept directory handle. */
export async function closeFiles(core: AccountCore): Promise<void> {
  await core.dirHandle?.fh.close().catch(() => {});
  core.dirHandle = null;
}
