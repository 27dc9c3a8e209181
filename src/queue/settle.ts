// What follows a delivery attempt: decide each message's fate (delivered, failed, or
// retried after a backoff), send the DSNs that calls for, apply everything to the queue
// in one transaction, put recipients that are gone on the account's suppression list,
// and report (log, metrics, events).
//
// Durability: a DSN is delivered or queued before the row it reports on is removed, so a
// crash can repeat a DSN, never lose one.
import { isAscii } from 'node:buffer';
import { resolveAddress } from '../config/resolve.js';
import { formatAddress, senderText } from './address.js';
import { removeFiles, type Attempt, type Attempted, type QueueContext } from './context.js';
import type { RetryUpdate, Stored } from './db.js';
import { buildDSN, type BuiltDSN, type DSNItem } from './dsn.js';
import { deliveryPrefix } from './local.js';
import { queueMetrics } from './metrics.js';
import {
  MAX_RETURN_FULL,
  MAX_RETURN_HEADER,
  backoffDelay,
  wantsDSN,
  type DSNKind,
} from './policy.js';
import { suppressingFailure } from './rules.js';
import type { AttemptResult, DeliveryOutcome, Path, QueueMessage } from './types.js';

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

/** Applies attempt outcomes: DSNs first, then one transaction, then files and events. */
export async function settle(ctx: QueueContext, { start, attempts }: Attempted): Promise<void> {
  const now = ctx.clock();
  const decisions = attempts.map((a) => decide(ctx, a, start, now));
  await sendDSNs(ctx, decisions, now);
  const retries: RetryUpdate[] = [];
  const remove: number[] = [];
  for (const d of decisions) {
    if (d.action === 'retry') retries.push(retryUpdate(d));
    else remove.push(d.m.id);
  }
  const { files } = ctx.db.apply(retries, remove);
  // Not awaited: a crash before the sync only repeats an attempt.
  ctx.opts.store.global
    .durable()
    .catch((e: unknown) => ctx.log.error({ err: e }, 'queue sync failed'));
  await removeFiles(ctx, files);
  for (const d of decisions) {
    autoSuppress(ctx, d, now);
    report(ctx, d);
  }
}

function decide(ctx: QueueContext, a: Attempt, start: number, now: number): Decision {
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
  if (o.permanent || now >= a.s.releaseAt + ctx.maxAge) {
    return {
      ...base,
      action: 'failed',
      nextAttempt: now,
      dsn: wantsDSN(m, 'failed') ? 'failed' : null,
    };
  }
  const delayDSN =
    !a.s.delayDSNSent && now - a.s.releaseAt >= ctx.delayDSNAfter && wantsDSN(m, 'delayed');
  return {
    ...base,
    action: 'retry',
    nextAttempt: now + backoffDelay(m.attempts, ctx.backoffBase),
    dsn: delayDSN ? 'delayed' : null,
    delayDSN,
  };
}

/**
 * Sends the DSNs of a set of decisions, one per kind, file and sender. A failure DSN
 * that cannot be sent keeps its message queued for another try; a delay DSN that
 * cannot be sent is tried again after the next failed attempt.
 */
async function sendDSNs(ctx: QueueContext, decisions: Decision[], now: number): Promise<void> {
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
      await sendDSN(ctx, kind, batch, now);
    } catch (e) {
      ctx.log.error({ err: e, ids: batch.map((d) => d.m.id), kind }, 'sending DSN failed');
      for (const d of batch) {
        if (kind === 'delayed') d.delayDSN = false;
        if (kind !== 'failed') continue;
        d.action = 'retry';
        d.nextAttempt = now + backoffDelay(d.m.attempts, ctx.backoffBase);
      }
    }
  }
}

