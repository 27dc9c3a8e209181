// Sending message data: dot-stuffed after DATA (RFC 5321 §4.5.2), or in BDAT chunks
// (RFC 3030 §2), always waiting for the socket to drain before writing more. Either way
// every bare CR or LF goes out as CRLF: the message is sent as 7BIT or 8BITMIME, never
// BINARYMIME, and a bare line end could end it early at a server that reads those as
// line ends (SMTP smuggling), whatever stored it: an older version, an import, a DSN.
import { CRLFNormalizer, DotStuffer } from '../smtp/index.js';
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

/**
 * The message in pieces with bare CR and LF made CRLF; a stream is created only now, and
 * destroyed if we stop early.
 */
async function* pieces(data: MessageData, max: number): AsyncGenerator<Buffer> {
  const crlf = new CRLFNormalizer();
  if (Buffer.isBuffer(data)) {
    for (let i = 0; i < data.length; i += max) yield crlf.push(data.subarray(i, i + max));
  } else {
    try {
      for await (const c of data()) yield crlf.push(toBuffer(c));
    } catch (e) {
      throw e instanceof SourceError ? e : new SourceError((e as Error).message, { cause: e });
    }
  }
  const end = crlf.end();
  if (end.length > 0) yield end;
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
  let parts: Buffer[] = [];
  let size = 0;
  for await (const piece of pieces(data, max)) {
    if (piece.length === 0) continue;
    parts.push(piece);
    size += piece.length;
    // Hold back up to one chunk: only at the end is it known which one is last.
    while (size > max) {
      const first = parts[0] as Buffer;
      if (first.length >= max) {
        // A whole chunk in one piece (always so for a message in memory): no copy.
        yield { chunk: first.subarray(0, max), last: false };
        if (first.length === max) parts.shift();
        else parts[0] = first.subarray(max);
      } else {
        const all = Buffer.concat(parts, size);
        yield { chunk: all.subarray(0, max), last: false };
        parts = [all.subarray(max)];
      }
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
