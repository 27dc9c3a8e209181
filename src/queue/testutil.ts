// Helpers for queue tests: a store in a temp directory, a fixed domains config, an
// adjustable clock, and readers for what landed in mailboxes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../store/store.js';
import { parseDomainsConfig, type DomainsConfig } from '../config/domains.js';
import { createLogger } from '../log/index.js';
import { parseDSN, type ParsedDSN } from '../message/index.js';
import { Queue, type QueueOptions } from './queue.js';
import type { NewQueueMessage, QueueMessage } from './types.js';

export const DOMAINS = `
[domains."example.com"]
localpart_catchall_separators = ["+"]
[accounts.alice]
domain = "example.com"
destinations.alice = {}
[accounts.bob]
domain = "example.com"
destinations.bob = {}
destinations."bob.lists" = { mailbox = "Lists" }
[accounts.carol]
domain = "example.com"
destinations.carol = {}
[aliases."team@example.com"]
members = ["alice@example.com", "bob@example.com", "bob.lists@example.com", "carol@example.com"]
`;

export const T0 = Date.UTC(2024, 0, 15, 12, 0, 0);
export const MIN = 60 * 1000;
export const HOUR = 60 * MIN;

export const ORIGINAL = Buffer.from(
  'From: Alice <alice@example.com>\r\nTo: someone@remote.example\r\nSubject: Hello\r\n' +
    'Message-ID: <orig-1@example.com>\r\nDate: Mon, 15 Jan 2024 12:00:00 +0000\r\n\r\n' +
    'Hi there.\r\n',
);

export type Harness = {
  q: Queue;
  store: Store;
  dir: string;
  cfg: DomainsConfig;
  now: () => number;
  setNow(t: number): void;
  /** Writes data to a temp file, queues it, removes the temp file. */
  submit(data: Buffer, msgs: NewQueueMessage[]): Promise<QueueMessage[]>;
  /** Closes queue runner and store, and opens both again on the same directory. */
  reopen(extra?: Partial<QueueOptions>): Promise<void>;
  close(): Promise<void>;
};

export async function harness(
  opts: { quota?: (account: string) => number } & Partial<QueueOptions> = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-queue-'));
  const cfg = parseDomainsConfig(DOMAINS, '/test/domains.toml');
  let now = T0;
  const { quota, ...qopts } = opts;
  const openAll = async (extra: Partial<QueueOptions>) => {
    const store = await Store.open({ dataDir: dir, cleanup: true, ...(quota ? { quota } : {}) });
    const q = await Queue.open({
      store,
      domains: () => cfg,
      hostname: 'mail.example.com',
      log: createLogger({ level: 'silent' }),
      clock: () => now,
      ...qopts,
      ...extra,
    });
    return { store, q };
  };
  let cur = await openAll({});
  const h: Harness = {
    get q() {
      return cur.q;
    },
    get store() {
      return cur.store;
    },
    dir,
    cfg,
    now: () => now,
    setNow: (t) => {
      now = t;
    },
    async submit(data, msgs) {
      const p = await cur.store.prepareMessage(data);
      try {
        return await cur.q.add(p.path, msgs);
      } finally {
        await p.cleanup();
      }
    },
    async reopen(extra = {}) {
      await cur.q.stop();
      await cur.store.close();
      cur = await openAll(extra);
    },
    async close() {
      await cur.q.stop();
      await cur.store.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

/** A queue message for "localpart@domain" with defaults for the other fields. */
export function msg(
  rcpt: string,
  over: Partial<NewQueueMessage> & { from?: string | null } = {},
): NewQueueMessage {
  const { from = 'alice@example.com', ...rest } = over;
  return {
    sender: from === null ? null : path(from),
    recipient: path(rcpt),
    account: 'alice',
    has8bit: false,
    smtputf8: false,
    messageId: '<orig-1@example.com>',
    subject: 'Hello',
    requireTLS: null,
    prefix: Buffer.from('Received: from client by mail.example.com\r\n'),
    ...rest,
  };
}

export function path(addr: string): { localpart: string; domain: string } {
  const at = addr.lastIndexOf('@');
  return { localpart: addr.slice(0, at), domain: addr.slice(at + 1) };
}

/** Every message in an account's mailbox, as stored bytes. */
export async function mailboxContents(
  store: Store,
  account: string,
  mailbox = 'Inbox',
): Promise<Buffer[]> {
  const acc = await store.account(account);
  const mb = await acc.mailbox(mailbox);
  if (!mb) return [];
  const out: Buffer[] = [];
  for (const m of await acc.messages(mb.id, await acc.uids(mb.id)))
    out.push(await acc.readMessage(m));
  return out;
}

/** The DSNs in an account's Inbox, parsed, with the raw bytes. */
export async function inboxDSNs(
  store: Store,
  account: string,
): Promise<{ raw: Buffer; dsn: ParsedDSN }[]> {
  const out: { raw: Buffer; dsn: ParsedDSN }[] = [];
  for (const raw of await mailboxContents(store, account)) {
    const dsn = parseDSN(raw);
    if (dsn) out.push({ raw, dsn });
  }
  return out;
}
