// What the parts of the queue share: its options, the state the Queue class creates once
// (database, files, rules, local delivery, settings) and hands to the runner, the
// delivery attempt and settle, and the types that pass between them.
import type { EventEmitter } from 'node:events';
import type { Store } from '../store/store.js';
import type { DomainsConfig } from '../config/domains.js';
import type { Logger } from '../log/index.js';
import type { QueueDB, Stored } from './db.js';
import type { QueueFiles } from './files.js';
import type { LocalDelivery } from './local.js';
import type { Rules } from './rules.js';
import type {
  AttemptResult,
  DeliveryOutcome,
  NewQueueMessage,
  QueueMessage,
  RemoteDeliverer,
} from './types.js';

export type QueueOptions = {
  store: Store;
  domains: () => DomainsConfig;
  hostname: string;
  log: Logger;
  /** Milliseconds since the epoch; timers compute their delays with it. */
  clock?: () => number;
  /** Deliver to local domains directly (default true); false sends everything remote. */
  localDelivery?: boolean;
  remote?: RemoteDeliverer | null;
  backoffBaseMs?: number;
  maxAgeMs?: number;
  delayDSNAfterMs?: number;
  /** Delivery attempts (local messages or remote groups) at once; default 10. */
  maxConcurrent?: number;
  /**
   * Remove crash leftovers at open (default true): orphan files, and rows whose file is
   * missing (failed with a DSN). Only the process that runs the queue may do this.
   */
  cleanup?: boolean;
  /** Test hook: runs inside add()'s transaction after the inserts. */
  beforeCommit?: () => void;
  /**
   * localserve: nothing leaves the machine; every recipient is delivered to this
   * account, unless its localpart asks for a simulated failure ("queue550@...").
   */
  localserve?: { account: string } | null;
  /**
   * DKIM-signs a message the queue composes (DSNs) before it is queued for remote
   * delivery: returns header fields to prepend, or '' when the domain signs nothing.
   */
  sign?: (fromDomain: string, data: Buffer) => Promise<string>;
};

export interface QueueEvents {
  delivered: [QueueMessage, AttemptResult];
  failed: [QueueMessage, AttemptResult];
  retry: [QueueMessage, AttemptResult];
}

/** One queue's shared state, with the options' defaults applied. */
export type QueueContext = {
  opts: QueueOptions;
  db: QueueDB;
  rules: Rules;
  files: QueueFiles;
  local: LocalDelivery;
  log: Logger;
  clock: () => number;
  localDelivery: boolean;
  backoffBase: number;
  maxAge: number;
  delayDSNAfter: number;
  maxConcurrent: number;
  /** Queues a message the queue composed itself (a DSN), as Queue.add does. */
  add: (file: string, msgs: NewQueueMessage[]) => Promise<QueueMessage[]>;
  /** Where delivered, failed and retry events go (the Queue itself). */
  events: EventEmitter<QueueEvents>;
};

/** The outcome of one message in an attempt. */
export type Attempt = { s: Stored; outcome: DeliveryOutcome; local: boolean };

/** What one delivery attempt produced, for settle(). */
export type Attempted = { start: number; attempts: Attempt[] };

/** Removes queue files no message references any more, and their cached structure. */
export async function removeFiles(ctx: QueueContext, fileIds: number[]): Promise<void> {
  for (const f of fileIds) {
    ctx.local.forget(f);
    await ctx.files.remove(f);
  }
}
