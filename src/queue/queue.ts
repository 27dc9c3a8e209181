// The durable outgoing queue: one row per recipient in the global database, message
// data in files shared by the recipients of one submission, and a runner that delivers
// due messages (locally or through a remote deliverer), retries with backoff, and sends
// DSNs.
//
// Durability: add() links and fsyncs the file before its rows commit; a delivery commits
// into the account (or is accepted remotely) before its row is removed; a DSN is
// delivered or queued before the row it reports on is removed. A crash at any instant
// can repeat a delivery or a DSN, never lose one.
import { EventEmitter } from 'node:events';
import { isAscii } from 'node:buffer';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Store } from '../store/store.js';
import type { DomainsConfig } from '../config/domains.js';
import { resolveAddress } from '../config/resolve.js';
import { localserveEffect } from '../smtp/index.js';
import type { Logger } from '../log/index.js';
import { formatAddress } from './address.js';
import { QueueDB, type RetryUpdate, type Stored } from './db.js';
import { buildDSN, type BuiltDSN, type DSNItem } from './dsn.js';
import { QueueError } from './errors.js';
import { QueueFiles } from './files.js';
import { LocalDelivery, deliveryPrefix, type LocalTarget } from './local.js';
import {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_DELAY_DSN_AFTER_MS,
  DEFAULT_MAX_AGE_MS,
  backoffDelay,
  wantsDSN,
  type DSNKind,
} from './policy.js';
import { migrateQueue } from './schema.js';
import { Rules, suppressingFailure } from './rules.js';
import { queueMetrics, setQueueSizeSource } from './metrics.js';
import type {
  AttemptResult,
  DeliveryOutcome,
  NewQueueMessage,
  Path,
  QueueMessage,
  RemoteDeliverer,
} from './types.js';

export type QueueOptions = {
  store: Store;
  domains: () => DomainsConfig;
  hostname: string;
  log: Logger;
  /** Milliseconds since the epoch; timers compute their delays with it. */
  clock?: () => number;
  /** Deliver to local domains directly (default true); false sends everything remote. */
  localDelivery?: boolean;
  remote?: RemoteDeliverer | null;
  backoffBaseMs?: number;
  maxAgeMs?: number;
  delayDSNAfterMs?: number;
  /** Delivery attempts (local messages or remote groups) at once; default 10. */
  maxConcurrent?: number;
  /**
   * Remove crash leftovers at open (default true): orphan files, and rows whose file is
   * missing (failed with a DSN). Only the process that runs the queue may do this.
   */
  cleanup?: boolean;
  /** Test hook: runs inside add()'s transaction after the inserts. */
  beforeCommit?: () => void;
  /**
   * localserve: nothing leaves the machine; every recipient is delivered to this
   * account, unless its localpart asks for a simulated failure ("queue550@...").
   */
  localserve?: { account: string } | null;
  /**
   * DKIM-signs a message the queue composes (DSNs) before it is queued for remote
   * delivery: returns header fields to prepend, or '' when the domain signs nothing.
   */
  sign?: (fromDomain: string, data: Buffer) => Promise<string>;
};

export interface QueueEvents {
  delivered: [QueueMessage, AttemptResult];
  failed: [QueueMessage, AttemptResult];
  retry: [QueueMessage, AttemptResult];
}

/** Messages of one remote delivery call at most. */
const MAX_GROUP = 1000;
/** Rows read per runner pass beyond those already being delivered. */
const PASS_ROWS = 500;
/** Rows read per free delivery slot in a runner pass. */
const ROWS_PER_SLOT = 50;
/** Timers wake at least this often, so a changed clock is noticed. */
const MAX_TIMER_MS = 3600 * 1000;
/** Header bytes returned in DSNs (RET=HDRS, and RET=FULL for large messages). */
const MAX_RETURN_HEADER = 256 * 1024;
/** RET=FULL returns messages up to this size whole; larger ones get their header. */
const MAX_RETURN_FULL = 10 * 1024 * 1024;

const NO_REMOTE: DeliveryOutcome = {
  ok: false,
  permanent: false,
  code: 0,
  secode: '',
  error: 'no remote delivery configured',
  host: '',
};

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

function suppressedOutcome(reason: string): DeliveryOutcome {
  return {
    ok: false,
    permanent: true,
    code: 0,
    secode: '5.1.0',
    error: `recipient is on the suppression list (${reason})`,
    host: '',
  };
}

