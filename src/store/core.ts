// The bottom of an account's store: its SQLite database, prepared statements, write
// lock, transactions, group commit and WAL sync, the caches a commit invalidates, and
// quota. The concern modules (reads, files, message and mailbox writes, grouped adds,
// annotations) are functions that take this core; the Account class in account.ts is
// the facade over them.
//
// Writes are serialised per account by an async mutex; adds that wait for it together
// (concurrent deliveries and APPENDs) are stored as one group, with one directory fsync,
// one transaction and one WAL sync. Message files are linked into place and fsynced
// (file, then directory) before the transaction that references them commits; a crash
// before the commit leaves only unreferenced files with ids at or above
// meta.next_message_id, which are removed at the next open. Every write transaction
// that changes something takes one new account-wide modseq.
//
// Durability without blocking the event loop: SQLite commits with synchronous=NORMAL,
// which only writes the WAL; the store then fdatasyncs the WAL file asynchronously
// (off the event loop), one sync for all commits made meanwhile (group commit). A write
// operation resolves only once its commit is durable, and its changes go to the
// switchboard only then, in commit order, so no session is told of anything a crash
// could take back. (A session that reads the database in the moment between commit and
// sync can see such data; it is told of nothing it did not read itself.)
//
// better-sqlite3 is synchronous: each read or write transaction runs to completion on
// the event loop, so a read always sees a consistent snapshot without a second
// connection. Reads are batched (many rows per call) to keep those slices short.
import Database from 'better-sqlite3';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Mutex } from './mutex.js';
import { ACCOUNT_MIGRATIONS, migrate } from './schema.js';
import { fillThreadIds } from './threadids.js';
import { StoreError } from './errors.js';
import { Switchboard, type Change, type MailboxCounts, type Session } from './switchboard.js';
import { ensurePrivateFileSync } from './fsmode.js';
import { mailboxFromRow, type Mailbox } from './rows.js';
import { Flag } from './flags.js';

export type AccountOptions = {
  /** Storage quota in bytes; 0 means unlimited. Read on each check, so config reloads apply. */
  quota: () => number;
  /** Most messages the account may hold (RFC 9208 MESSAGE); 0 or absent: unlimited. */
  messageQuota?: () => number;
  /** Remove crash leftovers at open (only the owning server process; see Store). */
  cleanup?: boolean;
  /** Test hook: called after message files are linked and before the commit. */
  beforeCommit?: () => void;
};

/** Changes of a group transaction up to index upTo (from the previous origin's) are from. */
export type Origin = { from: Session | null; upTo: number };

/** A write transaction: collects changes and takes at most one modseq. */
export class WriteTx {
  changes: Change[] = [];
  removedMessageIds: number[] = [];
  private seq: number | null = null;
  private usageDelta = 0;
  private countDeltas = new Map<number, MailboxCounts>();

  constructor(private readonly account: AccountCore) {}

  /** The modseq of this transaction, allocated on first use. */
  modseq(): number {
    if (this.seq === null) {
      const a = this.account;
      a.stmt('UPDATE meta SET modseq = modseq + 1').run();
      this.seq = (a.stmt('SELECT modseq FROM meta').get() as { modseq: number }).modseq;
    }
    return this.seq;
  }

  get allocatedModseq(): number | null {
    return this.seq;
  }

  /** Records a message entering (+1) or leaving (-1) a mailbox's counts. */
  count(mailboxId: number, flags: number, size: number, sign: 1 | -1): void {
    let d = this.countDeltas.get(mailboxId);
    if (!d) this.countDeltas.set(mailboxId, (d = { total: 0, deleted: 0, unseen: 0, size: 0 }));
    d.total += sign;
    if (flags & Flag.Deleted) d.deleted += sign;
    if (!(flags & Flag.Seen)) d.unseen += sign;
    d.size += sign * size;
    this.usageDelta += sign * size;
  }

