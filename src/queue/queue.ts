// The durable outgoing queue, as callers use it: one row per recipient in the global
// database, message data in files shared by the recipients of one submission, and the
// operations on them (add, list, hold, release, reschedule, drop, fail). The runner
// (runner.ts) delivers due messages through attempt.ts and settle.ts.
//
// Durability: add() links and fsyncs the file before its rows commit; a delivery commits
// into the account (or is accepted remotely) before its row is removed; a DSN is
// delivered or queued before the row it reports on is removed. A crash at any instant
// can repeat a delivery or a DSN, never lose one.
import { EventEmitter } from 'node:events';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../log/index.js';
import { formatAddress, senderText } from './address.js';
import { removeFiles, type QueueContext, type QueueEvents, type QueueOptions } from './context.js';
import { QueueDB } from './db.js';
import { QueueError } from './errors.js';
import { QueueFiles } from './files.js';
import { LocalDelivery } from './local.js';
import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_DELAY_DSN_AFTER_MS,
  DEFAULT_MAX_AGE_MS,
  MAX_RETURN_HEADER,
} from './policy.js';
import { migrateQueue } from './schema.js';
import { Rules } from './rules.js';
import { setQueueSizeSource } from './metrics.js';
import { Runner } from './runner.js';
import { settle } from './settle.js';
import type { DeliveryOutcome, NewQueueMessage, Path, QueueMessage } from './types.js';

export type { QueueEvents, QueueOptions } from './context.js';

const FILE_MISSING: DeliveryOutcome = {
  ok: false,
  permanent: true,
  code: 0,
  secode: '',
  error: 'message file missing from queue',
  host: '',
};

const FAILED_BY_ADMIN: DeliveryOutcome = {
  ok: false,
  permanent: true,
  code: 0,
  secode: '',
  error: 'delivery failed by administrator',
  host: '',
};

export class Queue extends EventEmitter<QueueEvents> {
  /** Suppression lists and hold rules. */
  readonly rules: Rules;
  private readonly ctx: QueueContext;
  private readonly db: QueueDB;
  private readonly files: QueueFiles;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly runner: Runner;
  private nextFileId: number;

  private constructor(private readonly opts: QueueOptions) {
    super();
    this.db = new QueueDB(opts.store.global.db);
    this.rules = new Rules(opts.store.global.db);
    this.files = new QueueFiles(join(opts.store.dataDir, 'queue'));
    this.log = opts.log.child({ pkg: 'queue' });
    this.clock = opts.clock ?? Date.now;
    this.ctx = {
      opts,
      db: this.db,
      rules: this.rules,
      files: this.files,
      local: new LocalDelivery(opts.store, this.files, this.log),
      log: this.log,
      clock: this.clock,
      localDelivery: opts.localDelivery ?? true,
      backoffBase: opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS,
      maxAge: opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS,
      delayDSNAfter: opts.delayDSNAfterMs ?? DEFAULT_DELAY_DSN_AFTER_MS,
      maxConcurrent: Math.max(1, opts.maxConcurrent ?? 10),
      add: (file, msgs) => this.add(file, msgs),
      events: this,
    };
    this.runner = new Runner(this.ctx);
    this.nextFileId = this.db.nextFileId();
  }

  /** Opens the queue in the store's global database; pending messages stay queued. */
  static async open(opts: QueueOptions): Promise<Queue> {
    migrateQueue(opts.store.global.db);
    const q = new Queue(opts);
    if (opts.cleanup ?? true) await q.recover();
    setQueueSizeSource(() => q.db.counts());
    return q;
  }

  // ---- adding ----

  /**
   * Adds one row per message, all sharing one data file, atomically: the file is
   * hard-linked from `file` (a temp file on the same file system; the caller still
   * removes it) into data/queue and fsynced (file and directory), and only then the
   * rows commit. On any error nothing is queued. Resolves after the commit is durable.
   */
  async add(file: string, msgs: NewQueueMessage[]): Promise<QueueMessage[]> {
    validate(msgs);
    msgs = msgs.map((m) => this.applyHoldRules(m));
    const st = await stat(file);
    if (!st.isFile()) throw new QueueError('invalid', `${file} is not a file`);
    const fileId = this.nextFileId++;
    await this.files.linkIn(file, fileId);
    let added: QueueMessage[];
    try {
      added = this.db.insert(fileId, st.size, this.clock(), msgs, this.opts.beforeCommit);
    } catch (e) {
      await this.files.remove(fileId);
      throw e;
    }
    // The commit is written; acknowledged only once it is on disk.
    await this.opts.store.global.durable();
    for (const m of added) {
      this.log.info(
        { queueId: m.id, fileId, from: senderText(m.sender), rcpt: formatAddress(m.recipient) },
        'queued',
      );
    }
    this.kick();
    return added;
  }

  private applyHoldRules(m: NewQueueMessage): NewQueueMessage {
    if (m.hold) return m;
    const rule = this.rules.holdRuleFor(m);
    if (!rule) return m;
    this.log.info({ rule: rule.id, rcpt: formatAddress(m.recipient) }, 'held by hold rule');
    return { ...m, hold: true };
  }

