// One account's store: its SQLite database, message files, switchboard and write lock.
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
import { link, rename, unlink, readdir, open, stat, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { Mutex } from './mutex.js';
import { ACCOUNT_MIGRATIONS, migrate } from './schema.js';
import { StoreError, isStoreError } from './errors.js';
import { Switchboard, type Change, type MailboxCounts, type Session } from './switchboard.js';
import { mkdirDurable } from './fsutil.js';
import { ensurePrivateFileSync } from './fsmode.js';
import {
  FACT_COLUMNS,
  MESSAGE_COLUMNS,
  factValues,
  mailboxFromRow,
  messageFromRow,
  type DeliveryFacts,
  type Mailbox,
  type Message,
} from './rows.js';
import { Flag, addKeywords, normalizeKeywords, removeKeywords, sameKeywords } from './flags.js';
import { storedStructure } from './thread.js';
import type { PreparedMessage } from './tempfile.js';
import { checkMailboxName } from '../config/index.js';
import type { Part } from '../message/index.js';

/** METADATA limits per account (spec/imap.md §4); annotations do not count against quota. */
export const MAX_ANNOTATIONS = 1000;
export const MAX_ANNOTATION_BYTES = 1_000_000;

export type Annotation = { key: string; value: Buffer | null; isString: boolean; modseq: number };

/** Message files are spread over directories of this many ids. */
export const FILES_PER_DIR = 8192;

export type InitialMailboxes = {
  archive?: string;
  drafts?: string;
  junk?: string;
  sent?: string;
  trash?: string;
  regular?: string[];
};

export type AccountOptions = {
  /** Storage quota in bytes; 0 means unlimited. Read on each check, so config reloads apply. */
  quota: () => number;
  /** Remove crash leftovers at open (only the owning server process; see Store). */
  cleanup?: boolean;
  /** Test hook: called after message files are linked and before the commit. */
  beforeCommit?: () => void;
};

export type NewMessage = {
  message: PreparedMessage;
  flags?: number;
  keywords?: string[];
  internalDate?: number;
  /** Delivery-time header lines (Received, Return-Path, ...), each ending in CRLF. */
  prefix?: Buffer;
  /**
   * The caller is done with the prepared file: the store moves it into place instead
   * of linking it (saving the removal of the temp file) and disowns it.
   */
  take?: boolean;
  facts?: DeliveryFacts;
};

const INSERT_COLUMNS = [
  'id',
  'file_id',
  'mailbox_id',
  'uid',
  'modseq',
  'createseq',
  'expunged',
  'flags',
  'keywords',
  'internal_date',
  'save_date',
  'size',
  'prefix',
  'part',
  'message_id',
  'in_reply_to',
  'refs',
  'subject_base',
  'envelope',
  ...FACT_COLUMNS,
];
const INSERT_MESSAGE_SQL = `INSERT INTO messages (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`;

/** Changes of a group transaction up to index upTo (from the previous origin's) are from. */
type Origin = { from: Session | null; upTo: number };

/** Adds in a group stored together: at most this many requests. */
const MAX_ADD_GROUP = 64;

/** One addMessages call waiting for, or being stored in, a group. */
type AddRequest = {
  mailbox: number | string;
  items: NewMessage[];
  from: Session | null;
  create: boolean;
  quota: boolean;
  resolve: (r: { mailbox: Mailbox; messages: Message[] }) => void;
  reject: (e: unknown) => void;
  mb: Mailbox | null;
  firstId: number;
  linked: string[];
  uids: number[];
  messages?: Message[];
  error: unknown;
};

const unlinkAll = (paths: string[]) => Promise.all(paths.map((f) => unlink(f).catch(() => {})));

export type FlagOp = {
  mode: 'set' | 'add' | 'remove';
  flags: number;
  keywords?: string[];
  /** CONDSTORE (RFC 7162 §3.1.3): skip messages whose modseq is higher. */
  unchangedSince?: number;
};

export type FlagResult = {
  /** Current state of every message matched (changed or not), in UID order. */
  messages: { uid: number; flags: number; keywords: string[]; modseq: number }[];
  changed: number[];
  /** UIDs not modified because of unchangedSince. */
  modified: number[];
  modseq: number | null;
};

type MessageRowSpec = {
  id: number;
  fileId: number;
  mailboxId: number;
  uid: number;
  flags: number;
  keywords: string[];
  internalDate: number;
  saveDate: number;
  size: number;
  prefix: Buffer | null;
  part: Part;
  thread: { messageId: string; inReplyTo: string; references: string[]; subjectBase: string };
  facts?: DeliveryFacts;
};

/** A write transaction: collects changes and takes at most one modseq. */
export class WriteTx {
  changes: Change[] = [];
  removedMessageIds: number[] = [];
  private seq: number | null = null;
  private usageDelta = 0;
  private countDeltas = new Map<number, MailboxCounts>();

  constructor(private readonly account: Account) {}

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

export class Account {
  readonly db: Database.Database;
  readonly switchboard: Switchboard;
  private readonly mutex = new Mutex();
  private readonly stmts = new Map<string, Database.Statement>();
  /**
   * Live UIDs and their flag bits per mailbox: dropped by any commit that adds or
   * removes messages there, updated in place by flag changes.
   */
  private readonly uidCache = new Map<number, { uids: Uint32Array; flags: Uint32Array }>();
  /** Commits in order, with their changes, waiting for the WAL sync. */
  private unsynced: { seq: number; from: Session | null; changes: Change[]; removed: number[] }[] =
    [];
  private commitSeq = 0;
  private syncedSeq = 0;
  private syncLoop: Promise<void> | null = null;
  private syncWaiters: { seq: number; resolve: () => void; reject: (e: unknown) => void }[] = [];
  private wal: FileHandle | null = null;
  private eraseQueue: number[] = [];
  private erasing: Promise<void> | null = null;
  private closed = false;

  private constructor(
    readonly name: string,
    readonly dir: string,
    private readonly opts: AccountOptions,
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
    this.switchboard = new Switchboard((ids) => this.scheduleErase(ids));
  }

  /** Opens (creating when new) an account's database under dir. */
  static async open(
    name: string,
    dir: string,
    opts: AccountOptions,
    initial?: InitialMailboxes,
  ): Promise<Account> {
    await mkdirDurable(join(dir, 'msg'));
    const a = new Account(name, dir, opts);
    const fresh = a.db.prepare('SELECT 1 FROM meta').get() === undefined;
    if (fresh) {
      a.initialize(initial ?? {});
      a.committedWithoutChanges();
      await a.durable();
    }
    if (opts.cleanup) await a.cleanupAfterCrash();
    return a;
  }

  private initialize(initial: InitialMailboxes): void {
    this.db.transaction(() => {
      this.stmt(
        'INSERT INTO meta (id, modseq, next_message_id, next_uidvalidity, created) VALUES (1, 0, 1, 1, ?)',
      ).run(Date.now());
      this.stmt('INSERT INTO disk_usage (id, message_size) VALUES (1, 0)').run();
      const tx = new WriteTx(this);
      this.createMailboxTx(tx, 'Inbox', null, true);
      const special: [string | undefined, string][] = [
        [initial.archive, '\\Archive'],
        [initial.drafts, '\\Drafts'],
        [initial.junk, '\\Junk'],
        [initial.sent, '\\Sent'],
        [initial.trash, '\\Trash'],
      ];
      const create = (name: string, use: string | null) => {
        const n = checkMailboxName(name);
        for (const p of this.ancestors(n)) {
          if (!this.existsSync(p)) this.createMailboxTx(tx, p, null, true);
        }
        if (!this.existsSync(n)) this.createMailboxTx(tx, n, use, true);
      };
      for (const [name, use] of special) if (name) create(name, use);
      for (const name of initial.regular ?? []) create(name, null);
    })();
  }

  // ---- files ----

  messagePath(fileId: number): string {
    return join(this.dir, 'msg', String(Math.floor(fileId / FILES_PER_DIR)), String(fileId));
  }

  /** Streams bytes [start, end) of the stored message: the prefix followed by the file. */
  messageStream(m: Message, start = 0, end = m.size): Readable {
    const prefix = m.prefix ?? Buffer.alloc(0);
    const path = this.messagePath(m.fileId);
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

  /** Reads bytes [start, end) of the stored message into memory (for small ranges). */
  async readMessage(m: Message, start = 0, end = m.size): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.messageStream(m, start, end)) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  // ---- locking and transactions ----

  /** Runs fn under the account's write lock. */
  /** Runs fn under the account's write lock; resolves once its commits are durable. */
  async withLock<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.closed) throw new Error(`account ${this.name} is closed`);
    const r = await this.mutex.run(fn);
    await this.durable();
    return r;
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
   * Runs a synchronous transaction; on commit, broadcasts its changes to the other
   * sessions. Must be called with the lock held (see write()).
   */
  private runTx<T>(from: Session | null, fn: (tx: WriteTx) => T, origins?: Origin[]): T {
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

  // ---- mailbox reads ----

  mailboxes(): Mailbox[] {
    return (
      this.stmt('SELECT * FROM mailboxes WHERE deleted = 0 ORDER BY name').all() as Record<
        string,
        unknown
      >[]
    ).map(mailboxFromRow);
  }

  mailbox(name: string): Mailbox | null {
    let n: string;
    try {
      n = checkMailboxName(name);
    } catch {
      return null;
    }
    const r = this.stmt('SELECT * FROM mailboxes WHERE name = ? AND deleted = 0').get(n) as
      Record<string, unknown> | undefined;
    return r ? mailboxFromRow(r) : null;
  }

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

  /** The mailbox with a special-use flag (by flag, never by name). */
  mailboxBySpecialUse(use: string): Mailbox | null {
    const r = this.stmt(
      'SELECT * FROM mailboxes WHERE deleted = 0 AND special_use = ? ORDER BY id LIMIT 1',
    ).get(use) as Record<string, unknown> | undefined;
    return r ? mailboxFromRow(r) : null;
  }

  subscriptions(): string[] {
    return (
      this.stmt('SELECT name FROM subscriptions ORDER BY name').all() as { name: string }[]
    ).map((r) => r.name);
  }

  highestModseq(): number {
    return (this.stmt('SELECT modseq FROM meta').get() as { modseq: number }).modseq;
  }

  /** Highest modseq of any message (live or expunged) in a mailbox, or of the mailbox itself. */
  mailboxHighestModseq(mailboxId: number): number {
    const r = this.stmt('SELECT MAX(modseq) AS m FROM messages WHERE mailbox_id = ?').get(
      mailboxId,
    ) as { m: number | null };
    const mb = this.mailboxByIdSync(mailboxId, true);
    return Math.max(r.m ?? 0, mb?.modseq ?? 0);
  }

  // ---- message reads ----

  /** Sorted UIDs of the live messages in a mailbox, as a new array the caller may keep. */
  uidArray(mailboxId: number): Uint32Array {
    return this.uidsAndFlags(mailboxId).uids.slice();
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

  /** Sorted UIDs of the live messages in a mailbox. */
  uids(mailboxId: number): number[] {
    return this.stmt('SELECT uid FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid')
      .pluck()
      .all(mailboxId) as number[];
  }

  /** Live messages with the given UIDs (missing ones skipped), in UID order. One query per batch. */
  messages(mailboxId: number, uids: number[], opts: { includeExpunged?: boolean } = {}): Message[] {
    if (uids.length === 0) return [];
    const out: Message[] = [];
    const sorted = [...uids].sort((a, b) => a - b);
    const cond = opts.includeExpunged ? 'AND erased = 0' : 'AND expunged = 0';
    // Contiguous ranges need one range query; sparse sets go in chunks of 500.
    const first = sorted[0] as number;
    const last = sorted[sorted.length - 1] as number;
    if (last - first + 1 === sorted.length) {
      const rows = this.stmt(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? ${cond} ORDER BY uid`,
      ).all(mailboxId, first, last) as Record<string, unknown>[];
      for (const r of rows) out.push(messageFromRow(r));
      return out;
    }
    for (let i = 0; i < sorted.length; i += 500) {
      const chunk = sorted.slice(i, i + 500);
      const rows = this.stmt(
        `SELECT ${MESSAGE_COLUMNS} FROM messages WHERE mailbox_id = ? AND uid IN (${chunk.map(() => '?').join(',')}) ${cond} ORDER BY uid`,
      ).all(mailboxId, ...chunk) as Record<string, unknown>[];
      for (const r of rows) out.push(messageFromRow(r));
    }
    return out;
  }

  message(
    mailboxId: number,
    uid: number,
    opts: { includeExpunged?: boolean } = {},
  ): Message | null {
    return this.messages(mailboxId, [uid], opts)[0] ?? null;
  }

  /** Flags of live messages, cheap (no MIME structure), in UID order. */
  flagsOf(mailboxId: number): { uid: number; flags: number; keywords: string[]; modseq: number }[] {
    return (
      this.stmt(
        'SELECT uid, flags, keywords, modseq FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid',
      ).all(mailboxId) as { uid: number; flags: number; keywords: string; modseq: number }[]
    ).map((r) => ({ ...r, keywords: JSON.parse(r.keywords) as string[] }));
  }

  diskUsage(): number {
    return (this.stmt('SELECT message_size FROM disk_usage').get() as { message_size: number })
      .message_size;
  }

  quotaLimit(): number {
    return this.opts.quota();
  }

  /** Whether adding `size` more bytes stays within the quota. */
  canAdd(size: number): boolean {
    const limit = this.opts.quota();
    return limit <= 0 || this.diskUsage() + size <= limit;
  }

  private checkQuota(size: number): void {
    if (!this.canAdd(size)) {
      throw new StoreError('overquota', 'account storage quota exceeded');
    }
  }

  // ---- passwords ----

  secrets<T = unknown>(): T | null {
    const r = this.stmt('SELECT secrets FROM password').get() as { secrets: string } | undefined;
    return r ? (JSON.parse(r.secrets) as T) : null;
  }

  setSecrets(secrets: unknown): Promise<void> {
    return this.withLock(() => {
      this.stmt(
        'INSERT INTO password (id, secrets) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET secrets = excluded.secrets',
      ).run(JSON.stringify(secrets));
      this.committedWithoutChanges();
    });
  }

  /** Counts a commit made outside runTx, so durable() waits for it too. */
  private committedWithoutChanges(): void {
    this.unsynced.push({ seq: ++this.commitSeq, from: null, changes: [], removed: [] });
  }

  // ---- mailbox writes ----

  private nextUidvalidity(): number {
    const r = this.stmt('SELECT next_uidvalidity AS v FROM meta').get() as { v: number };
    this.stmt('UPDATE meta SET next_uidvalidity = next_uidvalidity + 1').run();
    return r.v;
  }

  private createMailboxTx(
    tx: WriteTx,
    name: string,
    specialUse: string | null,
    subscribe: boolean,
  ): Mailbox {
    const seq = tx.modseq();
    if (specialUse) this.clearSpecialUse(tx, specialUse);
    const info = this.stmt(
      'INSERT INTO mailboxes (name, uidvalidity, uidnext, modseq, createseq, special_use) VALUES (?, ?, 1, ?, ?, ?)',
    ).run(name, this.nextUidvalidity(), seq, seq, specialUse);
    const id = Number(info.lastInsertRowid);
    tx.changes.push({ kind: 'addMailbox', mailboxId: id, name, specialUse });
    if (subscribe) this.subscribeTx(tx, name);
    return this.mailboxByIdSync(id) as Mailbox;
  }

  private clearSpecialUse(tx: WriteTx, use: string): void {
    const rows = this.stmt(
      'SELECT id, name FROM mailboxes WHERE deleted = 0 AND special_use = ?',
    ).all(use) as { id: number; name: string }[];
    for (const r of rows) {
      this.stmt('UPDATE mailboxes SET special_use = NULL, modseq = ? WHERE id = ?').run(
        tx.modseq(),
        r.id,
      );
      tx.changes.push({
        kind: 'mailboxSpecialUse',
        mailboxId: r.id,
        name: r.name,
        specialUse: null,
      });
    }
  }

  private subscribeTx(tx: WriteTx, name: string): boolean {
    const r = this.stmt('INSERT INTO subscriptions (name) VALUES (?) ON CONFLICT DO NOTHING').run(
      name,
    );
    if (r.changes > 0) tx.changes.push({ kind: 'addSubscription', name });
    return r.changes > 0;
  }

  private existsSync(name: string): boolean {
    return (
      this.stmt('SELECT 1 FROM mailboxes WHERE name = ? AND deleted = 0').get(name) !== undefined
    );
  }

  private ancestors(name: string): string[] {
    const parts = name.split('/');
    const out: string[] = [];
    for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
    return out;
  }

  /**
   * Creates a mailbox and any missing parents, all subscribed (spec/imap.md §2.3 CREATE).
   * Returns the mailboxes created, parents first.
   */
  async createMailbox(
    name: string,
    opts: { specialUse?: string | null; subscribe?: boolean } = {},
    from: Session | null = null,
  ): Promise<Mailbox[]> {
    const n = this.validName(name);
    return this.write(from, (tx) => {
      if (this.existsSync(n)) throw new StoreError('alreadyexists', 'mailbox already exists');
      const created: Mailbox[] = [];
      for (const p of this.ancestors(n)) {
        if (!this.existsSync(p)) created.push(this.createMailboxTx(tx, p, null, true));
      }
      created.push(this.createMailboxTx(tx, n, opts.specialUse ?? null, opts.subscribe ?? true));
      return created;
    });
  }

  private validName(name: string): string {
    try {
      return checkMailboxName(name);
    } catch (e) {
      throw new StoreError('cannot', (e as Error).message);
    }
  }

  private requireMailbox(name: string): Mailbox {
    const mb = this.mailbox(name);
    if (!mb) throw new StoreError('nonexistent', 'mailbox does not exist');
    return mb;
  }

  private requireMailboxId(id: number): Mailbox {
    const mb = this.mailboxByIdSync(id);
    if (!mb) throw new StoreError('nonexistent', 'mailbox does not exist');
    return mb;
  }

  /** Deletes a leaf mailbox and its messages (spec/imap.md §2.3 DELETE). */
  deleteMailbox(name: string, from: Session | null = null): Promise<void> {
    return this.write(from, (tx) => {
      const mb = this.requireMailbox(name);
      if (mb.name === 'Inbox') throw new StoreError('cannot', 'cannot delete Inbox');
      const child = this.stmt(
        'SELECT 1 FROM mailboxes WHERE deleted = 0 AND name LIKE ? ESCAPE ? LIMIT 1',
      ).get(likePrefix(mb.name + '/'), '\\');
      if (child) throw new StoreError('haschildren', 'mailbox has children, delete them first');
      const seq = tx.modseq();
      const msgs = this.stmt(
        'SELECT id, uid, flags, size FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid',
      ).all(mb.id) as { id: number; uid: number; flags: number; size: number }[];
      if (msgs.length > 0) {
        this.stmt(
          'UPDATE messages SET expunged = 1, modseq = ? WHERE mailbox_id = ? AND expunged = 0',
        ).run(seq, mb.id);
        for (const m of msgs) {
          tx.count(mb.id, m.flags, m.size, -1);
          tx.removedMessageIds.push(m.id);
        }
        tx.changes.push({
          kind: 'removeUIDs',
          mailboxId: mb.id,
          uids: msgs.map((m) => m.uid),
          modseq: seq,
        });
      }
      this.stmt('DELETE FROM annotations WHERE mailbox_id = ?').run(mb.id);
      this.stmt(
        'UPDATE mailboxes SET deleted = 1, modseq = ?, special_use = NULL WHERE id = ?',
      ).run(seq, mb.id);
      this.stmt('UPDATE meta SET highest_deleted_modseq = MAX(highest_deleted_modseq, ?)').run(seq);
      tx.changes.push({ kind: 'removeMailbox', mailboxId: mb.id, name: mb.name });
    });
  }

  /**
   * Renames a mailbox with its children; new parents are created and subscribed.
   * Renaming Inbox moves its messages into a new mailbox and leaves Inbox (and its
   * children) in place (RFC 9051 §6.3.6).
   */
  async renameMailbox(
    oldName: string,
    newName: string,
    from: Session | null = null,
  ): Promise<Mailbox> {
    const to = this.validName(newName);
    return this.withLock(async () => {
      const src = this.requireMailbox(oldName);
      if (to === src.name) throw new StoreError('alreadyexists', 'mailbox already exists');
      if (to === 'Inbox' || this.existsSync(to)) {
        throw new StoreError('alreadyexists', 'destination mailbox already exists');
      }
      if (src.name === 'Inbox') {
        const uids = this.uids(src.id);
        const dst = this.runTx(from, (tx) => {
          for (const p of this.ancestors(to)) {
            if (!this.existsSync(p)) this.createMailboxTx(tx, p, null, true);
          }
          return this.createMailboxTx(tx, to, null, true);
        });
        if (uids.length > 0) await this.moveLocked(src.id, uids, dst.id, from);
        return this.mailboxByIdSync(dst.id) as Mailbox;
      }
      if (to.startsWith(src.name + '/')) {
        throw new StoreError('cannot', 'cannot rename mailbox to a child of itself');
      }
      return this.runTx(from, (tx) => {
        const children = this.stmt(
          'SELECT * FROM mailboxes WHERE deleted = 0 AND name LIKE ? ESCAPE ?',
        ).all(likePrefix(src.name + '/'), '\\') as Record<string, unknown>[];
        const moving = [src, ...children.map(mailboxFromRow)];
        for (const m of moving) {
          const nn = to + m.name.slice(src.name.length);
          if (this.existsSync(nn) && !moving.some((x) => x.name === nn)) {
            throw new StoreError('alreadyexists', `destination mailbox ${nn} already exists`);
          }
        }
        for (const p of this.ancestors(to)) {
          if (!this.existsSync(p)) this.createMailboxTx(tx, p, null, true);
        }
        const seq = tx.modseq();
        // Rename longest names first is unnecessary: names are unique and the unique index
        // is checked per statement, so use a temporary marker to avoid transient clashes.
        const upd = this.stmt('UPDATE mailboxes SET name = ?, modseq = ? WHERE id = ?');
        for (const m of moving) upd.run(`\u0000rename\u0000${m.id}`, seq, m.id);
        for (const m of moving) {
          const nn = to + m.name.slice(src.name.length);
          upd.run(nn, seq, m.id);
          tx.changes.push({
            kind: 'renameMailbox',
            mailboxId: m.id,
            oldName: m.name,
            newName: nn,
            specialUse: m.specialUse,
          });
        }
        return this.mailboxByIdSync(src.id) as Mailbox;
      });
    });
  }

  async subscribe(name: string, from: Session | null = null): Promise<boolean> {
    const n = this.validName(name);
    return this.write(from, (tx) => this.subscribeTx(tx, n));
  }

  /** Unsubscribes; an error only when neither subscribed nor existing (spec/imap.md §2.3). */
  async unsubscribe(name: string, from: Session | null = null): Promise<void> {
    const n = this.validName(name);
    return this.write(from, (tx) => {
      const r = this.stmt('DELETE FROM subscriptions WHERE name = ?').run(n);
      if (r.changes === 0 && !this.existsSync(n)) {
        throw new StoreError('nonexistent', 'not subscribed and mailbox does not exist');
      }
      if (r.changes > 0) tx.changes.push({ kind: 'removeSubscription', name: n });
    });
  }

  /** Sets (or clears, with null) a mailbox's special use; it is taken from any other mailbox. */
  setSpecialUse(name: string, use: string | null, from: Session | null = null): Promise<void> {
    return this.write(from, (tx) => {
      const mb = this.requireMailbox(name);
      if (use) this.clearSpecialUse(tx, use);
      this.stmt('UPDATE mailboxes SET special_use = ?, modseq = ? WHERE id = ?').run(
        use,
        tx.modseq(),
        mb.id,
      );
      tx.changes.push({
        kind: 'mailboxSpecialUse',
        mailboxId: mb.id,
        name: mb.name,
        specialUse: use,
      });
    });
  }

  // ---- annotations (METADATA, RFC 5464) ----

  /** Annotations of a mailbox, or account-wide ones with mailboxId 0, sorted by key. */
  annotations(mailboxId: number): Annotation[] {
    return (
      this.stmt(
        'SELECT key, value, is_string, modseq FROM annotations WHERE mailbox_id = ? ORDER BY key',
      ).all(mailboxId) as {
        key: string;
        value: Buffer | null;
        is_string: number;
        modseq: number;
      }[]
    ).map((r) => ({ key: r.key, value: r.value, isString: r.is_string === 1, modseq: r.modseq }));
  }

  /**
   * Sets annotations (a null value removes one) in one transaction. Keys are lower-case
   * ASCII paths under /private/ (RFC 5464 §3.2); the account-wide limits on count and
   * total size apply after the change. Mailbox annotations bump the mailbox modseq.
   */
  async setAnnotations(
    mailboxId: number,
    entries: { key: string; value: Buffer | null; isString?: boolean }[],
    from: Session | null = null,
  ): Promise<void> {
    for (const e of entries) checkAnnotationKey(e.key);
    return this.write(from, (tx) => {
      const mb = mailboxId === 0 ? null : this.requireMailboxId(mailboxId);
      const seq = tx.modseq();
      const upsert = this.stmt(
        `INSERT INTO annotations (mailbox_id, key, value, is_string, modseq, createseq) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (mailbox_id, key) DO UPDATE SET value = excluded.value, is_string = excluded.is_string, modseq = excluded.modseq`,
      );
      const del = this.stmt('DELETE FROM annotations WHERE mailbox_id = ? AND key = ?');
      for (const e of entries) {
        const key = e.key.toLowerCase();
        if (e.value === null) del.run(mailboxId, key);
        else upsert.run(mailboxId, key, e.value, e.isString ? 1 : 0, seq, seq);
        tx.changes.push({
          kind: 'annotation',
          mailboxId,
          mailboxName: mb?.name ?? '',
          key,
          modseq: seq,
        });
      }
      const totals = this.stmt(
        'SELECT COUNT(*) AS n, COALESCE(SUM(length(key) + COALESCE(length(value), 0)), 0) AS size FROM annotations',
      ).get() as { n: number; size: number };
      if (totals.n > MAX_ANNOTATIONS) {
        throw new StoreError('toomany', `too many annotations, at most ${MAX_ANNOTATIONS}`);
      }
      if (totals.size > MAX_ANNOTATION_BYTES) {
        throw new StoreError(
          'toolarge',
          `annotations too large, at most ${MAX_ANNOTATION_BYTES} bytes in total`,
        );
      }
      if (mb) this.stmt('UPDATE mailboxes SET modseq = ? WHERE id = ?').run(seq, mb.id);
    });
  }

  // ---- message writes ----

  private insertMessage(tx: WriteTx, s: MessageRowSpec, expunged = false): void {
    const seq = tx.modseq();
    this.stmt(INSERT_MESSAGE_SQL).run(
      s.id,
      s.fileId,
      s.mailboxId,
      s.uid,
      seq,
      seq,
      expunged ? 1 : 0,
      s.flags,
      JSON.stringify(s.keywords),
      s.internalDate,
      s.saveDate,
      s.size,
      s.prefix,
      JSON.stringify(s.part),
      s.thread.messageId,
      s.thread.inReplyTo,
      JSON.stringify(s.thread.references),
      s.thread.subjectBase,
      s.part.envelope ? JSON.stringify(s.part.envelope) : null,
      ...factValues(s.facts),
    );
  }

  private addMailboxKeywords(tx: WriteTx, mb: Mailbox, keywords: string[]): void {
    if (keywords.length === 0) return;
    const merged = addKeywords(mb.keywords, keywords);
    if (sameKeywords(merged, mb.keywords)) return;
    this.stmt('UPDATE mailboxes SET keywords = ? WHERE id = ?').run(JSON.stringify(merged), mb.id);
    mb.keywords = merged;
    tx.changes.push({ kind: 'mailboxKeywords', mailboxId: mb.id, name: mb.name, keywords: merged });
  }

  /** The next free message id; valid while holding the lock, until the commit advances it. */
  private nextMessageId(): number {
    return (this.stmt('SELECT next_message_id AS id FROM meta').get() as { id: number }).id;
  }

  /** Bumped by every write transaction; cached reads of an older version are stale. */
  private writeVersion = 0;
  private readonly mailboxCache = new Map<number, { version: number; mb: Mailbox | null }>();

  /** Message directories known to exist (see linkFiles). */
  private readonly madeDirs = new Set<string>();
  /** The message directory written last, kept open: fsyncing it then costs one call. */
  private dirHandle: { dir: string; fh: FileHandle } | null = null;

  /** fsyncs a message directory, so the names linked into it survive a crash. */
  private async syncDir(dir: string): Promise<void> {
    if (this.dirHandle?.dir !== dir) {
      const old = this.dirHandle;
      this.dirHandle = null;
      await old?.fh.close().catch(() => {});
      this.dirHandle = { dir, fh: await open(dir, 'r') };
    }
    await this.dirHandle.fh.sync();
  }

  /**
   * Hard-links sources to the message paths of ids (moves them, for `take`), noting
   * their directories.
   */
  private async linkInto(
    pairs: { from: string; id: number; take?: PreparedMessage }[],
    dirs: Set<string>,
  ): Promise<string[]> {
    const done: string[] = [];
    try {
      for (const p of pairs) {
        const dest = this.messagePath(p.id);
        const dir = join(dest, '..');
        if (!dirs.has(dir)) {
          // Created once per process; a mkdir per delivery is a wasted system call.
          if (!this.madeDirs.has(dir)) await mkdirDurable(dir);
          this.madeDirs.add(dir);
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
  private async linkFiles(pairs: { from: string; id: number }[]): Promise<string[]> {
    const dirs = new Set<string>();
    const done = await this.linkInto(pairs, dirs);
    try {
      for (const d of dirs) await this.syncDir(d);
    } catch (e) {
      await unlinkAll(done);
      throw e;
    }
    return done;
  }

  /** Adds waiting for the write lock; they are stored together (see addMessages). */
  private addQueue: AddRequest[] = [];

  /**
   * Adds messages to a mailbox atomically: all are stored or none (MULTIAPPEND,
   * delivery). Files are linked and fsynced before the commit. Creates the mailbox
   * (with parents) when `create` is set and it does not exist.
   *
   * Adds that arrive while the lock is busy (concurrent deliveries) are stored as one
   * group when it frees: one directory fsync and one transaction for all of them, and
   * one WAL sync after. Each add still succeeds or fails on its own, and the session
   * that made an add is still not told of it.
   */
  addMessages(
    mailbox: number | string,
    items: NewMessage[],
    opts: { from?: Session | null; create?: boolean; checkQuota?: boolean } = {},
  ): Promise<{ mailbox: Mailbox; messages: Message[] }> {
    if (this.closed) return Promise.reject(new Error(`account ${this.name} is closed`));
    return new Promise((resolve, reject) => {
      this.addQueue.push({
        mailbox,
        items,
        from: opts.from ?? null,
        create: opts.create ?? false,
        quota: opts.checkQuota !== false,
        resolve,
        reject,
        mb: null,
        firstId: 0,
        linked: [],
        uids: [],
        error: null,
      });
      if (this.addQueue.length === 1) this.scheduleAdds();
    });
  }

  /** Queues one run under the lock for the adds waiting (and any that join before it starts). */
  private scheduleAdds(): void {
    let batch: AddRequest[] = [];
    this.mutex
      .run(async () => {
        batch = this.addQueue.splice(0, MAX_ADD_GROUP);
        if (this.addQueue.length > 0) this.scheduleAdds();
        if (this.closed) throw new Error(`account ${this.name} is closed`);
        await this.addGroup(batch);
      })
      .then(() => this.durable())
      .then(
        () => {
          for (const r of batch) {
            if (r.error !== null) r.reject(r.error);
            else
              r.resolve({
                mailbox: r.mb!,
                messages: r.messages ?? [],
              });
          }
        },
        (e: unknown) => {
          for (const r of batch) r.reject(r.error ?? e);
        },
      );
  }

  /** Stores a group of adds under the lock; failures are noted on each request. */
  private async addGroup(batch: AddRequest[]): Promise<void> {
    // Each add's mailbox, and quota counting the adds before it in the group.
    let pending = 0;
    const ok: AddRequest[] = [];
    for (const r of batch) {
      try {
        r.mb = this.addTarget(r);
        const total = r.items.reduce((n, it) => n + it.message.size + (it.prefix?.length ?? 0), 0);
        if (r.quota) this.checkQuota(pending + total);
        pending += total;
        ok.push(r);
      } catch (e) {
        r.error = e;
      }
    }
    if (ok.length === 0) return;
    let nextId = this.nextMessageId();
    const dirs = new Set<string>();
    for (const r of ok) {
      r.firstId = nextId;
      nextId += r.items.length;
      try {
        r.linked = await this.linkInto(
          r.items.map((it, i) => ({
            from: it.message.path,
            id: r.firstId + i,
            ...(it.take ? { take: it.message } : {}),
          })),
          dirs,
        );
      } catch (e) {
        r.error = e;
      }
    }
    let live = ok.filter((r) => r.error === null);
    try {
      for (const d of dirs) await this.syncDir(d);
      if (live.length > 0) {
        this.opts.beforeCommit?.();
        const origins: Origin[] = [];
        this.runTx(
          null,
          (tx) => {
            for (const r of live) {
              try {
                r.uids = this.insertAdd(tx, r);
              } catch (e) {
                // Thrown before the add changed anything; the others go on.
                if (!isStoreError(e)) throw e;
                r.error = e;
              }
              origins.push({ from: r.from, upTo: tx.changes.length });
            }
            this.stmt('UPDATE meta SET next_message_id = ?').run(nextId);
          },
          origins,
        );
      }
    } catch (e) {
      for (const r of live) r.error ??= e;
    }
    await unlinkAll(ok.flatMap((r) => (r.error !== null ? r.linked : [])));
    live = live.filter((r) => r.error === null);
    for (const r of live) {
      r.mb = this.mailboxByIdSync(r.mb!.id) as Mailbox;
      r.messages = this.messages(r.mb.id, r.uids);
    }
  }

  /** The mailbox of an add, created (with parents) when asked; throws when missing. */
  private addTarget(r: AddRequest): Mailbox {
    let mb: Mailbox | null =
      typeof r.mailbox === 'number' ? this.mailboxByIdSync(r.mailbox) : this.mailbox(r.mailbox);
    if (!mb && typeof r.mailbox === 'string' && r.create) {
      const name = this.validName(r.mailbox);
      mb = this.runTx(r.from, (tx) => {
        for (const p of this.ancestors(name)) {
          if (!this.existsSync(p)) this.createMailboxTx(tx, p, null, true);
        }
        return this.createMailboxTx(tx, name, null, true);
      });
    }
    if (!mb) throw new StoreError('nonexistent', 'mailbox does not exist');
    return mb;
  }

  /** Inserts one add's messages in the group's transaction; returns their UIDs. */
  private insertAdd(tx: WriteTx, r: AddRequest): number[] {
    const cur = this.requireMailboxId(r.mb!.id);
    const seq = tx.modseq();
    const now = Date.now();
    const uids: number[] = [];
    let kws: string[] = [];
    r.items.forEach((it, i) => {
      const id = r.firstId + i;
      const uid = cur.uidnext + i;
      const prefixLen = it.prefix?.length ?? 0;
      const keywords = normalizeKeywords(it.keywords ?? []);
      kws = addKeywords(kws, keywords);
      const size = it.message.size + prefixLen;
      const flags = it.flags ?? 0;
      this.insertMessage(tx, {
        id,
        fileId: id,
        mailboxId: cur.id,
        uid,
        flags,
        keywords,
        internalDate: it.internalDate ?? now,
        saveDate: now,
        size,
        prefix: it.prefix && it.prefix.length > 0 ? it.prefix : null,
        ...storedStructure(it.message, it.prefix),
        facts: it.facts,
      });
      tx.count(cur.id, flags, size, 1);
      tx.changes.push({ kind: 'addUID', mailboxId: cur.id, uid, modseq: seq, flags, keywords });
      uids.push(uid);
    });
    this.stmt('UPDATE mailboxes SET uidnext = ? WHERE id = ?').run(
      cur.uidnext + r.items.length,
      cur.id,
    );
    this.addMailboxKeywords(tx, cur, kws);
    return uids;
  }

  /** Changes flags and keywords of messages, one modseq for all (RFC 9051 §6.4.6). */
  storeFlags(
    mailboxId: number,
    uids: number[],
    op: FlagOp,
    from: Session | null = null,
  ): Promise<FlagResult> {
    return this.write(from, (tx) => {
      const mb = this.requireMailboxId(mailboxId);
      const uniq = [...new Set(uids)].sort((a, b) => a - b);
      const rows = this.messages(mailboxId, uniq);
      const res: FlagResult = { messages: [], changed: [], modified: [], modseq: null };
      const opKw = normalizeKeywords(op.keywords ?? []);
      const upd = this.stmt('UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?');
      for (const m of rows) {
        if (op.unchangedSince !== undefined && m.modseq > op.unchangedSince) {
          res.modified.push(m.uid);
          continue;
        }
        let flags = m.flags;
        let kw = m.keywords;
        if (op.mode === 'set') {
          flags = op.flags;
          kw = opKw;
        } else if (op.mode === 'add') {
          flags |= op.flags;
          kw = addKeywords(kw, opKw);
        } else {
          flags &= ~op.flags;
          kw = removeKeywords(kw, opKw);
        }
        if (flags === m.flags && sameKeywords(kw, m.keywords)) {
          res.messages.push({ uid: m.uid, flags, keywords: kw, modseq: m.modseq });
          continue;
        }
        const seq = tx.modseq();
        upd.run(flags, JSON.stringify(kw), seq, m.id);
        tx.count(mailboxId, m.flags, m.size, -1);
        tx.count(mailboxId, flags, m.size, 1);
        tx.changes.push({
          kind: 'flags',
          mailboxId,
          uid: m.uid,
          modseq: seq,
          mask: m.flags ^ flags,
          flags,
          keywords: kw,
        });
        res.changed.push(m.uid);
        res.messages.push({ uid: m.uid, flags, keywords: kw, modseq: seq });
      }
      if (op.mode !== 'remove') this.addMailboxKeywords(tx, mb, opKw);
      res.modseq = tx.allocatedModseq;
      return res;
    });
  }

  /**
   * Expunges the \Deleted messages of a mailbox, limited to `uids` when given. Rows stay
   * (expunged, with this modseq) for QRESYNC; files go once no session references them.
   */
  expunge(
    mailboxId: number,
    uids: number[] | null,
    from: Session | null = null,
  ): Promise<{ uids: number[]; modseq: number | null }> {
    return this.write(from, (tx) => {
      this.requireMailboxId(mailboxId);
      let rows = this.stmt(
        'SELECT id, uid, flags, size FROM messages WHERE mailbox_id = ? AND expunged = 0 AND (flags & ?) != 0 ORDER BY uid',
      ).all(mailboxId, Flag.Deleted) as { id: number; uid: number; flags: number; size: number }[];
      if (uids) {
        const want = new Set(uids);
        rows = rows.filter((r) => want.has(r.uid));
      }
      if (rows.length === 0) return { uids: [], modseq: null };
      const seq = tx.modseq();
      const upd = this.stmt('UPDATE messages SET expunged = 1, modseq = ? WHERE id = ?');
      for (const r of rows) {
        upd.run(seq, r.id);
        tx.count(mailboxId, r.flags, r.size, -1);
        tx.removedMessageIds.push(r.id);
      }
      const out = rows.map((r) => r.uid);
      tx.changes.push({ kind: 'removeUIDs', mailboxId, uids: out, modseq: seq });
      return { uids: out, modseq: seq };
    });
  }

  /** Copies messages; files are hard-linked (spec/imap.md §2.3 COPY). */
  copyMessages(
    srcId: number,
    uids: number[],
    dstId: number,
    from: Session | null = null,
  ): Promise<{ uidvalidity: number; srcUids: number[]; dstUids: number[] }> {
    return this.withLock(async () => {
      this.requireMailboxId(srcId);
      this.requireMailboxId(dstId);
      const msgs = this.messages(srcId, uids);
      if (msgs.length === 0) throw new StoreError('notfound', 'no matching messages');
      const total = msgs.reduce((n, m) => n + m.size, 0);
      this.checkQuota(total);
      const firstId = this.nextMessageId();
      const linked = await this.linkFiles(
        msgs.map((m, i) => ({ from: this.messagePath(m.fileId), id: firstId + i })),
      );
      try {
        this.opts.beforeCommit?.();
        return this.runTx(from, (tx) => {
          const dst = this.requireMailboxId(dstId);
          this.checkQuota(total);
          const seq = tx.modseq();
          const now = Date.now();
          const dstUids: number[] = [];
          let kws: string[] = [];
          msgs.forEach((m, i) => {
            const id = firstId + i;
            const uid = dst.uidnext + i;
            this.stmt(
              `INSERT INTO messages (id, file_id, mailbox_id, uid, modseq, createseq, expunged, erased, flags, keywords, internal_date, save_date, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope, ${FACT_COLUMNS.join(', ')})
                 SELECT ?, ?, ?, ?, ?, ?, 0, 0, flags, keywords, internal_date, ?, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope, ${FACT_COLUMNS.join(', ')} FROM messages WHERE id = ?`,
            ).run(id, id, dst.id, uid, seq, seq, now, m.id);
            tx.count(dst.id, m.flags, m.size, 1);
            kws = addKeywords(kws, m.keywords);
            tx.changes.push({
              kind: 'addUID',
              mailboxId: dst.id,
              uid,
              modseq: seq,
              flags: m.flags,
              keywords: m.keywords,
            });
            dstUids.push(uid);
          });
          this.stmt('UPDATE meta SET next_message_id = ?').run(firstId + msgs.length);
          this.stmt('UPDATE mailboxes SET uidnext = ? WHERE id = ?').run(
            dst.uidnext + msgs.length,
            dst.id,
          );
          this.addMailboxKeywords(tx, dst, kws);
          return { uidvalidity: dst.uidvalidity, srcUids: msgs.map((m) => m.uid), dstUids };
        });
      } catch (e) {
        await Promise.all(linked.map((f) => unlink(f).catch(() => {})));
        throw e;
      }
    });
  }

  /**
   * Moves messages: each row moves to the destination with a new UID; an expunged
   * tombstone row (sharing the file) stays in the source for sessions that still
   * reference the old UID and for QRESYNC (RFC 6851).
   */
  moveMessages(
    srcId: number,
    uids: number[],
    dstId: number,
    from: Session | null = null,
  ): Promise<{ uidvalidity: number; srcUids: number[]; dstUids: number[] }> {
    return this.withLock(() => this.moveLocked(srcId, uids, dstId, from));
  }

  private moveLocked(
    srcId: number,
    uids: number[],
    dstId: number,
    from: Session | null,
  ): { uidvalidity: number; srcUids: number[]; dstUids: number[] } {
    return this.runTx(from, (tx) => {
      this.requireMailboxId(srcId);
      const dst = this.requireMailboxId(dstId);
      if (srcId === dstId) throw new StoreError('cannot', 'source and destination are the same');
      const msgs = this.messages(srcId, uids);
      if (msgs.length === 0) throw new StoreError('notfound', 'no matching messages');
      const seq = tx.modseq();
      const now = Date.now();
      let nextId = this.nextMessageId();
      const dstUids: number[] = [];
      let kws: string[] = [];
      msgs.forEach((m, i) => {
        const uid = dst.uidnext + i;
        this.stmt(
          'UPDATE messages SET mailbox_id = ?, uid = ?, modseq = ?, createseq = ?, save_date = ? WHERE id = ?',
        ).run(dst.id, uid, seq, seq, now, m.id);
        // Tombstone in the source, sharing the file, so a session that still has the old
        // UID can fetch it until it has seen the expunge.
        this.stmt(
          `INSERT INTO messages (id, file_id, mailbox_id, uid, modseq, createseq, expunged, erased, flags, keywords, internal_date, save_date, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope)
             SELECT ?, file_id, ?, ?, ?, ?, 1, 0, flags, keywords, internal_date, ?, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope FROM messages WHERE id = ?`,
        ).run(nextId, srcId, m.uid, seq, m.createseq, m.saveDate, m.id);
        tx.removedMessageIds.push(nextId);
        nextId++;
        tx.count(srcId, m.flags, m.size, -1);
        tx.count(dst.id, m.flags, m.size, 1);
        kws = addKeywords(kws, m.keywords);
        dstUids.push(uid);
      });
      this.stmt('UPDATE meta SET next_message_id = ?').run(nextId);
      this.stmt('UPDATE mailboxes SET uidnext = ? WHERE id = ?').run(
        dst.uidnext + msgs.length,
        dst.id,
      );
      const srcUids = msgs.map((m) => m.uid);
      tx.changes.push({ kind: 'removeUIDs', mailboxId: srcId, uids: srcUids, modseq: seq });
      msgs.forEach((m, i) =>
        tx.changes.push({
          kind: 'addUID',
          mailboxId: dst.id,
          uid: dstUids[i] as number,
          modseq: seq,
          flags: m.flags,
          keywords: m.keywords,
        }),
      );
      this.addMailboxKeywords(tx, dst, kws);
      return { uidvalidity: dst.uidvalidity, srcUids, dstUids };
    });
  }

  // ---- erasing expunged message files ----

  private scheduleErase(ids: number[]): void {
    this.eraseQueue.push(...ids);
    if (!this.erasing) {
      this.erasing = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => this.eraseNow())
        .finally(() => {
          this.erasing = null;
          if (this.eraseQueue.length > 0 && !this.closed) this.scheduleErase([]);
        });
    }
  }

  private async eraseNow(): Promise<void> {
    const ids = this.eraseQueue;
    this.eraseQueue = [];
    if (ids.length === 0 || this.closed) return;
    await this.mutex.run(() => this.eraseIds(ids));
  }

  /** Removes files of expunged rows unless a live row still uses the file. Lock held. */
  private async eraseIds(ids: number[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.stmt(
        `SELECT m.id, m.file_id,
             EXISTS (SELECT 1 FROM messages l WHERE l.file_id = m.file_id AND l.expunged = 0) AS shared
           FROM messages m WHERE m.id IN (${chunk.map(() => '?').join(',')}) AND m.expunged = 1 AND m.erased = 0`,
      ).all(...chunk) as { id: number; file_id: number; shared: number }[];
      for (const r of rows) {
        if (!r.shared) {
          await unlink(this.messagePath(r.file_id)).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
        }
      }
      const mark = this.stmt('UPDATE messages SET erased = 1 WHERE id = ?');
      this.db.transaction(() => rows.forEach((r) => mark.run(r.id)))();
    }
  }

  /** Waits until pending file erasures are done. */
  async settle(): Promise<void> {
    while (this.erasing) await this.erasing;
  }

  /**
   * After a crash: removes files that were linked but never committed (ids at or above
   * next_message_id), and files of expunged rows that were never erased (no session
   * exists yet that could reference them).
   */
  private async cleanupAfterCrash(): Promise<void> {
    const next = (this.stmt('SELECT next_message_id AS n FROM meta').get() as { n: number }).n;
    const msgDir = join(this.dir, 'msg');
    const dirs = (await readdir(msgDir).catch(() => [] as string[]))
      .map(Number)
      .filter((d) => Number.isInteger(d) && d >= Math.floor(next / FILES_PER_DIR));
    for (const d of dirs) {
      for (const f of await readdir(join(msgDir, String(d)))) {
        const id = Number(f);
        if (!Number.isInteger(id) || id >= next) await unlink(join(msgDir, String(d), f));
      }
    }
    const pending = this.stmt('SELECT id FROM messages WHERE expunged = 1 AND erased = 0')
      .pluck()
      .all() as number[];
    if (pending.length > 0) await this.eraseIds(pending);
  }

  /** Checks that a file exists with the expected size (for verifydata). */
  async fileSize(fileId: number): Promise<number | null> {
    try {
      return (await stat(this.messagePath(fileId))).size;
    } catch {
      return null;
    }
  }

  /** Opens the message file for low-level reads. */
  openFile(fileId: number) {
    return open(this.messagePath(fileId), 'r');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.durable().catch(() => {});
    await this.settle();
    await this.mutex.run(async () => {
      if (this.eraseQueue.length > 0) {
        const ids = this.eraseQueue;
        this.eraseQueue = [];
        await this.eraseIds(ids);
      }
      this.closed = true;
    });
    await this.wal?.close().catch(() => {});
    this.wal = null;
    await this.dirHandle?.fh.close().catch(() => {});
    this.dirHandle = null;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** RFC 5464 §3.2 entry names, restricted as in spec/imap.md §4. */
function checkAnnotationKey(key: string): void {
  const k = key.toLowerCase();
  const bad = (why: string) =>
    new StoreError('invalid', `invalid annotation key ${JSON.stringify(key)}: ${why}`);
  if (!k.startsWith('/private/')) throw bad('must start with /private/');
  if (!/^[\x21-\x7e]+$/.test(k)) throw bad('only printable ASCII');
  if (k.includes('//')) throw bad('empty path component');
  if (k.endsWith('/')) throw bad('trailing slash');
  if (/[*%]/.test(k)) throw bad('wildcards not allowed');
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

function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}