  /** Applies the count and disk-usage deltas; emits mailboxCounts changes. */
  flushCounts(): void {
    const a = this.account;
    const upd = a.stmt(
      'UPDATE mailboxes SET total = total + ?, deleted_count = deleted_count + ?, unseen = unseen + ?, size = size + ? WHERE id = ?',
    );
    for (const [id, d] of this.countDeltas) {
      if (d.total === 0 && d.deleted === 0 && d.unseen === 0 && d.size === 0) continue;
      upd.run(d.total, d.deleted, d.unseen, d.size, id);
      const mb = this.account.mailboxByIdSync(id, true);
      if (mb) {
        this.changes.push({
          kind: 'mailboxCounts',
          mailboxId: id,
          name: mb.name,
          counts: mb.counts,
        });
      }
    }
    this.countDeltas.clear();
    if (this.usageDelta !== 0) {
      a.stmt('UPDATE disk_usage SET message_size = message_size + ?').run(this.usageDelta);
      this.usageDelta = 0;
    }
  }
}

export class AccountCore {
  readonly db: Database.Database;
  readonly switchboard: Switchboard;
  readonly mutex = new Mutex();
  /** Set once close() has flushed what was pending; nothing may take the lock after. */
  closed = false;
  private readonly stmts = new Map<string, Database.Statement>();
  /**
   * Live UIDs and their flag bits per mailbox: dropped by any commit that adds or
   * removes messages there, updated in place by flag changes.
   */
  private readonly uidCache = new Map<number, { uids: Uint32Array; flags: Uint32Array }>();
  /** Bumped by every write transaction; cached reads of an older version are stale. */
  private writeVersion = 0;
  private readonly mailboxCache = new Map<number, { version: number; mb: Mailbox | null }>();
  /** Commits in order, with their changes, waiting for the WAL sync. */
  private unsynced: { seq: number; from: Session | null; changes: Change[]; removed: number[] }[] =
    [];
  private commitSeq = 0;
  private syncedSeq = 0;
  private syncLoop: Promise<void> | null = null;
  private syncWaiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private wal: FileHandle | null = null;

  // Message file state, kept and used by files.ts.
  /** Message directories known to exist (see linkInto). */
  readonly madeDirs = new Set<string>();
  /** The message directory written last, kept open: fsyncing it then costs one call. */
  dirHandle: { dir: string; fh: FileHandle } | null = null;
  /** Ids of expunged rows whose files no session references any more, to be erased. */
  eraseQueue: number[] = [];
  erasing: Promise<void> | null = null;

  /**
   * Opens (migrating) the database under dir. `unreferenced` is called with message row
   * ids once no session can still reference them (their files may then be erased).
   */
  constructor(
    readonly name: string,
    readonly dir: string,
    readonly opts: AccountOptions,
    unreferenced: (core: AccountCore, ids: number[]) => void,
  ) {
    const file = join(dir, 'index.db');
    // It holds password-equivalent secrets: 0600 before SQLite writes to it.
    ensurePrivateFileSync(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a commit writes the WAL; syncWAL() makes it durable (see above).
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db, ACCOUNT_MIGRATIONS, file);
    fillThreadIds(this.db);
    this.switchboard = new Switchboard((ids) => unreferenced(this, ids));
  }

  /** A cached prepared statement. */
  stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  // ---- locking, transactions and durability ----