function dueOrder(a: Stored, b: Stored): number {
  return a.m.nextAttempt.getTime() - b.m.nextAttempt.getTime() || a.m.id - b.m.id;
}

function temporaryError(e: unknown): DeliveryOutcome {
  return {
    ok: false,
    permanent: false,
    code: 0,
    secode: '',
    error: e instanceof Error ? e.message : String(e),
    host: '',
  };
}

/** What an attempt does to a row. */
type Decision = {
  s: Stored;
  /** The message as it is after the attempt. */
  m: QueueMessage;
  outcome: DeliveryOutcome;
  result: AttemptResult;
  action: 'delivered' | 'failed' | 'retry';
  nextAttempt: number;
  dsn: DSNKind | null;
  delayDSN: boolean;
};

type Attempt = { s: Stored; outcome: DeliveryOutcome; local: boolean };

export class Queue extends EventEmitter<QueueEvents> {
  private readonly db: QueueDB;
  /** Suppression lists and hold rules. */
  readonly rules: Rules;
  private readonly files: QueueFiles;
  private readonly local: LocalDelivery;
  private readonly log: Logger;
  private readonly clock: () => number;
  private readonly localDelivery: boolean;
  private readonly backoffBase: number;
  private readonly maxAge: number;
  private readonly delayDSNAfter: number;
  private readonly maxConcurrent: number;
  private nextFileId: number;

  private started = false;
  private timer: NodeJS.Timeout | null = null;
  private pumping = false;
  private pumpAgain = false;
  private active = 0;
  private slotWaiters: (() => void)[] = [];
  /** Message id to the job attempting it. */
  private readonly busy = new Map<number, Promise<void>>();
  private readonly jobs = new Set<Promise<void>>();

