// DSNs about queued messages (RFC 3464, RFC 3461 §6): which recipients, which status,
// and how much of the original message goes back to the sender.
import { composeDSN, dsnText, newMessageId, type DSNRecipient } from '../message/index.js';
import { formatAddress } from './address.js';
import { statusOf, type DSNKind } from './policy.js';
import type { DeliveryOutcome, QueueMessage } from './types.js';

/** One recipient to report on, with the attempt that decided it. */
export type DSNItem = { m: QueueMessage; outcome: DeliveryOutcome; attemptAt: Date };

export type DSNContext = {
  hostname: string;
  now: Date;
  /** Delay DSNs: when the queue gives up. */
  retryUntil?: Date;
  /** Header block, or the whole message for RET=FULL; null when the file is gone. */
  original: { headers: Buffer } | { message: Buffer } | null;
};

export type BuiltDSN = { data: Buffer; messageId: string; subject: string; smtputf8: boolean };

const SUBJECTS: Record<DSNKind, string> = {
  failed: 'mail delivery failure',
  delayed: 'mail delivery delayed',
  delivered: 'mail delivered',
  relayed: 'mail relayed',
};

const FALLBACK_STATUS: Record<DSNKind, string> = {
  failed: '5.0.0',
  delayed: '4.0.0',
  delivered: '2.0.0',
  relayed: '2.0.0',
};

/**
 * Composes one DSN for recipients of the same message (same file and sender). The
 * sender must not be null (callers check wantsDSN).
 */
export function buildDSN(kind: DSNKind, items: DSNItem[], ctx: DSNContext): BuiltDSN {
  const first = items[0];
  if (!first || first.m.sender === null) throw new Error('DSN without recipients or sender');
  const m = first.m;
  const to = formatAddress(m.sender as NonNullable<QueueMessage['sender']>);
  const smtputf8 = m.smtputf8 || /[^\x00-\x7f]/.test(to);
  const messageId = newMessageId(ctx.hostname);
  const subject = SUBJECTS[kind];
  const data = composeDSN({
    from: `postmaster@${ctx.hostname}`,
    to,
    subject,
    messageId,
    ...(/^<[^<>\s]+>$/.test(m.messageId) ? { references: m.messageId } : {}),
    reportingMTA: ctx.hostname,
    arrivalDate: m.queued,
    ...(m.dsn?.envid !== undefined ? { envid: m.dsn.envid } : {}),
    recipients: items.map((it) => dsnRecipient(kind, it, ctx)),
    text: dsnText(
      kind,
      items.map((it) => ({
        address: formatAddress(it.m.recipient),
        ...(it.outcome.error ? { error: errorLine(it.outcome) } : {}),
        ...(kind === 'failed' && !it.outcome.permanent ? { transient: true } : {}),
      })),
      ctx.retryUntil ? { retryUntil: ctx.retryUntil } : {},
    ),
    ...(ctx.original ? { original: ctx.original } : {}),
    smtputf8,
    date: ctx.now,
  });
  return { data, messageId, subject, smtputf8 };
}

function dsnRecipient(kind: DSNKind, it: DSNItem, ctx: DSNContext): DSNRecipient {
  const o = it.outcome;
  const status = statusOf(o.code, o.secode, FALLBACK_STATUS[kind]);
  const r: DSNRecipient = {
    finalRecipient: formatAddress(it.m.recipient),
    action: kind,
    status,
    lastAttempt: it.attemptAt,
  };
  if (it.m.dsn?.orcpt) r.originalRecipient = it.m.dsn.orcpt;
  // RFC 3464 §2.3.6: the reply as the remote (or local) server gave it.
  if (o.code >= 200 && o.code <= 599 && o.error !== '') {
    const given = statusOf(o.code, o.secode, '');
    r.diagnostic = { code: o.code, text: o.error, ...(given ? { secode: given } : {}) };
  }
  if (o.host !== '') r.remoteMTA = o.host;
  if (kind === 'delayed' && ctx.retryUntil) r.willRetryUntil = ctx.retryUntil;
  return r;
}

/** The error as the human-readable part shows it: with the reply codes when known. */
function errorLine(o: DeliveryOutcome): string {
  if (o.code === 0) return o.error;
  const st = statusOf(o.code, o.secode, '');
  return `${o.code}${st ? ' ' + st : ''} ${o.error}`;
}
