// The DSN (RFC 3464) for the recipients of an incoming message that failed after others
// were accepted: once the 250 is sent, failures must be reported by mail (RFC 5321 §6.1).
import { readFile } from 'node:fs/promises';
import { isAscii } from 'node:buffer';
import type { Recipient, SmtpConn, Transaction } from './conn.js';
import type { MessageInfo } from './msginfo.js';
import { smtpMetrics } from './metrics.js';
import type { PreparedMessage } from '../store/index.js';
import { composeDSN, dsnText } from '../message/dsn.js';
import { newMessageId } from '../message/compose.js';
import { formatLocalpart } from '../smtp/index.js';

/** A recipient that did not get the message. */
export type RcptError = { rcpt: Recipient; code: number; secode: string; msg: string };

/** A returned message is included whole in a DSN (RET=FULL) only up to this size. */
const MAX_DSN_FULL = 10 * 1024 * 1024;

/**
 * Tells the sender about the recipients that failed: after the 250 the failure must be
 * reported by mail (RFC 5321 §6.1), in one DSN (RFC 3464).
 */
export async function queueDSN(
  c: SmtpConn,
  tx: Transaction,
  msg: PreparedMessage,
  info: MessageInfo,
  errors: RcptError[],
): Promise<void> {
  // Never to a null sender; not in localserve; RFC 3461 §4.1 NOTIFY.
  if (!tx.mailFrom || !tx.mailFrom.domain || c.ctx.localserve) return;
  const wanted = errors.filter((e) => {
    const n = e.rcpt.notify;
    return n === undefined || (n !== 'NEVER' && n.includes('FAILURE'));
  });
  if (wanted.length === 0) return;
  const now = new Date();
  const host = c.ctx.hostname;
  const firstDomain = wanted[0]!.rcpt.path.domain?.ascii ?? host;
  const sender = `${formatLocalpart(tx.mailFrom.localpart)}@${tx.mailFrom.domain.ascii}`;
  const smtputf8 = tx.smtputf8;
  try {
    const full = tx.ret === 'FULL' && msg.size <= MAX_DSN_FULL;
    const dsnMessageId = newMessageId(host);
    const dsn = composeDSN({
      from: `postmaster@${firstDomain}`,
      to: sender,
      subject: 'mail delivery failure',
      messageId: dsnMessageId,
      references: info.messageId || undefined,
      reportingMTA: host,
      receivedFromMTA: `${c.hello?.name ?? 'unknown'} (${c.remoteIP})`,
      arrivalDate: now,
      envid: tx.envid || undefined,
      recipients: wanted.map((e) => ({
        finalRecipient: e.rcpt.address,
        originalRecipient: e.rcpt.orcpt,
        action: 'failed',
        status: `${Math.floor(e.code / 100)}.${e.secode}`,
        diagnostic: {
          code: e.code,
          secode: `${Math.floor(e.code / 100)}.${e.secode}`,
          text: e.msg,
        },
        lastAttempt: now,
      })),
      text: dsnText(
        'failed',
        wanted.map((e) => ({ address: e.rcpt.address, error: `${e.code} ${e.msg}` })),
      ),
      original: full ? { message: await readFile(msg.path) } : { headers: msg.header },
      smtputf8,
    });
    const p = await c.ctx.store.prepareMessage(dsn);
    try {
      await c.ctx.queue.add(p.path, [
        {
          sender: null,
          recipient: { localpart: tx.mailFrom.localpart, domain: tx.mailFrom.domain.ascii },
          account: '',
          // The returned headers may carry 8-bit text even without SMTPUTF8 (RFC 6152).
          has8bit: !isAscii(dsn),
          smtputf8,
          messageId: dsnMessageId,
          subject: 'mail delivery failure',
          requireTLS: tx.requireTLS ? true : null,
          prefix: Buffer.alloc(0),
          isDSN: true,
        },
      ]);
    } finally {
      await p.cleanup();
    }
  } catch (e) {
    smtpMetrics.errors.inc({ error: 'queuedsn' });
    c.log.error({ err: e }, 'queueing dsn for partial delivery failure');
  }
}
