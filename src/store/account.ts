// One account's store, as the rest of the program sees it: its database, message files,
// switchboard and write lock behind one class. The work is done by the modules below,
// each a set of functions over the account's core (core.ts: database, transactions,
// durability, caches and quota): reads, files, messages (flag, expunge, copy and move
// writes), mailboxes (mailbox writes), adds (grouped adds), annotations and password.
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { backupAccount } from './backup.js';
import { mkdirDurable } from './fsutil.js';
import { AccountCore, type AccountOptions } from './core.js';
import * as reads from './reads.js';
import * as files from './files.js';
import * as msgs from './messages.js';
import * as mailboxes from './mailboxes.js';
import * as adds from './adds.js';
import * as annotations from './annotations.js';
import * as password from './password.js';
import * as queries from './queries.js';
import * as outgoing from './outgoing.js';
import * as reputation from './reputation.js';
import * as rejects from './rejects.js';
import * as modseq from './modseq.js';
import * as sortrows from './sortrows.js';
import * as recent from './recent.js';
import { verifyAccount, type VerifyReport } from './verify.js';
import type { Switchboard, Session } from './switchboard.js';
import type { Mailbox, Message } from './rows.js';

export { type AccountOptions } from './core.js';
export { type SendCounts } from './outgoing.js';
export {
  type Evidence,
  type EvidenceQuery,
  type EvidenceSource,
  type SenderEvidence,
} from './reputation.js';
export { DEFAULT_REJECTS_LIMITS, type RejectsLimits } from './rejects.js';
export { FILES_PER_DIR } from './files.js';
export { type FlagOp, type FlagResult } from './messages.js';
export { type ChangesSince, type ChangedMessage } from './modseq.js';
export { type InitialMailboxes } from './mailboxes.js';
export { type NewMessage } from './adds.js';
export { type MessageFilter, type MessageRow, type RowDetail, type SearchRow } from './queries.js';
export { type SortRow, type ThreadRow } from './sortrows.js';
export { MAX_ANNOTATIONS, MAX_ANNOTATION_BYTES, type Annotation } from './annotations.js';

const cores = new WeakMap<Account, AccountCore>();

/** The core behind an account, for the store's own modules and tests (not in index.ts). */
export function coreOf(a: Account): AccountCore {
  return cores.get(a) as AccountCore;
}

export class Account {
  readonly name: string;
  readonly dir: string;
  readonly switchboard: Switchboard;
  private readonly core: AccountCore;
  /** The options the core reads (the same object, so changes to it apply). */
  private readonly opts: AccountOptions;
  /** Adds waiting for the write lock; they are stored together (see addMessages). */
  private readonly addQueue: adds.AddQueue = [];

  private constructor(core: AccountCore) {
    this.core = core;
    cores.set(this, core);
    this.name = core.name;
    this.dir = core.dir;
    this.switchboard = core.switchboard;
    this.opts = core.opts;
  }

  /** Opens (creating when new) an account's database under dir. */
  static async open(
    name: string,
    dir: string,
    opts: AccountOptions,
    initial?: mailboxes.InitialMailboxes,
  ): Promise<Account> {
    await mkdirDurable(join(dir, 'msg'));
    const core = new AccountCore(name, dir, opts, files.scheduleErase);
    const fresh = core.db.prepare('SELECT 1 FROM meta').get() === undefined;
    if (fresh) {
      mailboxes.initialize(core, initial ?? {});
      core.committedWithoutChanges();
      await core.durable();
    }
    if (opts.cleanup) await files.cleanupAfterCrash(core);
    return new Account(core);
  }

  // ---- files ----

  /** Streams bytes [start, end) of the stored message: the prefix followed by the file. */
  messageStream(m: Message, start = 0, end = m.size): Readable {
    return files.messageStream(this.core, m, start, end);
  }

  /** Reads bytes [start, end) of the stored message into memory (for small ranges). */
  readMessage(m: Message, start = 0, end = m.size): Promise<Buffer> {
    return files.readMessage(this.core, m, start, end);
  }

  /** Checks that a file exists with the expected size (for verifydata). */
  fileSize(fileId: number): Promise<number | null> {
    return files.fileSize(this.core, fileId);
  }

