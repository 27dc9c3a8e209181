// IMAP benchmark (`npm run bench:imap`): command throughput and latency from concurrent
// clients, SELECT, FETCH, QRESYNC, SORT and THREAD on a 100,000-message mailbox, and
// server memory per idle IMAPS connection. The server runs in a child process (this file with `--server`) so
// that its memory and CPU are measured alone; the clients run here.
// TIDINGS_BENCH_PROF=<dir> writes a CPU profile of the server (node --cpu-prof) there.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Flag, Store } from '../src/store/index.js';
import { parseDomainsConfig } from '../src/config/index.js';
import {
  AuthFailureLimiter,
  ConnectionCounter,
  RateLimiter,
  generateSelfSigned,
  loadTlsContext,
} from '../src/net/index.js';
import { createLogger } from '../src/log/index.js';
import { deriveSecrets } from '../src/sasl/index.js';
import { startImapServer, type ImapServer } from '../src/imap/server.js';
import {
  ServerProcess,
  UsageTracker,
  mb,
  percentile,
  serveRequests,
  verdict,
  type TrackReport,
} from './serverproc.js';
import { ImapClient } from './imapclient.js';
import { CHANGED_PERCENT, benchResync, touchMailbox } from './imapresync.js';
import { benchAppend } from './imapappend.js';
import { benchCompress } from './imapcompress.js';
import { benchIdle, type MemReport } from './imapidle.js';

const PASSWORD = 'benchbench';

// ---- targets ----

const TARGET_CMDS_PER_SEC = 3000;
const TARGET_SELECT_S = 0.5;
const TARGET_FETCH_S = 1;

// ---- sizes ----

const MIX_MESSAGES = 5000;
const MIX_CLIENTS = 20;
const MIX_WARMUP_MS = 2000;
const MIX_MEASURE_MS = 15_000;
const ALONE_WARMUP_MS = 500;
const ALONE_MEASURE_MS = 2500;
const BIG_MESSAGES = 100_000;
const BIG_SEED = 1000;
const BIG_RUNS = 3;
const IDLE_MAILBOX = 1000;

// ---- sample messages ----

const WORDS = [
  'invoice',
  'meeting',
  'report',
  'lunch',
  'release',
  'draft',
  'review',
  'order',
  'travel',
  'budget',
  'agenda',
  'photos',
  'schedule',
  'contract',
  'question',
  'update',
];

function words(i: number, n: number): string {
  const out: string[] = [];
  for (let k = 0; k < n; k++) out.push(WORDS[(i * 7 + k * 3 + k * k) % WORDS.length]!);
  return out.join(' ');
}

function paragraph(i: number, lines: number): string {
  let s = '';
  for (let k = 0; k < lines; k++) s += `${words(i + k, 10)}.\r\n`;
  return s;
}

/** A plausible message: plain text, text+HTML, or text with a PDF attachment. */
export function sampleMessage(i: number): Buffer {
  const date = new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toUTCString().replace('GMT', '+0000');
  const head =
    `From: "Sender ${i % 50}" <sender${i % 50}@example.com>\r\n` +
    `To: "Bench User" <bench@example.org>\r\n` +
    (i % 4 === 0 ? `Cc: team${i % 5}@example.com, "Boss" <boss@example.com>\r\n` : '') +
    `Subject: ${words(i, 4)} #${i}\r\n` +
    `Date: ${date}\r\n` +
    `Message-ID: <m${i}.bench@example.com>\r\n` +
    (i > 0 && i % 3 === 0 ? `In-Reply-To: <m${i - 1}.bench@example.com>\r\n` : '') +
    'MIME-Version: 1.0\r\n';
  const kind = i % 3;
  if (kind === 0) {
    return Buffer.from(
      `${head}Content-Type: text/plain; charset=utf-8\r\n\r\n${paragraph(i, 25)}`,
      'latin1',
    );
  }
  if (kind === 1) {
    const text = paragraph(i, 15);
    return Buffer.from(
      `${head}Content-Type: multipart/alternative; boundary="alt${i}"\r\n\r\n` +
        `--alt${i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${text}` +
        `--alt${i}\r\nContent-Type: text/html; charset=utf-8\r\n` +
        `Content-Transfer-Encoding: quoted-printable\r\n\r\n` +
        `<html><body><p>${text.replace(/\r\n/g, '</p>=\r\n<p>')}</p></body></html>\r\n` +
        `--alt${i}--\r\n`,
      'latin1',
    );
  }
  const pdf = randomBytes(6000).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    `${head}Content-Type: multipart/mixed; boundary="mix${i}"\r\n\r\n` +
      `--mix${i}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${paragraph(i, 8)}` +
      `--mix${i}\r\nContent-Type: application/pdf; name="doc${i}.pdf"\r\n` +
      `Content-Disposition: attachment; filename="doc${i}.pdf"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${pdf}\r\n--mix${i}--\r\n`,
    'latin1',
  );
}

