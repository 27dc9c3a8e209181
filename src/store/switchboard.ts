// Per-account change broadcast. Every session of an account (IMAP now; webmail and
// JMAP later) registers; after each commit the writer, still holding the account's
// write lock, hands the change list to every other session, so all sessions see changes
// in commit order. A session takes its pending changes when its protocol allows
// (before a tagged reply, during IDLE), which also tells the switchboard it no longer
// references the messages those changes removed: a message file is erased only after
// every session registered at the time of the expunge has taken the removal.

export type Change =
  | {
      kind: 'addUID';
      mailboxId: number;
      uid: number;
      modseq: number;
      flags: number;
      keywords: string[];
    }
  | { kind: 'removeUIDs'; mailboxId: number; uids: number[]; modseq: number }
  | {
      kind: 'flags';
      mailboxId: number;
      uid: number;
      modseq: number;
      mask: number;
      flags: number;
      keywords: string[];
    }
  | { kind: 'addMailbox'; mailboxId: number; name: string; specialUse: string | null }
  | { kind: 'removeMailbox'; mailboxId: number; name: string }
  | {
      kind: 'renameMailbox';
      mailboxId: number;
      oldName: string;
      newName: string;
      specialUse: string | null;
    }
  | { kind: 'addSubscription'; name: string }
  | { kind: 'removeSubscription'; name: string }
  | { kind: 'mailboxCounts'; mailboxId: number; name: string; counts: MailboxCounts }
  | { kind: 'mailboxSpecialUse'; mailboxId: number; name: string; specialUse: string | null }
  | { kind: 'mailboxKeywords'; mailboxId: number; name: string; keywords: string[] }
  | { kind: 'annotation'; mailboxId: number; mailboxName: string; key: string; modseq: number };

export type MailboxCounts = { total: number; deleted: number; unseen: number; size: number };

/** Message row ids released by a removal, for file erasure once nobody references them. */
export type Removal = { messageIds: number[] };

type Entry = { changes: Change[]; removal: Removal | null };

export class Session {
  private pending: Entry[] = [];
  private waiter: (() => void) | null = null;
  /** Pending entries that were committed before this session's latest own commit. */
  private ownMark = 0;
  closed = false;

  constructor(
    private readonly board: Switchboard,
    readonly onPending: (() => void) | null,
  ) {}

  /** @internal */
  push(e: Entry): void {
    this.pending.push(e);
    const w = this.waiter;
    this.waiter = null;
    w?.();
    this.onPending?.();
  }

  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** @internal Called when this session commits a change of its own. */
  markOwnCommit(): void {
    this.ownMark = this.pending.length;
  }

  /**
   * Takes only the changes committed before this session's latest own commit, so a
   * session can apply them before the results of its own change (e.g. APPEND to the
   * selected mailbox: others' earlier UIDs first, then its own).
   */
  takeBeforeOwnCommit(): Change[] {
    return this.takeEntries(this.pending.splice(0, this.ownMark));
  }

  /** Returns the changes since the last call, in commit order, and releases their removals. */
  take(): Change[] {
    const entries = this.pending;
    this.pending = [];
    return this.takeEntries(entries);
  }

  /**
   * Like take, but the messages the changes removed stay referenced (their files kept)
   * until the caller hands the removals to release(): for a session that holds some
   * changes back from its client and may still read those messages.
   */
  takeHolding(): { changes: Change[]; removals: Removal[] } {
    const entries = this.pending;
    this.pending = [];
    this.ownMark = 0;
    const changes: Change[] = [];
    const removals: Removal[] = [];
    for (const e of entries) {
      for (const c of e.changes) changes.push(c);
      if (e.removal) removals.push(e.removal);
    }
    return { changes, removals };
  }

  /** Releases removals returned by takeHolding. */
  release(removals: readonly Removal[]): void {
    for (const r of removals) this.board.release(r);
  }

  private takeEntries(entries: Entry[]): Change[] {
    this.ownMark = 0;
    const out: Change[] = [];
    for (const e of entries) {
      for (const c of e.changes) out.push(c);
      if (e.removal) this.board.release(e.removal);
    }
    return out;
  }

  /** Resolves when changes are pending (immediately if some already are). */
  wait(): Promise<void> {
    if (this.pending.length > 0 || this.closed) return Promise.resolve();
    return new Promise((r) => (this.waiter = r));
  }

  unregister(): void {
    if (this.closed) return;
    this.closed = true;
    this.board.unregister(this);
    for (const e of this.pending) if (e.removal) this.board.release(e.removal);
    this.pending = [];
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

export class Switchboard {
  private sessions = new Set<Session>();
  private refs = new Map<number, number>();

  /** @param erase called with message ids that no session references any more. */
  constructor(private readonly erase: (messageIds: number[]) => void) {}

  register(onPending?: () => void): Session {
    const s = new Session(this, onPending ?? null);
    this.sessions.add(s);
    return s;
  }

  /** @internal */
  unregister(s: Session): void {
    this.sessions.delete(s);
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /**
   * Sends changes to every session except `from`. Removed message ids stay referenced
   * until each of those sessions has taken the change; with no other session they are
   * erased at once.
   */
  broadcast(from: Session | null, changes: Change[], removedMessageIds: number[]): void {
    from?.markOwnCommit();
    const targets = [...this.sessions].filter((s) => s !== from);
    const removal = removedMessageIds.length > 0 ? { messageIds: removedMessageIds } : null;
    if (removal) {
      if (targets.length === 0) {
        this.erase(removal.messageIds);
      } else {
        for (const id of removal.messageIds) {
          this.refs.set(id, (this.refs.get(id) ?? 0) + targets.length);
        }
      }
    }
    if (changes.length === 0 && !removal) return;
    for (const s of targets) s.push({ changes, removal });
  }

  /** @internal */
  release(r: Removal): void {
    const done: number[] = [];
    for (const id of r.messageIds) {
      const n = (this.refs.get(id) ?? 1) - 1;
      if (n <= 0) {
        this.refs.delete(id);
        done.push(id);
      } else {
        this.refs.set(id, n);
      }
    }
    if (done.length > 0) this.erase(done);
  }

  /** Message ids still referenced by some session. */
  get referenced(): number {
    return this.refs.size;
  }
}