  /** Waits until pending file erasures are done. */
  settle(): Promise<void> {
    return files.settle(this.core);
  }

  // ---- durability ----

  /** Resolves when every commit made so far is on disk (and broadcast). */
  durable(): Promise<void> {
    return this.core.durable();
  }

  // ---- reads for FETCH, SEARCH and SELECT ----

  /** Rows of the given (ascending) UIDs at the chosen detail, in UID order. */
  async messageRows(
    mailboxId: number,
    uids: readonly number[],
    detail: queries.RowDetail,
    withModseq = false,
  ): Promise<queries.MessageRow[]> {
    return queries.messageRows(this.core, mailboxId, uids, detail, withModseq);
  }

  /** Threading fields of live messages (THREAD, RFC 5256). */
  async threadRows(mailboxId: number, uids: readonly number[]): Promise<sortrows.ThreadRow[]> {
    const r = sortrows.threadRows(this.core, mailboxId, uids);
    await this.storeSentDates(r.fill);
    return r.rows;
  }

  /** Sort fields of live messages (SORT, RFC 5256); envelopes only when asked for. */
  async sortRows(
    mailboxId: number,
    uids: readonly number[],
    withEnvelope: boolean,
  ): Promise<sortrows.SortRow[]> {
    const r = sortrows.sortRows(this.core, mailboxId, uids, withEnvelope);
    await this.storeSentDates(r.fill);
    return r.rows;
  }

  /** Keeps sent dates worked out for messages stored without one. Not a change: no modseq. */
  private async storeSentDates(fill: sortrows.SentDateFill): Promise<void> {
    if (fill.length === 0) return;
    await this.core.write(null, () => {
      const up = this.core.stmt('UPDATE messages SET sent_date = ? WHERE id = ?');
      for (const f of fill) up.run(f.sentDate, f.id);
    });
  }

  /**
   * Copies the account into `destDir` (backup.ts): its database, and its message files,
   * hard-linked or copied; returns how many files.
   */
  async backupTo(destDir: string, copy: boolean): Promise<number> {
    return backupAccount(this.core, destDir, copy);
  }

  /** Thread ids (THREADID, RFC 8474 §5.2) by message row id. */
  async threadIds(ids: readonly number[]): Promise<Map<number, number>> {
    return queries.threadIds(this.core, ids);
  }

  /**
   * UIDs of a mailbox's live messages in a thread (SEARCH THREADID, RFC 8474 §6).
   * Synchronous, as a search binds its keys to the mailbox in one step.
   */
  threadUidsSync(mailboxId: number, threadId: number): number[] {
    return queries.threadUids(this.core, mailboxId, threadId);
  }

  /** Stored previews (RFC 8970) by message row id; null where none is made yet. */
  async previews(ids: readonly number[]): Promise<Map<number, string | null>> {
    return queries.previews(this.core, ids);
  }

  /**
   * Keeps previews made from message text. Not a change a client is told of: no modseq,
   * no notification (the text they are made from never changes).
   */
  setPreviews(entries: readonly { id: number; preview: string }[]): Promise<void> {
    return this.core.write(null, () => {
      const up = this.core.stmt('UPDATE messages SET preview = ? WHERE id = ?');
      for (const e of entries) up.run(e.preview, e.id);
    });
  }

  /** The octets of the live messages flagged \Deleted in a mailbox. */
  async deletedSize(mailboxId: number): Promise<number> {
    return queries.deletedSize(this.core, mailboxId);
  }

  /** The lowest UID of a live message without \Seen, or null. */
  async firstUnseenUid(mailboxId: number): Promise<number | null> {
    return queries.firstUnseenUid(this.core, mailboxId);
  }

  /** Live message rows with UIDs in [first, last], with the columns SEARCH evaluates. */
  async searchRows(mailboxId: number, first: number, last: number): Promise<queries.SearchRow[]> {
    return queries.searchRows(this.core, mailboxId, first, last);
  }

  /** UIDs of the live messages matching a filter on flags, sizes, dates and UIDs. */
  async matchingUids(mailboxId: number, filter: queries.MessageFilter): Promise<number[]> {
    return queries.matchingUids(this.core, mailboxId, filter);
  }

  // ---- mailbox reads ----

  async mailboxes(): Promise<Mailbox[]> {
    return reads.mailboxes(this.core);
  }

