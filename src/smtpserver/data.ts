// DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030): the message streams into a temp file
// (never held in memory), with the size limit enforced as it arrives; then it goes to
// the submission or delivery pipeline.
import { isAscii } from 'node:buffer';
import { requireHello, type Command, type CommandResult } from './command.js';
import type { SmtpConn, Transaction } from './conn.js';
import { SmtpError, fatalError, serverError, userError } from './errors.js';
import { BareCRLFDetector, C, DotReader, SE } from '../smtp/index.js';
import { isStorageFull, type PreparedMessage, type TempMessage } from '../store/index.js';
import { messageInfo } from './msginfo.js';
import { submit } from './submit.js';
import { deliver } from './deliver.js';
import { requireAuth } from './envelope.js';

const CHUNK = 64 * 1024;
/** Bytes collected before a write to the temp file. */
const WRITE_BATCH = 256 * 1024;

function requireTransaction(c: SmtpConn): Transaction {
  requireHello(c);
  requireAuth(c);
  const tx = c.tx;
  if (!tx) throw userError(C.BadSequence, SE.InvalidCmd1, 'missing MAIL FROM');
  if (tx.recipients.length === 0) throw userError(C.BadSequence, SE.InvalidCmd1, 'missing RCPT TO');
  return tx;
}

/** The reply for a message over the size limit (RFC 1870 §6.1; RFC 3463 x.3.4/x.2.3). */
function tooLarge(c: SmtpConn): SmtpError {
  const lim = c.ctx.limits;
  const secode =
    lim.maxMessageSize < lim.defaultMaxMessageSize ? SE.MsgLimitExceeded3 : SE.MsgTooBig4;
  return userError(C.ExceededStorage, secode, `message too large, max ${lim.maxMessageSize} bytes`);
}

/** Disk trouble: x.3.1 when the disk is full, so clients know to retry later. */
function writeFailed(e: unknown): SmtpError {
  return isStorageFull(e)
    ? serverError(
        C.InsufficientStorage,
        SE.MailSystemFull1,
        'insufficient system storage, try again later',
        e,
      )
    : serverError(C.LocalError, SE.OtherMailSystem0, 'error writing message to disk', e);
}

// RFC 5321 §4.1.1.4 DATA; syntax §4.1.1.4 (no parameters), dot-stuffing §4.5.2.
export const data: Command = async (c, args) => {
  if (args.trim() !== '')
    throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'no parameters allowed');
  const tx = requireTransaction(c);
  if (tx.chunks) throw userError(C.BadSequence, SE.InvalidCmd1, 'DATA not allowed after BDAT');
  // RFC 3030 §3: BINARYMIME content cannot be dot-stuffed.
  if (tx.body === 'BINARYMIME')
    throw userError(C.BadSequence, SE.InvalidCmd1, 'BINARYMIME requires BDAT');
  let temp: TempMessage;
  try {
    // Verbatim: a message with a bare CR or LF is refused below, so there is nothing to
    // normalise.
    temp = await c.ctx.store.tempMessage({ verbatim: true });
  } catch (e) {
    throw writeFailed(e);
  }
  c.reply(C.StartMailInput, null, 'start mail input, end with <CRLF>.<CRLF>');
  await c.flush();
  const deadline = Date.now() + c.timeouts.data;
  c.writer.setDeadline(deadline);
  const dr = new DotReader(c.reader, { chunkSize: CHUNK });
  let failure: SmtpError | null = null;
  let has8bit = false;
  let hasNUL = false;
  // Data arrives in socket-sized pieces; writing them in larger batches saves system
  // calls and thread-pool hand-offs per message.
  let pending: Buffer[] = [];
  let pendingLen = 0;
  const writePending = async () => {
    if (pendingLen === 0 || failure) return;
    const data = pending;
    pending = [];
    pendingLen = 0;
    try {
      await temp.writeChunks(data);
    } catch (e) {
      failure = writeFailed(e);
    }
  };
  try {
    for (;;) {
      c.reader.setTimeout(Math.min(c.timeouts.io, Math.max(1, deadline - Date.now())));
      const chunk = await dr.next();
      if (chunk === null) break;
      if (failure) continue; // read and discard the rest, then answer
      if (temp.written + pendingLen + chunk.length > c.ctx.limits.maxMessageSize) {
        // The client would keep sending: answer now and close rather than read what may
        // be gigabytes more.
        await temp.abort();
        const t = tooLarge(c);
        throw new SmtpError(t.code, t.secode, t.message, { close: true });
      }
      if (!has8bit && !isAscii(chunk)) has8bit = true;
      if (!hasNUL && chunk.includes(0)) hasNUL = true;
      pending.push(chunk);
      pendingLen += chunk.length;
      if (pendingLen >= WRITE_BATCH) await writePending();
    }
    await writePending();
  } catch (e) {
    await temp.abort();
    throw e;
  }
  if (dr.bareCRLF || failure) {
    await temp.abort();
    // RFC 5321 §4.1.1.4: the end of the data ends the transaction, whatever the reply.
    await c.resetTransaction();
  }
  if (dr.bareCRLF) {
    c.badTransactions++;
    throw smuggling();
  }
  if (failure) throw failure;
  return finishMessage(c, tx, temp, has8bit, hasNUL);
};

