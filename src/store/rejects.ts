// The Rejects mailbox: copies of rejected messages, kept for the user to review (a
// rejected sender's message is not lost if the decision was wrong). Each is stored once
// (by content hash), kept bounded in count, size and age unless the account keeps them
// all, and removed when the same message later arrives and is accepted.
import { Flag } from './flags.js';
import { expunge, storeFlags } from './messages.js';
import { threadFields } from './thread.js';
import type { AccountCore } from './core.js';

export type RejectsLimits = {
  /** Older rejects are removed (ms). */
  maxAgeMs: number;
  maxMessages: number;
  maxBytes: number;
};

export const DEFAULT_REJECTS_LIMITS: RejectsLimits = {
  maxAgeMs: 14 * 24 * 3600_000,
  maxMessages: 1000,
  maxBytes: 100 * 1024 * 1024,
};

/** Whether the mailbox already holds a live message with this content hash. */
export function hasHash(core: AccountCore, mailboxId: number, hash: Buffer): boolean {
  return (
    core
      .stmt(
        'SELECT 1 FROM messages WHERE mailbox_id = ? AND expunged = 0 AND message_hash = ? LIMIT 1',
      )
      .get(mailboxId, hash) !== undefined
  );
}

/** Removes messages the given UIDs name (flagged \Deleted, then expunged). */
async function remove(core: AccountCore, mailboxId: number, uids: number[]): Promise<number> {
  if (uids.length === 0) return 0;
  await storeFlags(core, mailboxId, uids, { mode: 'add', flags: Flag.Deleted }, null);
  return (await expunge(core, mailboxId, uids, null)).uids.length;
}

/**
 * Makes room for `incoming` more bytes: removes rejects older than the age limit, then
 * the oldest ones until one more message fits the count and size limits.
 */
export async function tidy(
  core: AccountCore,
  mailboxId: number,
  incoming: number,
  limits: RejectsLimits,
  now: number,
): Promise<number> {
  const rows = core
    .stmt(
      'SELECT uid, internal_date AS date, size FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid',
    )
    .all(mailboxId) as { uid: number; date: number; size: number }[];
  let count = rows.length;
  let bytes = rows.reduce((n, r) => n + r.size, 0);
  const drop: number[] = [];
  for (const r of rows) {
    const old = r.date < now - limits.maxAgeMs;
    const full = count + 1 > limits.maxMessages || bytes + incoming > limits.maxBytes;
    if (!old && !full) continue;
    drop.push(r.uid);
    count--;
    bytes -= r.size;
  }
  return remove(core, mailboxId, drop);
}

/** Removes rejects with the Message-ID of `header` (the message was accepted after all). */
export async function removeByMessageId(
  core: AccountCore,
  mailboxId: number,
  header: Buffer,
): Promise<number> {
  const id = threadFields(header).messageId;
  if (!id) return 0;
  const uids = core
    .stmt('SELECT uid FROM messages WHERE mailbox_id = ? AND expunged = 0 AND message_id = ?')
    .pluck()
    .all(mailboxId, id) as number[];
  return remove(core, mailboxId, uids);
}
