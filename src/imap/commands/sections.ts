// Body section data for FETCH (RFC 9051 §6.4.5) and BINARY (RFC 3516): byte ranges of
// the stored message (delivery prefix, then file) as literals, read into memory when
// small and streamed from the message file when large.
import type { SelectedSession } from '../session.js';
import { UserError } from '../errors.js';
import { findPart, isLeaf } from '../bodystructure.js';
import type { Message } from '../../store/index.js';
import type { PartialSpec, Section } from '../fetchatt.js';
import {
  decodeTransfer,
  knownTransferEncoding,
  selectHeaderFields,
  type Part,
} from '../../message/index.js';

/** Body sections up to this size are read into memory; larger ones are streamed. */
const INLINE_MAX = 128 * 1024;

/** Bytes [start, end) of the stored message, streamed when large. */
export type RangePiece = { m: Message; start: number; end: number; literal8: boolean };
export type Piece = string | RangePiece;

/** Reads bytes [start, end) of a message; file errors become server errors, not I/O ones. */
async function readRange(
  c: SelectedSession,
  m: Message,
  start: number,
  end: number,
): Promise<Buffer> {
  try {
    return await c.account.readMessage(m, start, end);
  } catch (e) {
    throw new Error(`reading message uid ${m.uid}: ${(e as Error).message}`);
  }
}

/**
 * The data with each NUL replaced by 0x80: a literal may not hold NUL (RFC 9051 §4.3,
 * CHAR8), and messages stored before NUL was refused, or BINARYMIME ones, may. The
 * length stays the same, so RFC822.SIZE and partial ranges still match.
 */
function withoutNul(data: Buffer): Buffer {
  if (!data.includes(0)) return data;
  const out = Buffer.from(data);
  for (let i = out.indexOf(0); i >= 0; i = out.indexOf(0, i + 1)) out[i] = 0x80;
  return out;
}

/**
 * A literal; for BINARY data with NUL a literal8 (RFC 9051 §4.3, RFC 3516 §4.2), where
 * NUL may appear. Other data has its NULs replaced.
 */
function literal(data: Buffer, allow8: boolean): string {
  const literal8 = allow8 && data.includes(0);
  const d = literal8 ? data : withoutNul(data);
  return `${literal8 ? '~' : ''}{${d.length}}\r\n${d.toString('latin1')}`;
}

function clamp(len: number, partial: PartialSpec | null): [number, number] {
  if (!partial) return [0, len];
  // RFC 9051 §6.4.5: a start beyond the end gives an empty string; ranges are truncated.
  const a = Math.min(partial.origin, len);
  return [a, Math.min(len, a + partial.count)];
}

/** A range of the message as a literal: in memory when small, streamed otherwise. */
async function rangePiece(
  c: SelectedSession,
  m: Message,
  start: number,
  end: number,
  partial: PartialSpec | null,
  binary: boolean,
): Promise<Piece> {
  const [a, b] = clamp(end - start, partial);
  if (b - a <= INLINE_MAX) return literal(await readRange(c, m, start + a, start + b), binary);
  const literal8 = binary && (await rangeHasNul(c, m, start + a, start + b));
  return { m, start: start + a, end: start + b, literal8 };
}

async function rangeHasNul(
  c: SelectedSession,
  m: Message,
  start: number,
  end: number,
): Promise<boolean> {
  try {
    for await (const chunk of c.account.messageStream(m, start, end)) {
      if ((chunk as Buffer).includes(0)) return true;
    }
    return false;
  } catch (e) {
    throw new Error(`reading message uid ${m.uid}: ${(e as Error).message}`);
  }
}

/** The entity a HEADER/TEXT section refers to: the message, or one in message/rfc822. */
function sectionMessage(root: Part, path: number[]): Part | null {
  if (path.length === 0) return root;
  const p = findPart(root, path);
  return p?.message ?? null;
}

