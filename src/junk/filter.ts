// An account's junk filter as the rest of the program uses it: tokenizes messages,
// classifies them with the account's threshold, trains and untrains them (idempotently,
// by message key), and relearns an account from its mailboxes and flags.
import { createHash } from 'node:crypto';
import type { JunkFilterConfig } from '../config/index.js';
import type { Part } from '../message/index.js';
import {
  Flag,
  type Account,
  type JunkDB,
  type JunkStats,
  type Mailbox,
  type Message,
  type Store,
  type TrainResult,
} from '../store/index.js';
import { CLASSIFY_DEFAULTS, classifyCounts, type Classification } from './classify.js';
import { tokenize, type Tokens, type TokenizeOptions } from './tokenize.js';

/** The settings of [accounts.NAME.junk_filter] with their defaults. */
export const JUNK_FILTER_DEFAULTS: JunkFilterConfig = {
  enabled: true,
  threshold: CLASSIFY_DEFAULTS.threshold,
  ham_mailboxes: ['Inbox', '\\Archive'],
  spam_mailboxes: ['\\Junk'],
  max_tokens: 500_000,
};

/** A message given by its bytes (with its part tree when known) or by its tokens. */
export type MessageSource = { message: Buffer; part?: Part } | { tokens: Tokens };

/** A message to train, under its key (see messageKey and contentKey). */
export type TrainMessage = { key: string; spam: boolean } & MessageSource;

/** The training key of a stored message: its id, which moves keep. */
export function messageKey(m: Message): string {
  return `msg:${m.id}`;
}

/** The training key of a message known only by its bytes. */
export function contentKey(message: Buffer): string {
  return `sha256:${createHash('sha256').update(message).digest('hex')}`;
}

export class JunkFilter {
  private constructor(
    readonly db: JunkDB,
    readonly settings: JunkFilterConfig,
    private readonly tokenizeOptions: TokenizeOptions,
  ) {}

  /** The filter of an existing account, with its settings (defaults for those not given). */
  static async open(
    store: Store,
    account: string,
    settings: Partial<JunkFilterConfig> = {},
    tokenizeOptions: TokenizeOptions = {},
  ): Promise<JunkFilter> {
    const s = { ...JUNK_FILTER_DEFAULTS, ...settings };
    const db = await store.junkFilter(account, { maxTokens: s.max_tokens });
    return new JunkFilter(db, s, tokenizeOptions);
  }

  /** The tokens of a message (see tokenize.ts). */
  tokens(message: Buffer, part?: Part): Tokens {
    return tokenize(message, part, this.tokenizeOptions);
  }

  /** The junk probability of a message, whether it reaches the threshold, and why. */
  async classify(message: Buffer | Tokens, part?: Part): Promise<Classification> {
    const tokens = Buffer.isBuffer(message) ? this.tokens(message, part) : message;
    const c = await this.db.counts(tokens.keys);
    return classifyCounts(tokens, c, c.totals, { threshold: this.settings.threshold });
  }

  /** Trains messages (see JunkDB.train: idempotent per key, switching classes as needed). */
  train(items: readonly TrainMessage[]): Promise<TrainResult> {
    return this.db.train(
      items.map((it) => ({ key: it.key, spam: it.spam, tokens: this.keysOf(it) })),
    );
  }

  /** Forgets messages; returns how many had been trained. */
  untrain(items: readonly ({ key: string } & MessageSource)[]): Promise<number> {
    return this.db.untrain(items.map((it) => ({ key: it.key, tokens: this.keysOf(it) })));
  }

  private keysOf(it: MessageSource): Float64Array {
    return 'tokens' in it ? it.tokens.keys : this.tokens(it.message, it.part).keys;
  }

  stats(): Promise<JunkStats> {
    return this.db.stats();
  }

  reset(): Promise<void> {
    return this.db.reset();
  }
}

/** Whether a mailbox is one of a list of names and special-use attributes. */
function listed(mb: Mailbox, list: readonly string[]): boolean {
  return list.some((e) => (e.startsWith('\\') ? mb.specialUse === e : mb.name === e));
}

/**
 * What a stored message teaches: $Junk and $NotJunk flags decide wherever it is (both
 * or neither: its mailbox does); otherwise spam in a spam mailbox, ham in a ham mailbox
 * (a spam mailbox wins when a mailbox is both), nothing elsewhere.
 */
export function trainingClass(
  m: Pick<Message, 'flags'>,
  mb: Mailbox,
  s: Pick<JunkFilterConfig, 'ham_mailboxes' | 'spam_mailboxes'>,
): 'ham' | 'spam' | null {
  const junk = (m.flags & Flag.Junk) !== 0;
  const notJunk = (m.flags & Flag.NotJunk) !== 0;
  if (junk !== notJunk) return junk ? 'spam' : 'ham';
  if (listed(mb, s.spam_mailboxes)) return 'spam';
  if (listed(mb, s.ham_mailboxes)) return 'ham';
  return null;
}

export type RetrainReport = { ham: number; spam: number; skipped: number; mailboxes: number };

const RETRAIN_BATCH = 200;
/** Bytes of a stored message read for training. */
export const TRAIN_READ_LIMIT = 2 * 1024 * 1024;

/**
 * Forgets all training of an account, then learns its messages as trainingClass says,
 * a batch of messages at a time.
 */
export async function retrain(
  account: Account,
  filter: JunkFilter,
  progress?: (r: RetrainReport) => void,
): Promise<RetrainReport> {
  await filter.reset();
  const r: RetrainReport = { ham: 0, spam: 0, skipped: 0, mailboxes: 0 };
  for (const mb of await account.mailboxes()) {
    r.mailboxes++;
    const uids = await account.uids(mb.id);
    for (let at = 0; at < uids.length; at += RETRAIN_BATCH) {
      const batch: TrainMessage[] = [];
      for (const m of await account.messages(mb.id, uids.slice(at, at + RETRAIN_BATCH))) {
        const cls = trainingClass(m, mb, filter.settings);
        if (cls === null) {
          r.skipped++;
          continue;
        }
        // Bounded: text beyond the first bytes is not tokenized anyway.
        const data = await account.readMessage(m, 0, Math.min(m.size, TRAIN_READ_LIMIT));
        batch.push({
          key: messageKey(m),
          spam: cls === 'spam',
          tokens: filter.tokens(data, m.part),
        });
        r[cls]++;
      }
      await filter.train(batch);
      progress?.(r);
    }
  }
  return r;
}
