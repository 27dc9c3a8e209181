// The submission pipeline (RFC 6409): a message from an authenticated user is checked,
// given the headers it lacks (RFC 6409 §8), and queued for every recipient at once.
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { CommandResult } from './command.js';
import type { SmtpConn, Transaction } from './conn.js';
import { serverError, userError } from './errors.js';
import type { MessageInfo } from './msginfo.js';
import { mayUseAddress } from './envelope.js';
import { receivedHeader } from './received.js';
import { localserveEffect, localserveError, localserveTimeoutError } from './localserve.js';
import { smtpMetrics } from './metrics.js';
import { formatDate, newMessageId } from '../message/compose.js';
import { isStorageFull, type Account, type PreparedMessage } from '../store/index.js';
import type { NewQueueMessage } from '../queue/index.js';
import { C, SE } from '../smtp/index.js';

function fail(result: string, e: Error): Error {
  smtpMetrics.submission.inc({ result });
  return e;
}

/** Whether the SMTPUTF8 extension is needed to send this message on (RFC 6531 §3.2). */
function needsSMTPUTF8(tx: Transaction, info: MessageInfo): boolean {
  const nonAscii = (s: string) => /[^\x00-\x7f]/.test(s);
  if (tx.mailFrom && nonAscii(tx.mailFrom.localpart)) return true;
  return info.headerUTF8 || tx.recipients.some((r) => nonAscii(r.path.localpart));
}

export async function submit(
  c: SmtpConn,
  tx: Transaction,
  msg: PreparedMessage,
  info: MessageInfo,
  has8bit: boolean,
): Promise<CommandResult> {
  const cfg = c.ctx.domains();
  const account = c.account!;
  // RFC 6409 §8.1 expects a complete message.
  if (!info.haveBody) {
    throw fail(
      'badmessage',
      userError(
        C.TransactionFailed,
        SE.OtherMedia0,
        'message requires both header and body section',
      ),
    );
  }
  if (!info.from)
    throw fail(
      'badfrom',
      userError(C.MailboxUnavailablePerm, SE.OtherMedia0, 'missing or unparsable From header'),
    );
  if (!c.ctx.localserve && !mayUseAddress(cfg, account, info.from.localpart, info.from.domain)) {
    throw fail(
      'badfrom',
      userError(
        C.MailboxUnavailablePerm,
        SE.DeliveryNotAuth1,
        'message from address must belong to authenticated user',
      ),
    );
  }
  if (c.ctx.localserve) {
    for (const r of tx.recipients) {
      const eff = localserveEffect(r.path.localpart, 'data');
      if (eff && !eff.timeout) throw fail('localserveerror', localserveError(eff.code));
      if (eff?.timeout) {
        await new Promise((res) => setTimeout(res, c.ctx.delays.localserveTimeout));
        throw fail('localserveerror', localserveTimeoutError());
      }
    }
  }
  const addresses = tx.recipients.map((r) => r.address);
  const acc = await c.ctx.store.account(account);
  await checkSendLimits(c, acc, addresses);

  // REQUIRETLS wins; otherwise "TLS-Required: No" relaxes the recipient's TLS policy.
  const requireTLS = tx.requireTLS ? true : info.tlsRequiredNo ? false : null;
  const smtputf8 = needsSMTPUTF8(tx, info);
  let added = '';
  let messageId = info.messageId;
  if (!messageId) {
    messageId = newMessageId(c.ctx.hostname);
    added += `Message-Id: ${messageId}\r\n`;
  }
  if (!info.fields.some((f) => f.name.toLowerCase() === 'date')) {
    added += `Date: ${formatDate(new Date())}\r\n`;
  }
  const authResults =
    `Authentication-Results: ${c.ctx.hostname};\r\n` +
    `\tauth=pass smtp.mailfrom=${tx.mailFrom ? mailFromText(tx) : '<>'}\r\n`;
  // One recipient: "for <rcpt>" in Received. Several: one identical prefix, so the queue
  // can deliver recipients at the same host in one transaction.
  const single = tx.recipients.length === 1 ? tx.recipients[0]?.address : undefined;
  const received = receivedHeader(c, { forRcpt: single, smtputf8, requireTLS: tx.requireTLS });
  const unsigned = Buffer.from(received + authResults + added, 'utf8');
  const prefix = Buffer.concat([await dkimSignature(c, info, unsigned, msg), unsigned]);
  const sender = tx.mailFrom
    ? { localpart: tx.mailFrom.localpart, domain: tx.mailFrom.domain?.ascii ?? '' }
    : null;
  const msgs: NewQueueMessage[] = tx.recipients.map((r) => ({
    sender,
    recipient: {
      localpart: r.path.localpart,
      domain: r.path.ipLiteral ? `[${r.path.ipLiteral}]` : (r.path.domain?.ascii ?? c.ctx.hostname),
    },
    account,
    has8bit,
    smtputf8,
    messageId,
    subject: info.subject,
    requireTLS,
    prefix,
    dsn: {
      notify: r.notify,
      orcpt: r.orcpt,
      ret: tx.ret ?? undefined,
      envid: tx.envid || undefined,
    },
    nextAttempt: tx.holdUntil ?? undefined,
    futureReleaseRequest: tx.futureReleaseRequest || undefined,
  }));
  try {
    await c.ctx.queue.add(msg.path, msgs);
  } catch (e) {
    const err = isStorageFull(e)
      ? serverError(
          C.InsufficientStorage,
          SE.MailSystemFull1,
          'insufficient system storage, try again later',
          e,
        )
      : serverError(C.LocalError, SE.OtherMailSystem0, 'error queueing message', e);
    throw fail('queueerror', err);
  }
  try {
    await acc.recordOutgoing(addresses);
  } catch (e) {
    // The message is queued; losing a history row only weakens the limits.
    c.log.error({ err: e }, 'recording outgoing recipients');
  }
  smtpMetrics.submission.inc({ result: 'ok' });
  c.log.info(
    { account, recipients: addresses.length, size: msg.size + prefix.length },
    'message submitted',
  );
  c.reply(C.Completed, SE.Other0, 'message accepted');
  return { code: C.Completed, secode: SE.Other0 };
}

