// Reads by modification sequence, for CONDSTORE and QRESYNC (RFC 7162): what changed in
// a mailbox since a modseq, expunged rows included (they are kept, with the modseq of
// their expunge, so VANISHED can name them), and the highest modseq of a set of
// messages. Every read uses the (mailbox_id, modseq) or (mailbox_id, uid) index.
import type { AccountCore } from './core.js';

/** A live message changed since a modseq. */
export type ChangedMessage = { uid: number; flags: number; keywords: string[]; modseq: number };

/** Messages of a mailbox with a modseq above `since` (and at most `until`), by UID. */
export type ChangesSince = {
  /** Live messages, changed or added. */
  changed: ChangedMessage[];
  /** UIDs of messages expunged (or moved out). */
  vanished: number[];
};

export function changedSince(
  core: AccountCore,
  mailboxId: number,
  since: number,
  until = Number.MAX_SAFE_INTEGER,
): ChangesSince {
  const rows = core
    .stmt(
      'SELECT uid, flags, keywords, modseq, expunged FROM messages WHERE mailbox_id = ? AND modseq > ? AND modseq <= ?',
    )
    .all(mailboxId, since, until) as {
    uid: number;
    flags: number;
    keywords: string;
    modseq: number;
    expunged: number;
  }[];
  rows.sort((a, b) => a.uid - b.uid);
  const out: ChangesSince = { changed: [], vanished: [] };
  for (const r of rows) {
    if (r.expunged === 1) out.vanished.push(r.uid);
    else
      out.changed.push({
        uid: r.uid,
        flags: r.flags,
        keywords: r.keywords === '[]' ? [] : (JSON.parse(r.keywords) as string[]),
        modseq: r.modseq,
      });
  }
  return out;
}

/** The highest modseq of the live messages with these (ascending) UIDs; 0 for none. */
export function maxModseq(core: AccountCore, mailboxId: number, uids: readonly number[]): number {
  const stmt = core
    .stmt(
      'SELECT uid, modseq FROM messages WHERE mailbox_id = ? AND uid >= ? AND uid <= ? AND expunged = 0',
    )
    .raw();
  const want = new Set(uids);
  let max = 0;
  for (let i = 0; i < uids.length; i += 1000) {
    const first = uids[i] as number;
    const last = uids[Math.min(uids.length, i + 1000) - 1] as number;
    for (const [uid, modseq] of stmt.all(mailboxId, first, last) as [number, number][]) {
      if (modseq > max && want.has(uid)) max = modseq;
    }
  }
  return max;
}

/** A message's row by UID, live or expunged: whether it is expunged, and its modseq. */
export function uidState(
  core: AccountCore,
  mailboxId: number,
  uid: number,
): { expunged: boolean; modseq: number } | null {
  const r = core
    .stmt('SELECT expunged, modseq FROM messages WHERE mailbox_id = ? AND uid = ?')
    .get(mailboxId, uid) as { expunged: number; modseq: number } | undefined;
  return r ? { expunged: r.expunged === 1, modseq: r.modseq } : null;
}
