// SMTP benchmark (`npm run bench:smtp`): incoming delivery on the smtp port (25 kind) to
// a local account, every message durable before its 250, from concurrent senders on
// loopback; 2 KB messages for a while, then 100 KB messages. Prints messages/s, MB/s of
// message data, latency, and the server's CPU and peak RSS. The server runs in a child
// process (this file with `--server`) so its memory and CPU are measured alone.
// `npm run bench:smtp -- small --seconds=5` runs one part for 5 s.
// TIDINGS_BENCH_PROF=<dir> writes a CPU profile of the server (node --cpu-prof) there.
// `npm run bench:smtp` compiles the benchmark and the server (tsconfig.bench.json) and
// runs the JavaScript, so the server child runs without tsx, as in production (through
// tsx, its RSS would include tsx and its transpiled modules, about 70 MB more).
import net from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/index.js';
import { parseDomainsConfig } from '../src/config/index.js';
import { AuthFailureLimiter, ConnectionCounter, RateLimiter } from '../src/net/index.js';
import { createLogger } from '../src/log/index.js';
import { MockResolver } from '../src/dns/index.js';
import { dkimRecord, dkimSign, generateDkimKey, parseDkimKey } from '../src/msgauth/index.js';
import { Queue } from '../src/queue/index.js';
import { DeliveryRateLimiter, startSmtpServer, type SmtpServer } from '../src/smtpserver/index.js';
import {
  ServerProcess,
  UsageTracker,
  mb,
  percentile,
  serveRequests,
  verdict,
  type TrackReport,
} from './serverproc.js';

// ---- targets ----

const TARGET_SMALL_PER_SEC = 1000;
const TARGET_LARGE_MB_PER_SEC = 100;
const TARGET_RSS_MB = 150;

// ---- sizes ----

const SENDERS = 10;
const WARMUP_MS = 1000;
const DEFAULT_SECONDS = 10;
const VARIANTS = 16;

const MB = 1024 * 1024;

// ---- messages ----

const WORDS = ['invoice', 'meeting', 'report', 'lunch', 'release', 'draft', 'review', 'order'];

/** A plain-text message of about `size` bytes with CRLF line ends, dot-stuffing not needed. */
export function benchMessage(size: number, variant: number): Buffer {
  const head =
    `From: "Bench Sender" <sender${variant}@sender.example>\r\n` +
    `To: "Bench" <bench@example.org>\r\n` +
    `Subject: ${WORDS[variant % WORDS.length]} benchmark ${variant}\r\n` +
    `Date: Fri, 09 May 2025 12:00:00 +0000\r\n` +
    `Message-ID: <bench-${size}-${variant}@sender.example>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`;
  let body = '';
  for (let i = 0; head.length + body.length < size; i++) {
    const line = `${WORDS[(i * 3 + variant) % WORDS.length]} ${i} `.repeat(6).trimEnd();
    body += `${line}\r\n`;
  }
  return Buffer.from(head + body, 'utf8');
}

/** The DKIM key record, from the benchmark (which signs) to the server (which verifies). */
const DKIM_ENV = 'TIDINGS_BENCH_DKIM_RECORD';

/** Messages signed as a sending server would: rsa-sha256 with a 2048-bit key. */
function benchSigner(): { sign: (m: Buffer) => Promise<Buffer> } {
  const g = generateDkimKey('rsa2048');
  process.env[DKIM_ENV] = dkimRecord(g);
  const signer = { domain: 'sender.example', selector: 'bench', key: parseDkimKey(g.pem, 'bench') };
  return { sign: async (m) => Buffer.concat([Buffer.from(await dkimSign(m, [signer])), m]) };
}

/** Set by benchSmtp before any load runs. */
let signer: { sign: (m: Buffer) => Promise<Buffer> } = {
  sign: () => Promise.reject(new Error('no signer')),
};

// ---- the server process ----

const DOMAINS = `[domains."example.org"]

[accounts.bench]
domain = "example.org"
destinations = { "bench@example.org" = {} }
`;

type Request = { op: 'trackStart' | 'trackStop' | 'count' | 'mem' | 'verdicts' | 'stop' };

type MemReport = { rss: number; heapUsed: number; external: number };

