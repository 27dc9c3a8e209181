// What SORT and THREAD (RFC 5256) read of each message: narrow columns (dates, size,
// base subject, threading fields) for every message of a mailbox, so that ordering
// 100,000 messages reads numbers and short strings, not envelopes. The envelope is read
// only for the address keys, and for messages stored before the sent date was kept,
// whose sent date is then worked out and handed back to be stored.
import type { AccountCore } from './core.js';
import { sentDate, type Envelope } from '../message/index.js';

/** What THREAD needs of a message. */
export type ThreadRow = {
  uid: number;
  /** "<...>" as stored, '' without one. */
  messageId: string;
  inReplyTo: string;
  references: string[];
  /** RFC 5256 §2.1 base subject. */
  subjectBase: string;
  internalDate: number;
  /** The Date header in ms, or the internal date without a valid one. */
  sentDate: number;
};

/** What SORT needs of a message; the envelope only when asked for. */
export type SortRow = {
  uid: number;
  internalDate: number;
  size: number;
  subjectBase: string;
  sentDate: number;
  envelope: Envelope | null;
};

/** Sent dates worked out now for rows stored without one: by row id. */
export type SentDateFill = { id: number; sentDate: number }[];

/** UIDs per query: a range query per chunk, the UIDs not asked for dropped. */
const CHUNK = 1000;

/** A row as an array, in the order of the query's columns (cheaper than objects). */
type Raw = unknown[];

/**
 * Runs `sql` (with a "uid >= ? AND uid <= ?" range; uid the second column) per chunk of
 * ascending UIDs, calling `f` for the rows asked for.
 */
function eachRow(
  a: AccountCore,
  sql: string,
  mailboxId: number,
  uids: readonly number[],
  f: (r: Raw) => void,
): void {
  const stmt = a.stmt(sql).raw(true);
  const want = new Set(uids);
  for (let i = 0; i < uids.length; i += CHUNK) {
    const first = uids[i] as number;
    const last = uids[Math.min(uids.length, i + CHUNK) - 1] as number;
    for (const r of stmt.all(mailboxId, first, last) as Raw[]) {
      if (want.has(r[1] as number)) f(r);
    }
  }
}

/** The stored sent date, or one worked out from the envelope (recorded in `fill`). */
function sentDateOf(
  id: number,
  stored: number | null,
  env: Envelope | null,
  internalDate: number,
  fill: SentDateFill,
): number {
  if (stored !== null) return stored;
  const d = sentDate(env?.date, internalDate);
  fill.push({ id, sentDate: d });
  return d;
}

const envelopeOf = (v: unknown): Envelope | null =>
  v ? (JSON.parse(v as string) as Envelope) : null;

/**
 * Threading fields of live messages with the given UIDs, ascending. The columns read
 * are all in the messages_thread index; the envelope is read by row only for messages
 * stored before the sent date was kept.
 */
export function threadRows(
  a: AccountCore,
  mailboxId: number,
  uids: readonly number[],
): { rows: ThreadRow[]; fill: SentDateFill } {
  const rows: ThreadRow[] = [];
  const fill: SentDateFill = [];
  const sql = `SELECT id, uid, message_id, in_reply_to, refs, subject_base, internal_date, sent_date
     FROM messages INDEXED BY messages_thread
     WHERE mailbox_id = ? AND uid >= ? AND uid <= ? AND expunged = 0 ORDER BY uid`;
  const envelope = a.stmt('SELECT envelope FROM messages WHERE id = ?').pluck(true);
  eachRow(a, sql, mailboxId, uids, (r) => {
    const refs = r[4] as string;
    const internalDate = r[6] as number;
    const stored = r[7] as number | null;
    rows.push({
      uid: r[1] as number,
      messageId: r[2] as string,
      inReplyTo: r[3] as string,
      references: refs === '[]' ? [] : (JSON.parse(refs) as string[]),
      subjectBase: r[5] as string,
      internalDate,
      sentDate:
        stored ??
        sentDateOf(r[0] as number, null, envelopeOf(envelope.get(r[0])), internalDate, fill),
    });
  });
  return { rows, fill };
}

/** Sort fields of live messages with the given UIDs, ascending. */
export function sortRows(
  a: AccountCore,
  mailboxId: number,
  uids: readonly number[],
  withEnvelope: boolean,
): { rows: SortRow[]; fill: SentDateFill } {
  const rows: SortRow[] = [];
  const fill: SentDateFill = [];
  const envelope = withEnvelope ? 'envelope' : 'CASE WHEN sent_date IS NULL THEN envelope END';
  const sql = `SELECT id, uid, internal_date, size, subject_base, sent_date, ${envelope}
     FROM messages WHERE mailbox_id = ? AND expunged = 0 AND uid >= ? AND uid <= ? ORDER BY uid`;
  eachRow(a, sql, mailboxId, uids, (r) => {
    const env = envelopeOf(r[6]);
    const internalDate = r[2] as number;
    rows.push({
      uid: r[1] as number,
      internalDate,
      size: r[3] as number,
      subjectBase: r[4] as string,
      sentDate: sentDateOf(r[0] as number, r[5] as number | null, env, internalDate, fill),
      envelope: withEnvelope ? env : null,
    });
  });
  return { rows, fill };
}
