// A consistent copy of a data directory, taken while the server runs: every database
// through SQLite's online backup (a snapshot, writers go on), then the message files
// that snapshot references, hard-linked (message files are never rewritten, so a link
// is a copy that costs no space) or copied across file systems or when asked.
//
// An account is copied under its write lock: nothing is added, expunged or erased in it
// between its database snapshot and the linking of its files, so no file the snapshot
// needs can be missing; its deliveries wait meanwhile (seconds for 100,000 messages).
// The queue's files are linked after the global database's snapshot: one removed in
// between belongs to a message whose delivery ended, and its rows are dropped from the
// copy, so the restored queue does not deliver it again.
import { copyFile, link } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { messagePath } from './files.js';
import Database from 'better-sqlite3';
import { mkdirPrivate, ensurePrivateFileSync } from './fsmode.js';
import type { AccountCore } from './core.js';

export type BackupOptions = {
  /** Where the queue keeps a message file, relative to a data directory (queue/files.ts). */
  queueFile: (id: number) => string;
  /** Copy message files instead of hard-linking them. */
  copy?: boolean;
  /** Called after each account, for progress. */
  onAccount?: (name: string, files: number) => void;
};

export type BackupResult = {
  accounts: number;
  messageFiles: number;
  queueFiles: number;
  /** Queue files gone between the snapshot and the linking: their rows were dropped. */
  queueDropped: number;
};

/** Puts one file of the copy in place: a hard link, or a copy when asked or needed. */
async function place(from: string, to: string, copy: boolean, made: Set<string>): Promise<void> {
  const dir = join(to, '..');
  if (!made.has(dir)) {
    await mkdirPrivate(dir);
    made.add(dir);
  }
  if (!copy) {
    try {
      await link(from, to);
      return;
    } catch (e) {
      // Another file system: copied instead.
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    }
  }
  await copyFile(from, to);
}

/** SQLite's online backup of `db` into `file`, made 0600 before SQLite writes to it. */
export async function snapshot(db: Database.Database, file: string): Promise<void> {
  ensurePrivateFileSync(file);
  await db.backup(file);
}

/** Ids of a snapshot's rows, by a query that plucks one column. */
function idsOf(file: string, sql: string): number[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).pluck().all() as number[];
  } finally {
    db.close();
  }
}

/** An account: its database, then, still under its lock, the files the copy references. */
export async function backupAccount(
  core: AccountCore,
  destDir: string,
  copy: boolean,
): Promise<number> {
  await mkdirPrivate(destDir);
  return core.mutex.run(async () => {
    const file = join(destDir, 'index.db');
    await snapshot(core.db, file);
    const ids = idsOf(file, 'SELECT DISTINCT file_id FROM messages WHERE erased = 0');
    const made = new Set<string>();
    for (const id of ids) {
      const from = messagePath(core, id);
      await place(from, join(destDir, relative(core.dir, from)), copy, made);
    }
    return ids.length;
  });
}

/**
 * The global database (with the queue's tables) and the queue's files: the database's
 * snapshot, then the files its queue references; rows of a file gone meanwhile dropped.
 */
export async function backupGlobal(
  db: Database.Database,
  dataDir: string,
  dest: string,
  o: BackupOptions,
): Promise<{ queueFiles: number; queueDropped: number }> {
  const global = join(dest, 'tidings.db');
  await snapshot(db, global);
  const hasQueue = db
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'queue_files'")
    .get();
  const queueIds = hasQueue ? idsOf(global, 'SELECT id FROM queue_files') : [];
  const gone: number[] = [];
  const made = new Set<string>();
  let queueFiles = 0;
  for (const id of queueIds) {
    try {
      await place(join(dataDir, o.queueFile(id)), join(dest, o.queueFile(id)), !!o.copy, made);
      queueFiles++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      gone.push(id);
    }
  }
  if (gone.length > 0) {
    const copy = new Database(global);
    try {
      copy.transaction(() => {
        for (const id of gone) {
          copy.prepare('DELETE FROM queue_messages WHERE file_id = ?').run(id);
          copy.prepare('DELETE FROM queue_files WHERE id = ?').run(id);
        }
      })();
    } finally {
      copy.close();
    }
  }
  return { queueFiles, queueDropped: gone.length };
}
