// Sending message data: dot-stuffed after DATA (RFC 5321 §4.5.2), or in BDAT chunks
// (RFC 3030 §2), always waiting for the socket to drain before writing more.
import { DotStuffer } from '../smtp/index.js';
import type { Conn } from './conn.js';
import { SmtpClientError } from './errors.js';
import type { MessageData, ReplyInfo, Timeouts } from './types.js';

/** Largest BDAT chunk. */
export const BDAT_CHUNK = 1024 * 1024;
// Pieces of an in-memory message fed to the dot-stuffer, to keep each step short.
const SLICE = 256 * 1024;

/** Reading the message itself failed. */
class SourceError extends Error {}

function toBuffer(c: unknown): Buffer {
  if (Buffer.isBuffer(c)) return c;
  if (typeof c === 'string') return Buffer.from(c, 'utf8');
  if (c instanceof Uint8Array) return Buffer.from(c.buffer, c.byteOffset, c.byteLength);
  throw new SourceError('message stream yielded a non-binary chunk');
}

/** The message in pieces; a stream is created only now, and destroyed if we stop early. */
async function* pieces(data: MessageData, max: number): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(data)) {
    for (let i = 0; i < data.length; i += max) yield data.subarray(i, i + max);
    return;
  }
  try {
    for await (const c of data()) yield toBuffer(c);
  } catch (e) {
    throw e instanceof SourceError ? e : new SourceError((e as Error).message, { cause: e });
  }
}

/** A failure while sending data: a problem reading the message ends the connection too. */
function dataError(conn: Conn, e: unknown): unknown {
  if (!(e instanceof SourceError)) return e;
  conn.destroy();
  return new SmtpClientError('data', `reading message data: ${e.message}`, {
    local: true,
    cause: e,
  });
}

/** Writes the dot-stuffed message and the terminating "." line (RFC 5321 §4.1.1.4). */
export async function writeDotStuffed(conn: Conn, data: MessageData, t: Timeouts): Promise<void> {
  const stuffer = new DotStuffer();
  let size = 0;
  try {
    for await (const piece of pieces(data, SLICE)) {
      size += piece.length;
      if (!conn.write(stuffer.push(piece))) await conn.drain('data', t.dataBlock, 'message data');
    }
  } catch (e) {
    throw dataError(conn, e);
  }
  conn.trace('C', `(${size} octets of message data)`);
  // A CRLF first when the data does not end in one, then ".".
  conn.trace('C', '.');
  conn.write(stuffer.end());
}

/** The message as BDAT chunks of at most `max` octets; exactly one is last. */
export async function* bdatChunks(
  data: MessageData,
  max = BDAT_CHUNK,
): AsyncGenerator<{ chunk: Buffer; last: boolean }> {
  if (Buffer.isBuffer(data)) {
    let i = 0;
    do {
      const chunk = data.subarray(i, i + max);
      i += max;
      yield { chunk, last: i >= data.length };
    } while (i < data.length);
    return;
  }
  let parts: Buffer[] = [];
  let size = 0;
  for await (const piece of pieces(data, max)) {
    parts.push(piece);
    size += piece.length;
    // Hold back up to one chunk: only at the end is it known which one is last.
    while (size > max) {
      const all = parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size);
      yield { chunk: all.subarray(0, max), last: false };
      parts = [all.subarray(max)];
      size -= max;
    }
  }
  yield {
    chunk: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts, size),
    last: true,
  };
}

export type BdatOutcome = {
  /** The reply to the last chunk, or the first failure. */
  reply: ReplyInfo;
  /** The server answered BDAT LAST, so the transaction is over. */
  complete: boolean;
};

const isOk = (r: ReplyInfo) => r.code >= 200 && r.code < 300;

/**
 * Sends the message in BDAT chunks (RFC 3030 §2, no dot-stuffing). With PIPELINING,
 * chunks go out without waiting for replies; replies that have already arrived are
 * read between chunks so a failure stops the sending early.
 */
export async function sendBdat(
  conn: Conn,
  data: MessageData,
  t: Timeouts,
  pipelining: boolean,
): Promise<BdatOutcome> {
  const pending: boolean[] = [];
  const st: { failure: ReplyInfo | null; final: ReplyInfo | null } = {
    failure: null,
    final: null,
  };
  const readOne = async () => {
    const last = pending.shift() as boolean;
    const r = last
      ? await conn.readReply('data', t.dataEnd, 'reply to BDAT LAST')
      : await conn.readReply('data', t.dataBlock, 'reply to BDAT');
    if (!isOk(r)) st.failure ??= r;
    if (last) st.final = r;
  };
  try {
    for await (const { chunk, last } of bdatChunks(data)) {
      conn.send([`BDAT ${chunk.length}${last ? ' LAST' : ''}`]);
      pending.push(last);
      if (chunk.length > 0 && !conn.write(chunk)) {
        await conn.drain('data', t.dataBlock, 'BDAT data');
      }
      if (!pipelining) await readOne();
      while (pipelining && pending.length > 0 && conn.hasBufferedLine()) await readOne();
      if (st.failure) break;
    }
  } catch (e) {
    throw dataError(conn, e);
  }
  while (pending.length > 0) await readOne();
  // RFC 3030 §2: a failed chunk fails the transaction; unless LAST was answered the
  // server still holds it (the caller sends RSET).
  const reply = st.failure ?? (st.final as ReplyInfo);
  return { reply, complete: st.final !== null };
}
