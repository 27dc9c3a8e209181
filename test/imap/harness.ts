// Protocol-test harness: a store with accounts, IMAP (STARTTLS) and IMAPS listeners on
// port 0, and a small raw client that sends tagged commands and collects the response
// lines (literals included).
import net from 'node:net';
import tls from 'node:tls';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { startImapServer, type ImapServer } from '../../src/imap/server.js';
import type { ImapContext, ImapLimits } from '../../src/imap/context.js';

export const PASSWORD = 'testtest';

const DOMAINS = `[domains."example.org"]
localpart_catchall_separators = ["+"]

[accounts.mjl]
domain = "example.org"
destinations = { "mjl@example.org" = {}, "other@example.org" = {} }

[accounts.limited]
domain = "example.org"
destinations = { "limited@example.org" = {} }
quota = 2000

[accounts.counted]
domain = "example.org"
destinations = { "counted@example.org" = {} }
quota_messages = 3

[accounts.disabled]
domain = "example.org"
destinations = { "disabled@example.org" = {} }
login_disabled = "account under maintenance, try again tomorrow"
`;

let certCache: { certPem: string; keyPem: string } | null = null;

export type TestServer = {
  dir: string;
  store: Store;
  domains: DomainsConfig;
  imap: ImapServer;
  imaps: ImapServer;
  certPem: string;
  close(): Promise<void>;
};