// ---- the server process ----

const DOMAINS = `[domains."example.org"]

[accounts.mix]
domain = "example.org"
destinations = { "mix@example.org" = {} }

[accounts.big]
domain = "example.org"
destinations = { "big@example.org" = {} }

[accounts.idle]
domain = "example.org"
destinations = { "idle@example.org" = {} }

[accounts.append]
domain = "example.org"
destinations = { "append@example.org" = {} }
`;

type Request =
  | { op: 'build'; account: string; mailbox: string; count: number; seed: number }
  | { op: 'touch'; account: string; mailbox: string; percent: number }
  | { op: 'mem' | 'trackStart' | 'trackStop' | 'stop' };

type BenchServer = { store: Store; server: ImapServer; close(): Promise<void> };

/** A store with the bench accounts and an IMAPS listener on a free loopback port. */
async function startBenchServer(): Promise<BenchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-imap-'));
  const cert = await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
  await writeFile(join(dir, 'cert.pem'), cert.certPem);
  await writeFile(join(dir, 'key.pem'), cert.keyPem);
  const domains = parseDomainsConfig(DOMAINS, 'domains.toml');
  const store = await Store.open({
    dataDir: join(dir, 'data'),
    cleanup: true,
    initialMailboxes: () => domains.initial_mailboxes,
  });
  // A cheap scrypt: logins are not what is measured, and 2,000 of them at the default
  // cost (16 MiB, ~50 ms each) would dominate the run.
  const secrets = await deriveSecrets(PASSWORD, { scrypt: { N: 1024, r: 8, p: 1 } });
  for (const name of Object.keys(domains.accounts)) {
    await (await store.account(name)).setSecrets(secrets);
  }
  const server = await startImapServer(
    {
      store,
      domains: () => domains,
      hostname: 'bench.example.org',
      tls: loadTlsContext([{ cert_file: join(dir, 'cert.pem'), key_file: join(dir, 'key.pem') }]),
      service: 'imaps',
      noRequireSTARTTLS: false,
      limits: {
        maxLineLength: 16 * 1024,
        maxLiteralSize: 100 * 1024,
        maxLiteralTotal: 1000 * 1024,
        maxLiterals: 1000,
        maxMessageSize: 50 * 1024 * 1024,
      },
      delays: { authFail: 0, badClient: 0 },
      limiters: {
        rate: new RateLimiter({ windowMs: 60_000, limits: [1e6, 1e6, 1e6] }),
        connections: new ConnectionCounter({ limits: [1e6, 1e6, 1e6] }),
        authFailures: new AuthFailureLimiter(),
      },
      log: createLogger({ level: 'error' }),
    },
    '127.0.0.1',
    0,
  );
  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      await server.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    })());
  return { store, server, close };
}

/** Puts `count` messages in a mailbox: `seed` real deliveries, then batched copies. */
async function buildMailbox(
  store: Store,
  account: string,
  mailbox: string,
  count: number,
  seed: number,
): Promise<{ seconds: number; size: number }> {
  const t0 = performance.now();
  const a = await store.account(account);
  const seedBox = (await a.mailbox('Seed')) ?? (await a.createMailbox('Seed'))[0]!;
  if ((await a.uids(seedBox.id)).length === 0) {
    const items = [];
    for (let i = 0; i < seed; i++) {
      items.push({
        message: await store.prepareMessage(sampleMessage(i)),
        flags: i % 2 === 0 ? Flag.Seen : 0,
        internalDate: Date.UTC(2025, 0, 1) + i * 3_600_000,
      });
    }
    await a.addMessages(seedBox.id, items);
    for (const it of items) await it.message.cleanup();
  }
  const dst = (await a.mailbox(mailbox)) ?? (await a.createMailbox(mailbox))[0]!;
  const seedUids = await a.uids(seedBox.id);
  for (;;) {
    const have = (await a.mailboxById(dst.id))!.counts.total;
    if (have >= count) break;
    // Copies hard-link the message files: cheap, and the data is real.
    await a.copyMessages(seedBox.id, seedUids.slice(0, count - have), dst.id);
  }
  const size = (await a.mailboxById(dst.id))!.counts.size;
  return { seconds: (performance.now() - t0) / 1000, size };
}