async function sendDSN(
  ctx: QueueContext,
  kind: DSNKind,
  batch: Decision[],
  now: number,
): Promise<void> {
  const first = batch[0] as Decision;
  const sender = first.m.sender as Path;
  const items: DSNItem[] = batch.map((d) => ({
    m: d.m,
    outcome: d.outcome,
    attemptAt: d.result.start,
  }));
  const original = await originalOf(ctx, kind, first.m);
  let dsn: BuiltDSN;
  try {
    dsn = buildDSN(kind, items, {
      hostname: ctx.opts.hostname,
      now: new Date(now),
      ...(kind === 'delayed' ? { retryUntil: new Date(first.s.releaseAt + ctx.maxAge) } : {}),
      original,
    });
  } catch (e) {
    // Not composable (an address no header can carry ...): trying again cannot help.
    ctx.log.error({ err: e, kind, ids: batch.map((d) => d.m.id) }, 'cannot compose DSN');
    return;
  }
  const to = formatAddress(sender);
  const cfg = ctx.opts.domains();
  const r = ctx.localDelivery ? resolveAddress(cfg, sender) : null;
  const prepared = await ctx.opts.store.prepareMessage(dsn.data);
  try {
    if (r?.kind === 'account') {
      try {
        const acc = await ctx.opts.store.account(r.account);
        const prefix = deliveryPrefix([to], null);
        await acc.addMessages('Inbox', [{ message: prepared, prefix }], { create: true });
        ctx.log.info(
          { kind, to, account: r.account, ids: batch.map((d) => d.m.id) },
          'DSN delivered',
        );
        return;
      } catch (e) {
        ctx.log.warn({ err: e, to, account: r.account }, 'DSN not delivered locally, queueing it');
      }
    }
    await ctx.add(prepared.path, [
      {
        sender: null,
        recipient: sender,
        account: '',
        has8bit: !isAscii(dsn.data),
        smtputf8: dsn.smtputf8,
        messageId: dsn.messageId,
        subject: dsn.subject,
        // The DSN carries the original's header section, so it needs the TLS the
        // original required (RFC 8689, non-delivery message handling).
        requireTLS: first.m.requireTLS === true ? true : null,
        prefix: await signDSN(ctx, dsn.data),
        isDSN: true,
      },
    ]);
    ctx.log.info({ kind, to, ids: batch.map((d) => d.m.id) }, 'DSN queued');
  } finally {
    await prepared.cleanup();
  }
}

/** DKIM signature for a DSN from the host's postmaster; a failure only costs the signature. */
async function signDSN(ctx: QueueContext, data: Buffer): Promise<Buffer> {
  if (!ctx.opts.sign) return Buffer.alloc(0);
  try {
    return Buffer.from(await ctx.opts.sign(ctx.opts.hostname, data));
  } catch (e) {
    ctx.log.error({ err: e }, 'DKIM signing of DSN failed');
    return Buffer.alloc(0);
  }
}

/** What of the original goes back: RET=FULL only in failure DSNs (RFC 3461 §4.3). */
async function originalOf(
  ctx: QueueContext,
  kind: DSNKind,
  m: QueueMessage,
): Promise<{ headers: Buffer } | { message: Buffer } | null> {
  try {
    if (kind === 'failed' && m.dsn?.ret === 'FULL' && m.size <= MAX_RETURN_FULL) {
      return { message: await ctx.files.read(m.fileId, m.prefix) };
    }
    return { headers: await ctx.files.readHeader(m.fileId, m.prefix, MAX_RETURN_HEADER) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** A permanent failure saying the address is gone puts it on the account's list. */
function autoSuppress(ctx: QueueContext, d: Decision, now: number): void {
  const o = d.outcome;
  if (d.action !== 'failed' || d.m.account === '' || o.host === '') return;
  if (!suppressingFailure(o.code, o.secode)) return;
  const reason = `${o.code} ${o.secode} ${o.error}`.trim();
  if (ctx.rules.suppress(d.m.account, d.m.recipient, reason, false, now)) {
    ctx.log.info(
      { account: d.m.account, rcpt: formatAddress(d.m.recipient), reason },
      'recipient added to suppression list',
    );
  }
}

function report(ctx: QueueContext, d: Decision): void {
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
    ctx.log.info(fields, 'delivered');
    ctx.events.emit('delivered', d.m, d.result);
  } else if (d.action === 'failed') {
    ctx.log.info(fields, 'delivery failed permanently');
    ctx.events.emit('failed', d.m, d.result);
  } else {
    const m = { ...d.m, nextAttempt: new Date(d.nextAttempt) };
    ctx.log.info(
      { ...fields, nextAttempt: m.nextAttempt.toISOString() },
      'delivery failed, will retry',
    );
    ctx.events.emit('retry', m, d.result);
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
