// Writes to existing messages: flag and keyword changes (STORE), expunge, copy and move.
// Each is one transaction under the account's write lock with one modseq for all the
// messages it changes; files are hard-linked, never copied or rewritten.
import { StoreError } from './errors.js';
import { FACT_COLUMNS, type Mailbox } from './rows.js';
import { Flag, addKeywords, normalizeKeywords, removeKeywords, sameKeywords } from './flags.js';
import type { Session } from './switchboard.js';
import type { AccountCore, WriteTx } from './core.js';
import { messages, moveRows, requireMailboxId } from './reads.js';
import { linkFiles, messagePath, unlinkAll } from './files.js';

export type FlagOp = {
  mode: 'set' | 'add' | 'remove';
  flags: number;
  keywords?: string[];
  /** CONDSTORE (RFC 7162 §3.1.3): skip messages whose modseq is higher. */
  unchangedSince?: number;
};

export type FlagResult = {
  /** Current state of every message matched (changed or not), in UID order. */
  messages: { uid: number; flags: number; keywords: string[]; modseq: number }[];
  changed: number[];
  /** UIDs not modified because of unchangedSince. */
  modified: number[];
  modseq: number | null;
};

export type CopyResult = { uidvalidity: number; srcUids: number[]; dstUids: number[] };

/** Adds keywords to the mailbox's list of keywords in use (for FLAGS responses). */
export function addMailboxKeywords(
  core: AccountCore,
  tx: WriteTx,
  mb: Mailbox,
  keywords: string[],
): void {
  if (keywords.length === 0) return;
  const merged = addKeywords(mb.keywords, keywords);
  if (sameKeywords(merged, mb.keywords)) return;
  core.stmt('UPDATE mailboxes SET keywords = ? WHERE id = ?').run(JSON.stringify(merged), mb.id);
  mb.keywords = merged;
  tx.changes.push({ kind: 'mailboxKeywords', mailboxId: mb.id, name: mb.name, keywords: merged });
}

/** Changes flags and keywords of messages, one modseq for all (RFC 9051 §6.4.6). */
export function storeFlags(
  core: AccountCore,
  mailboxId: number,
  uids: number[],
  op: FlagOp,
  from: Session | null,
): Promise<FlagResult> {
  return core.write(from, (tx) => {
    const mb = requireMailboxId(core, mailboxId);
    const uniq = [...new Set(uids)].sort((a, b) => a - b);
    const rows = messages(core, mailboxId, uniq);
    const res: FlagResult = { messages: [], changed: [], modified: [], modseq: null };
    const opKw = normalizeKeywords(op.keywords ?? []);
    const upd = core.stmt('UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE id = ?');
    for (const m of rows) {
      if (op.unchangedSince !== undefined && m.modseq > op.unchangedSince) {
        res.modified.push(m.uid);
        continue;
      }
      let flags = m.flags;
      let kw = m.keywords;
      if (op.mode === 'set') {
        flags = op.flags;
        kw = opKw;
      } else if (op.mode === 'add') {
        flags |= op.flags;
        kw = addKeywords(kw, opKw);
      } else {
        flags &= ~op.flags;
        kw = removeKeywords(kw, opKw);
      }
      if (flags === m.flags && sameKeywords(kw, m.keywords)) {
        res.messages.push({ uid: m.uid, flags, keywords: kw, modseq: m.modseq });
        continue;
      }
      const seq = tx.modseq();
      upd.run(flags, JSON.stringify(kw), seq, m.id);
      tx.count(mailboxId, m.flags, m.size, -1);
      tx.count(mailboxId, flags, m.size, 1);
      tx.changes.push({
        kind: 'flags',
        mailboxId,
        uid: m.uid,
        modseq: seq,
        mask: m.flags ^ flags,
        flags,
        keywords: kw,
      });
      res.changed.push(m.uid);
      res.messages.push({ uid: m.uid, flags, keywords: kw, modseq: seq });
    }
    if (op.mode !== 'remove') addMailboxKeywords(core, tx, mb, opKw);
    res.modseq = tx.allocatedModseq;
    return res;
  });
}