export type TestServerOptions = {
  log?: ImapContext['log'];
  /** Where the store keeps its data (default: in the server's temp directory). */
  dataDir?: string;
  limits?: Partial<ImapLimits>;
  noRequireSTARTTLS?: boolean;
  /** Slow-down delays in ms (default 0). */
  delays?: Partial<ImapContext['delays']>;
  /** Limiters shared by both listeners; each one not given is a per-listener default. */
  limiters?: Partial<ImapContext['limiters']>;
};

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-imap-'));
  certCache ??= await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
  await writeFile(join(dir, 'cert.pem'), certCache.certPem);
  await writeFile(join(dir, 'key.pem'), certCache.keyPem);
  const domains = parseDomainsConfig(DOMAINS, 'domains.toml');
  const store = await Store.open({
    dataDir: opts.dataDir ?? join(dir, 'data'),
    cleanup: true,
    quota: (a) => domains.accounts[a]?.quota ?? 0,
    messageQuota: (a) => domains.accounts[a]?.quota_messages ?? 0,
    initialMailboxes: () => domains.initial_mailboxes,
  });
  const secrets = await deriveSecrets(PASSWORD);
  for (const name of ['mjl', 'limited', 'counted', 'disabled']) {
    await (await store.account(name)).setSecrets(secrets);
  }
  const tlsOpts = loadTlsContext([
    { cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') },
  ]);
  const ctx = (service: 'imap' | 'imaps') => ({
    store,
    domains: () => domains,
    hostname: 'mail.example.org',
    tls: tlsOpts,
    service,
    noRequireSTARTTLS: opts.noRequireSTARTTLS ?? false,
    limits: {
      maxLineLength: 64 * 1024,
      maxLiteralSize: 100 * 1024,
      maxLiteralTotal: 1000 * 1024,
      maxLiterals: 1000,
      maxMessageSize: 50 * 1024 * 1024,
      ...opts.limits,
    },
    delays: { authFail: 0, badClient: 0, ...opts.delays },
    limiters: {
      rate: new RateLimiter({ windowMs: 60_000, limits: [100_000, 100_000, 100_000] }),
      connections: new ConnectionCounter({ limits: [10_000, 10_000, 10_000] }),
      // Generous: a test of the limits passes its own; a shared server must not lock out
      // the tests that fail logins on purpose.
      authFailures: new AuthFailureLimiter({
        perMinute: [1000, 1000, 1000],
        perDay: [10_000, 10_000, 10_000],
        perAccount: [1000, 10_000],
      }),
      ...opts.limiters,
    },
    log: opts.log ?? createLogger({ level: process.env.TIDINGS_TEST_LOG ?? 'error' } as never),
  });
  const imap = await startImapServer(ctx('imap'), '127.0.0.1', 0);
  const imaps = await startImapServer(ctx('imaps'), '127.0.0.1', 0);
  return {
    dir,
    store,
    domains,
    imap,
    imaps,
    certPem: certCache.certPem,
    close: async () => {
      await imap.close();
      await imaps.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Adds n small messages to a mailbox (created when missing) through the store. */
export async function addMessages(s: TestServer, a: Account, mailbox: string, n: number) {
  for (let i = 0; i < n; i++) {
    const p = await s.store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    await a.addMessages(mailbox, [{ message: p }], { create: true });
    await p.cleanup();
  }
}

/**
 * As if a session had already been told of a mailbox's messages: none is \Recent (RFC
 * 3501 §2.3.2) for the IMAP4rev1 sessions of tests about other things.
 */
export async function noneRecent(a: Account, mailbox: string): Promise<void> {
  const mb = await a.mailbox(mailbox);
  if (mb) a.claimRecentSync(mb.id, mb.uidnext - 1);
}

/** A raw IMAP client for protocol tests. Lines are returned without CRLF; a literal is
 * joined into its line as `{n}\r\n<data>`. */
export class Client {
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  private n = 0;
  greeting = '';

  private constructor(public socket: net.Socket) {
    this.attach(socket);
  }

  private attach(s: net.Socket) {
    s.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    s.on('end', () => {
      this.ended = true;
      this.wake();
    });
    s.on('close', () => {
      this.ended = true;
      this.wake();
    });
    s.on('error', () => {
      this.ended = true;
      this.wake();
    });
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  static async connect(
    port: number,
    opts: {
      tls?: boolean;
      cert?: { cert: string; key: string };
      /** Extra client TLS options, e.g. maxVersion. */
      tlsOptions?: tls.ConnectionOptions;
      /** The client's own address, e.g. 127.0.0.2 to come from another network. */
      localAddress?: string;
    } = {},
  ): Promise<Client> {
    const localAddress = opts.localAddress;
    const socket = opts.tls
      ? tls.connect({
          host: '127.0.0.1',
          port,
          ...(localAddress
            ? { socket: net.connect({ host: '127.0.0.1', port, localAddress }) }
            : {}),
          rejectUnauthorized: false,
          ...opts.tlsOptions,
          ...opts.cert,
        })
      : net.connect({ host: '127.0.0.1', port, localAddress });
    await new Promise<void>((resolve, reject) => {
      socket.once(opts.tls ? 'secureConnect' : 'connect', () => resolve());
      socket.once('error', reject);
    });
    const c = new Client(socket);
    c.greeting = await c.readLine();
    return c;
  }

  /** Connects, logs in as mjl (plaintext allowed? use imaps), returns the client. */
  static async login(server: TestServer, user = 'mjl@example.org'): Promise<Client> {
    const c = await Client.connect(server.imaps.port, { tls: true });
    await c.ok(`LOGIN ${user} ${PASSWORD}`);
    return c;
  }

  async readLine(timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        let line = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        const m = /\{(\d+)\}$/.exec(line);
        if (m) {
          const n = Number(m[1]);
          await this.waitFor(() => this.buf.length >= n, deadline);
          line += '\r\n' + this.buf.subarray(0, n).toString('latin1');
          this.buf = this.buf.subarray(n);
          line += await this.readLine(Math.max(1, deadline - Date.now()));
        }
        return line;
      }
      if (this.ended)
        throw new Error(
          `connection closed; pending: ${JSON.stringify(this.buf.toString('latin1'))}`,
        );
      await this.waitFor(() => this.buf.indexOf('\r\n') >= 0 || this.ended, deadline);
    }
  }

  private async waitFor(cond: () => boolean, deadline: number) {
    while (!cond()) {
      if (this.ended && !cond()) throw new Error('connection closed');
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timeout; pending: ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  write(s: string | Buffer) {
    this.socket.write(s);
  }

  nextTag(): string {
    return `A${++this.n}`;
  }

  /** The tag of the command sent last. */
  get lastTag(): string {
    return `A${this.n}`;
  }

  /** Sends `tag command` and returns all lines up to and including the tagged one. */
  async cmd(command: string): Promise<{ untagged: string[]; tagged: string; tag: string }> {
    const tag = this.nextTag();
    this.write(`${tag} ${command}\r\n`);
    return this.until(tag);
  }

  /** Like cmd, with the command given as octets in a latin1 string (for invalid UTF-8). */
  async cmdOctets(command: string): Promise<{ untagged: string[]; tagged: string; tag: string }> {
    const tag = this.nextTag();
    this.write(Buffer.from(`${tag} ${command}\r\n`, 'latin1'));
    return this.until(tag);
  }

  async until(tag: string): Promise<{ untagged: string[]; tagged: string; tag: string }> {
    const untagged: string[] = [];
    for (;;) {
      const l = await this.readLine();
      if (l.startsWith(tag + ' ')) return { untagged, tagged: l.slice(tag.length + 1), tag };
      untagged.push(l);
    }
  }

  /** Runs a command that must succeed; returns its untagged lines. */
  async ok(command: string): Promise<string[]> {
    const r = await this.cmd(command);
    if (!r.tagged.startsWith('OK'))
      throw new Error(`${command}: ${r.tagged}\n${r.untagged.join('\n')}`);
    return r.untagged;
  }

  /** Bytes received but not yet read as lines (for "nothing else was sent" checks). */
  async pending(waitMs = 50): Promise<string> {
    await new Promise((r) => setTimeout(r, waitMs));
    return this.buf.toString('latin1');
  }

  /** STARTTLS, then the handshake; `opts` are extra client TLS options (e.g. cert, key). */
  async startTLS(opts: tls.ConnectionOptions = {}): Promise<void> {
    const tag = this.nextTag();
    this.write(`${tag} STARTTLS\r\n`);
    const r = await this.until(tag);
    if (!r.tagged.startsWith('OK')) throw new Error(r.tagged);
    this.socket.removeAllListeners('data');
    const t = tls.connect({ socket: this.socket, rejectUnauthorized: false, ...opts });
    await new Promise<void>((resolve, reject) => {
      t.once('secureConnect', () => resolve());
      t.once('error', reject);
    });
    this.socket = t;
    this.attach(t);
  }

  close() {
    this.socket.destroy();
  }
}
