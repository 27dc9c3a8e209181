// The reads FETCH, SEARCH and SELECT need, in the store's vocabulary: message rows at a
// chosen level of detail, the first unseen message, and the UIDs matching a filter on
// flags, sizes, dates and UIDs. The SQL stays here; callers see plain types.
import { Flag } from './flags.js';
import type { AccountCore } from './core.js';
import type { Envelope, Part } from '../message/index.js';

/** How much of each message row a read returns. */
export type RowDetail = 'flags' | 'envelope' | 'structure';

/** A message as FETCH reads it; fields beyond the flags depend on the detail asked. */
export type MessageRow = {
  /** The message's row id: stable across MOVE, never reused (an object id, RFC 8474). */
  id: number;
  uid: number;
  flags: number;
  /** Keywords; one shared empty array when none (do not modify). */
  keywords: string[];
  expunged: boolean;
  /** Only when asked for (CONDSTORE, RFC 7162). */
  modseq?: number;
  internalDate?: number;
  /** When the message was saved into its mailbox (RFC 8514), ms. */
  saveDate?: number;
  size?: number;
  /** The MIME structure (for "envelope": only for messages stored without an envelope). */
  part?: Part | null;
  fileId?: number;
  /** For "envelope": decodes the stored envelope (callers cache what they render from it). */
  loadEnvelope?: () => Envelope;
};

/** What SEARCH evaluates in memory. */
export type SearchRow = {
  id: number;
  uid: number;
  flags: number;
  /** Keywords; one shared empty array when none (do not modify). */
  keywords: string[];
  internalDate: number;
  saveDate: number;
  size: number;
  modseq: number;
};

/** Columns as SQLite returns them. */
type RawRow = {
  id: number;
  uid: number;
  flags: number;
  keywords: string;
  expunged: number;
  modseq?: number;
  internalDate?: number;
  saveDate?: number;
  size?: number;
  part?: string | null;
  fileId?: number;
  envelope?: string | null;
};

const NO_KEYWORDS: string[] = [];

const keywordList = (json: string): string[] =>
  json === '[]' ? NO_KEYWORDS : (JSON.parse(json) as string[]);

function decodeRow(r: RawRow): MessageRow {
  const out: MessageRow = {
    id: r.id,
    uid: r.uid,
    flags: r.flags,
    keywords: keywordList(r.keywords),
    expunged: r.expunged === 1,
  };
  if (r.modseq !== undefined) out.modseq = r.modseq;
  if (r.internalDate !== undefined) out.internalDate = r.internalDate;
  if (r.saveDate !== undefined) out.saveDate = r.saveDate;
  if (r.size !== undefined) out.size = r.size;
  if (r.part !== undefined) out.part = r.part ? (JSON.parse(r.part) as Part) : null;
  if (r.fileId !== undefined) out.fileId = r.fileId;
  const env = r.envelope;
  if (env) out.loadEnvelope = () => JSON.parse(env) as Envelope;
  return out;
}

/**
 * A condition on a message row that SQL can answer: flag bits, size and date bounds (UTC
 * day starts, in ms), UID ranges (pairs, inclusive), and and/or/not of these.
 */
export type MessageFilter =
  | { op: 'all' }
  | { op: 'none' }
  | { op: 'flag'; bit: number; set: boolean }
  | { op: 'larger' | 'smaller'; size: number }
  | { op: 'before' | 'since' | 'on'; day: number }
  /** The same on the save date (RFC 8514). */
  | { op: 'savedbefore' | 'savedsince' | 'savedon'; day: number }
  | { op: 'uids'; ranges: readonly number[] }
  /** CONDSTORE (RFC 7162 §3.1.5): a modseq at or above `min`. */
  | { op: 'modseq'; min: number }
  | { op: 'not'; filter: MessageFilter }
  | { op: 'or'; a: MessageFilter; b: MessageFilter }
  | { op: 'and'; filters: readonly MessageFilter[] };