/**
 * Expunges the \Deleted messages of a mailbox, limited to `uids` when given. Rows stay
 * (expunged, with this modseq) for QRESYNC; files go once no session references them.
 */
export function expunge(
  core: AccountCore,
  mailboxId: number,
  uids: number[] | null,
  from: Session | null,
): Promise<{ uids: number[]; modseq: number | null }> {
  return core.write(from, (tx) => {
    requireMailboxId(core, mailboxId);
    let rows = core
      .stmt(
        'SELECT id, uid, flags, size FROM messages WHERE mailbox_id = ? AND expunged = 0 AND (flags & ?) != 0 ORDER BY uid',
      )
      .all(mailboxId, Flag.Deleted) as { id: number; uid: number; flags: number; size: number }[];
    if (uids) {
      const want = new Set(uids);
      rows = rows.filter((r) => want.has(r.uid));
    }
    if (rows.length === 0) return { uids: [], modseq: null };
    const seq = tx.modseq();
    const upd = core.stmt('UPDATE messages SET expunged = 1, modseq = ? WHERE id = ?');
    for (const r of rows) {
      upd.run(seq, r.id);
      tx.count(mailboxId, r.flags, r.size, -1);
      tx.removedMessageIds.push(r.id);
    }
    const out = rows.map((r) => r.uid);
    tx.changes.push({ kind: 'removeUIDs', mailboxId, uids: out, modseq: seq });
    return { uids: out, modseq: seq };
  });
}

/** Copies messages; files are hard-linked (RFC 9051 §6.4.7). */
export function copyMessages(
  core: AccountCore,
  srcId: number,
  uids: number[],
  dstId: number,
  from: Session | null,
): Promise<CopyResult> {
  return core.withLock(async () => {
    requireMailboxId(core, srcId);
    requireMailboxId(core, dstId);
    const msgs = messages(core, srcId, uids);
    if (msgs.length === 0) throw new StoreError('notfound', 'no matching messages');
    const total = msgs.reduce((n, m) => n + m.size, 0);
    core.checkQuota(total, msgs.length);
    const firstId = core.nextMessageId();
    const linked = await linkFiles(
      core,
      msgs.map((m, i) => ({ from: messagePath(core, m.fileId), id: firstId + i })),
    );
    try {
      core.opts.beforeCommit?.();
      return core.runTx(from, (tx) => {
        const dst = requireMailboxId(core, dstId);
        core.checkQuota(total, msgs.length);
        const seq = tx.modseq();
        const now = Date.now();
        const dstUids: number[] = [];
        let kws: string[] = [];
        msgs.forEach((m, i) => {
          const id = firstId + i;
          const uid = dst.uidnext + i;
          core
            .stmt(
              `INSERT INTO messages (id, file_id, mailbox_id, uid, modseq, createseq, expunged, erased, flags, keywords, internal_date, save_date, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope, sent_date, thread_id, ${FACT_COLUMNS.join(', ')})
                 SELECT ?, ?, ?, ?, ?, ?, 0, 0, flags, keywords, internal_date, ?, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope, sent_date, thread_id, ${FACT_COLUMNS.join(', ')} FROM messages WHERE id = ?`,
            )
            .run(id, id, dst.id, uid, seq, seq, now, m.id);
          // A kept reject the user copies elsewhere is one they want: its sender's
          // signals count again (see moveLocked).
          core.stmt('UPDATE messages SET is_reject = 0 WHERE id = ?').run(id);
          core
            .stmt(
              'INSERT INTO message_dkim (message_id, domain) SELECT ?, domain FROM message_dkim WHERE message_id = ?',
            )
            .run(id, m.id);
          tx.count(dst.id, m.flags, m.size, 1);
          kws = addKeywords(kws, m.keywords);
          tx.changes.push({
            kind: 'addUID',
            mailboxId: dst.id,
            uid,
            modseq: seq,
            flags: m.flags,
            keywords: m.keywords,
          });
          dstUids.push(uid);
        });
        core.stmt('UPDATE meta SET next_message_id = ?').run(firstId + msgs.length);
        core
          .stmt('UPDATE mailboxes SET uidnext = ? WHERE id = ?')
          .run(dst.uidnext + msgs.length, dst.id);
        addMailboxKeywords(core, tx, dst, kws);
        return { uidvalidity: dst.uidvalidity, srcUids: msgs.map((m) => m.uid), dstUids };
      });
    } catch (e) {
      await unlinkAll(linked);
      throw e;
    }
  });
}