/** DKIM-Signature fields over prefix and message; a failure costs only the signature. */
async function dkimSignature(
  c: SmtpConn,
  info: MessageInfo,
  prefix: Buffer,
  msg: PreparedMessage,
): Promise<Buffer> {
  const sign = c.ctx.dkimSign;
  if (!sign || !info.from) return Buffer.alloc(0);
  try {
    const data = () =>
      Readable.from(
        (async function* () {
          yield prefix;
          yield* createReadStream(msg.path);
        })(),
      );
    return Buffer.from(await sign(info.from.domain, data), 'utf8');
  } catch (e) {
    smtpMetrics.errors.inc({ error: 'dkimsign' });
    c.log.error({ err: e, domain: info.from.domain }, 'DKIM signing failed, sending unsigned');
    return Buffer.alloc(0);
  }
}

function mailFromText(tx: Transaction): string {
  const p = tx.mailFrom!;
  return `${p.localpart}@${p.domain?.unicode ?? ''}`;
}

/**
 * Per-account daily limits on messages and first-time recipients: a stolen password sends
 * only so much spam before someone notices.
 */
async function checkSendLimits(c: SmtpConn, acc: Account, addresses: string[]): Promise<void> {
  const accCfg = c.ctx.domains().accounts[acc.name];
  const maxMsgs = accCfg?.max_outgoing_messages_per_day ?? c.ctx.limits.maxOutgoingPerDay;
  const maxFirst =
    accCfg?.max_first_time_recipients_per_day ?? c.ctx.limits.maxFirstTimeRecipientsPerDay;
  const n = await acc.sendCounts(addresses);
  if (n.messages + addresses.length > maxMsgs) {
    const msg = `max number of messages (${maxMsgs}) over past 24h reached, try increasing per-account setting max_outgoing_messages_per_day`;
    throw fail('messagelimiterror', userError(C.LocalError, SE.DeliveryNotAuth1, msg));
  }
  if (n.firstTimeRecipients + n.newRecipients > maxFirst) {
    const msg = `max number of new/first-time recipients (${maxFirst}) over past 24h reached, try increasing per-account setting max_first_time_recipients_per_day`;
    throw fail('recipientlimiterror', userError(C.LocalError, SE.DeliveryNotAuth1, msg));
  }
}