  /** Runs fn under the account's write lock; resolves once its commits are durable. */
  async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.closed) throw new Error(`account ${this.name} is closed`);
    const r = await this.mutex.run(fn);
    await this.durable();
    return r;
  }

  /** Resolves when every commit made so far is on disk (and broadcast). */
  durable(): Promise<void> {
    const seq = this.commitSeq;
    if (seq <= this.syncedSeq) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.syncWaiters.push({ seq, resolve, reject });
      this.startSync();
    });
  }

  private startSync(): void {
    if (this.syncLoop) return;
    this.syncLoop = (async () => {
      while (this.syncedSeq < this.commitSeq) {
        // Everything committed up to now is in the WAL; one sync makes all of it durable.
        const target = this.commitSeq;
        const batch = this.unsynced.splice(0, this.unsynced.findIndex((u) => u.seq > target) >>> 0);
        try {
          await this.syncWAL();
        } catch (e) {
          const failed = this.syncWaiters.filter((w) => w.seq <= target);
          this.syncWaiters = this.syncWaiters.filter((w) => w.seq > target);
          for (const w of failed) w.reject(e);
          // Do not announce what may not be on disk; the next sync retries.
          this.unsynced.unshift(...batch);
          break;
        }
        this.syncedSeq = target;
        for (const u of batch) this.switchboard.broadcast(u.from, u.changes, u.removed);
        const done = this.syncWaiters.filter((w) => w.seq <= target);
        this.syncWaiters = this.syncWaiters.filter((w) => w.seq > target);
        for (const w of done) w.resolve();
      }
    })().finally(() => {
      this.syncLoop = null;
      if (this.syncWaiters.length > 0) this.startSync();
    });
  }

  /** fdatasync of the WAL file: after it, every commit written to the WAL is durable. */
  private async syncWAL(): Promise<void> {
    if (!this.wal) this.wal = await open(join(this.dir, 'index.db-wal'), 'r');
    await this.wal.datasync();
  }

  /**
   * Runs a synchronous transaction; once its commit is durable, its changes go to the
   * other sessions. Must be called with the lock held (see write()). With origins (a
   * group of adds), each part of the changes is kept from the session that made it.
   */
  runTx<T>(from: Session | null, fn: (tx: WriteTx) => T, origins?: Origin[]): T {
    const tx = new WriteTx(this);
    let result: T;
    try {
      result = this.db.transaction(() => {
        const r = fn(tx);
        tx.flushCounts();
        return r;
      })();
    } finally {
      // Whether committed or rolled back, what was read meanwhile may be stale.
      this.writeVersion++;
    }
    this.updateUidCache(tx.changes);
    // Announced once durable, in commit order (startSync).
    const seq = ++this.commitSeq;
    if (!origins) {
      this.unsynced.push({ seq, from, changes: tx.changes, removed: tx.removedMessageIds });
      return result;
    }
    // A group of adds from several sessions: each session is not told of its own
    // changes; the order of all changes is kept. What follows the last origin (the
    // counts) goes to every session.
    let start = 0;
    for (const o of [...origins, { from: null, upTo: tx.changes.length }]) {
      if (o.upTo <= start) continue;
      this.unsynced.push({
        seq,
        from: o.from,
        changes: tx.changes.slice(start, o.upTo),
        removed: [],
      });
      start = o.upTo;
    }
    return result;
  }

  /** A write transaction under the lock. `from` is the session that made it (not notified). */
  write<T>(from: Session | null, fn: (tx: WriteTx) => T): Promise<T> {
    return this.withLock(() => this.runTx(from, fn));
  }

  /** A read transaction: synchronous, consistent. */
  read<T>(fn: (db: Database.Database) => T): T {
    return this.db.transaction(fn).deferred(this.db);
  }

  /** Counts a commit made outside runTx, so durable() waits for it too. */
  committedWithoutChanges(): void {
    this.unsynced.push({ seq: ++this.commitSeq, from: null, changes: [], removed: [] });
  }

  /** The next free message id; valid while holding the lock, until the commit advances it. */
  nextMessageId(): number {
    return (this.stmt('SELECT next_message_id AS id FROM meta').get() as { id: number }).id;
  }

  /** Closes the WAL file and the database (after a final checkpoint). */
  async closeDatabase(): Promise<void> {
    await this.wal?.close().catch(() => {});
    this.wal = null;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }

  // ---- commit-invalidated caches ----

  mailboxByIdSync(id: number, includeDeleted = false): Mailbox | null {
    const r = this.stmt(
      `SELECT * FROM mailboxes WHERE id = ?${includeDeleted ? '' : ' AND deleted = 0'}`,
    ).get(id) as Record<string, unknown> | undefined;
    return r ? mailboxFromRow(r) : null;
  }

  /**
   * A live mailbox by id, outside a transaction. Cached until the next write transaction
   * (commands of an IMAP session re-read their selected mailbox before each command).
   */
  mailboxById(id: number): Mailbox | null {
    const hit = this.mailboxCache.get(id);
    if (hit && hit.version === this.writeVersion) return hit.mb;
    const mb = this.mailboxByIdSync(id);
    if (mb) {
      Object.freeze(mb.counts);
      Object.freeze(mb.keywords);
    }
    this.mailboxCache.set(id, { version: this.writeVersion, mb: mb && Object.freeze(mb) });
    return mb;
  }

  /**
   * The live UIDs of a mailbox with their flag bits, from the cache. Read-only views:
   * valid until the next write to the account; copy what must be kept.
   */
  uidsAndFlags(mailboxId: number): { uids: Uint32Array; flags: Uint32Array } {
    let e = this.uidCache.get(mailboxId);
    if (!e) {
      const rows = this.stmt(
        'SELECT uid, flags FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid',
      )
        .raw()
        .all(mailboxId) as [number, number][];
      e = { uids: new Uint32Array(rows.length), flags: new Uint32Array(rows.length) };
      rows.forEach(([u, f], i) => {
        e!.uids[i] = u;
        e!.flags[i] = f;
      });
      this.uidCache.set(mailboxId, e);
    }
    return e;
  }

  /** Keeps the cached UID and flag lists exact; anything unexpected drops the entry. */
  private updateUidCache(changes: Change[]): void {
    for (const ch of changes) {
      if (ch.kind === 'removeMailbox') this.uidCache.delete(ch.mailboxId);
      if (ch.kind !== 'addUID' && ch.kind !== 'removeUIDs' && ch.kind !== 'flags') continue;
      const e = this.uidCache.get(ch.mailboxId);
      if (!e) continue;
      if (ch.kind === 'flags') {
        const i = binarySearch(e.uids, ch.uid);
        if (i >= 0) e.flags[i] = ch.flags;
        else this.uidCache.delete(ch.mailboxId);
      } else if (ch.kind === 'addUID') {
        // New UIDs are always above the existing ones.
        const n = e.uids.length;
        if (n > 0 && (e.uids[n - 1] as number) >= ch.uid) {
          this.uidCache.delete(ch.mailboxId);
          continue;
        }
        const uids = new Uint32Array(n + 1);
        const flags = new Uint32Array(n + 1);
        uids.set(e.uids);
        flags.set(e.flags);
        uids[n] = ch.uid;
        flags[n] = ch.flags;
        this.uidCache.set(ch.mailboxId, { uids, flags });
      } else {
        const drop = new Set(ch.uids);
        const keep: number[] = [];
        e.uids.forEach((u, i) => {
          if (!drop.has(u)) keep.push(i);
        });
        this.uidCache.set(ch.mailboxId, {
          uids: Uint32Array.from(keep, (i) => e.uids[i] as number),
          flags: Uint32Array.from(keep, (i) => e.flags[i] as number),
        });
      }
    }
  }

  // ---- quota ----

  diskUsage(): number {
    return (this.stmt('SELECT message_size FROM disk_usage').get() as { message_size: number })
      .message_size;
  }

  quotaLimit(): number {
    return this.opts.quota();
  }

  /** The live messages of the account, from the mailboxes' counts. */
  messageCount(): number {
    return (
      this.stmt('SELECT COALESCE(SUM(total), 0) AS n FROM mailboxes WHERE deleted = 0').get() as {
        n: number;
      }
    ).n;
  }

  messageLimit(): number {
    return this.opts.messageQuota?.() ?? 0;
  }

  /** Why adding `count` messages of `size` bytes in all would exceed a quota, or null. */
  overQuota(size: number, count: number): string | null {
    const limit = this.opts.quota();
    if (limit > 0 && this.diskUsage() + size > limit) return 'account storage quota exceeded';
    const most = this.messageLimit();
    if (most > 0 && count > 0 && this.messageCount() + count > most)
      return 'account message quota exceeded';
    return null;
  }

  /** Throws 'overquota' unless adding `count` messages of `size` bytes stays within the quotas. */
  checkQuota(size: number, count: number): void {
    const why = this.overQuota(size, count);
    if (why) throw new StoreError('overquota', why);
  }
}

function binarySearch(a: Uint32Array, v: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = a[mid] as number;
    if (x === v) return mid;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