/**
 * Moves messages (RFC 6851) with the lock held: each row moves to the destination with
 * a new UID; an expunged tombstone row (sharing the file) stays in the source for
 * sessions that still reference the old UID and for QRESYNC. A kept reject that is
 * moved is no longer one: the user took it out of the Rejects mailbox, so its sender's
 * signals count for reputation again (into Junk, they count against it).
 */
export function moveLocked(
  core: AccountCore,
  srcId: number,
  uids: number[],
  dstId: number,
  from: Session | null,
): CopyResult {
  return core.runTx(from, (tx) => {
    requireMailboxId(core, srcId);
    const dst = requireMailboxId(core, dstId);
    // Into the same mailbox (RFC 6851 §3.3 allows it): each message gets a new UID at
    // the end, and its old UID is expunged, as for any other destination.
    const msgs = moveRows(core, srcId, uids);
    if (msgs.length === 0) throw new StoreError('notfound', 'no matching messages');
    const seq = tx.modseq();
    const now = Date.now();
    let nextId = core.nextMessageId();
    const dstUids: number[] = [];
    let kws: string[] = [];
    msgs.forEach((m, i) => {
      const uid = dst.uidnext + i;
      core
        .stmt(
          'UPDATE messages SET mailbox_id = ?, uid = ?, modseq = ?, createseq = ?, save_date = ?, is_reject = 0 WHERE id = ?',
        )
        .run(dst.id, uid, seq, seq, now, m.id);
      // Tombstone in the source, sharing the file, so a session that still has the old
      // UID can fetch it until it has seen the expunge.
      core
        .stmt(
          `INSERT INTO messages (id, file_id, mailbox_id, uid, modseq, createseq, expunged, erased, flags, keywords, internal_date, save_date, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope, sent_date, thread_id)
             SELECT ?, file_id, ?, ?, ?, ?, 1, 0, flags, keywords, internal_date, ?, size, prefix, part, message_id, in_reply_to, refs, subject_base, envelope, sent_date, thread_id FROM messages WHERE id = ?`,
        )
        .run(nextId, srcId, m.uid, seq, m.createseq, m.saveDate, m.id);
      tx.removedMessageIds.push(nextId);
      nextId++;
      tx.count(srcId, m.flags, m.size, -1);
      tx.count(dst.id, m.flags, m.size, 1);
      kws = addKeywords(kws, m.keywords);
      dstUids.push(uid);
    });
    core.stmt('UPDATE meta SET next_message_id = ?').run(nextId);
    core
      .stmt('UPDATE mailboxes SET uidnext = ? WHERE id = ?')
      .run(dst.uidnext + msgs.length, dst.id);
    const srcUids = msgs.map((m) => m.uid);
    tx.changes.push({ kind: 'removeUIDs', mailboxId: srcId, uids: srcUids, modseq: seq });
    msgs.forEach((m, i) =>
      tx.changes.push({
        kind: 'addUID',
        mailboxId: dst.id,
        uid: dstUids[i] as number,
        modseq: seq,
        flags: m.flags,
        keywords: m.keywords,
      }),
    );
    addMailboxKeywords(core, tx, dst, kws);
    return { uidvalidity: dst.uidvalidity, srcUids, dstUids };
  });
}
