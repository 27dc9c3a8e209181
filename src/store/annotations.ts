// Annotations (IMAP METADATA, RFC 5464): entries of a mailbox, or of the whole account
// (the server's, to a client) with mailbox id 0, with account-wide limits on their count
// and total size. An account has one user, so /private/ and /shared/ entries are both
// the user's, kept apart by their names.
import { StoreError } from './errors.js';
import type { Session } from './switchboard.js';
import type { AccountCore } from './core.js';
import { requireMailboxId } from './reads.js';

/** METADATA limits per account; annotations do not count against the quota. */
export const MAX_ANNOTATIONS = 1000;
export const MAX_ANNOTATION_BYTES = 1_000_000;

export type Annotation = { key: string; value: Buffer | null; isString: boolean; modseq: number };

/** Annotations of a mailbox, or account-wide ones with mailboxId 0, sorted by key. */
export function annotations(core: AccountCore, mailboxId: number): Annotation[] {
  return (
    core
      .stmt(
        'SELECT key, value, is_string, modseq FROM annotations WHERE mailbox_id = ? ORDER BY key',
      )
      .all(mailboxId) as {
      key: string;
      value: Buffer | null;
      is_string: number;
      modseq: number;
    }[]
  ).map((r) => ({ key: r.key, value: r.value, isString: r.is_string === 1, modseq: r.modseq }));
}

/**
 * Sets annotations (a null value removes one) in one transaction. Keys are lower-case
 * ASCII paths under /private/ (RFC 5464 §3.2); the account-wide limits on count and
 * total size apply after the change. Mailbox annotations bump the mailbox modseq.
 */
export async function setAnnotations(
  core: AccountCore,
  mailboxId: number,
  entries: { key: string; value: Buffer | null; isString?: boolean }[],
  from: Session | null,
): Promise<void> {
  for (const e of entries) checkAnnotationKey(e.key);
  return core.write(from, (tx) => {
    const mb = mailboxId === 0 ? null : requireMailboxId(core, mailboxId);
    const seq = tx.modseq();
    const upsert = core.stmt(
      `INSERT INTO annotations (mailbox_id, key, value, is_string, modseq, createseq) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (mailbox_id, key) DO UPDATE SET value = excluded.value, is_string = excluded.is_string, modseq = excluded.modseq`,
    );
    const del = core.stmt('DELETE FROM annotations WHERE mailbox_id = ? AND key = ?');
    for (const e of entries) {
      const key = e.key.toLowerCase();
      if (e.value === null) del.run(mailboxId, key);
      else upsert.run(mailboxId, key, e.value, e.isString ? 1 : 0, seq, seq);
      tx.changes.push({
        kind: 'annotation',
        mailboxId,
        mailboxName: mb?.name ?? '',
        key,
        modseq: seq,
      });
    }
    const totals = core
      .stmt(
        'SELECT COUNT(*) AS n, COALESCE(SUM(length(key) + COALESCE(length(value), 0)), 0) AS size FROM annotations',
      )
      .get() as { n: number; size: number };
    if (totals.n > MAX_ANNOTATIONS) {
      throw new StoreError('toomany', `too many annotations, at most ${MAX_ANNOTATIONS}`);
    }
    if (totals.size > MAX_ANNOTATION_BYTES) {
      throw new StoreError(
        'toolarge',
        `annotations too large, at most ${MAX_ANNOTATION_BYTES} bytes in total`,
      );
    }
    if (mb) core.stmt('UPDATE mailboxes SET modseq = ? WHERE id = ?').run(seq, mb.id);
  });
}

/**
 * RFC 5464 §3.2 entry names: under /private/ or /shared/, printable ASCII, no empty
 * components, no trailing slash, no wildcards; a vendor entry names its vendor and
 * at least one entry below it (§3.2.1.2: /private/vendor/<vendor>/<entry>).
 */
function checkAnnotationKey(key: string): void {
  const k = key.toLowerCase();
  const bad = (why: string) =>
    new StoreError('invalid', `invalid annotation key ${JSON.stringify(key)}: ${why}`);
  if (!k.startsWith('/private/') && !k.startsWith('/shared/'))
    throw bad('must start with /private/ or /shared/');
  if (!/^[\x21-\x7e]+$/.test(k)) throw bad('only printable ASCII');
  if (k.includes('//')) throw bad('empty path component');
  if (k.endsWith('/')) throw bad('trailing slash');
  if (/[*%]/.test(k)) throw bad('wildcards not allowed');
  const parts = k.split('/');
  if (parts[2] === 'vendor' && parts.length < 5)
    throw bad('a vendor entry needs /vendor/<vendor>/<name>');
}
