// Adding new messages (delivery, APPEND, MULTIAPPEND), grouped: adds that wait for the
// account's write lock together are stored as one group when it frees, with one
// directory fsync, one transaction and one WAL sync for all of them. Each add still
// succeeds or fails on its own, atomically (all its messages or none).
import { isStoreError, StoreError } from './errors.js';
import {
  FACT_COLUMNS,
  factValues,
  type DeliveryFacts,
  type Mailbox,
  type Message,
} from './rows.js';
import { addKeywords, normalizeKeywords } from './flags.js';
import { storedStructure } from './thread.js';
import type { PreparedMessage } from './tempfile.js';
import type { Session } from './switchboard.js';
import { threadIdFor } from './threadids.js';
import type { AccountCore, Origin, WriteTx } from './core.js';
import { mailbox, messages, requireMailboxId } from './reads.js';
import { linkInto, syncDir, unlinkAll } from './files.js';
import { addMailboxKeywords } from './messages.js';
import { createWithParentsTx, validName } from './mailboxes.js';
import { sentDate, type Part } from '../message/index.js';

export type NewMessage = {
  message: PreparedMessage;
  flags?: number;
  keywords?: string[];
  internalDate?: number;
  /** Delivery-time header lines (Received, Return-Path, ...), each ending in CRLF. */
  prefix?: Buffer;
  /**
   * The caller is done with the prepared file: the store moves it into place instead
   * of linking it (saving the removal of the temp file) and disowns it.
   */
  take?: boolean;
  facts?: DeliveryFacts;
};

export type AddOptions = { from?: Session | null; create?: boolean; checkQuota?: boolean };
export type AddResult = { mailbox: Mailbox; messages: Message[] };

/** Adds in a group stored together: at most this many requests. */
const MAX_ADD_GROUP = 64;

/** One addMessages call waiting for, or being stored in, a group. */
type AddRequest = {
  mailbox: number | string;
  items: NewMessage[];
  from: Session | null;
  create: boolean;
  quota: boolean;
  resolve: (r: AddResult) => void;
  reject: (e: unknown) => void;
  mb: Mailbox | null;
  firstId: number;
  linked: string[];
  uids: number[];
  messages?: Message[];
  error: unknown;
};

/** An account's adds waiting for the write lock, in arrival order. */
export type AddQueue = AddRequest[];

const INSERT_COLUMNS = [
  'id',
  'file_id',
  'mailbox_id',
  'uid',
  'modseq',
  'createseq',
  'expunged',
  'flags',
  'keywords',
  'internal_date',
  'save_date',
  'size',
  'prefix',
  'part',
  'message_id',
  'in_reply_to',
  'refs',
  'subject_base',
  'envelope',
  'sent_date',
  'thread_id',
  ...FACT_COLUMNS,
];
const INSERT_MESSAGE_SQL = `INSERT INTO messages (${INSERT_COLUMNS.join(', ')}) VALUES (${INSERT_COLUMNS.map(() => '?').join(', ')})`;

type MessageRowSpec = {
  id: number;
  fileId: number;
  mailboxId: number;
  uid: number;
  flags: number;
  keywords: string[];
  internalDate: number;
  saveDate: number;
  size: number;
  prefix: Buffer | null;
  part: Part;
  thread: { messageId: string; inReplyTo: string; references: string[]; subjectBase: string };
  facts?: DeliveryFacts;
};

/**
 * Adds messages to a mailbox atomically: all are stored or none (MULTIAPPEND,
 * delivery). Files are linked and fsynced before the commit. Creates the mailbox
 * (with parents) when `create` is set and it does not exist.
 *
 * Adds that arrive while the lock is busy (concurrent deliveries) are stored as one
 * group when it frees: one directory fsync and one transaction for all of them, and
 * one WAL sync after. Each add still succeeds or fails on its own, and the session
 * that made an add is still not told of it.
 */
export function addMessages(
  core: AccountCore,
  queue: AddQueue,
  mailbox: number | string,
  items: NewMessage[],
  opts: AddOptions,
): Promise<AddResult> {
  if (core.closed) return Promise.reject(new Error(`account ${core.name} is closed`));
  return new Promise((resolve, reject) => {
    queue.push({
      mailbox,
      items,
      from: opts.from ?? null,
      create: opts.create ?? false,
      quota: opts.checkQuota !== false,
      resolve,
      reject,
      mb: null,
      firstId: 0,
      linked: [],
      uids: [],
      error: null,
    });
    if (queue.length === 1) scheduleAdds(core, queue);
  });
}

/** Queues one run under the lock for the adds waiting (and any that join before it starts). */
function scheduleAdds(core: AccountCore, queue: AddQueue): void {
  let batch: AddRequest[] = [];
  core.mutex
    .run(async () => {
      batch = queue.splice(0, MAX_ADD_GROUP);
      if (queue.length > 0) scheduleAdds(core, queue);
      if (core.closed) throw new Error(`account ${core.name} is closed`);
      await addGroup(core, batch);
    })
    .then(() => core.durable())
    .then(
      () => {
        for (const r of batch) {
          if (r.error !== null) r.reject(r.error);
          else
            r.resolve({
              mailbox: r.mb!,
              messages: r.messages ?? [],
            });
        }
      },
      (e: unknown) => {
        for (const r of batch) r.reject(r.error ?? e);
      },
    );
}