/** Memory after a forced full collection. */
async function collectedMemory(connections: number): Promise<MemReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('start the server with --expose-gc');
  // Let finished connections' callbacks run before collecting.
  await new Promise((r) => setTimeout(r, 100));
  gc();
  await new Promise((r) => setImmediate(r));
  gc();
  return { ...process.memoryUsage(), connections };
}

/** The child process: serves IMAPS and answers requests from the benchmark over IPC. */
async function serverMain(): Promise<void> {
  const s = await startBenchServer();
  let tracker: UsageTracker | null = null;
  const handle = async (req: Request): Promise<unknown> => {
    switch (req.op) {
      case 'build':
        return buildMailbox(s.store, req.account, req.mailbox, req.count, req.seed);
      case 'touch':
        return touchMailbox(s.store, req.account, req.mailbox, req.percent);
      case 'mem':
        return collectedMemory(s.server.connections);
      case 'trackStart':
        tracker = new UsageTracker();
        return null;
      case 'trackStop': {
        const r = tracker?.stop();
        tracker = null;
        if (!r) throw new Error('not tracking');
        return r;
      }
      case 'stop':
        return s.close().then(() => null);
    }
  };
  serveRequests(handle, () => s.close(), s.server.port);
}

// ---- figures ----

const ms = (s: number) => `${(s * 1000).toFixed(0)} ms`;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const signedMb = (n: number) => `${n >= 0 ? '+' : '-'}${mb(Math.abs(n))}`;

/** A small deterministic PRNG (mulberry32), so runs issue the same commands. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- 1. command mix ----

type MixOp = {
  name: string;
  weight: number;
  run: (c: ImapClient, rnd: () => number) => Promise<void>;
};

const APPEND_BODIES = Array.from({ length: 16 }, (_, i) => sampleMessage(100_000 + i));

const uidIn = (rnd: () => number, n: number) => 1 + Math.floor(rnd() * n);

const MIX: MixOp[] = [
  { name: 'SELECT INBOX', weight: 10, run: (c) => c.ok('SELECT INBOX') },
  {
    name: 'UID FETCH 20 (UID FLAGS ENVELOPE)',
    weight: 25,
    run: (c, rnd) => {
      const a = uidIn(rnd, MIX_MESSAGES - 19);
      return c.ok(`UID FETCH ${a}:${a + 19} (UID FLAGS ENVELOPE)`);
    },
  },
  {
    name: 'UID FETCH 1 BODY.PEEK[]',
    weight: 25,
    run: (c, rnd) => c.ok(`UID FETCH ${uidIn(rnd, MIX_MESSAGES)} BODY.PEEK[]`),
  },
  {
    name: 'UID STORE 1 +/-FLAGS (\\Flagged)',
    weight: 15,
    run: (c, rnd) =>
      c.ok(`UID STORE ${uidIn(rnd, MIX_MESSAGES)} ${rnd() < 0.5 ? '+' : '-'}FLAGS (\\Flagged)`),
  },
  {
    name: 'APPEND (LITERAL+)',
    weight: 5,
    run: (c, rnd) => {
      const body = APPEND_BODIES[Math.floor(rnd() * APPEND_BODIES.length)]!;
      return c.ok(`APPEND INBOX (\\Seen) {${body.length}+}\r\n`, body);
    },
  },
  { name: 'UID SEARCH UNSEEN', weight: 20, run: (c) => c.ok('UID SEARCH UNSEEN') },
];

/** Not in the mix: the cost of a command that does nothing (TLS, parsing, dispatch). */
const NOOP: MixOp = { name: 'NOOP (protocol floor)', weight: 1, run: (c) => c.ok('NOOP') };

function pickOp(ops: MixOp[], rnd: () => number): MixOp {
  const total = ops.reduce((n, o) => n + o.weight, 0);
  let x = rnd() * total;
  for (const o of ops) {
    x -= o.weight;
    if (x < 0) return o;
  }
  return ops[ops.length - 1]!;
}

type LoadResult = { lat: Map<string, number[]>; seconds: number; usage: TrackReport };

/**
 * Runs `ops` from every client, one command at a time, for warm-up plus measuring time;
 * latencies of commands that started and ended inside the measured window are kept.
 */
