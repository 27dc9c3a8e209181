// Reads of an account's mailboxes and messages: synchronous, batched (many rows per
// query), outside or inside a transaction. Live messages only unless asked: expunged
// rows stay for QRESYNC (RFC 7162) and every query for live messages filters them out.
import { StoreError } from './errors.js';
import {
  MESSAGE_COLUMNS,
  mailboxFromRow,
  messageFromRow,
  type Mailbox,
  type Message,
} from './rows.js';
import { checkMailboxName } from '../config/index.js';
import type { AccountCore } from './core.js';

// ---- mailboxes ----

export function mailboxes(core: AccountCore): Mailbox[] {
  return (
    core.stmt('SELECT * FROM mailboxes WHERE deleted = 0 ORDER BY name').all() as Record<
      string,
      unknown
    >[]
  ).map(mailboxFromRow);
}

/** A live mailbox by name (Inbox in any case), or null, also for invalid names. */
export function mailbox(core: AccountCore, name: string): Mailbox | null {
  let n: string;
  try {
    n = checkMailboxName(name);
  } catch {
    return null;
  }
  const r = core.stmt('SELECT * FROM mailboxes WHERE name = ? AND deleted = 0').get(n) as
    Record<string, unknown> | undefined;
  return r ? mailboxFromRow(r) : null;
}

/** The mailbox with a special-use flag (by flag, never by name). */
export function mailboxBySpecialUse(core: AccountCore, use: string): Mailbox | null {
  const r = core
    .stmt('SELECT * FROM mailboxes WHERE deleted = 0 AND special_use = ? ORDER BY id LIMIT 1')
    .get(use) as Record<string, unknown> | undefined;
  return r ? mailboxFromRow(r) : null;
}

/** Whether a live mailbox has this (normalised) name. */
export function mailboxExists(core: AccountCore, name: string): boolean {
  return (
    core.stmt('SELECT 1 FROM mailboxes WHERE name = ? AND deleted = 0').get(name) !== undefined
  );
}

export function requireMailbox(core: AccountCore, name: string): Mailbox {
  const mb = mailbox(core, name);
  if (!mb) throw new StoreError('nonexistent', 'mailbox does not exist');
  return mb;
}

export function requireMailboxId(core: AccountCore, id: number): Mailbox {
  const mb = core.mailboxByIdSync(id);
  if (!mb) throw new StoreError('nonexistent', 'mailbox does not exist');
  return mb;
}

export function subscriptions(core: AccountCore): string[] {
  return (
    core.stmt('SELECT name FROM subscriptions ORDER BY name').all() as { name: string }[]
  ).map((r) => r.name);
}

export function highestModseq(core: AccountCore): number {
  return (core.stmt('SELECT modseq FROM meta').get() as { modseq: number }).modseq;
}

/** Highest modseq of any message (live or expunged) in a mailbox, or of the mailbox itself. */
export function mailboxHighestModseq(core: AccountCore, mailboxId: number): number {
  const r = core
    .stmt('SELECT MAX(modseq) AS m FROM messages WHERE mailbox_id = ?')
    .get(mailboxId) as { m: number | null };
  const mb = core.mailboxByIdSync(mailboxId, true);
  return Math.max(r.m ?? 0, mb?.modseq ?? 0);
}

// ---- messages ----

/** Sorted UIDs of the live messages in a mailbox. */
export function uids(core: AccountCore, mailboxId: number): number[] {
  return core
    .stmt('SELECT uid FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid')
    .pluck()
    .all(mailboxId) as number[];
}

/**
 * Rows with the given UIDs (missing ones skipped), in UID order, as `map` makes them of
 * the columns asked for: one range query when the UIDs are contiguous, else one per 500.
 */
function rowsByUid<T>(
  core: AccountCore,
  mailboxId: number,
  uids: number[],
  columns: string,
  map: (r: Record<string, unknown>) => T,
  includeExpunged = false,
): T[] {
  if (uids.length === 0) return [];
  const out: T[] = [];
  const sorted = [...uids].sort((a, b) => a - b);
  const cond = includeExpunged ? 'AND erased = 0' : 'AND expunged = 0';
  const first = sorted[0] as number;
  const last = sorted[sorted.length - 1] as number;
  if (last - first + 1 === sorted.length) {
    const rows = core
      .stmt(
        `SELECT ${columns} FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? ${cond} ORDER BY uid`,
      )
      .all(mailboxId, first, last) as Record<string, unknown>[];
    for (const r of rows) out.push(map(r));
    return out;
  }
  for (let i = 0; i < sorted.length; i += 500) {
    const chunk = sorted.slice(i, i + 500);
    const rows = core
      .stmt(
        `SELECT ${columns} FROM messages WHERE mailbox_id = ? AND uid IN (${chunk.map(() => '?').join(',')}) ${cond} ORDER BY uid`,
      )
      .all(mailboxId, ...chunk) as Record<string, unknown>[];
    for (const r of rows) out.push(map(r));
  }
  return out;
}

/** Live messages with the given UIDs (missing ones skipped), in UID order. One query per batch. */
export function messages(
  core: AccountCore,
  mailboxId: number,
  uids: number[],
  opts: { includeExpunged?: boolean } = {},
): Message[] {
  return rowsByUid(core, mailboxId, uids, MESSAGE_COLUMNS, messageFromRow, opts.includeExpunged);
}

/** What a move needs of a live message: no MIME structure, so a large move stays small. */
export type MoveRow = {
  id: number;
  uid: number;
  flags: number;
  keywords: string[];
  size: number;
  createseq: number;
  saveDate: number;
};

/** The move rows of live messages with the given UIDs, in UID order. */
export function moveRows(core: AccountCore, mailboxId: number, uids: number[]): MoveRow[] {
  return rowsByUid(
    core,
    mailboxId,
    uids,
    'id, uid, flags, keywords, size, createseq, save_date',
    (r) => ({
      id: r.id as number,
      uid: r.uid as number,
      flags: r.flags as number,
      keywords: JSON.parse(r.keywords as string) as string[],
      size: r.size as number,
      createseq: r.createseq as number,
      saveDate: r.save_date as number,
    }),
  );
}

/** Flags of live messages, cheap (no MIME structure), in UID order. */
export function flagsOf(
  core: AccountCore,
  mailboxId: number,
): { uid: number; flags: number; keywords: string[]; modseq: number }[] {
  return (
    core
      .stmt(
        'SELECT uid, flags, keywords, modseq FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid',
      )
      .all(mailboxId) as { uid: number; flags: number; keywords: string; modseq: number }[]
  ).map((r) => ({ ...r, keywords: JSON.parse(r.keywords) as string[] }));
}
