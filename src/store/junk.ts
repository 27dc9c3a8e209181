// The junk filter's database of one account (accounts/<name>/junk.db): how many ham and
// spam messages each token was seen in, how many of each were trained, and which
// messages were trained as what, so that training is idempotent. A database of its own,
// with its own schema and lock, so training never waits for the account's write lock.
//
// Tokens are 53-bit integer keys that the junk filter derives from their text; the text
// itself is not stored. Reads go through a cache of counts (found and missing tokens)
// that this connection keeps exact for its own writes and drops when another connection
// (a CLI command beside the server) commits. Writes are aggregated: one upsert per
// distinct token per transaction. When the table holds more than maxTokens tokens, the
// rarest and least recently trained are pruned to 90% of the limit.
//
// The filter's data is derived, not acknowledged mail: commits write the WAL without
// waiting for the disk (synchronous=NORMAL), so a crash may lose the latest training,
// never consistency.
import Database from 'better-sqlite3';
import { snapshot } from './backup.js';
import { ensurePrivateFileSync } from './fsmode.js';
import { migrate, type Migration } from './schema.js';
import { Mutex } from './mutex.js';

export const JUNK_MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE totals (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  ham INTEGER NOT NULL,               -- messages trained as ham
  spam INTEGER NOT NULL,              -- messages trained as spam
  seq INTEGER NOT NULL                -- trainings so far: the clock of tokens.last
);
INSERT INTO totals (id, ham, spam, seq) VALUES (1, 0, 0, 0);

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,             -- 53-bit key of the token's text
  ham INTEGER NOT NULL,               -- ham messages it was in
  spam INTEGER NOT NULL,              -- spam messages it was in
  last INTEGER NOT NULL               -- totals.seq when last trained
);

