// One mail transaction: MAIL, RCPT for each recipient, then DATA or BDAT (RFC 5321
// §3.3), pipelined when the server allows it (RFC 2920 §3.1).
import type { Conn } from './conn.js';
import { writeDotStuffed, sendBdat } from './data.js';
import { buildCommands, policyFailure } from './envelope.js';
import type {
  DeliveryResult,
  Envelope,
  MessageData,
  RecipientResult,
  ReplyInfo,
  Timeouts,
} from './types.js';

/** What a transaction needs from the session. */
export type Session = {
  conn: Conn;
  timeouts: Timeouts;
  extensions: ReadonlyMap<string, string>;
  tls: boolean;
};

export type TransactionOutcome = {
  result: DeliveryResult;
  /** The server may still hold an open transaction: RSET before the next one. */
  open: boolean;
};

const isOk = (r: ReplyInfo) => r.code >= 200 && r.code < 300;
const is5xx = (r: ReplyInfo) => r.code >= 500 && r.code < 600;

/** Replies to the envelope commands; dataInit is the reply to DATA when it was sent. */
type EnvelopeReplies = { mail: ReplyInfo; rcpts: ReplyInfo[]; dataInit: ReplyInfo | null };

export async function runTransaction(
  s: Session,
  env: Envelope,
  data: MessageData,
): Promise<TransactionOutcome> {
  const ext = s.extensions;
  const cmds = buildCommands(env, ext);
  const dsn = ext.has('DSN');
  const chunking = ext.has('CHUNKING');
  const done = (mail: ReplyInfo, recipients: RecipientResult[], dataReply: ReplyInfo | null) => ({
    mail,
    recipients,
    data: dataReply,
    dsnPassedOn: dsn,
    chunking,
  });

  const refused = policyFailure(env, ext, s.tls);
  if (refused) {
    const result = { ...done(refused, failAll(env, refused, false), null), dsnPassedOn: false };
    return { result, open: false };
  }

  const pipelining = ext.has('PIPELINING');
  const r = pipelining
    ? await pipelined(s, cmds.mail, cmds.rcpts, !chunking)
    : await sequential(s, cmds.mail, cmds.rcpts, !chunking);
  if (!isOk(r.mail)) {
    if (r.dataInit?.code === 354) await emptyMessage(s);
    return { result: done(r.mail, failAll(env, r.mail, dsn), null), open: false };
  }
  const results = (final: ReplyInfo | null) => recipientResults(env, r.rcpts, final, dsn);
  if (!r.rcpts.some(isOk)) {
    // RFC 2920 §3.1: DATA was accepted though no recipient was; send no message.
    if (r.dataInit?.code === 354) {
      await emptyMessage(s);
      return { result: done(r.mail, results(null), null), open: false };
    }
    return { result: done(r.mail, results(null), null), open: true };
  }
  if (chunking) {
    const b = await sendBdat(s.conn, data, s.timeouts, pipelining);
    return { result: done(r.mail, results(b.reply), b.reply), open: !b.complete };
  }
  const init = r.dataInit as ReplyInfo;
  if (init.code !== 354) return { result: done(r.mail, results(init), null), open: true };
  await writeDotStuffed(s.conn, data, s.timeouts);
  const end = await s.conn.readReply('data', s.timeouts.dataEnd, 'reply to end of data');
  return { result: done(r.mail, results(end), end), open: false };
}

/** RFC 2920 §3.1: MAIL, every RCPT and DATA in one write, then the replies in order. */
async function pipelined(
  s: Session,
  mail: string,
  rcpts: string[],
  withData: boolean,
): Promise<EnvelopeReplies> {
  const { conn, timeouts: t } = s;
  conn.send(withData ? [mail, ...rcpts, 'DATA'] : [mail, ...rcpts]);
  const mailReply = await conn.readReply('mail', t.mail, 'reply to MAIL');
  const rcptReplies: ReplyInfo[] = [];
  for (let i = 0; i < rcpts.length; i++) {
    rcptReplies.push(await conn.readReply('rcpt', t.rcpt, 'reply to RCPT'));
  }
  const dataInit = withData ? await conn.readReply('data', t.dataInit, 'reply to DATA') : null;
  return { mail: mailReply, rcpts: rcptReplies, dataInit };
}

/** One command at a time; stops after a refused MAIL and before DATA without recipients. */
async function sequential(
  s: Session,
  mail: string,
  rcpts: string[],
  withData: boolean,
): Promise<EnvelopeReplies> {
  const { conn, timeouts: t } = s;
  const mailReply = await conn.command(mail, 'mail', t.mail, 'reply to MAIL');
  const rcptReplies: ReplyInfo[] = [];
  if (!isOk(mailReply)) return { mail: mailReply, rcpts: rcptReplies, dataInit: null };
  for (const cmd of rcpts) {
    rcptReplies.push(await conn.command(cmd, 'rcpt', t.rcpt, 'reply to RCPT'));
  }
  const send = withData && rcptReplies.some(isOk);
  const dataInit = send ? await conn.command('DATA', 'data', t.dataInit, 'reply to DATA') : null;
  return { mail: mailReply, rcpts: rcptReplies, dataInit };
}

/** Ends a DATA that got 354 with no message at all, so the transaction fails. */
async function emptyMessage(s: Session): Promise<void> {
  s.conn.send(['.']);
  await s.conn.readReply('data', s.timeouts.dataEnd, 'reply to empty message');
}

function failAll(env: Envelope, reply: ReplyInfo, dsn: boolean): RecipientResult[] {
  return env.recipients.map((r) => ({
    address: r.address,
    ok: false,
    permanent: is5xx(reply),
    reply,
    dsnPassedOn: dsn,
  }));
}

/**
 * Per recipient: the RCPT reply when it refused, else the reply to the data (or to DATA
 * itself when that was refused). `final` null means no data was sent.
 */
function recipientResults(
  env: Envelope,
  rcpts: ReplyInfo[],
  final: ReplyInfo | null,
  dsn: boolean,
): RecipientResult[] {
  return env.recipients.map((r, i) => {
    const rcpt = rcpts[i] as ReplyInfo;
    const reply = isOk(rcpt) && final !== null ? final : rcpt;
    const ok = isOk(reply);
    return { address: r.address, ok, permanent: !ok && is5xx(reply), reply, dsnPassedOn: dsn };
  });
}