async function runLoad(
  srv: ServerProcess<Request>,
  clients: ImapClient[],
  ops: MixOp[],
  warmupMs: number,
  measureMs: number,
): Promise<LoadResult> {
  const lat = new Map<string, number[]>(ops.map((o) => [o.name, []]));
  const measureFrom = performance.now() + warmupMs;
  const end = measureFrom + measureMs;
  const tracking = (async () => {
    await new Promise((r) => setTimeout(r, warmupMs));
    await srv.call({ op: 'trackStart' });
  })();
  await Promise.all(
    clients.map(async (c, i) => {
      const rnd = prng(1000 + i);
      for (;;) {
        const op = pickOp(ops, rnd);
        const t0 = performance.now();
        if (t0 >= end) return;
        await op.run(c, rnd);
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= end) lat.get(op.name)!.push(t1 - t0);
      }
    }),
  );
  await tracking;
  const usage = await srv.call<TrackReport>({ op: 'trackStop' });
  return { lat, seconds: measureMs / 1000, usage };
}

async function benchMix(srv: ServerProcess<Request>): Promise<void> {
  const built = await srv.call<{ seconds: number }>({
    op: 'build',
    account: 'mix',
    mailbox: 'Inbox',
    count: MIX_MESSAGES,
    seed: 250,
  });
  console.log(`imap mix: built INBOX of ${MIX_MESSAGES} messages in ${built.seconds.toFixed(1)} s`);
  const clients = await Promise.all(
    Array.from({ length: MIX_CLIENTS }, async () => {
      const c = await ImapClient.connect(srv.port);
      await c.ok(`LOGIN mix@example.org ${PASSWORD}`);
      await c.ok('SELECT INBOX');
      return c;
    }),
  );
  try {
    const r = await runLoad(srv, clients, MIX, MIX_WARMUP_MS, MIX_MEASURE_MS);
    const rate = count(r.lat) / r.seconds;
    console.log(
      `imap mix: ${MIX_CLIENTS} IMAPS clients, one command at a time each, INBOX of ${MIX_MESSAGES}+ messages, ${r.seconds} s after ${MIX_WARMUP_MS / 1000} s warm-up`,
    );
    console.log(
      `imap mix: ${rate.toFixed(0)} commands/s (target >= ${TARGET_CMDS_PER_SEC}: ${verdict(rate >= TARGET_CMDS_PER_SEC)})`,
    );
    printLatencies(r.lat);
    console.log(`imap mix: ${usageText(r.usage)}`);
    // Each command type alone, to show where the server's time goes.
    console.log(
      `imap mix: each command alone, ${MIX_CLIENTS} clients, ${ALONE_MEASURE_MS / 1000} s: commands/s, server CPU per command`,
    );
    for (const op of [...MIX, NOOP]) {
      const a = await runLoad(srv, clients, [op], ALONE_WARMUP_MS, ALONE_MEASURE_MS);
      const n = count(a.lat);
      console.log(
        `  ${op.name.padEnd(36)} ${(n / a.seconds).toFixed(0).padStart(6)}/s ${((1000 * a.usage.cpuSeconds) / n).toFixed(2).padStart(7)} ms CPU  p50 ${percentile(
          a.lat.get(op.name)!.sort((x, y) => x - y),
          0.5,
        ).toFixed(2)} ms; ${usageText(a.usage)}`,
      );
    }
  } finally {
    for (const c of clients) c.close();
  }
}

const count = (lat: Map<string, number[]>) => [...lat.values()].reduce((n, a) => n + a.length, 0);

function usageText(u: TrackReport): string {
  return `server CPU ${((100 * u.cpuSeconds) / u.wallSeconds).toFixed(0)}% of one core, event loop busy ${(100 * u.elu).toFixed(0)}%, peak RSS ${mb(u.peakRss)}`;
}

function printLatencies(lat: Map<string, number[]>): void {
  const row = (name: string, a: number[]) =>
    `  ${name.padEnd(36)} ${String(a.length).padStart(7)} ${percentile(a, 0.5).toFixed(2).padStart(9)} ${percentile(a, 0.99).toFixed(2).padStart(9)}`;
  console.log(
    `  ${'command'.padEnd(36)} ${'count'.padStart(7)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`,
  );
  for (const [name, a] of lat)
    console.log(
      row(
        name,
        a.sort((x, y) => x - y),
      ),
    );
  console.log(
    row(
      'all',
      [...lat.values()].flat().sort((x, y) => x - y),
    ),
  );
}

// ---- 2. a 100,000-message mailbox ----

