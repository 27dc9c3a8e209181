// Protocol-test harness for the SMTP server: a store with accounts, the three listener
// kinds on port 0, a mock DNS resolver, a queue (recording or real), and a raw client.
import { DnsblChecker } from '../../src/msgauth/index.js';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type Account } from '../../src/store/index.js';
import { parseDomainsConfig, type DomainsConfig } from '../../src/config/index.js';
import {
  generateSelfSigned,
  loadTlsContext,
  RateLimiter,
  ConnectionCounter,
  AuthFailureLimiter,
} from '../../src/net/index.js';
import { createLogger } from '../../src/log/index.js';
import { deriveSecrets } from '../../src/sasl/index.js';
import { MockResolver, type MockZone, type Resolver } from '../../src/dns/index.js';
import { Queue, type NewQueueMessage, type QueueMessage } from '../../src/queue/index.js';
import {
  startSmtpServer,
  DeliveryRateLimiter,
  type SmtpContext,
  type SmtpKind,
  type SmtpLimits,
  type SmtpServer,
  type QueueAdder,
} from '../../src/smtpserver/index.js';

export const PASSWORD = 'testtest';

export const DOMAINS = `[domains."example.org"]
localpart_catchall_separators = ["+"]

[accounts.mjl]
domain = "example.org"
destinations = { "mjl@example.org" = {}, "other@example.org" = { mailbox = "Other" } }

[accounts.limited]
domain = "example.org"
destinations = { "limited@example.org" = {} }
quota = 3000

[accounts.disabled]
domain = "example.org"
destinations = { "disabled@example.org" = {} }
login_disabled = "account under maintenance, try again tomorrow"

[aliases."team@example.org"]
members = ["mjl@example.org", "limited@example.org"]
allow_msg_from = true

[aliases."private@example.org"]
members = ["mjl@example.org"]
`;

/** DNS for the tests: sender domains with and without mail servers. */
export const ZONE: MockZone = {
  mx: {
    'sender.example': [{ exchange: 'mx.sender.example', priority: 10 }],
    'nullmx.example': [{ exchange: '', priority: 0 }],
  },
  a: {
    'mx.sender.example': ['192.0.2.10'],
    'implicit.example': ['192.0.2.11'],
    'client.example': ['192.0.2.12'],
  },
  fail: { 'MX tempfail.example': 'temporary' },
};

/** A queue that keeps copies of what it was given, for protocol tests. */
export class RecordingQueue implements QueueAdder {
  readonly added: { data: Buffer; msgs: NewQueueMessage[] }[] = [];
  fail: Error | null = null;
  async add(file: string, msgs: NewQueueMessage[]): Promise<QueueMessage[]> {
    if (this.fail) throw this.fail;
    this.added.push({ data: await readFile(file), msgs });
    return [];
  }
}

let certCache: { certPem: string; keyPem: string } | null = null;

export type SmtpTestServer = {
  dir: string;
  store: Store;
  domains: DomainsConfig;
  resolver: MockResolver;
  queue: RecordingQueue | Queue;
  recorded: RecordingQueue;
  smtp: SmtpServer;
  submission: SmtpServer;
  submissions: SmtpServer;
  certPem: string;
  close(): Promise<void>;
};

export type SmtpTestOptions = {
  limits?: Partial<SmtpLimits>;
  delays?: Partial<SmtpContext['delays']>;
  limiters?: Partial<SmtpContext['limiters']>;
  /** Submission without TLS allowed (like no_require_starttls). */
  noRequireSTARTTLS?: boolean;
  requireTLSForDelivery?: boolean;
  /** Use the real queue (local delivery into the store) instead of the recording one. */
  realQueue?: boolean;
  localserve?: boolean;
  domains?: string;
  /** DKIM signing of submitted messages. */
  dkimSign?: SmtpContext['dkimSign'];
  log?: SmtpContext['log'];
  /** Verification settings of incoming mail (timeouts, trusted ARC sealers, clock, sampling). */
  verification?: SmtpContext['verification'];
  /** DNS blocklist zones for port 25, answered by the test resolver. */
  dnsbls?: string[];
  /** Keep DMARC evaluations for outgoing aggregate reports. */
  dmarcReports?: boolean;
  /** DNS for the server instead of the mock one (`resolver` is then not asked). */
  dns?: Resolver;
};