/** Memory after a forced full collection. */
function collectedMemory(): MemReport {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('start the server with --expose-gc');
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

type BenchServer = { store: Store; smtp: SmtpServer; close(): Promise<void> };

/** A store with the bench account, the queue, and an smtp listener on a loopback port. */
async function startBenchServer(): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-smtp-'));
  const domains = parseDomainsConfig(DOMAINS, 'domains.toml');
  const store = await Store.open({
    dataDir: join(dir, 'data'),
    cleanup: true,
    initialMailboxes: () => domains.initial_mailboxes,
  });
  const log = createLogger({ level: 'error' });
  const queue = await Queue.open({
    store,
    domains: () => domains,
    hostname: 'bench.example.org',
    log,
  });
  queue.start();
  const wide = 1e12;
  const smtp = await startSmtpServer(
    {
      kind: 'smtp',
      store,
      domains: () => domains,
      hostname: 'bench.example.org',
      tls: null,
      requireTLSForAuth: true,
      requireTLSForDelivery: false,
      requireTLSExtension: true,
      limits: {
        maxLineLength: 2048,
        maxRecipients: 1000,
        maxReceivedHeaders: 100,
        maxBadTransactions: 10,
        maxMessageSize: 50 * MB,
        defaultMaxMessageSize: 50 * MB,
        maxOutgoingPerDay: 1000,
        maxFirstTimeRecipientsPerDay: 200,
      },
      delays: {
        authFail: 0,
        badClient: 0,
        firstTimeSender: 0,
        unknownRecipients: 0,
        localserveTimeout: 0,
      },
      limiters: {
        rate: new RateLimiter({ windowMs: 60_000, limits: [wide, wide, wide] }),
        connections: new ConnectionCounter({ limits: [wide, wide, wide] }),
        authFailures: new AuthFailureLimiter(),
        // Far above the 500 messages a minute one network may send one account: the
        // benchmark measures delivery, not the limiter.
        delivery: new DeliveryRateLimiter({ messages: wide, bytes: wide }),
      },
      // The sender is set up as real senders are, so every delivery runs the whole
      // verification: iprev, SPF, the DKIM signature, DMARC.
      resolver: new MockResolver({
        mx: { 'sender.example': [{ exchange: 'mx.sender.example', priority: 10 }] },
        a: { 'client.sender.example': ['127.0.0.1'] },
        ptr: { '127.0.0.1': ['client.sender.example'] },
        txt: {
          'sender.example': ['v=spf1 ip4:127.0.0.1 -all'],
          '_dmarc.sender.example': ['v=DMARC1; p=reject; rua=mailto:dmarc@sender.example'],
          'bench._domainkey.sender.example': [process.env[DKIM_ENV] ?? ''],
        },
      }),
      queue,
      log,
      localserve: null,
    },
    '127.0.0.1',
    0,
  );
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await smtp.close();
      await queue.stop();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    })());
  return { store, smtp, close };
}

/** Messages stored in the bench account's Inbox. */
async function storedCount(store: Store): Promise<number> {
  const a = await store.account('bench');
  const mb = await a.mailbox('Inbox');
  return mb ? (await a.mailboxById(mb.id))!.counts.total : 0;
}

/** The method results of the first stored message ("iprev=pass spf=pass ..."). */
async function verdicts(store: Store): Promise<string> {
  const a = await store.account('bench');
  const mb = await a.mailbox('Inbox');
  const [m] = mb ? await a.messages(mb.id, (await a.uids(mb.id)).slice(0, 1)) : [];
  if (!m) return 'no message stored';
  const text = (await a.readMessage(m, 0, Math.min(m.size, 2000))).toString();
  return [...text.matchAll(/^\t([a-z]+=[a-z]+)/gm)].map((x) => x[1]).join(' ');
}

/** The child process: serves smtp and answers requests from the benchmark over IPC. */
async function serverMain(): Promise<void> {
  const s = await startBenchServer();
  let tracker: UsageTracker | null = null;
  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'trackStart':
        tracker = new UsageTracker();
        return null;
      case 'trackStop': {
        const r = tracker?.stop();
        tracker = null;
        if (!r) throw new Error('not tracking');
        return r;
      }
      case 'verdicts':
        return verdicts(s.store);
      case 'count':
        return storedCount(s.store);
      case 'mem':
        return collectedMemory();
      case 'stop':
        return s.close().then(() => null);
    }
  };
  serveRequests(handle, () => s.close(), s.smtp.port);
}

// ---- a minimal pipelining client ----

type Reply = { code: number; text: string };