  /** A live mailbox by name (Inbox in any case), or null, also for invalid names. */
  async mailbox(name: string): Promise<Mailbox | null> {
    return reads.mailbox(this.core, name);
  }

  /**
   * A live mailbox by id. Cached until the next write transaction (commands of an IMAP
   * session re-read their selected mailbox before each command).
   */
  async mailboxById(id: number): Promise<Mailbox | null> {
    return this.core.mailboxById(id);
  }

  /** The mailbox with a special-use flag (by flag, never by name). */
  async mailboxBySpecialUse(use: string): Promise<Mailbox | null> {
    return reads.mailboxBySpecialUse(this.core, use);
  }

  async subscriptions(): Promise<string[]> {
    return reads.subscriptions(this.core);
  }

  async highestModseq(): Promise<number> {
    return reads.highestModseq(this.core);
  }

  /** Highest modseq of any message (live or expunged) in a mailbox, or of the mailbox itself. */
  async mailboxHighestModseq(mailboxId: number): Promise<number> {
    return reads.mailboxHighestModseq(this.core, mailboxId);
  }

  /**
   * The live UIDs of a mailbox (a new array) and its highest modseq, read together, so
   * no change can fall between them (SELECT with CONDSTORE, RFC 7162 §3.1.2.1).
   */
  async selectView(mailboxId: number): Promise<{ uids: Uint32Array; highestModseq: number }> {
    return {
      uids: this.core.uidsAndFlags(mailboxId).uids.slice(),
      highestModseq: reads.mailboxHighestModseq(this.core, mailboxId),
    };
  }

  /** Messages changed, added or expunged in a mailbox after a modseq, up to `until` (RFC 7162). */
  async changedSince(
    mailboxId: number,
    since: number,
    until?: number,
  ): Promise<modseq.ChangesSince> {
    return modseq.changedSince(this.core, mailboxId, since, until);
  }

  /** The highest modseq of the live messages with these (ascending) UIDs; 0 for none. */
  async maxModseq(mailboxId: number, uids: readonly number[]): Promise<number> {
    return modseq.maxModseq(this.core, mailboxId, uids);
  }

  /** Whether a UID names a live or an expunged message, and its modseq; null for neither. */
  async uidState(
    mailboxId: number,
    uid: number,
  ): Promise<{ expunged: boolean; modseq: number } | null> {
    return modseq.uidState(this.core, mailboxId, uid);
  }

  // ---- \Recent (IMAP4rev1) ----

  /**
   * The UID from which a mailbox's messages are still unclaimed (not \Recent anywhere
   * yet). Synchronous, to be read in the same step as a claim would be made.
   */
  recentFromSync(mailboxId: number): number {
    return recent.recentFrom(this.core, mailboxId);
  }

  /**
   * Claims the unclaimed messages up to `upTo` for one session; returns the UID from
   * which it got them. Synchronous: whoever calls first gets them.
   */
  claimRecentSync(mailboxId: number, upTo: number): number {
    return recent.claimRecent(this.core, mailboxId, upTo);
  }

  /** How many live messages of a mailbox no session has claimed (STATUS RECENT). */
  async recentCount(mailboxId: number): Promise<number> {
    return recent.recentCount(this.core, mailboxId);
  }

  // ---- message reads ----

  /** Sorted UIDs of the live messages in a mailbox, as a new array the caller may keep. */
  async uidArray(mailboxId: number): Promise<Uint32Array> {
    return this.core.uidsAndFlags(mailboxId).uids.slice();
  }

  /**
   * The live UIDs of a mailbox with their flag bits, from the cache. Read-only views:
   * valid until the next write to the account; copy what must be kept.
   */
  async uidsAndFlags(mailboxId: number): Promise<{ uids: Uint32Array; flags: Uint32Array }> {
    return this.core.uidsAndFlags(mailboxId);
  }

  /** Sorted UIDs of the live messages in a mailbox. */
  async uids(mailboxId: number): Promise<number[]> {
    return reads.uids(this.core, mailboxId);
  }

  /** Live messages with the given UIDs (missing ones skipped), in UID order. One query per batch. */
  async messages(
    mailboxId: number,
    uids: number[],
    opts: { includeExpunged?: boolean } = {},
  ): Promise<Message[]> {
    return reads.messages(this.core, mailboxId, uids, opts);
  }