const FLAG_COLUMNS = 'id, uid, flags, keywords, expunged';
const STRUCTURE_COLUMNS = `${FLAG_COLUMNS}, internal_date AS internalDate, save_date AS saveDate, size, part`;
// Rows stored before the envelope column existed are answered from their structure.
const ENVELOPE_COLUMNS = `${FLAG_COLUMNS}, internal_date AS internalDate, save_date AS saveDate, size, file_id AS fileId, envelope, CASE WHEN envelope IS NULL THEN part END AS part`;
const COLUMNS: Record<RowDetail, string> = {
  flags: FLAG_COLUMNS,
  envelope: ENVELOPE_COLUMNS,
  structure: STRUCTURE_COLUMNS,
};

const DAY = 86_400_000;

/** Whether sorted UIDs are exactly the numbers from first to last. */
function contiguous(uids: readonly number[]): boolean {
  for (let i = 1; i < uids.length; i++) {
    if ((uids[i] as number) !== (uids[i - 1] as number) + 1) return false;
  }
  return true;
}

/**
 * Rows with the given (ascending) UIDs, in UID order. Expunged rows whose files still
 * exist are included, since a session may still fetch a message it was not told is gone.
 */
export function messageRows(
  a: AccountCore,
  mailboxId: number,
  uids: readonly number[],
  detail: RowDetail,
  withModseq = false,
): MessageRow[] {
  if (uids.length === 0) return [];
  const first = uids[0] as number;
  const last = uids[uids.length - 1] as number;
  // The modseq is not in the covering index of flag reads: read only when asked.
  const cols = withModseq ? `${COLUMNS[detail]}, modseq` : COLUMNS[detail];
  const from = `SELECT ${cols} FROM messages WHERE mailbox_id = ?`;
  if (last - first < 2 * uids.length) {
    // Dense: one range query, dropping UIDs not asked for.
    const sql = `${from} AND uid >= ? AND uid <= ? AND erased = 0 ORDER BY uid`;
    const rows = a.stmt(sql).all(mailboxId, first, last) as RawRow[];
    if (contiguous(uids)) return rows.map(decodeRow);
    const want = new Set(uids);
    return rows.filter((r) => want.has(r.uid)).map(decodeRow);
  }
  // Sparse: an IN list, padded with the last UID to a power of two so that few
  // statements are prepared and cached.
  let n = 8;
  while (n < uids.length) n *= 2;
  const args = uids.slice();
  while (args.length < n) args.push(last);
  const sql = `${from} AND uid IN (${args.map(() => '?').join(',')}) AND erased = 0 ORDER BY uid`;
  return (a.stmt(sql).all(mailboxId, ...args) as RawRow[]).map(decodeRow);
}

/** Thread ids by message row id (rows stored before thread ids got theirs at open). */
export function threadIds(a: AccountCore, ids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  const stmt = a.stmt('SELECT thread_id FROM messages WHERE id = ?').pluck(true);
  for (const id of ids) out.set(id, (stmt.get(id) as number | null) ?? id);
  return out;
}

/** UIDs of a mailbox's live messages with a thread id, ascending. */
export function threadUids(a: AccountCore, mailboxId: number, threadId: number): number[] {
  return a
    .stmt(
      'SELECT uid FROM messages WHERE mailbox_id = ? AND thread_id = ? AND expunged = 0 ORDER BY uid',
    )
    .pluck(true)
    .all(mailboxId, threadId) as number[];
}

/** Stored previews (RFC 8970) by message row id; null where none is stored yet. */
export function previews(a: AccountCore, ids: readonly number[]): Map<number, string | null> {
  const out = new Map<number, string | null>();
  const stmt = a.stmt('SELECT preview FROM messages WHERE id = ?');
  for (const id of ids) {
    const r = stmt.get(id) as { preview: string | null } | undefined;
    out.set(id, r?.preview ?? null);
  }
  return out;
}

