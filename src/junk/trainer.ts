// Training an account's junk filter from what its user does, as it happens: setting
// $Junk or $NotJunk on a message, moving a message into a spam mailbox (Junk) or out of
// one, or taking a message out of Rejects. The trainer follows the account's change feed
// like an IMAP session does, after each commit, so every client (IMAP today) trains it.
// What the server itself decided (a delivery into Junk) teaches nothing: the filter
// would learn its own guesses. Training is idempotent per message; a changed mind
// retrains (see JunkFilter.train).
import type { JunkFilterConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import {
  Flag,
  type Account,
  type Change,
  type Mailbox,
  type Message,
  type Session,
  type Store,
} from '../store/index.js';
import {
  JunkFilter,
  TRAIN_READ_LIMIT,
  messageKey,
  trainingClass,
  type TrainMessage,
} from './filter.js';

export class JunkTrainer {
  private readonly session: Session;
  private running: Promise<void> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly account: Account,
    private readonly filter: JunkFilter,
    private readonly log: Logger,
  ) {
    this.session = account.switchboard.register(() => this.wake());
  }

  static async start(
    store: Store,
    account: Account,
    settings: Partial<JunkFilterConfig>,
    log: Logger,
  ): Promise<JunkTrainer> {
    const filter = await JunkFilter.open(store, account.name, settings);
    return new JunkTrainer(account, filter, log);
  }

  /** Resolves when every change seen so far has been trained. */
  settled(): Promise<void> {
    return this.running;
  }

  close(): void {
    this.closed = true;
    this.session.unregister();
  }

  private wake(): void {
    this.running = this.running
      .then(() => this.drain())
      .catch((e: unknown) => {
        this.log.error({ err: e, account: this.account.name }, 'training junk filter');
      });
  }

  private async drain(): Promise<void> {
    if (this.closed) return;
    const changes = this.session.take();
    const touched = new Map<number, Set<number>>();
    const add = (mailboxId: number, uid: number) => {
      let s = touched.get(mailboxId);
      if (!s) touched.set(mailboxId, (s = new Set()));
      s.add(uid);
    };
    for (const ch of changes as Change[]) {
      if (ch.kind === 'addUID') add(ch.mailboxId, ch.uid);
      else if (ch.kind === 'flags' && ch.mask & (Flag.Junk | Flag.NotJunk))
        add(ch.mailboxId, ch.uid);
    }
    if (touched.size === 0) return;
    const items: TrainMessage[] = [];
    for (const [mailboxId, uids] of touched) {
      const mb = await this.account.mailboxById(mailboxId);
      if (!mb) continue;
      for (const m of await this.account.messages(mailboxId, [...uids])) {
        const cls = await this.classOf(m, mb);
        if (!cls) continue;
        const data = await this.account.readMessage(m, 0, Math.min(m.size, TRAIN_READ_LIMIT));
        items.push({ key: messageKey(m), spam: cls === 'spam', message: data });
      }
    }
    if (items.length > 0) await this.filter.train(items);
  }

  /**
   * What a changed message teaches: its $Junk or $NotJunk flag; or its mailbox, for a
   * message the user put where it is (moved or copied there, taken out of Rejects) or
   * one trained before (moved back where it was delivered, out of Junk).
   */
  private async classOf(m: Message, mb: Mailbox): Promise<'ham' | 'spam' | null> {
    const explicit = ((m.flags & Flag.Junk) !== 0) !== ((m.flags & Flag.NotJunk) !== 0);
    if (explicit) return trainingClass(m, mb, this.filter.settings);
    const placedByUser = m.mailboxDestinedId !== 0 && m.mailboxDestinedId !== m.mailboxId;
    if (!placedByUser && (await this.filter.db.trainedAs(messageKey(m))) === null) return null;
    return trainingClass(m, mb, this.filter.settings);
  }
}