CREATE TABLE trained (
  key TEXT PRIMARY KEY,               -- "msg:<message id>" or "sha256:<hex>" of its bytes
  spam INTEGER NOT NULL,              -- 1: trained as spam, 0: as ham
  time INTEGER NOT NULL               -- ms since epoch
) WITHOUT ROWID;
`,
  },
];

export const DEFAULT_MAX_TOKENS = 500_000;

export type JunkTotals = { ham: number; spam: number };

/** Counts of tokens, in the order of the keys asked for, and the message totals. */
export type JunkCounts = { totals: JunkTotals; ham: Uint32Array; spam: Uint32Array };

export type TrainItem = {
  /** Identifies the message: trained once, whatever the number of calls. */
  key: string;
  /** Its distinct token keys. */
  tokens: ArrayLike<number>;
  spam: boolean;
};

export type TrainResult = {
  /** Messages trained for the first time. */
  added: number;
  /** Messages trained the other way before: untrained, then trained. */
  changed: number;
  /** Messages trained this way before: nothing done. */
  unchanged: number;
};

export type JunkStats = {
  hamMessages: number;
  spamMessages: number;
  /** Tokens in the database. */
  tokens: number;
  /** Messages remembered as trained. */
  trainedMessages: number;
  maxTokens: number;
  /** Size of the database in bytes. */
  bytes: number;
};

/** Packs two counts in one number: ham * PACK + spam (counts stay below 2^26). */
const PACK = 2 ** 26;
/** Token rows written per transaction, at most: the event loop is held about 50 ms. */
const ROWS_PER_TX = 50_000;
/** Tokens at most pruned by sorting the table; above, by a sample's cut (see prune). */
const EXACT_PRUNE = 50_000;
const PRUNE_SAMPLE = 20_000;
const PRUNE_SLICES = 16;
/** Token keys are below 2^53. */
const KEY_RANGE = 2 ** 53;
/** Slots in the count cache at most; it is emptied when three quarters are used. */
const CACHE_MAX_SLOTS = 1 << 18;

/**
 * Counts of tokens by key: open addressing in typed arrays, growing to a bound and
 * emptied when full. Missing tokens are cached as zero counts.
 */
class CountCache {
  private keys = new Float64Array(1 << 12);
  private ham = new Uint32Array(1 << 12);
  private spam = new Uint32Array(1 << 12);
  private used = 0;

  clear(): void {
    this.keys.fill(0);
    this.used = 0;
  }

  private slot(key: number): number {
    const mask = this.keys.length - 1;
    let i = (key | 0) & mask;
    for (;;) {
      const k = this.keys[i] as number;
      if (k === 0 || k === key) return i;
      i = (i + 1) & mask;
    }
  }

  /** The slot holding key, or -1. */
  find(key: number): number {
    const i = this.slot(key);
    return this.keys[i] === key ? i : -1;
  }

  hamAt(i: number): number {
    return this.ham[i] as number;
  }

  spamAt(i: number): number {
    return this.spam[i] as number;
  }

  set(key: number, ham: number, spam: number): void {
    if (key <= 0) return;
    let i = this.slot(key);
    if (this.keys[i] !== key) {
      if ((this.used + 1) * 4 > this.keys.length * 3) {
        if (this.keys.length < CACHE_MAX_SLOTS) this.grow();
        else this.clear();
        i = this.slot(key);
      }
      this.keys[i] = key;
      this.used++;
    }
    this.ham[i] = ham;
    this.spam[i] = spam;
  }

  private grow(): void {
    const { keys, ham, spam } = this;
    const size = keys.length * 2;
    this.keys = new Float64Array(size);
    this.ham = new Uint32Array(size);
    this.spam = new Uint32Array(size);
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j] as number;
      if (k === 0) continue;
      const i = this.slot(k);
      this.keys[i] = k;
      this.ham[i] = ham[j] as number;
      this.spam[i] = spam[j] as number;
    }
  }
}

/**
 * Per-token deltas of a transaction, aggregated: open addressing in typed arrays (a
 * Map of number keys costs several times more per token), growing as needed.
 */
class Deltas {
  /** Keys in the order first seen, and their deltas. */
  keys = new Float64Array(4096);
  ham = new Int32Array(4096);
  spam = new Int32Array(4096);
  size = 0;
  /** Slot → index + 1 (0: empty). */
  private slots = new Int32Array(8192);

  private indexOf(key: number): number {
    const mask = this.slots.length - 1;
    let slot = (key | 0) & mask;
    for (;;) {
      const at = this.slots[slot] as number;
      if (at === 0) break;
      if (this.keys[at - 1] === key) return at - 1;
      slot = (slot + 1) & mask;
    }
    const i = this.size++;
    if (i === this.keys.length) this.grow();
    this.keys[i] = key;
    this.slots[slot] = i + 1;
    if (this.size * 2 > this.slots.length) this.rehash();
    return i;
  }

  private grow(): void {
    const n = this.keys.length * 2;
    const keys = new Float64Array(n);
    const ham = new Int32Array(n);
    const spam = new Int32Array(n);
    keys.set(this.keys);
    ham.set(this.ham);
    spam.set(this.spam);
    this.keys = keys;
    this.ham = ham;
    this.spam = spam;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < this.size; i++) {
      let slot = ((this.keys[i] as number) | 0) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    this.slots = slots;
  }

  add(tokens: ArrayLike<number>, spam: boolean, sign: 1 | -1): void {
    for (let t = 0; t < tokens.length; t++) {
      const i = this.indexOf(tokens[t] as number);
      if (spam) this.spam[i] = (this.spam[i] as number) + sign;
      else this.ham[i] = (this.ham[i] as number) + sign;
    }
  }
}

export class JunkDB {
  private db: Database.Database;
  private readonly mutex = new Mutex();
  private readonly cache = new CountCache();
  private readonly stmts = new Map<string, Database.Statement>();
  /** PRAGMA data_version when the cache was last known valid. */
  private version = -1;
  /** Tokens in the table, at most (exact after each count). */
  private tokenBound: number;
  private closed = false;
  /** countsSync in a read transaction, made once. */
  private countsTx: Database.Transaction<(keys: ArrayLike<number>) => JunkCounts> | null = null;

  private constructor(
    readonly file: string,
    public maxTokens: number,
  ) {
    this.db = JunkDB.openDatabase(file);
    this.tokenBound = this.countTokens();
  }

  private static openDatabase(file: string): Database.Database {
    ensurePrivateFileSync(file);
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    migrate(db, JUNK_MIGRATIONS, file);
    return db;
  }

  /** Opens (creating when new) a junk filter database. */
  static async open(file: string, maxTokens = DEFAULT_MAX_TOKENS): Promise<JunkDB> {
    return new JunkDB(file, maxTokens);
  }

  private stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  private countTokens(): number {
    return this.stmt('SELECT count(*) FROM tokens').pluck().get() as number;
  }

  private totals(): JunkTotals {
    return this.stmt('SELECT ham, spam FROM totals').get() as JunkTotals;
  }

  /** Empties the cache when another connection has committed since it was filled. */
  private checkVersion(): void {
    const v = this.stmt('PRAGMA data_version').pluck().get() as number;
    if (v !== this.version) {
      this.cache.clear();
      this.version = v;
    }
  }

  private check(): void {
    if (this.closed) throw new Error(`junk filter ${this.file} is closed`);
  }

  /**
   * Consistency checks for `tidings verifydata`; changes nothing. The totals must be the
   * trained messages counted by kind, no token may be in more messages of a kind than
   * were trained, and none may have been trained after the training clock.
   */
  async verify(): Promise<string[]> {
    this.check();
    const problems: string[] = [];
    const integrity = this.db.pragma('integrity_check', { simple: true }) as string;
    if (integrity !== 'ok') problems.push(`junk.db: integrity check: ${integrity}`);
    const t = this.stmt('SELECT ham, spam, seq FROM totals WHERE id = 1').get() as
      { ham: number; spam: number; seq: number } | undefined;
    if (!t) return [...problems, 'junk.db: totals row missing'];
    const trained = this.stmt(
      'SELECT coalesce(sum(spam = 0), 0) AS ham, coalesce(sum(spam = 1), 0) AS spam FROM trained',
    ).get() as { ham: number; spam: number };
    if (trained.ham !== t.ham || trained.spam !== t.spam) {
      problems.push(
        `junk.db: totals say ${t.ham} ham and ${t.spam} spam, the trained messages ${trained.ham} and ${trained.spam}`,
      );
    }
    const bad = this.stmt(
      `SELECT count(*) AS n, min(id) AS first FROM tokens
       WHERE ham < 0 OR spam < 0 OR ham > ? OR spam > ? OR last > ?`,
    ).get(t.ham, t.spam, t.seq) as { n: number; first: number | null };
    if (bad.n > 0) {
      problems.push(
        `junk.db: ${bad.n} tokens with counts beyond the trained messages or a training after the clock (first key ${bad.first})`,
      );
    }
    return problems;
  }

  /** Counts of the given tokens (zero for unknown ones) and the message totals. */
  async counts(keys: ArrayLike<number>): Promise<JunkCounts> {
    this.check();
    this.countsTx ??= this.db.transaction((k: ArrayLike<number>) => this.countsSync(k));
    return this.countsTx.deferred(keys);
  }

  private countsSync(keys: ArrayLike<number>): JunkCounts {
    this.checkVersion();
    const n = keys.length;
    const ham = new Uint32Array(n);
    const spam = new Uint32Array(n);
    const missing: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = this.cache.find(keys[i] as number);
      if (s < 0) missing.push(i);
      else {
        ham[i] = this.cache.hamAt(s);
        spam[i] = this.cache.spamAt(s);
      }
    }
    if (missing.length > 0) {
      // One lookup per key with one prepared statement: for a message's few hundred
      // tokens, some 40% less time than lists of `id IN (...)`, which SQLite first
      // copies into a temporary index.
      const get = this.stmt(`SELECT ham * ${PACK} + spam FROM tokens WHERE id = ?`).pluck();
      for (const i of missing) {
        const key = keys[i] as number;
        const f = (get.get(key) as number | undefined) ?? 0;
        ham[i] = Math.floor(f / PACK);
        spam[i] = f % PACK;
        this.cache.set(key, ham[i] as number, spam[i] as number);
      }
    }
    return { totals: this.totals(), ham, spam };
  }

  /** How a message was trained, or null. */
  async trainedAs(key: string): Promise<'ham' | 'spam' | null> {
    this.check();
    const r = this.stmt('SELECT spam FROM trained WHERE key = ?').pluck().get(key) as
      number | undefined;
    return r === undefined ? null : r ? 'spam' : 'ham';
  }

  /**
   * Trains messages as ham or spam. A message trained the same way before is left
   * alone; one trained the other way is untrained first. Items are written in
   * transactions of bounded size, each item whole in one of them.
   */
  train(items: readonly TrainItem[]): Promise<TrainResult> {
    const result: TrainResult = { added: 0, changed: 0, unchanged: 0 };
    return this.write(
      items,
      (it) => it.tokens.length,
      (it, d, seq) => {
        const prev = this.stmt('SELECT spam FROM trained WHERE key = ?').pluck().get(it.key) as
          number | undefined;
        if (prev !== undefined && !!prev === it.spam) {
          result.unchanged++;
          return seq;
        }
        if (prev !== undefined) {
          d.add(it.tokens, !it.spam, -1);
          this.addTotals(!it.spam, -1);
          result.changed++;
        } else result.added++;
        d.add(it.tokens, it.spam, 1);
        this.addTotals(it.spam, 1);
        this.stmt(
          `INSERT INTO trained (key, spam, time) VALUES (?, ?, ?)
           ON CONFLICT (key) DO UPDATE SET spam = excluded.spam, time = excluded.time`,
        ).run(it.key, it.spam ? 1 : 0, Date.now());
        return seq + 1;
      },
    ).then(() => result);
  }

  /**
   * Forgets messages: their tokens are taken from the class they were trained as (the
   * tokens must be those they were trained with). Returns how many were trained.
   */
  async untrain(items: readonly { key: string; tokens: ArrayLike<number> }[]): Promise<number> {
    let n = 0;
    await this.write(
      items,
      (it) => it.tokens.length,
      (it, d, seq) => {
        const prev = this.stmt('SELECT spam FROM trained WHERE key = ?').pluck().get(it.key) as
          number | undefined;
        if (prev === undefined) return seq;
        d.add(it.tokens, !!prev, -1);
        this.addTotals(!!prev, -1);
        this.stmt('DELETE FROM trained WHERE key = ?').run(it.key);
        n++;
        return seq;
      },
    );
    return n;
  }

  private addTotals(spam: boolean, sign: 1 | -1): void {
    this.stmt(
      spam
        ? 'UPDATE totals SET spam = max(0, spam + ?)'
        : 'UPDATE totals SET ham = max(0, ham + ?)',
    ).run(sign);
  }

  /**
   * Runs items through `apply` in transactions of at most ROWS_PER_TX token rows,
   * yielding to the event loop between them, then writes the aggregated deltas.
   * `apply` returns the new training clock.
   */
  private write<T>(
    items: readonly T[],
    size: (it: T) => number,
    apply: (it: T, d: Deltas, seq: number) => number,
  ): Promise<void> {
    return this.mutex.run(async () => {
      let at = 0;
      while (at < items.length) {
        this.check();
        let rows = 0;
        let end = at;
        while (end < items.length && (end === at || rows + size(items[end] as T) <= ROWS_PER_TX)) {
          rows += size(items[end] as T);
          end++;
        }
        const batch = items.slice(at, end);
        at = end;
        this.db.transaction(() => {
          this.checkVersion();
          const d = new Deltas();
          const start = this.stmt('SELECT seq FROM totals').pluck().get() as number;
          let seq = start;
          for (const it of batch) seq = apply(it, d, seq);
          if (seq !== start) this.stmt('UPDATE totals SET seq = ?').run(seq);
          this.applyDeltas(d, seq);
        })();
        // Our own commits do not change data_version; the cache was kept exact.
        this.version = this.stmt('PRAGMA data_version').pluck().get() as number;
        if (this.tokenBound > this.maxTokens) {
          this.tokenBound = this.countTokens();
          if (this.tokenBound > this.maxTokens) await this.prune();
        }
        if (at < items.length) await new Promise<void>((r) => setImmediate(r));
      }
    });
  }

  private applyDeltas(d: Deltas, seq: number): void {
    // Adding (the common case) needs no clamping at zero.
    const add = this.stmt(
      `INSERT INTO tokens (id, ham, spam, last) VALUES (?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET ham = ham + excluded.ham, spam = spam + excluded.spam, last = excluded.last`,
    );
    const change = this.stmt(
      'UPDATE tokens SET ham = max(0, ham + ?), spam = max(0, spam + ?), last = ? WHERE id = ?',
    );
    const dropZero = this.stmt('DELETE FROM tokens WHERE id = ? AND ham = 0 AND spam = 0');
    const cache = this.cache;
    for (let i = 0; i < d.size; i++) {
      const key = d.keys[i] as number;
      const dh = d.ham[i] as number;
      const ds = d.spam[i] as number;
      if (dh === 0 && ds === 0) continue;
      if (dh >= 0 && ds >= 0) {
        add.run(key, dh, ds, seq);
        this.tokenBound++;
      } else {
        // A token never trained stays absent.
        change.run(dh, ds, seq, key);
        dropZero.run(key);
      }
      const s = cache.find(key);
      if (s >= 0) {
        cache.set(key, Math.max(0, cache.hamAt(s) + dh), Math.max(0, cache.spamAt(s) + ds));
      }
    }
  }

  /**
   * Removes the rarest, least recently trained tokens, down to about 90% of the limit.
   * A small table is sorted; a large one (where a sort would hold the event loop for a
   * quarter of a second) is cut at the rank a sample of it puts there, in slices of the
   * key range with the event loop free between them.
   */
  private async prune(): Promise<void> {
    const excess = this.tokenBound - Math.floor(this.maxTokens * 0.9);
    if (excess <= 0) return;
    if (this.tokenBound <= EXACT_PRUNE) {
      this.db.transaction(() => {
        this.stmt(
          'DELETE FROM tokens WHERE id IN (SELECT id FROM tokens ORDER BY ham + spam, last LIMIT ?)',
        ).run(excess);
      })();
    } else {
      // Keys are hashes: the tokens below some key are a uniform sample of all.
      const below = Math.floor(KEY_RANGE * Math.min(1, PRUNE_SAMPLE / this.tokenBound));
      const sample = (
        this.stmt('SELECT ham + spam, last FROM tokens WHERE id < ?').raw().all(below) as [
          number,
          number,
        ][]
      ).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      const cut = sample[Math.floor((sample.length * excess) / this.tokenBound)];
      if (cut) {
        const [n, last] = cut;
        const del = this.stmt(
          `DELETE FROM tokens WHERE id >= ? AND id < ?
             AND (ham + spam < ? OR (ham + spam = ? AND last <= ?))`,
        );
        const step = KEY_RANGE / PRUNE_SLICES;
        for (let i = 0; i < PRUNE_SLICES; i++) {
          const to = i === PRUNE_SLICES - 1 ? KEY_RANGE : Math.floor(step * (i + 1));
          this.db.transaction(() => del.run(Math.floor(step * i), to, n, n, last))();
          await new Promise<void>((r) => setImmediate(r));
        }
      }
    }
    this.tokenBound = this.countTokens();
    this.cache.clear();
    this.version = this.stmt('PRAGMA data_version').pluck().get() as number;
  }

  async stats(): Promise<JunkStats> {
    this.check();
    return this.db
      .transaction(() => {
        const t = this.totals();
        return {
          hamMessages: t.ham,
          spamMessages: t.spam,
          tokens: this.countTokens(),
          trainedMessages: this.stmt('SELECT count(*) FROM trained').pluck().get() as number,
          maxTokens: this.maxTokens,
          bytes:
            (this.db.pragma('page_count', { simple: true }) as number) *
            (this.db.pragma('page_size', { simple: true }) as number),
        };
      })
      .deferred();
  }

  /** Forgets all training. */
  reset(): Promise<void> {
    return this.mutex.run(() => {
      this.check();
      this.db.transaction(() => {
        this.stmt('DELETE FROM tokens').run();
        this.stmt('DELETE FROM trained').run();
        this.stmt('UPDATE totals SET ham = 0, spam = 0').run();
      })();
      this.db.exec('VACUUM');
      this.cache.clear();
      this.tokenBound = 0;
    });
  }

  /** SQLite's online backup of the tokens into `file` (backup.ts). */
  async backupTo(file: string): Promise<void> {
    await snapshot(this.db, file);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.mutex.run(() => {
      this.closed = true;
      this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    });
  }
}