/** The octets of the live messages flagged \Deleted: what an EXPUNGE would free. */
export function deletedSize(a: AccountCore, mailboxId: number): number {
  const r = a
    .stmt(
      'SELECT COALESCE(SUM(size), 0) AS n FROM messages WHERE mailbox_id = ? AND expunged = 0 AND (flags & ?) != 0',
    )
    .get(mailboxId, Flag.Deleted) as { n: number };
  return r.n;
}

/** The lowest UID of a live message without \Seen, or null. */
export function firstUnseenUid(a: AccountCore, mailboxId: number): number | null {
  const r = a
    .stmt(
      'SELECT MIN(uid) AS u FROM messages WHERE mailbox_id = ? AND expunged = 0 AND (flags & ?) = 0',
    )
    .get(mailboxId, Flag.Seen) as { u: number | null };
  return r.u;
}

/** Live message rows with UIDs in [first, last], the columns SEARCH needs. */
export function searchRows(
  a: AccountCore,
  mailboxId: number,
  first: number,
  last: number,
): SearchRow[] {
  const rows = a
    .stmt(
      'SELECT id, uid, flags, keywords, internal_date AS internalDate, save_date AS saveDate, size, modseq FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? AND expunged = 0 ORDER BY uid',
    )
    .all(mailboxId, first, last) as (Omit<SearchRow, 'keywords'> & { keywords: string })[];
  for (const r of rows) (r as unknown as SearchRow).keywords = keywordList(r.keywords);
  return rows as unknown as SearchRow[];
}

/** UIDs of the live messages matching `filter`, ascending. */
export function matchingUids(a: AccountCore, mailboxId: number, filter: MessageFilter): number[] {
  const params: number[] = [];
  const cond = filterSql(filter, params);
  return a
    .stmt(`SELECT uid FROM messages WHERE mailbox_id = ? AND expunged = 0 AND ${cond} ORDER BY uid`)
    .pluck()
    .all(mailboxId, ...params) as number[];
}

/** The filter as an SQL condition, its parameters appended to `params`. */
export function filterSql(f: MessageFilter, params: number[]): string {
  switch (f.op) {
    case 'all':
      return '1';
    case 'none':
      return '0';
    case 'flag':
      params.push(f.bit);
      return f.set ? '(flags & ?) != 0' : '(flags & ?) = 0';
    case 'larger':
      params.push(f.size);
      return 'size > ?';
    case 'smaller':
      params.push(f.size);
      return 'size < ?';
    case 'before':
      params.push(f.day);
      return 'internal_date < ?';
    case 'since':
      params.push(f.day);
      return 'internal_date >= ?';
    case 'on':
      params.push(f.day, f.day + DAY);
      return '(internal_date >= ? AND internal_date < ?)';
    case 'savedbefore':
      params.push(f.day);
      return 'save_date < ?';
    case 'savedsince':
      params.push(f.day);
      return 'save_date >= ?';
    case 'savedon':
      params.push(f.day, f.day + DAY);
      return '(save_date >= ? AND save_date < ?)';
    case 'modseq':
      params.push(f.min);
      return 'modseq >= ?';
    case 'uids': {
      const parts: string[] = [];
      for (let i = 0; i < f.ranges.length; i += 2) {
        params.push(f.ranges[i] as number, f.ranges[i + 1] as number);
        parts.push('uid BETWEEN ? AND ?');
      }
      return parts.length === 0 ? '0' : `(${parts.join(' OR ')})`;
    }
    case 'not':
      return `NOT (${filterSql(f.filter, params)})`;
    case 'or':
      return `(${filterSql(f.a, params)} OR ${filterSql(f.b, params)})`;
    case 'and':
      return f.filters.length === 0
        ? '1'
        : `(${f.filters.map((x) => filterSql(x, params)).join(' AND ')})`;
  }
}
