// \Recent (RFC 3501 §2.3.2) for IMAP4rev1 sessions: a message is recent in the first
// read-write session told of it, and in no other. Each mailbox keeps the UID from which
// no session has claimed its messages yet (recent_uid). A claim is one UPDATE outside
// the write lock and outside any transaction: it must be decided the moment a session
// hears of a message, and it is advisory state that changes no message and no modseq.
import type { AccountCore } from './core.js';

/** The UID from which the mailbox's messages are still unclaimed. */
export function recentFrom(core: AccountCore, mailboxId: number): number {
  const r = core.stmt('SELECT recent_uid FROM mailboxes WHERE id = ?').get(mailboxId) as
    { recent_uid: number } | undefined;
  return r?.recent_uid ?? Number.MAX_SAFE_INTEGER;
}

/**
 * Claims the messages with UIDs up to `upTo`: returns the UID from which this caller got
 * them (everything below was claimed before; nothing when it is above `upTo`).
 */
export function claimRecent(core: AccountCore, mailboxId: number, upTo: number): number {
  const from = recentFrom(core, mailboxId);
  if (upTo >= from) {
    core.stmt('UPDATE mailboxes SET recent_uid = ? WHERE id = ?').run(upTo + 1, mailboxId);
    core.committedWithoutChanges();
  }
  return from;
}

/** How many live messages no session has claimed (STATUS RECENT). */
export function recentCount(core: AccountCore, mailboxId: number): number {
  const r = core
    .stmt(
      `SELECT COUNT(*) AS n FROM messages WHERE mailbox_id = ? AND expunged = 0
         AND uid >= (SELECT recent_uid FROM mailboxes WHERE id = ?)`,
    )
    .get(mailboxId, mailboxId) as { n: number };
  return r.n;
}