async function benchBigMailbox(srv: ServerProcess<Request>): Promise<void> {
  const built = await srv.call<{ seconds: number }>({
    op: 'build',
    account: 'big',
    mailbox: 'Big',
    count: BIG_MESSAGES,
    seed: BIG_SEED,
  });
  console.log(
    `imap big: built mailbox of ${BIG_MESSAGES} messages in ${built.seconds.toFixed(1)} s (${BIG_SEED} deliveries, then copies)`,
  );
  const c = await ImapClient.connect(srv.port);
  try {
    await c.ok(`LOGIN big@example.org ${PASSWORD}`);
    const before = await srv.call<MemReport>({ op: 'mem' });
    for (let run = 1; run <= BIG_RUNS; run++) {
      await srv.call({ op: 'trackStart' });
      let t = performance.now();
      await c.ok('SELECT Big');
      const select = (performance.now() - t) / 1000;
      c.untagged = 0;
      t = performance.now();
      await c.ok('FETCH 1:* (UID FLAGS)');
      const fetch = (performance.now() - t) / 1000;
      const lines = c.untagged;
      const usage = await srv.call<TrackReport>({ op: 'trackStop' });
      console.log(
        `imap big: run ${run}: SELECT ${ms(select)} (target < ${ms(TARGET_SELECT_S)}: ${verdict(select < TARGET_SELECT_S)}); ` +
          `FETCH 1:* (UID FLAGS) ${ms(fetch)} for ${lines} responses (target < ${ms(TARGET_FETCH_S)}: ${verdict(fetch < TARGET_FETCH_S && lines >= BIG_MESSAGES)}); ` +
          `peak during: RSS ${mb(usage.peakRss)}, heap ${mb(usage.peakHeapUsed)}`,
      );
    }
    const after = await srv.call<MemReport>({ op: 'mem' });
    console.log(
      `imap big: server after GC, logged in before SELECT: heap ${mb(before.heapUsed)}, RSS ${mb(before.rss)}; ` +
        `with Big selected after the FETCHes: heap ${mb(after.heapUsed)}, RSS ${mb(after.rss)}`,
    );
    console.log(
      `imap big: growth heap ${signedMb(after.heapUsed - before.heapUsed)}, external ${signedMb(after.external - before.external)}, RSS ${signedMb(after.rss - before.rss)}; ` +
        `the session's UID list is ${kb(BIG_MESSAGES * 4)} (Uint32Array, in external/arrayBuffers)`,
    );
    await benchResync(c, 'Big', BIG_MESSAGES, () =>
      srv.call({ op: 'touch', account: 'big', mailbox: 'Big', percent: CHANGED_PERCENT }),
    );
  } finally {
    c.close();
  }
}

// ---- 3. idle connections ----

async function benchIdlePart(srv: ServerProcess<Request>): Promise<void> {
  await srv.call({
    op: 'build',
    account: 'idle',
    mailbox: 'Inbox',
    count: IDLE_MAILBOX,
    seed: 100,
  });
  await benchIdle(
    srv,
    async (c) => {
      await c.ok(`LOGIN idle@example.org ${PASSWORD}`);
      await c.ok('SELECT INBOX');
    },
    IDLE_MAILBOX,
  );
}

// ---- the benchmark ----

// ---- 4. APPEND written in two pieces ----

async function benchAppendPart(srv: ServerProcess<Request>): Promise<void> {
  await benchAppend(srv.port, (c) => c.ok(`LOGIN append@example.org ${PASSWORD}`));
}

// ---- 5. COMPRESS ----

async function benchCompressPart(srv: ServerProcess<Request>): Promise<void> {
  const built = await srv.call<{ seconds: number; size: number }>({
    op: 'build',
    account: 'append',
    mailbox: 'Bulk',
    count: 2000,
    seed: 200,
  });
  await benchCompress(
    srv.port,
    (c) => c.ok(`LOGIN append@example.org ${PASSWORD}`),
    'Bulk',
    built.size,
  );
}

const PARTS = {
  mix: benchMix,
  big: benchBigMailbox,
  idle: benchIdlePart,
  append: benchAppendPart,
  compress: benchCompressPart,
};

/** Runs the named parts (all by default): `npm run bench:imap -- mix idle`. */
export async function benchImap(only: string[] = []): Promise<void> {
  const unknown = only.filter((p) => !(p in PARTS));
  if (unknown.length > 0)
    throw new Error(`unknown part ${unknown.join(', ')}; parts: ${Object.keys(PARTS).join(' ')}`);
  const load = loadavg().map((x) => x.toFixed(1));
  console.log(`imap: load average before start ${load.join(' ')}`);
  const t0 = performance.now();
  for (const [name, run] of Object.entries(PARTS)) {
    if (only.length > 0 && !only.includes(name)) continue;
    // A fresh server for each part, so no part's memory or data skews another's.
    const srv = await ServerProcess.start<Request>(import.meta.url);
    try {
      await run(srv);
    } finally {
      await srv.stop();
    }
  }
  console.log(`imap: done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--server')) await serverMain();
else if (isMain) await benchImap(process.argv.slice(2));