  // ---- reading ----

  list(filter: { account?: string; hold?: boolean; ids?: number[] } = {}): QueueMessage[] {
    if (filter.ids === undefined) return this.db.list(filter);
    return this.db
      .byIds(filter.ids)
      .map((s) => s.m)
      .filter(
        (m) =>
          (filter.account === undefined || m.account === filter.account) &&
          (filter.hold === undefined || m.hold === filter.hold),
      );
  }

  get(id: number): QueueMessage | null {
    return this.db.get(id)?.m ?? null;
  }

  /** Message data (prefix + file) as a stream. */
  openMessage(m: QueueMessage): Readable {
    return this.files.stream(m.fileId, m.prefix);
  }

  /** Messages queued (one per recipient), and how many are on hold. */
  counts(): { messages: number; held: number } {
    return this.db.counts();
  }

  /** The message's header section (prefix included), at most 256 KiB. */
  readHeader(m: QueueMessage): Promise<Buffer> {
    return this.files.readHeader(m.fileId, m.prefix, MAX_RETURN_HEADER);
  }

  // ---- administration ----

  hold(ids: number[]): number {
    return this.db.setHold(ids, true);
  }

  release(ids: number[]): number {
    const n = this.db.setHold(ids, false);
    this.kick();
    return n;
  }

  reschedule(ids: number[], at: Date): number {
    const n = this.db.reschedule(ids, at.getTime());
    this.kick();
    return n;
  }

  /** Removes messages without a DSN (after attempts in progress finish). */
  async drop(ids: number[]): Promise<number> {
    await this.runner.idle(ids);
    const { removed, files } = this.db.apply([], ids);
    await removeFiles(this.ctx, files);
    this.log.info({ ids, removed }, 'dropped from queue');
    return removed;
  }

  /** Fails messages now, with a failure DSN where one is due. */
  async fail(ids: number[]): Promise<number> {
    await this.runner.idle(ids);
    const rows = this.db.byIds(ids);
    const start = this.clock();
    await this.runner.track(
      rows.map((s) => s.m.id),
      () =>
        settle(this.ctx, {
          start,
          attempts: rows.map((s) => ({ s, outcome: FAILED_BY_ADMIN, local: false })),
        }),
    );
    return rows.length;
  }

  // ---- runner ----

  /** Starts the runner: delivers due messages now and whenever more become due. */
  start(): void {
    this.runner.start();
  }

  /** Stops the runner and waits for deliveries in progress. */
  stop(): Promise<void> {
    return this.runner.stop();
  }

  /** Attempts every message due now; resolves when those attempts have finished. */
  runOnce(): Promise<void> {
    return this.runner.runOnce();
  }

  private kick(): void {
    this.runner.kick();
  }

  // ---- startup ----

  /**
   * Crash leftovers: files no row references (linked, then the commit never happened)
   * are removed; messages whose file is gone are failed with a DSN.
   */
  private async recover(): Promise<void> {
    const onDisk = await this.files.scan();
    this.nextFileId = Math.max(this.nextFileId, (onDisk[onDisk.length - 1] ?? 0) + 1);
    const known = new Set(this.db.files().map((f) => f.id));
    for (const id of onDisk) {
      if (known.has(id)) continue;
      this.log.warn({ fileId: id }, 'removing queue file no message references');
      await this.files.remove(id);
    }
    await removeFiles(this.ctx, this.db.removeUnusedFiles());
    for (const f of this.db.files()) {
      if (await this.files.exists(f.id)) continue;
      const rows = this.db.byIds(this.db.messagesOfFile(f.id));
      this.log.error(
        { fileId: f.id, ids: rows.map((s) => s.m.id) },
        'queue file missing, failing its messages',
      );
      const start = this.clock();
      await settle(this.ctx, {
        start,
        attempts: rows.map((s) => ({ s, outcome: FILE_MISSING, local: false })),
      });
    }
  }
}

const ASCII_DOMAIN = /^[\x21-\x7e]+$/;

function isPath(p: unknown): p is Path {
  const x = p as Path | null;
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof x.localpart === 'string' &&
    typeof x.domain === 'string' &&
    x.domain !== ''
  );
}

function validate(msgs: NewQueueMessage[]): void {
  if (msgs.length === 0) throw new QueueError('invalid', 'no messages to queue');
  for (const m of msgs) {
    if (!isPath(m.recipient) || !ASCII_DOMAIN.test(m.recipient.domain)) {
      throw new QueueError('invalid', `invalid recipient ${JSON.stringify(m.recipient)}`);
    }
    if (m.sender !== null && !isPath(m.sender)) {
      throw new QueueError('invalid', `invalid sender ${JSON.stringify(m.sender)}`);
    }
    if (!Buffer.isBuffer(m.prefix)) throw new QueueError('invalid', 'prefix must be a Buffer');
    if (m.nextAttempt !== undefined && Number.isNaN(m.nextAttempt.getTime())) {
      throw new QueueError('invalid', 'invalid nextAttempt');
    }
  }
}
