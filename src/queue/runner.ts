// The queue runner: finds messages that are due, groups recipients that can share one
// delivery (one SMTP transaction), runs at most maxConcurrent attempts at once, and
// sets a timer for the next message that becomes due. Each job is
// settle(await attempt(group)); a message is never in two jobs at once.
import type { DomainsConfig } from '../config/domains.js';
import { resolveAddress } from '../config/resolve.js';
import { senderText } from './address.js';
import { attempt } from './attempt.js';
import type { QueueContext } from './context.js';
import type { Stored } from './db.js';
import { settle } from './settle.js';
import type { QueueMessage } from './types.js';

/** Messages of one remote delivery call at most. */
const MAX_GROUP = 1000;
/** Rows read per runner pass beyond those already being delivered. */
const PASS_ROWS = 500;
/** Rows read per free delivery slot in a runner pass. */
const ROWS_PER_SLOT = 50;
/** Timers wake at least this often, so a changed clock is noticed. */
const MAX_TIMER_MS = 3600 * 1000;

function dueOrder(a: Stored, b: Stored): number {
  return a.m.nextAttempt.getTime() - b.m.nextAttempt.getTime() || a.m.id - b.m.id;
}

export class Runner {
  private started = false;
  private timer: NodeJS.Timeout | null = null;
  private pumping = false;
  private pumpAgain = false;
  private active = 0;
  private slotWaiters: (() => void)[] = [];
  /** Message id to the job attempting it. */
  private readonly busy = new Map<number, Promise<void>>();
  private readonly jobs = new Set<Promise<void>>();

  constructor(private readonly ctx: QueueContext) {}

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
    const { db } = this.ctx;
    const now = this.ctx.clock();
    const ids = db.dueIds(now);
    const jobs: Promise<void>[] = [];
    for (let i = 0; i < ids.length; i += PASS_ROWS) {
      const rows = db
        .byIds(ids.slice(i, i + PASS_ROWS))
        .filter((s) => !s.m.hold && s.m.nextAttempt.getTime() <= now);
      for (const group of this.plan(rows)) {
        await this.slot();
        // Re-read after waiting: the rows may have been changed or dropped meanwhile.
        const fresh = db
          .byIds(group.map((s) => s.m.id))
          .filter((s) => !s.m.hold && s.m.nextAttempt.getTime() <= now && !this.busy.has(s.m.id));
        if (fresh.length > 0) jobs.push(this.launch(fresh));
      }
    }
    await Promise.all(jobs);
  }

  /** Schedules a runner pass soon (after add, release, a finished attempt ...). */
  kick(): void {
    if (!this.started) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    setImmediate(() => this.pump());
  }

  /** Runs fn in a delivery slot, marking the messages busy until it finishes. */
  track(ids: number[], fn: () => Promise<void>): Promise<void> {
    this.active++;
    const job = (async () => {
      try {
        await fn();
      } catch (e) {
        this.ctx.log.error({ err: e, ids }, 'queue delivery job failed');
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
  async idle(ids: number[]): Promise<void> {
    for (;;) {
      const running = ids.flatMap((id) => this.busy.get(id) ?? []);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  private pump(): void {
    try {
      // One clock reading for both steps: a message not due for fill() gets a timer.
      let now: number;
      do {
        this.pumpAgain = false;
        now = this.ctx.clock();
        this.fill(now);
      } while (this.pumpAgain && this.started);
      this.arm(now);
    } catch (e) {
      this.ctx.log.error({ err: e }, 'queue runner pass failed');
    } finally {
      this.pumping = false;
    }
  }

  /** Launches due messages into the free delivery slots. */
  private fill(now: number): void {
    const max = this.ctx.maxConcurrent;
    if (!this.started || this.active >= max) return;
    // Ids first (cheap), then whole rows only for enough idle messages to fill the free
    // slots, with room for recipients that can join their groups.
    const free = max - this.active;
    const ids = this.ctx.db
      .dueIds(now, this.busy.size + PASS_ROWS)
      .filter((id) => !this.busy.has(id))
      .slice(0, Math.min(PASS_ROWS, free * ROWS_PER_SLOT));
    const rows = this.ctx.db.byIds(ids).sort(dueOrder);
    for (const group of this.plan(rows)) {
      if (this.active >= max) break;
      void this.launch(group);
    }
  }

  /** Sets the timer for the next message that becomes due after `now`. */
  private arm(now: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.started) return;
    // Messages due now but not started wait for a slot: a finishing attempt kicks.
    const next = this.ctx.db.nextDueAfter(now);
    if (next === null) return;
    const delay = Math.min(Math.max(0, next - now), MAX_TIMER_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.kick();
    }, delay);
  }

  private async slot(): Promise<void> {
    while (this.active >= this.ctx.maxConcurrent) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  /**
   * Delivery units: each local message alone; remote messages grouped by file, sender,
   * account, prefix and TLS requirement. The remote deliverer splits a group by route
   * and destination hosts; recipients that share them go in one SMTP transaction.
   */
  private plan(rows: Stored[]): Stored[][] {
    const cfg = this.ctx.opts.domains();
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
    if (this.ctx.opts.localserve) return true;
    return this.ctx.localDelivery && resolveAddress(cfg, m.recipient).kind !== 'unknown-domain';
  }

  private launch(group: Stored[]): Promise<void> {
    return this.track(
      group.map((s) => s.m.id),
      async () => settle(this.ctx, await attempt(this.ctx, group)),
    );
  }
}