/**
 * An SMTP client for loopback load: replies are parsed as they arrive and handed out in
 * order; MAIL, RCPT and DATA go out in one write (RFC 2920 §3.1).
 */
class SmtpClient {
  private buf = '';
  private replies: Reply[] = [];
  private lines: string[] = [];
  private waiter: { n: number; resolve: (r: Reply[]) => void; reject: (e: Error) => void } | null =
    null;
  private failure: Error | null = null;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => this.onData(d.toString('latin1')));
    const fail = (e: Error) => {
      this.failure ??= e;
      this.waiter?.reject(this.failure);
      this.waiter = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static async connect(port: number): Promise<SmtpClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new SmtpClient(socket);
    const [greeting] = await c.next(1);
    if (greeting?.code !== 220) throw new Error(`greeting: ${greeting?.text}`);
    await c.expect('EHLO client.example\r\n', [250]);
    return c;
  }

  private onData(s: string): void {
    this.buf += s;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      if (line.length < 4 || line[3] === ' ') {
        this.replies.push({ code: Number(line.slice(0, 3)), text: this.lines.join('\n') });
        this.lines = [];
      }
    }
    const w = this.waiter;
    if (w && this.replies.length >= w.n) {
      this.waiter = null;
      w.resolve(this.replies.splice(0, w.n));
    }
  }

  private next(n: number): Promise<Reply[]> {
    if (this.replies.length >= n) return Promise.resolve(this.replies.splice(0, n));
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  /** Writes `data` and checks the codes of the next replies, one per entry of `codes`. */
  async expect(data: string | Buffer, codes: number[]): Promise<void> {
    this.socket.write(data);
    const got = await this.next(codes.length);
    got.forEach((r, i) => {
      if (r.code !== codes[i]) throw new Error(`expected ${codes[i]}, got ${r.text}`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

const ENVELOPE = 'MAIL FROM:<sender@sender.example>\r\nRCPT TO:<bench@example.org>\r\nDATA\r\n';
const END = Buffer.from('.\r\n');

// ---- figures ----

type LoadResult = {
  messages: number;
  bytes: number;
  seconds: number;
  latencies: number[];
  usage: TrackReport;
  totalAcked: number;
};

/**
 * Delivers messages from every sender, one transaction at a time each, for warm-up plus
 * measuring time.
 */
async function runLoad(
  srv: ServerProcess<Request>,
  size: number,
  measureMs: number,
): Promise<LoadResult> {
  const bodies = await Promise.all(
    Array.from({ length: VARIANTS }, async (_, i) =>
      Buffer.concat([await signer.sign(benchMessage(size, i)), END]),
    ),
  );
  const clients = await Promise.all(
    Array.from({ length: SENDERS }, () => SmtpClient.connect(srv.port)),
  );
  const measureFrom = performance.now() + WARMUP_MS;
  const end = measureFrom + measureMs;
  const latencies: number[] = [];
  let messages = 0;
  let bytes = 0;
  let totalAcked = 0;
  const tracking = (async () => {
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    await srv.call({ op: 'trackStart' });
  })();
  try {
    await Promise.all(
      clients.map(async (c, i) => {
        for (let k = 0; ; k++) {
          const t0 = performance.now();
          if (t0 >= end) return;
          const body = bodies[(i + k) % VARIANTS]!;
          await c.expect(ENVELOPE, [250, 250, 354]);
          await c.expect(body, [250]);
          totalAcked++;
          const t1 = performance.now();
          // Throughput counts what completed inside the window; latency what also began there.
          if (t1 >= measureFrom && t1 <= end) {
            messages++;
            bytes += body.length - END.length;
            if (t0 >= measureFrom) latencies.push(t1 - t0);
          }
        }
      }),
    );
  } finally {
    for (const c of clients) c.close();
  }
  await tracking;
  const usage = await srv.call<TrackReport>({ op: 'trackStop' });
  return {
    messages,
    bytes,
    seconds: measureMs / 1000,
    latencies: latencies.sort((a, b) => a - b),
    usage,
    totalAcked,
  };
}

function usageText(u: TrackReport): string {
  return (
    `server CPU ${((100 * u.cpuSeconds) / u.wallSeconds).toFixed(0)}% of one core, ` +
    `event loop busy ${(100 * u.elu).toFixed(0)}%, ` +
    `peak RSS ${mb(u.peakRss)} (heap ${mb(u.peakHeapUsed)}, external ${mb(u.peakExternal)})`
  );
}

type Part = { name: string; size: number; label: string };

const PARTS: Part[] = [
  { name: 'small', size: 2 * 1024, label: '2 KB' },
  { name: 'large', size: 100 * 1024, label: '100 KB' },
];

async function benchPart(srv: ServerProcess<Request>, p: Part, seconds: number): Promise<void> {
  const rest = await srv.call<MemReport>({ op: 'mem' });
  const before = await srv.call<number>({ op: 'count' });
  const r = await runLoad(srv, p.size, seconds * 1000);
  const after = await srv.call<number>({ op: 'count' });
  const seen = await srv.call<string>({ op: 'verdicts' });
  const rate = r.messages / r.seconds;
  const mbps = r.bytes / MB / r.seconds;
  // The tracker runs a little past the window, until the last transactions finish.
  const cpuPerMsg = (1000 * r.usage.cpuSeconds) / (rate * r.usage.wallSeconds);
  console.log(
    `smtp ${p.label}: ${SENDERS} senders on loopback, port 25 delivery to one account, every message fsynced before its 250, ${r.seconds} s after ${WARMUP_MS / 1000} s warm-up`,
  );
  const target =
    p.name === 'small'
      ? `target >= ${TARGET_SMALL_PER_SEC}/s: ${verdict(rate >= TARGET_SMALL_PER_SEC)}`
      : `target >= ${TARGET_LARGE_MB_PER_SEC} MB/s: ${verdict(mbps >= TARGET_LARGE_MB_PER_SEC)}`;
  console.log(
    `smtp ${p.label}: ${rate.toFixed(0)} messages/s, ${mbps.toFixed(1)} MB/s of message data (${target})`,
  );
  console.log(`smtp ${p.label}: verification of a stored message: ${seen}`);
  console.log(
    `smtp ${p.label}: latency MAIL to final 250: p50 ${percentile(r.latencies, 0.5).toFixed(2)} ms, p99 ${percentile(r.latencies, 0.99).toFixed(2)} ms; server CPU ${cpuPerMsg.toFixed(2)} ms per message`,
  );
  console.log(
    `smtp ${p.label}: ${usageText(r.usage)} (target < ${TARGET_RSS_MB} MB: ${verdict(r.usage.peakRss < TARGET_RSS_MB * MB)})`,
  );
  console.log(
    `smtp ${p.label}: server at rest before the load, after GC: RSS ${mb(rest.rss)}, heap ${mb(rest.heapUsed)}, external ${mb(rest.external)}`,
  );
  // Every acknowledged message is in the mailbox.
  const stored = after - before;
  if (stored !== r.totalAcked) {
    throw new Error(`smtp ${p.label}: ${r.totalAcked} messages acknowledged, ${stored} stored`);
  }
  console.log(`smtp ${p.label}: ${stored} messages acknowledged and stored in all`);
}

/** Runs the named parts (all by default): `npm run bench:smtp -- large --seconds=5`. */
export async function benchSmtp(args: string[] = []): Promise<void> {
  const secondsArg = args.find((a) => a.startsWith('--seconds='));
  const seconds = secondsArg ? Number(secondsArg.slice('--seconds='.length)) : DEFAULT_SECONDS;
  if (!(seconds > 0)) throw new Error(`bad ${secondsArg}`);
  const only = args.filter((a) => !a.startsWith('--'));
  const unknown = only.filter((n) => !PARTS.some((p) => p.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown part ${unknown.join(', ')}; parts: ${PARTS.map((p) => p.name).join(' ')}`,
    );
  }
  console.log(
    `smtp: load average before start ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}`,
  );
  const t0 = performance.now();
  // Before the server processes start: they inherit the key record.
  signer = benchSigner();
  for (const p of PARTS) {
    if (only.length > 0 && !only.includes(p.name)) continue;
    // A fresh server for each part, so one part's memory does not show in another's.
    const srv = await ServerProcess.start<Request>(import.meta.url);
    try {
      await benchPart(srv, p, seconds);
      console.log(
        `smtp ${p.label}: server peak RSS since its start (VmHWM): ${mb(srv.peakRssSinceStart())}`,
      );
    } finally {
      await srv.stop();
    }
  }
  console.log(`smtp: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--server')) await serverMain();
else if (isMain) await benchSmtp(process.argv.slice(2));