  async message(
    mailboxId: number,
    uid: number,
    opts: { includeExpunged?: boolean } = {},
  ): Promise<Message | null> {
    return reads.messages(this.core, mailboxId, [uid], opts)[0] ?? null;
  }

  /** Flags of live messages, cheap (no MIME structure), in UID order. */
  async flagsOf(
    mailboxId: number,
  ): Promise<{ uid: number; flags: number; keywords: string[]; modseq: number }[]> {
    return reads.flagsOf(this.core, mailboxId);
  }

  // ---- submission history ----

  /** Counts for the per-day send limits, including the recipients about to be added. */
  async sendCounts(recipients: string[], now = Date.now()): Promise<outgoing.SendCounts> {
    return outgoing.sendCounts(this.core, recipients, now);
  }

  /** Records submitted recipients (for the send limits and first-time recipients). */
  recordOutgoing(recipients: string[], now = Date.now()): Promise<void> {
    return outgoing.recordOutgoing(this.core, recipients, now);
  }

  /** Whether the account has corresponded with this From address (see outgoing.ts). */
  async knownSender(localpart: string, domain: string): Promise<boolean> {
    return outgoing.knownSender(this.core, localpart, domain);
  }

  /** Whether the account has dealt with an organisational domain (see outgoing.ts). */
  async knownOrgDomain(orgDomain: string): Promise<boolean> {
    return outgoing.knownOrgDomain(this.core, orgDomain);
  }

  /** What the account's own mail says about a sender (see reputation.ts). */
  async senderEvidence(q: reputation.EvidenceQuery): Promise<reputation.SenderEvidence> {
    return reputation.senderEvidence(this.core, q);
  }

  // ---- the Rejects mailbox ----

  /** Whether the mailbox holds a live message with this content hash. */
  async hasMessageHash(mailboxId: number, hash: Buffer): Promise<boolean> {
    return rejects.hasHash(this.core, mailboxId, hash);
  }

  /** Removes the oldest messages of a rejects mailbox beyond its limits; returns how many. */
  tidyRejects(
    mailboxId: number,
    incoming: number,
    limits: rejects.RejectsLimits = rejects.DEFAULT_REJECTS_LIMITS,
    now = Date.now(),
  ): Promise<number> {
    return rejects.tidy(this.core, mailboxId, incoming, limits, now);
  }

  /** Removes the messages with the Message-ID of `header` from a rejects mailbox. */
  removeRejected(mailboxId: number, header: Buffer): Promise<number> {
    return rejects.removeByMessageId(this.core, mailboxId, header);
  }

  /** Checks the database against itself and the message files (`tidings verifydata`). */
  verify(): Promise<VerifyReport> {
    return verifyAccount(this.core);
  }

  // ---- quota ----

  async diskUsage(): Promise<number> {
    return this.core.diskUsage();
  }

  async quotaLimit(): Promise<number> {
    return this.core.quotaLimit();
  }

  /** The account's live messages (for the MESSAGE quota, RFC 9208 §5.2). */
  async messageCount(): Promise<number> {
    return this.core.messageCount();
  }

  /** Most messages the account may hold; 0 means unlimited. */
  async messageLimit(): Promise<number> {
    return this.core.messageLimit();
  }

  /** Whether adding `count` messages of `size` bytes in all stays within the quotas. */
  async canAdd(size: number, count = 1): Promise<boolean> {
    return this.core.overQuota(size, count) === null;
  }

  /** Which quota adding `count` messages of `size` bytes would exceed, said in words; or null. */
  async overQuota(size: number, count = 1): Promise<string | null> {
    return this.core.overQuota(size, count);
  }

  // ---- passwords ----

  async secrets<T = unknown>(): Promise<T | null> {
    return password.secrets<T>(this.core);
  }

  setSecrets(secrets: unknown): Promise<void> {
    return password.setSecrets(this.core, secrets);
  }

  // ---- mailbox writes ----