export async function startSmtpTestServer(opts: SmtpTestOptions = {}): Promise<SmtpTestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-smtp-'));
  certCache ??= await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
  await writeFile(join(dir, 'cert.pem'), certCache.certPem);
  await writeFile(join(dir, 'key.pem'), certCache.keyPem);
  const domains = parseDomainsConfig(opts.domains ?? DOMAINS, 'domains.toml');
  const store = await Store.open({
    dataDir: join(dir, 'data'),
    cleanup: true,
    quota: (a) => domains.accounts[a]?.quota ?? 0,
    initialMailboxes: () => domains.initial_mailboxes,
  });
  const secrets = await deriveSecrets(PASSWORD);
  for (const name of Object.keys(domains.accounts)) {
    await (await store.account(name)).setSecrets(secrets);
  }
  const log = opts.log ?? createLogger({ level: process.env.TIDINGS_TEST_LOG ?? 'error' } as never);
  const recorded = new RecordingQueue();
  const queue = opts.realQueue
    ? await Queue.open({ store, domains: () => domains, hostname: 'mail.example.org', log })
    : recorded;
  if (queue instanceof Queue) queue.start();
  const resolver = new MockResolver(ZONE);
  const dns = opts.dns ?? resolver;
  const dnsbl = opts.dnsbls?.length
    ? new DnsblChecker({ zones: opts.dnsbls, resolver: dns, log, timeoutMs: 2000 })
    : null;
  const tlsOpts = loadTlsContext([
    { cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') },
  ]);
  const limiters = {
    rate: new RateLimiter({ windowMs: 60_000, limits: [100_000, 100_000, 100_000] }),
    connections: new ConnectionCounter({ limits: [10_000, 10_000, 10_000] }),
    // Generous: a test of the limits passes its own; a shared server must not lock out
    // the tests that fail logins on purpose.
    authFailures: new AuthFailureLimiter({
      perMinute: [1000, 1000, 1000],
      perDay: [10_000, 10_000, 10_000],
      perAccount: [1000, 10_000],
    }),
    delivery: new DeliveryRateLimiter(),
    ...opts.limiters,
  };
  const ctx = (kind: SmtpKind): Omit<SmtpContext, 'isShuttingDown'> => {
    const submission = kind !== 'smtp';
    const requireTLS = kind === 'submissions' || (kind === 'submission' && !opts.noRequireSTARTTLS);
    return {
      kind,
      store,
      domains: () => domains,
      hostname: 'mail.example.org',
      tls: tlsOpts,
      requireTLSForAuth: submission ? requireTLS : true,
      requireTLSForDelivery: submission ? requireTLS : (opts.requireTLSForDelivery ?? false),
      requireTLSExtension: true,
      limits: {
        maxLineLength: 2048,
        maxRecipients: 1000,
        maxReceivedHeaders: 100,
        maxBadTransactions: 10,
        maxMessageSize: 10 * 1024 * 1024,
        defaultMaxMessageSize: 10 * 1024 * 1024,
        maxOutgoingPerDay: 1000,
        maxFirstTimeRecipientsPerDay: 200,
        ...opts.limits,
      },
      delays: {
        authFail: 0,
        badClient: 0,
        firstTimeSender: 0,
        unknownRecipients: 0,
        localserveTimeout: 200,
        ...opts.delays,
      },
      limiters,
      resolver: dns,
      queue,
      log,
      localserve: opts.localserve ? { account: 'mjl' } : null,
      ...(opts.dkimSign ? { dkimSign: opts.dkimSign } : {}),
      ...(opts.verification ? { verification: opts.verification } : {}),
      dnsbl: kind === 'smtp' ? dnsbl : null,
      ...(opts.dmarcReports ? { dmarcReports: true } : {}),
    };
  };
  const smtp = await startSmtpServer(ctx('smtp'), '127.0.0.1', 0);
  const submission = await startSmtpServer(ctx('submission'), '127.0.0.1', 0);
  const submissions = await startSmtpServer(ctx('submissions'), '127.0.0.1', 0);
  return {
    dir,
    store,
    domains,
    resolver,
    queue,
    recorded,
    smtp,
    submission,
    submissions,
    certPem: certCache.certPem,
    close: async () => {
      await smtp.close();
      await submission.close();
      await submissions.close();
      if (queue instanceof Queue) await queue.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export type Reply = { code: number; lines: string[]; text: string };

/** A raw SMTP client for protocol tests. */
type ConnectOptions = {
  tls?: boolean;
  cert?: { certPem: string; keyPem: string };
  /** The client's own address, e.g. 127.0.0.2 to come from another network. */
  localAddress?: string;
};

export class SmtpTestClient {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  socket: net.Socket;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.attach();
  }

  private attach(): void {
    this.socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(port: number, opts: ConnectOptions = {}) {
    const localAddress = opts.localAddress;
    const socket = opts.tls
      ? tls.connect({
          host: '127.0.0.1',
          port,
          ...(localAddress
            ? { socket: net.connect({ host: '127.0.0.1', port, localAddress }) }
            : {}),
          rejectUnauthorized: false,
          ...(opts.cert ? { cert: opts.cert.certPem, key: opts.cert.keyPem } : {}),
        })
      : net.connect({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new SmtpTestClient(socket);
    return c;
  }

  /** Connects and reads the greeting. */
  static async open(port: number, opts: ConnectOptions = {}) {
    const c = await SmtpTestClient.connect(port, opts);
    const g = await c.reply();
    if (g.code !== 220) throw new Error(`greeting: ${g.text}`);
    return c;
  }

  /** The next line without CRLF, or null at end of stream. */
  async readLine(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const line = this.buf.subarray(0, i).toString('utf8');
        this.buf = this.buf.subarray(i + 2);
        return line;
      }
      if (this.ended) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timeout waiting for a line');
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Reads one (possibly multi-line) reply. */
  async reply(timeoutMs?: number): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.readLine(timeoutMs);
      if (l === null) throw new Error(`connection closed; got ${JSON.stringify(lines)}`);
      lines.push(l);
      if (l.length < 4 || l[3] === ' ') break;
    }
    const code = Number(lines[0]!.slice(0, 3));
    return { code, lines, text: lines.join('\n') };
  }

  write(s: string | Buffer): void {
    this.socket.write(s);
  }

  async cmd(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  /** Sends a command and asserts the reply code, returning the reply. */
  async ok(line: string, code = 250): Promise<Reply> {
    const r = await this.cmd(line);
    if (r.code !== code) throw new Error(`${line}: expected ${code}, got ${r.text}`);
    return r;
  }

  async starttls(): Promise<void> {
    await this.ok('STARTTLS', 220);
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('close');
    const s = tls.connect({ socket: this.socket, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => {
      s.once('secureConnect', () => resolve());
      s.once('error', reject);
    });
    this.socket = s;
    this.buf = Buffer.alloc(0);
    this.attach();
  }

  /** EHLO, STARTTLS when asked, EHLO again, AUTH PLAIN. */
  async login(user = 'mjl@example.org', password = PASSWORD, useTLS = true): Promise<void> {
    await this.ok('EHLO client.example');
    if (useTLS) {
      await this.starttls();
      await this.ok('EHLO client.example');
    }
    const ir = Buffer.from(`\0${user}\0${password}`).toString('base64');
    await this.ok(`AUTH PLAIN ${ir}`, 235);
  }

  /** Whether the server closed the connection (within the timeout). */
  async closed(timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.ended;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The first `bytes` of each stored message of a mailbox, with its flags, in UID order. */
export async function storedHeads(
  a: Account,
  mailbox: string,
  bytes = 800,
): Promise<{ text: string; flags: number }[]> {
  const mb = await a.mailbox(mailbox);
  if (!mb) return [];
  const out: { text: string; flags: number }[] = [];
  for (const m of await a.messages(mb.id, await a.uids(mb.id))) {
    const text = (await a.readMessage(m, 0, Math.min(m.size, bytes))).toString();
    out.push({ text, flags: m.flags });
  }
  return out;
}

/** X-Tidings-Reason of each stored message of a mailbox: whole, or the reason alone. */
export async function reasonsIn(a: Account, mailbox: string, whole = false): Promise<string[]> {
  const re = whole ? /^X-Tidings-Reason: ([^\r]*)/m : /^X-Tidings-Reason: ([^;\r]*)/m;
  return (await storedHeads(a, mailbox)).map((h) => re.exec(h.text)?.[1] ?? '');
}

/** A minimal message with CRLF line endings. */
export function message(
  opts: { from?: string; to?: string; subject?: string; body?: string; extra?: string } = {},
) {
  return (
    `From: ${opts.from ?? 'Sender <sender@sender.example>'}\r\n` +
    `To: ${opts.to ?? 'mjl@example.org'}\r\n` +
    `Subject: ${opts.subject ?? 'test'}\r\n` +
    `Message-ID: <test-${Math.random().toString(36).slice(2)}@sender.example>\r\n` +
    `Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n` +
    (opts.extra ?? '') +
    `\r\n` +
    `${opts.body ?? 'hello'}\r\n`
  );
}

/** Sends a message through an open, greeted connection; returns the final reply. */
export async function send(
  c: SmtpTestClient,
  from: string,
  to: string[],
  data: string,
): Promise<Reply> {
  await c.ok(`MAIL FROM:<${from}>`);
  for (const t of to) await c.ok(`RCPT TO:<${t}>`);
  await c.ok('DATA', 354);
  c.write(data.replace(/^\./gm, '..') + '.\r\n');
  return c.reply();
}

/** Reply lines; an error reply must end in " (<cid>)", which is checked and removed. */
export function textOf(r: Reply): string[] {
  if (r.code < 400) return r.lines;
  const last = r.lines[r.lines.length - 1] ?? '';
  const m = / \([0-9a-z]+\)$/.exec(last);
  assert.ok(m, `error reply without connection id: ${JSON.stringify(r.lines)}`);
  return [...r.lines.slice(0, -1), last.slice(0, m.index)];
}

/** Sends a command and asserts its reply lines (see textOf). */
export async function expectReply(
  c: SmtpTestClient,
  line: string,
  ...want: string[]
): Promise<void> {
  assert.deepEqual(textOf(await c.cmd(line)), want, line);
}

/** Runs fn against a fresh test server, closing it afterwards. */
export async function withServer(
  opts: SmtpTestOptions,
  fn: (s: SmtpTestServer) => Promise<void>,
): Promise<void> {
  const s = await startSmtpTestServer(opts);
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

/** A greeted port-25 connection. */
export async function smtp(
  s: SmtpTestServer,
  ehlo = 'EHLO client.example',
): Promise<SmtpTestClient> {
  const c = await SmtpTestClient.open(s.smtp.port);
  await c.ok(ehlo);
  return c;
}

/** A submission connection, logged in as mjl over STARTTLS. */
export async function submission(s: SmtpTestServer): Promise<SmtpTestClient> {
  const c = await SmtpTestClient.open(s.submission.port);
  await c.login();
  return c;
}