  private constructor(private readonly opts: QueueOptions) {
    super();
    this.db = new QueueDB(opts.store.global.db);
    this.rules = new Rules(opts.store.global.db);
    this.files = new QueueFiles(join(opts.store.dataDir, 'queue'));
    this.log = opts.log.child({ pkg: 'queue' });
    this.local = new LocalDelivery(opts.store, this.files, this.log);
    this.clock = opts.clock ?? Date.now;
    this.localDelivery = opts.localDelivery ?? true;
    this.backoffBase = opts.backoffBaseMs ?? DEFAULT_BACKOFF_BASE_MS;
    this.maxAge = opts.maxAgeMs ?? DEFAULT_MAX_AGE_MS;
    this.delayDSNAfter = opts.delayDSNAfterMs ?? DEFAULT_DELAY_DSN_AFTER_MS;
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 10);
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
    await this.idle(ids);
    const { removed, files } = this.db.apply([], ids);
    await this.removeFiles(files);
    this.log.info({ ids, removed }, 'dropped from queue');
    return removed;
  }

  /** Fails messages now, with a failure DSN where one is due. */
  async fail(ids: number[]): Promise<number> {
    await this.idle(ids);
    const rows = this.db.byIds(ids);
    const start = this.clock();
    await this.track(
      rows.map((s) => s.m.id),
      () =>
        this.settle(
          rows.map((s) => ({ s, outcome: FAILED_BY_ADMIN, local: false })),
          start,
        ),
    );
    return rows.length;
  }

  // ---- runner ----

  /** Starts the runner: delivers due messages now and whenever more become due. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.kick();
  }

  /** Stops the runner and waits for deliveries in progress. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    while (this.jobs.size > 0) await Promise.all([...this.jobs]);
  }

  /** Attempts every message due now; resolves when those attempts have finished. */
  async runOnce(): Promise<void> {
    const now = this.clock();
    const ids = this.db.dueIds(now);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i += PASS_ROWS) {
      const rows = this.db
        .byIds(ids.slice(i, i + PASS_ROWS))
        .filter((s) => !s.m.hold && s.m.nextAttempt.getTime() <= now);
      for (const group of this.plan(rows)) {
        await this.slot();
        // Re-read after waiting: the rows may have been changed or dropped meanwhile.
        const fresh = this.db
          .byIds(group.map((s) => s.m.id))
          .filter((s) => !s.m.hold && s.m.nextAttempt.getTime() <= now && !this.busy.has(s.m.id));
        if (fresh.length > 0) jobs.push(this.launch(fresh));
      }
    }
    await Promise.all(jobs);
  }

  /** Schedules a runner pass soon (after add, release, a finished attempt ...). */
  private kick(): void {
    if (!this.started) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => this.pump());
  }

  private pump(): void {
    try {
      // One clock reading for both steps: a message not due for fill() gets a timer.
      let now: number;
      do {
        this.pumpAgain = false;
        now = this.clock();
        this.fill(now);
      } while (this.pumpAgain && this.started);
      this.arm(now);
    } catch (e) {
      this.log.error({ err: e }, 'queue runner pass failed');
    } finally {
      this.pumping = false;
    }
  }

  /** Launches due messages into the free delivery slots. */
  private fill(now: number): void {
    if (!this.started || this.active >= this.maxConcurrent) return;
    // Ids first (cheap), then whole rows only for enough idle messages to fill the free
    // slots, with room for recipients that can join their groups.
    const free = this.maxConcurrent - this.active;
    const ids = this.db
      .dueIds(now, this.busy.size + PASS_ROWS)
      .filter((id) => !this.busy.has(id))
      .slice(0, Math.min(PASS_ROWS, free * ROWS_PER_SLOT));
    const rows = this.db.byIds(ids).sort(dueOrder);
    for (const group of this.plan(rows)) {
      if (this.active >= this.maxConcurrent) break;
      void this.launch(group);
    }
  }

  /** Sets the timer for the next message that becomes due after `now`. */
  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.started) return;
    // Messages due now but not started wait for a slot: a finishing attempt kicks.
    const next = this.db.nextDueAfter(now);
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - now), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
  }

  private async slot(): Promise<void> {
    while (this.active >= this.maxConcurrent) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  /**
   * Delivery units: each local message alone; remote messages grouped by file, sender,
   * account, prefix and TLS requirement. The remote deliverer splits a group by route
   * and destination hosts; recipients that share them go in one SMTP transaction.
   */
  private plan(rows: Stored[]): Stored[][] {
    const cfg = this.opts.domains();
    const out: Stored[][] = [];
    const groups = new Map<string, Stored[]>();
    for (const s of rows) {
      if (this.busy.has(s.m.id)) continue;
      if (this.isLocal(cfg, s.m)) {
        out.push([s]);
        continue;
      }
      const m = s.m;
      const key = [
        m.fileId,
        senderText(m.sender),
        m.account,
        String(m.requireTLS),
        m.prefix.toString('base64'),
      ].join('\0');
      let g = groups.get(key);
      if (!g || g.length >= MAX_GROUP) {
        g = [];
        groups.set(key, g);
        out.push(g);
      }
      g.push(s);
    }
    return out;
  }

  private isLocal(cfg: DomainsConfig, m: QueueMessage): boolean {
    if (this.opts.localserve) return true;
    return this.localDelivery && resolveAddress(cfg, m.recipient).kind !== 'unknown-domain';
  }

  /** localserve: the simulated outcome a recipient asks for, or its delivery target. */
  private async localserveTarget(
    cfg: DomainsConfig,
    m: QueueMessage,
    account: string,
  ): Promise<LocalTarget | DeliveryOutcome> {
    const eff = localserveEffect(m.recipient.localpart, 'queue');
    if (eff?.timeout) {
      await new Promise((r) => setTimeout(r, 60_000).unref());
      return temporaryError('simulated timeout due to special localpart');
    }
    if (eff) {
      return {
        ok: false,
        permanent: eff.code >= 500,
        code: eff.code,
        secode: `${Math.floor(eff.code / 100)}.0.0`,
        error: `simulated failure with code ${eff.code} due to special localpart`,
        host: 'localhost',
      };
    }
    const r = resolveAddress(cfg, m.recipient);
    if (r.kind === 'account' || r.kind === 'alias') return r;
    const dests = cfg.accounts[account]?.destinations ?? {};
    const destinationAddress = Object.keys(dests)[0] ?? '';
    return {
      kind: 'account',
      account,
      destination: dests[destinationAddress] ?? { mailbox: 'Inbox' },
      destinationAddress,
      canonical: destinationAddress,
    };
  }

  private launch(group: Stored[]): Promise<void> {
    return this.track(
      group.map((s) => s.m.id),
      () => this.attempt(group),
    );
  }

  /** Runs fn in a delivery slot, marking the messages busy until it finishes. */
  private track(ids: number[], fn: () => Promise<void>): Promise<void> {
    this.active++;
    const job = (async () => {
      try {
        await fn();
      } catch (e) {
        this.log.error({ err: e, ids }, 'queue delivery job failed');
      }
    })();
    const done = job.finally(() => {
      this.active--;
      for (const id of ids) if (this.busy.get(id) === done) this.busy.delete(id);
      this.jobs.delete(done);
      this.slotWaiters.shift()?.();
      this.kick();
    });
    for (const id of ids) this.busy.set(id, done);
    this.jobs.add(done);
    return done;
  }

  /** Waits until none of these messages is being attempted. */
  private async idle(ids: number[]): Promise<void> {
    for (;;) {
      const running = ids.flatMap((id) => this.busy.get(id) ?? []);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  // ---- delivery ----

  private async attempt(group: Stored[]): Promise<void> {
    const start = this.clock();
    const cfg = this.opts.domains();
    const attempts: Attempt[] = [];
    const remote: Stored[] = [];
    for (const s of group) {
      const sup = s.m.account !== '' ? this.rules.suppressed(s.m.account, s.m.recipient) : null;
      if (sup) {
        attempts.push({ s, outcome: suppressedOutcome(sup.reason), local: false });
        continue;
      }
      const ls = this.opts.localserve;
      if (ls) {
        const t = await this.localserveTarget(cfg, s.m, ls.account);
        if ('ok' in t) {
          attempts.push({ s, outcome: t, local: true });
          continue;
        }
        const explicit = this.db.fileRecipients(s.m.fileId);
        const outcome = await this.local
          .deliver(s.m, t, cfg, explicit)
          .catch((e: unknown) => temporaryError(e));
        attempts.push({ s, outcome, local: true });
        continue;
      }
      const target = this.localDelivery ? resolveAddress(cfg, s.m.recipient) : null;
      if (!target || target.kind === 'unknown-domain') {
        remote.push(s);
        continue;
      }
      const explicit = this.db.fileRecipients(s.m.fileId);
      const outcome = await this.local
        .deliver(s.m, target, cfg, explicit)
        .catch((e: unknown) => temporaryError(e));
      attempts.push({ s, outcome, local: true });
    }
    if (remote.length > 0) {
      const outcomes = await this.deliverRemote(remote.map((s) => s.m));
      remote.forEach((s, i) =>
        attempts.push({ s, outcome: outcomes[i] as DeliveryOutcome, local: false }),
      );
    }
    await this.settle(attempts, start);
  }

  private async deliverRemote(msgs: QueueMessage[]): Promise<DeliveryOutcome[]> {
    const remote = this.opts.remote;
    const first = msgs[0];
    if (!remote || !first) return msgs.map(() => NO_REMOTE);
    try {
      const res = await remote.deliver(msgs, () => this.files.stream(first.fileId, first.prefix));
      return msgs.map((_, i) => res[i] ?? temporaryError('no result from remote delivery'));
    } catch (e) {
      this.log.warn({ err: e }, 'remote delivery failed');
      return msgs.map(() => temporaryError(e));
    }
  }

  // ---- outcomes ----

  /** Applies attempt outcomes: DSNs first, then one transaction, then files and events. */
  private async settle(attempts: Attempt[], start: number): Promise<void> {
    const now = this.clock();
    const decisions = attempts.map((a) => this.decide(a, start, now));
    await this.sendDSNs(decisions, now);
    const retries: RetryUpdate[] = [];
    const remove: number[] = [];
    for (const d of decisions) {
      if (d.action === 'retry') retries.push(retryUpdate(d));
      else remove.push(d.m.id);
    }
    const { files } = this.db.apply(retries, remove);
    // Not awaited: a crash before the sync only repeats an attempt.
    this.opts.store.global
      .durable()
      .catch((e: unknown) => this.log.error({ err: e }, 'queue sync failed'));
    await this.removeFiles(files);
    for (const d of decisions) {
      this.autoSuppress(d, now);
      this.report(d);
    }
  }

  private decide(a: Attempt, start: number, now: number): Decision {
    const o = a.outcome;
    const result: AttemptResult = {
      start: new Date(start),
      duration: now - start,
      success: o.ok,
      code: o.code,
      secode: o.secode,
      error: o.error,
      host: o.host,
    };
    const m: QueueMessage = {
      ...a.s.m,
      attempts: a.s.m.attempts + 1,
      lastAttempt: new Date(start),
      lastError: o.ok ? '' : o.error,
      results: [...a.s.m.results, result],
    };
    const base = { s: a.s, m, outcome: o, result, delayDSN: false };
    if (o.ok) {
      const kind = a.local ? 'delivered' : 'relayed';
      const dsn = wantsDSN(m, kind) && !o.dsnPassedOn ? kind : null;
      return { ...base, action: 'delivered', nextAttempt: now, dsn };
    }
    // Retries expire maxAge after the first allowed delivery (RFC 5321 §4.5.4.1).
    if (o.permanent || now >= a.s.releaseAt + this.maxAge) {
      return {
        ...base,
        action: 'failed',
        nextAttempt: now,
        dsn: wantsDSN(m, 'failed') ? 'failed' : null,
      };
    }
    const delayDSN =
      !a.s.delayDSNSent && now - a.s.releaseAt >= this.delayDSNAfter && wantsDSN(m, 'delayed');
    return {
      ...base,
      action: 'retry',
      nextAttempt: now + backoffDelay(m.attempts, this.backoffBase),
      dsn: delayDSN ? 'delayed' : null,
      delayDSN,
    };
  }

  /**
   * Sends the DSNs of a set of decisions, one per kind, file and sender. A failure DSN
   * that cannot be sent keeps its message queued for another try; a delay DSN that
   * cannot be sent is tried again after the next failed attempt.
   */
  private async sendDSNs(decisions: Decision[], now: number): Promise<void> {
    const batches = new Map<string, Decision[]>();
    for (const d of decisions) {
      if (!d.dsn) continue;
      const key = [d.dsn, d.m.fileId, senderText(d.m.sender)].join('\0');
      const b = batches.get(key);
      if (b) b.push(d);
      else batches.set(key, [d]);
    }
    for (const batch of batches.values()) {
      const kind = (batch[0] as Decision).dsn as DSNKind;
      try {
        await this.sendDSN(kind, batch, now);
      } catch (e) {
        this.log.error({ err: e, ids: batch.map((d) => d.m.id), kind }, 'sending DSN failed');
        for (const d of batch) {
          if (kind === 'delayed') d.delayDSN = false;
          if (kind !== 'failed') continue;
          d.action = 'retry';
          d.nextAttempt = now + backoffDelay(d.m.attempts, this.backoffBase);
        }
      }
    }
  }

  private async sendDSN(kind: DSNKind, batch: Decision[], now: number): Promise<void> {
    const first = batch[0] as Decision;
    const sender = first.m.sender as Path;
    const items: DSNItem[] = batch.map((d) => ({
      m: d.m,
      outcome: d.outcome,
      attemptAt: d.result.start,
    }));
    const original = await this.original(kind, first.m);
    let dsn: BuiltDSN;
    try {
      dsn = buildDSN(kind, items, {
        hostname: this.opts.hostname,
        now: new Date(now),
        ...(kind === 'delayed' ? { retryUntil: new Date(first.s.releaseAt + this.maxAge) } : {}),
        original,
      });
    } catch (e) {
      // Not composable (an address no header can carry ...): trying again cannot help.
      this.log.error({ err: e, kind, ids: batch.map((d) => d.m.id) }, 'cannot compose DSN');
      return;
    }
    const to = formatAddress(sender);
    const cfg = this.opts.domains();
    const r = this.localDelivery ? resolveAddress(cfg, sender) : null;
    const prepared = await this.opts.store.prepare(dsn.data);
    try {
      if (r?.kind === 'account') {
        try {
          const acc = await this.opts.store.account(r.account);
          const prefix = deliveryPrefix([to], null);
          await acc.addMessages('Inbox', [{ message: prepared, prefix }], { create: true });
          this.log.info(
            { kind, to, account: r.account, ids: batch.map((d) => d.m.id) },
            'DSN delivered',
          );
          return;
        } catch (e) {
          this.log.warn(
            { err: e, to, account: r.account },
            'DSN not delivered locally, queueing it',
          );
        }
      }
      await this.add(prepared.path, [
        {
          sender: null,
          recipient: sender,
          account: '',
          has8bit: !isAscii(dsn.data),
          smtputf8: dsn.smtputf8,
          messageId: dsn.messageId,
          subject: dsn.subject,
          // spec/smtp.md §1.16: the DSN carries the original's headers, so its TLS need.
          requireTLS: first.m.requireTLS === true ? true : null,
          prefix: await this.signDSN(dsn.data),
          isDSN: true,
        },
      ]);
      this.log.info({ kind, to, ids: batch.map((d) => d.m.id) }, 'DSN queued');
    } finally {
      await prepared.cleanup();
    }
  }

  /** DKIM signature for a DSN from the host's postmaster; a failure only costs the signature. */
  private async signDSN(data: Buffer): Promise<Buffer> {
    if (!this.opts.sign) return Buffer.alloc(0);
    try {
      return Buffer.from(await this.opts.sign(this.opts.hostname, data));
    } catch (e) {
      this.log.error({ err: e }, 'DKIM signing of DSN failed');
      return Buffer.alloc(0);
    }
  }

  /** What of the original goes back: RET=FULL only in failure DSNs (RFC 3461 §4.3). */
  private async original(
    kind: DSNKind,
    m: QueueMessage,
  ): Promise<{ headers: Buffer } | { message: Buffer } | null> {
    try {
      if (kind === 'failed' && m.dsn?.ret === 'FULL' && m.size <= MAX_RETURN_FULL) {
        return { message: await this.files.read(m.fileId, m.prefix) };
      }
      return { headers: await this.files.readHeader(m.fileId, m.prefix, MAX_RETURN_HEADER) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw e;
    }
  }

  /** A permanent failure saying the address is gone puts it on the account's list. */
  private autoSuppress(d: Decision, now: number): void {
    const o = d.outcome;
    if (d.action !== 'failed' || d.m.account === '' || o.host === '') return;
    if (!suppressingFailure(o.code, o.secode)) return;
    const reason = `${o.code} ${o.secode} ${o.error}`.trim();
    if (this.rules.suppress(d.m.account, d.m.recipient, reason, false, now)) {
      this.log.info(
        { account: d.m.account, rcpt: formatAddress(d.m.recipient), reason },
        'recipient added to suppression list',
      );
    }
  }

  private report(d: Decision): void {
    const kind = d.outcome.host === '' ? 'local' : 'remote';
    queueMetrics.attempts.inc({ kind, result: d.action });
    queueMetrics.attemptDuration.observe({ kind }, d.result.duration / 1000);
    if (d.dsn) queueMetrics.dsn.inc({ kind: d.dsn });
    const fields = {
      queueId: d.m.id,
      rcpt: formatAddress(d.m.recipient),
      attempts: d.m.attempts,
      code: d.outcome.code,
      secode: d.outcome.secode,
      error: d.outcome.error,
      host: d.outcome.host,
    };
    if (d.action === 'delivered') {
      this.log.info(fields, 'delivered');
      this.emit('delivered', d.m, d.result);
    } else if (d.action === 'failed') {
      this.log.info(fields, 'delivery failed permanently');
      this.emit('failed', d.m, d.result);
    } else {
      const m = { ...d.m, nextAttempt: new Date(d.nextAttempt) };
      this.log.info(
        { ...fields, nextAttempt: m.nextAttempt.toISOString() },
        'delivery failed, will retry',
      );
      this.emit('retry', m, d.result);
    }
  }

  private async removeFiles(fileIds: number[]): Promise<void> {
    for (const f of fileIds) {
      this.local.forget(f);
      await this.files.remove(f);
    }
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
    await this.removeFiles(this.db.removeUnusedFiles());
    for (const f of this.db.files()) {
      if (await this.files.exists(f.id)) continue;
      const rows = this.db.byIds(this.db.messagesOfFile(f.id));
      this.log.error(
        { fileId: f.id, ids: rows.map((s) => s.m.id) },
        'queue file missing, failing its messages',
      );
      const start = this.clock();
      await this.settle(
        rows.map((s) => ({ s, outcome: FILE_MISSING, local: false })),
        start,
      );
    }
  }
}

function retryUpdate(d: Decision): RetryUpdate {
  return {
    id: d.m.id,
    attempts: d.m.attempts,
    lastAttempt: d.result.start.getTime(),
    lastError: d.m.lastError,
    results: d.m.results,
    nextAttempt: d.nextAttempt,
    delayDSNSent: d.s.delayDSNSent || d.delayDSN,
  };
}

function senderText(p: Path | null): string {
  return p === null ? '<>' : formatAddress(p);
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
