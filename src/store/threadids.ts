// Thread ids (THREADID, RFC 8474 §5.2): every message gets one when it is stored, and it
// never changes. A message joins the thread of the nearest message it refers to (its
// last reference first, then the earlier ones, then In-Reply-To), or of another copy
// of itself (the same Message-ID); otherwise it starts a thread, named by its own row
// id. A reply stored before the message it answers starts a thread of its own: ids are
// immutable, so threads are not merged afterwards (the THREAD command, which groups
// what it finds each time, still puts them together).
import type Database from 'better-sqlite3';

/** Threading fields as stored with a message. */
export type ThreadFields = { messageId: string; inReplyTo: string; references: string[] };

/** The Message-IDs a message's thread is looked up by, nearest first. */
function parentsOf(t: ThreadFields): string[] {
  const out: string[] = [];
  for (let i = t.references.length - 1; i >= 0; i--) out.push(t.references[i] as string);
  if (t.inReplyTo !== '' && !out.includes(t.inReplyTo)) out.push(t.inReplyTo);
  if (t.messageId !== '') out.push(t.messageId);
  return out;
}

/** The thread id for a message being stored with row id `ownId`. */
export function threadIdFor(
  core: { stmt(sql: string): Database.Statement },
  t: ThreadFields,
  ownId: number,
): number {
  const look = core
    .stmt('SELECT thread_id FROM messages WHERE message_id = ? AND thread_id IS NOT NULL LIMIT 1')
    .pluck(true);
  for (const id of parentsOf(t)) {
    if (id === '') continue;
    const found = look.get(id) as number | undefined;
    if (found !== undefined) return found;
  }
  return ownId;
}

/**
 * Gives thread ids to the messages stored before they were kept (account schema 12), in
 * the order they were stored, as if each had got its id then. One pass, at open.
 */
export function fillThreadIds(db: Database.Database): number {
  const missing = db.prepare('SELECT 1 FROM messages WHERE thread_id IS NULL LIMIT 1').get();
  if (!missing) return 0;
  const rows = db
    .prepare('SELECT id, message_id, in_reply_to, refs, thread_id FROM messages ORDER BY id')
    .raw(true)
    .iterate() as IterableIterator<[number, string, string, string, number | null]>;
  const byMessageId = new Map<string, number>();
  const fills: [number, number][] = [];
  for (const [id, messageId, inReplyTo, refs, stored] of rows) {
    let thread = stored;
    if (thread === null) {
      const t = { messageId, inReplyTo, references: JSON.parse(refs) as string[] };
      thread = id;
      for (const p of parentsOf(t)) {
        const found = byMessageId.get(p);
        if (found !== undefined) {
          thread = found;
          break;
        }
      }
      fills.push([thread, id]);
    }
    if (messageId !== '' && !byMessageId.has(messageId)) byMessageId.set(messageId, thread);
  }
  const up = db.prepare('UPDATE messages SET thread_id = ? WHERE id = ?');
  db.transaction(() => {
    for (const [thread, id] of fills) up.run(thread, id);
  })();
  return fills.length;
}