/** BODY[section]<partial> data (RFC 9051 §6.4.5); "NIL" for a part that does not exist. */
export async function bodyPiece(
  c: SelectedSession,
  m: Message,
  s: Section,
  partial: PartialSpec | null,
): Promise<Piece> {
  // The structure is parsed only when a part is asked for (not for BODY[]).
  switch (s.text) {
    case '': {
      if (s.path.length === 0) return rangePiece(c, m, 0, m.size, partial, false);
      const p = findPart(m.part, s.path);
      return p ? rangePiece(c, m, p.bodyStart, p.end, partial, false) : 'NIL';
    }
    case 'MIME': {
      const p = findPart(m.part, s.path);
      return p ? rangePiece(c, m, p.headerStart, p.bodyStart, partial, false) : 'NIL';
    }
    case 'HEADER': {
      const msg = sectionMessage(m.part, s.path);
      return msg ? rangePiece(c, m, msg.headerStart, msg.bodyStart, partial, false) : 'NIL';
    }
    case 'TEXT': {
      const msg = sectionMessage(m.part, s.path);
      if (!msg) return 'NIL';
      return rangePiece(
        c,
        m,
        msg.bodyStart,
        s.path.length === 0 ? m.size : msg.end,
        partial,
        false,
      );
    }
    case 'HEADER.FIELDS':
    case 'HEADER.FIELDS.NOT': {
      const msg = sectionMessage(m.part, s.path);
      if (!msg) return 'NIL';
      const header = await readRange(c, m, msg.headerStart, msg.bodyStart);
      const data = selectHeaderFields(header, s.fields, s.text === 'HEADER.FIELDS.NOT');
      const [a, b] = clamp(data.length, partial);
      return literal(data.subarray(a, b), false);
    }
  }
}

/**
 * The part a BINARY section names, null when it does not exist. Single parts are
 * decoded; a message/rfc822 part is the enclosed message as it is, since its encoding
 * can only be 7bit, 8bit or binary (RFC 2046 §5.2.1, RFC 3516 §4.2). A multipart has no
 * content of its own. An unknown Content-Transfer-Encoding is UNKNOWN-CTE (RFC 9051
 * §6.4.5).
 */
export function binaryPart(m: Message, s: Section): Part | null {
  const p = findPart(m.part, s.path);
  if (!p) return null;
  if (!isLeaf(p) && p.message === undefined)
    throw new UserError('', 'BINARY is only for single parts and messages, not multipart');
  if (!knownTransferEncoding(p.encoding)) {
    throw new UserError(
      'UNKNOWN-CTE',
      `unknown content-transfer-encoding ${JSON.stringify(p.encoding)}`,
    );
  }
  return p;
}

const isIdentity = (encoding: string) =>
  !['base64', 'quoted-printable'].includes(encoding.trim().toLowerCase());

async function decodedPart(c: SelectedSession, m: Message, p: Part): Promise<Buffer> {
  const raw = await readRange(c, m, p.bodyStart, p.end);
  const d = decodeTransfer(p.encoding, raw);
  // Data that cannot be decoded is answered like an unknown encoding.
  if (!d.ok)
    throw new UserError('UNKNOWN-CTE', `invalid ${p.encoding} data in message uid ${m.uid}`);
  return d.data;
}

/** BINARY[section]<partial> data: decoded content of a single part. */
export async function binaryPiece(
  c: SelectedSession,
  m: Message,
  s: Section,
  partial: PartialSpec | null,
): Promise<Piece> {
  // The whole message has no transfer encoding of its own.
  if (s.path.length === 0) return rangePiece(c, m, 0, m.size, partial, true);
  const p = binaryPart(m, s);
  if (!p) return 'NIL';
  if (isIdentity(p.encoding)) return rangePiece(c, m, p.bodyStart, p.end, partial, true);
  const data = await decodedPart(c, m, p);
  const [a, b] = clamp(data.length, partial);
  return literal(data.subarray(a, b), true);
}

/** BINARY.SIZE[section]: the decoded size (RFC 9051 §6.4.5); 0 for a missing part. */
export async function binarySize(c: SelectedSession, m: Message, s: Section): Promise<number> {
  if (s.path.length === 0) return m.size;
  const p = binaryPart(m, s);
  if (!p) return 0;
  if (isIdentity(p.encoding)) return p.end - p.bodyStart;
  return (await decodedPart(c, m, p)).length;
}

/**
 * Streams a range as a literal (NULs replaced unless a literal8); a short file is padded
 * so the protocol stays in sync.
 */
export async function emitRange(c: SelectedSession, r: RangePiece): Promise<Error | null> {
  const n = r.end - r.start;
  c.send(`${r.literal8 ? '~' : ''}{${n}}\r\n`);
  let sent = 0;
  let failure: Error | null = null;
  try {
    for await (const chunk of c.account.messageStream(r.m, r.start, r.end)) {
      const b = (chunk as Buffer).subarray(0, n - sent);
      c.sendBuffer(r.literal8 ? b : withoutNul(b));
      sent += b.length;
      await c.flushIfLarge();
    }
  } catch (e) {
    failure = new Error(`reading message uid ${r.m.uid}: ${(e as Error).message}`);
  }
  if (sent < n) {
    failure ??= new Error(`message uid ${r.m.uid} shorter than its stored size`);
    c.sendBuffer(Buffer.alloc(n - sent, 0x20));
  }
  return failure;
}