/** Stores a group of adds under the lock; failures are noted on each request. */
async function addGroup(core: AccountCore, batch: AddRequest[]): Promise<void> {
  // Each add's mailbox, and quota counting the adds before it in the group.
  let pending = 0;
  let pendingCount = 0;
  const ok: AddRequest[] = [];
  for (const r of batch) {
    try {
      r.mb = addTarget(core, r);
      const total = r.items.reduce((n, it) => n + it.message.size + (it.prefix?.length ?? 0), 0);
      if (r.quota) core.checkQuota(pending + total, pendingCount + r.items.length);
      pending += total;
      pendingCount += r.items.length;
      ok.push(r);
    } catch (e) {
      r.error = e;
    }
  }
  if (ok.length === 0) return;
  let nextId = core.nextMessageId();
  const dirs = new Set<string>();
  for (const r of ok) {
    r.firstId = nextId;
    nextId += r.items.length;
    try {
      r.linked = await linkInto(
        core,
        r.items.map((it, i) => ({
          from: it.message.path,
          id: r.firstId + i,
          ...(it.take ? { take: it.message } : {}),
        })),
        dirs,
      );
    } catch (e) {
      r.error = e;
    }
  }
  let live = ok.filter((r) => r.error === null);
  try {
    // The directories and the files' data (still being flushed for some) together.
    await Promise.all([
      ...[...dirs].map((d) => syncDir(core, d)),
      ...live.flatMap((r) => r.items.map((it) => it.message.durable)),
    ]);
    if (live.length > 0) {
      core.opts.beforeCommit?.();
      const origins: Origin[] = [];
      core.runTx(
        null,
        (tx) => {
          for (const r of live) {
            try {
              r.uids = insertAdd(core, tx, r);
            } catch (e) {
              // Thrown before the add changed anything; the others go on.
              if (!isStoreError(e)) throw e;
              r.error = e;
            }
            origins.push({ from: r.from, upTo: tx.changes.length });
          }
          core.stmt('UPDATE meta SET next_message_id = ?').run(nextId);
        },
        origins,
      );
    }
  } catch (e) {
    for (const r of live) r.error ??= e;
  }
  await unlinkAll(ok.flatMap((r) => (r.error !== null ? r.linked : [])));
  live = live.filter((r) => r.error === null);
  for (const r of live) {
    r.mb = core.mailboxByIdSync(r.mb!.id) as Mailbox;
    r.messages = messages(core, r.mb.id, r.uids);
  }
}

/** The mailbox of an add, created (with parents) when asked; throws when missing. */
function addTarget(core: AccountCore, r: AddRequest): Mailbox {
  let mb: Mailbox | null =
    typeof r.mailbox === 'number' ? core.mailboxByIdSync(r.mailbox) : mailbox(core, r.mailbox);
  if (!mb && typeof r.mailbox === 'string' && r.create) {
    const name = validName(r.mailbox);
    mb = core.runTx(r.from, (tx) => createWithParentsTx(core, tx, name));
  }
  if (!mb) throw new StoreError('nonexistent', 'mailbox does not exist');
  return mb;
}

/** Inserts one add's messages in the group's transaction; returns their UIDs. */
function insertAdd(core: AccountCore, tx: WriteTx, r: AddRequest): number[] {
  const cur = requireMailboxId(core, r.mb!.id);
  const seq = tx.modseq();
  const now = Date.now();
  const uids: number[] = [];
  let kws: string[] = [];
  r.items.forEach((it, i) => {
    const id = r.firstId + i;
    const uid = cur.uidnext + i;
    const prefixLen = it.prefix?.length ?? 0;
    const keywords = normalizeKeywords(it.keywords ?? []);
    kws = addKeywords(kws, keywords);
    const size = it.message.size + prefixLen;
    const flags = it.flags ?? 0;
    insertMessage(core, tx, {
      id,
      fileId: id,
      mailboxId: cur.id,
      uid,
      flags,
      keywords,
      internalDate: it.internalDate ?? now,
      saveDate: now,
      size,
      prefix: it.prefix && it.prefix.length > 0 ? it.prefix : null,
      ...storedStructure(it.message, it.prefix),
      facts: it.facts,
    });
    tx.count(cur.id, flags, size, 1);
    tx.changes.push({ kind: 'addUID', mailboxId: cur.id, uid, modseq: seq, flags, keywords });
    uids.push(uid);
  });
  core
    .stmt('UPDATE mailboxes SET uidnext = ? WHERE id = ?')
    .run(cur.uidnext + r.items.length, cur.id);
  addMailboxKeywords(core, tx, cur, kws);
  return uids;
}

function insertMessage(core: AccountCore, tx: WriteTx, s: MessageRowSpec, expunged = false): void {
  const seq = tx.modseq();
  core.stmt(INSERT_MESSAGE_SQL).run(
    s.id,
    s.fileId,
    s.mailboxId,
    s.uid,
    seq,
    seq,
    expunged ? 1 : 0,
    s.flags,
    JSON.stringify(s.keywords),
    s.internalDate,
    s.saveDate,
    s.size,
    s.prefix,
    JSON.stringify(s.part),
    s.thread.messageId,
    s.thread.inReplyTo,
    JSON.stringify(s.thread.references),
    s.thread.subjectBase,
    s.part.envelope ? JSON.stringify(s.part.envelope) : null,
    sentDate(s.part.envelope?.date, s.internalDate),
    threadIdFor(core, s.thread, s.id),
    // A delivery records where it was put, so that reputation can tell the user's
    // moves (into Junk, say) from the server's own decisions.
    ...factValues(
      s.facts
        ? { ...s.facts, mailboxDestinedId: s.facts.mailboxDestinedId ?? s.mailboxId }
        : undefined,
    ),
  );
  const dkim = s.facts?.dkimDomains;
  if (dkim && dkim.length > 0) {
    const ins = core.stmt('INSERT INTO message_dkim (message_id, domain) VALUES (?, ?)');
    for (const d of new Set(dkim.map((x) => x.toLowerCase()))) ins.run(s.id, d);
  }
}