  /**
   * Creates a mailbox and any missing parents, all subscribed (RFC 9051 §6.3.4).
   * Returns the mailboxes created, parents first.
   */
  createMailbox(
    name: string,
    opts: { specialUse?: string | null; subscribe?: boolean } = {},
    from: Session | null = null,
  ): Promise<Mailbox[]> {
    return mailboxes.createMailbox(this.core, name, opts, from);
  }

  /** Deletes a leaf mailbox and its messages (RFC 9051 §6.3.5). */
  deleteMailbox(name: string, from: Session | null = null): Promise<void> {
    return mailboxes.deleteMailbox(this.core, name, from);
  }

  /**
   * Renames a mailbox with its children; new parents are created and subscribed.
   * Renaming Inbox moves its messages into a new mailbox (RFC 9051 §6.3.6).
   */
  renameMailbox(oldName: string, newName: string, from: Session | null = null): Promise<Mailbox> {
    return mailboxes.renameMailbox(this.core, oldName, newName, from);
  }

  subscribe(name: string, from: Session | null = null): Promise<boolean> {
    return mailboxes.subscribe(this.core, name, from);
  }

  /** Unsubscribes; an error only when neither subscribed nor existing. */
  unsubscribe(name: string, from: Session | null = null): Promise<void> {
    return mailboxes.unsubscribe(this.core, name, from);
  }

  /** Sets (or clears, with null) a mailbox's special use; it is taken from any other mailbox. */
  setSpecialUse(name: string, use: string | null, from: Session | null = null): Promise<void> {
    return mailboxes.setSpecialUse(this.core, name, use, from);
  }

  // ---- annotations (METADATA, RFC 5464) ----

  /** Annotations of a mailbox, or account-wide ones with mailboxId 0, sorted by key. */
  async annotations(mailboxId: number): Promise<annotations.Annotation[]> {
    return annotations.annotations(this.core, mailboxId);
  }

  /** Sets annotations (a null value removes one) in one transaction, within the limits. */
  setAnnotations(
    mailboxId: number,
    entries: { key: string; value: Buffer | null; isString?: boolean }[],
    from: Session | null = null,
  ): Promise<void> {
    return annotations.setAnnotations(this.core, mailboxId, entries, from);
  }

  // ---- message writes ----

  /**
   * Adds messages to a mailbox atomically: all are stored or none (MULTIAPPEND,
   * delivery), grouped with other adds waiting for the lock. Creates the mailbox (with
   * parents) when `create` is set and it does not exist.
   */
  addMessages(
    mailbox: number | string,
    items: adds.NewMessage[],
    opts: adds.AddOptions = {},
  ): Promise<adds.AddResult> {
    return adds.addMessages(this.core, this.addQueue, mailbox, items, opts);
  }

  /** Changes flags and keywords of messages, one modseq for all (RFC 9051 §6.4.6). */
  storeFlags(
    mailboxId: number,
    uids: number[],
    op: msgs.FlagOp,
    from: Session | null = null,
  ): Promise<msgs.FlagResult> {
    return msgs.storeFlags(this.core, mailboxId, uids, op, from);
  }

  /** Expunges the \Deleted messages of a mailbox, limited to `uids` when given. */
  expunge(
    mailboxId: number,
    uids: number[] | null,
    from: Session | null = null,
  ): Promise<{ uids: number[]; modseq: number | null }> {
    return msgs.expunge(this.core, mailboxId, uids, from);
  }

  /** Copies messages; files are hard-linked (RFC 9051 §6.4.7). */
  copyMessages(
    srcId: number,
    uids: number[],
    dstId: number,
    from: Session | null = null,
  ): Promise<msgs.CopyResult> {
    return msgs.copyMessages(this.core, srcId, uids, dstId, from);
  }

  /** Moves messages, leaving expunged tombstones in the source (RFC 6851). */
  moveMessages(
    srcId: number,
    uids: number[],
    dstId: number,
    from: Session | null = null,
  ): Promise<msgs.CopyResult> {
    return this.core.withLock(() => msgs.moveLocked(this.core, srcId, uids, dstId, from));
  }

  async close(): Promise<void> {
    const core = this.core;
    if (core.closed) return;
    await core.durable().catch(() => {});
    await files.settle(core);
    await core.mutex.run(async () => {
      await files.eraseQueued(core);
      core.closed = true;
    });
    await files.closeFiles(core);
    await core.closeDatabase();
  }
}