/**
 * The reply to message data with a bare CR or LF (RFC 5321 §2.3.8): relayed, it could
 * end at another server where it did not end here (SMTP smuggling).
 */
function smuggling(): SmtpError {
  return userError(
    C.CommandUnrecognized,
    SE.SyntaxError2,
    'invalid bare \\r or \\n, may be smtp smuggling',
  );
}

/** Reads and drops a chunk whose BDAT command failed (RFC 3030 §2 keeps the session in sync). */
async function discard(c: SmtpConn, size: number): Promise<void> {
  for await (const _ of c.reader.readStream(size)) void _;
}

// RFC 3030 §2 BDAT (CHUNKING); syntax §2 (chunk size, optional LAST).
export const bdat: Command = async (c, args) => {
  const m = /^(\d{1,15})(?: +(LAST))? *$/i.exec(args);
  // Without a valid size we cannot find the next command: close.
  if (!m)
    throw fatalError(
      C.SyntaxErrorParams,
      SE.InvalidParams4,
      'bad BDAT syntax, expected size and optional LAST',
    );
  const size = Number(m[1]);
  const last = m[2] !== undefined;
  c.reader.setTimeout(c.timeouts.io);
  let tx: Transaction;
  try {
    tx = requireTransaction(c);
  } catch (e) {
    await discard(c, size);
    throw e;
  }
  if (!tx.chunks) {
    // RFC 3030 §3: only BINARYMIME content may hold a CR or LF outside a CRLF; for other
    // bodies a bare one is refused, as for DATA, so the data is kept as it arrives.
    const binary = tx.body === 'BINARYMIME';
    let temp: TempMessage;
    try {
      temp = await c.ctx.store.tempMessage({ verbatim: true });
    } catch (e) {
      // The chunk must still be read, or its bytes would be taken for commands.
      await discard(c, size);
      throw writeFailed(e);
    }
    tx.chunks = {
      temp,
      failure: null,
      has8bit: false,
      lineEnds: binary ? null : new BareCRLFDetector(),
      hasNUL: false,
    };
  }
  const ch = tx.chunks;
  const max = c.ctx.limits.maxMessageSize;
  for await (const piece of c.reader.readStream(size)) {
    if (ch.failure) continue;
    if (ch.temp.written + piece.length > max) {
      ch.failure = tooLarge(c);
      continue;
    }
    ch.lineEnds?.push(piece);
    if (ch.lineEnds?.found) {
      ch.failure = smuggling();
      c.badTransactions++;
      continue;
    }
    if (!ch.has8bit && !isAscii(piece)) ch.has8bit = true;
    if (!ch.hasNUL && piece.includes(0)) ch.hasNUL = true;
    try {
      await ch.temp.write(piece);
    } catch (e) {
      ch.failure = writeFailed(e);
    }
  }
  // A CR that ends the message is bare too.
  if (last && !ch.failure && ch.lineEnds?.end()) {
    ch.failure = smuggling();
    c.badTransactions++;
  }
  if (ch.failure) {
    // The message is lost; later chunks of it get 503 (no transaction).
    const f = ch.failure;
    await c.resetTransaction();
    throw f;
  }
  if (!last) {
    c.reply(C.Completed, SE.Other0, `${size} octets received`);
    return { code: C.Completed, secode: SE.Other0 };
  }
  tx.chunks = null;
  return finishMessage(c, tx, ch.temp, ch.has8bit, ch.hasNUL);
};

/** Completes a received message: checks common to both pipelines, then hands it on. */
async function finishMessage(
  c: SmtpConn,
  tx: Transaction,
  temp: TempMessage,
  has8bit: boolean,
  hasNUL: boolean,
): Promise<CommandResult> {
  // RFC 5322 §2.1 and RFC 6152 §2 allow no NUL in a message; only BINARYMIME content
  // (RFC 3030 §3) may hold one. Submitted mail goes on as 8BITMIME at most, so there it
  // is refused whatever the body type.
  if (hasNUL && (c.submission || tx.body !== 'BINARYMIME')) {
    await temp.abort();
    await c.resetTransaction();
    c.badTransactions++;
    throw userError(
      C.TransactionFailed,
      SE.OtherMedia0,
      'message contains a NUL byte, not allowed in mail',
    );
  }
  let msg: PreparedMessage;
  try {
    msg = await temp.finish();
  } catch (e) {
    await temp.abort();
    throw writeFailed(e);
  }
  try {
    const info = messageInfo(msg);
    const lim = c.ctx.limits;
    if (info.receivedCount > lim.maxReceivedHeaders) {
      throw userError(
        C.MailboxUnavailablePerm,
        SE.RoutingLoop6,
        `loop detected, more than ${lim.maxReceivedHeaders} Received headers`,
      );
    }
    const r = c.submission
      ? await submit(c, tx, msg, info, has8bit)
      : await deliver(c, tx, msg, info, has8bit);
    c.goodTransactions++;
    return r;
  } catch (e) {
    if (e instanceof SmtpError && e.user) c.badTransactions++;
    throw e;
  } finally {
    await msg.cleanup();
    // RFC 5321 §4.1.1.4: the transaction ends with the reply to the data.
    await c.resetTransaction();
  }
}
