// Queue benchmark (`npm run bench:queue`): messages go from queue.add to "250" at a local
// receiving SMTP server (a minimal sink in a child process) over 20 concurrent
// connections, through the real queue, router and SMTP client. Prints messages/s and
// the queue process's CPU and peak RSS. A second part queues 100,000 messages on hold
// and shows the memory of the delivering process does not grow with queue length.
// `npm run bench:queue -- --count=5000 --held=20000` changes the sizes.
import { fork } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/index.js';
import { parseDomainsConfig } from '../src/config/index.js';
import { createLogger } from '../src/log/index.js';
import { MockResolver } from '../src/dns/index.js';
import { Queue, SmtpDeliverer, type NewQueueMessage } from '../src/queue/index.js';

const TARGET_PER_SEC = 500;
const CONNECTIONS = 20;
const MB = 1024 * 1024;
/** Held messages released for delivery in the long-queue part. */
const RELEASE = 5000;

// ---- the receiving server ----

/** A minimal SMTP receiver: PIPELINING, 8BITMIME, DATA; counts accepted messages. */
function runSink(): void {
  let accepted = 0;
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    let inData = false;
    s.write('220 sink.test ESMTP\r\n');
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      let out = '';
      for (;;) {
        if (inData) {
          const end = buf.indexOf('\r\n.\r\n');
          if (end < 0) {
            // Keep only what could start the terminator.
            if (buf.length > 4) buf = buf.subarray(buf.length - 4);
            break;
          }
          buf = buf.subarray(end + 5);
          inData = false;
          accepted++;
          out += '250 2.0.0 accepted\r\n';
          continue;
        }
        const nl = buf.indexOf('\r\n');
        if (nl < 0) break;
        const line = buf.subarray(0, nl).toString('latin1');
        buf = buf.subarray(nl + 2);
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO') {
          out +=
            '250-sink.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 0\r\n250 ENHANCEDSTATUSCODES\r\n';
        } else if (cmd === 'DATA') {
          inData = true;
          out += '354 go ahead\r\n';
          // The data's first line may follow right away; "\r\n.\r\n" needs the CRLF before it.
          buf = Buffer.concat([Buffer.from('\r\n'), buf]);
        } else if (cmd === 'QUIT') {
          out += '221 2.0.0 bye\r\n';
          s.end(out);
          return;
        } else {
          out += '250 2.0.0 ok\r\n';
        }
      }
      if (out) s.write(out);
    });
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.({ port: (server.address() as net.AddressInfo).port });
  });
  process.on('message', () => process.send?.({ accepted }));
}

// ---- the queue side ----

function message(i: number): Buffer {
  let body = '';
  while (body.length < 2000) body += `line ${i} of a queued benchmark message, plain text.\r\n`;
  return Buffer.from(
    `From: <bench@example.org>\r\nTo: <rcpt${i}@remote.test>\r\nSubject: queue bench ${i}\r\n` +
      `Message-ID: <qb${i}@example.org>\r\nDate: Fri, 09 May 2025 12:00:00 +0000\r\n\r\n${body}`,
  );
}

function queued(i: number, hold: boolean): NewQueueMessage {
  return {
    sender: { localpart: 'bench', domain: 'example.org' },
    recipient: { localpart: `rcpt${i}`, domain: 'remote.test' },
    account: 'bench',
    has8bit: false,
    smtputf8: false,
    messageId: `<qb${i}@example.org>`,
    subject: `queue bench ${i}`,
    requireTLS: null,
    prefix: Buffer.from('Received: from bench by mail.example.org\r\n'),
    hold,
  };
}

type Sink = { port: number; accepted(): Promise<number>; stop(): void };

async function startSink(): Promise<Sink> {
  const self = fileURLToPath(import.meta.url);
  const child = fork(self, ['--sink'], { execArgv: process.execArgv, stdio: 'inherit' });
  const port = await new Promise<number>((resolve) =>
    child.once('message', (m: { port: number }) => resolve(m.port)),
  );
  return {
    port,
    accepted: () =>
      new Promise((resolve) => {
        child.once('message', (m: { accepted: number }) => resolve(m.accepted));
        child.send('count');
      }),
    stop: () => child.kill(),
  };
}

async function openQueue(dir: string, sinkPort: number): Promise<{ store: Store; q: Queue }> {
  const store = await Store.open({ dataDir: dir, cleanup: true });
  const domains = parseDomainsConfig(
    '[domains."example.org"]\n[accounts.bench]\ndomain = "example.org"\ndestinations = { "bench@example.org" = {} }\n',
    '/bench/domains.toml',
  );
  const log = createLogger({ level: 'silent' });
  const resolver = new MockResolver({
    mx: { 'remote.test': [{ exchange: 'sink.test', priority: 10 }] },
    a: { 'sink.test': ['127.0.0.1'] },
  });
  const remote = new SmtpDeliverer({
    hostname: 'mail.example.org',
    resolver,
    log,
    routing: () => ({ routes: [], transports: {} }),
    mtaSts: null,
    maxPerHost: CONNECTIONS,
    mxPort: sinkPort,
  });
  const q = await Queue.open({
    store,
    domains: () => domains,
    hostname: 'mail.example.org',
    log,
    remote,
    maxConcurrent: CONNECTIONS,
  });
  return { store, q };
}

/** Adds `n` messages, `parallel` adds at a time, each with its own temp file. */
async function addMany(
  q: Queue,
  dir: string,
  n: number,
  hold: boolean,
  ids: number[] = [],
  from = 0,
): Promise<number[]> {
  const parallel = 32;
  let next = from;
  const worker = async (w: number) => {
    const file = join(dir, `bench-${w}.eml`);
    for (;;) {
      const i = next++;
      if (i >= from + n) return;
      await writeFile(file, message(i));
      const [m] = await q.add(file, [queued(i, hold)]);
      if (m && ids.length < RELEASE) ids.push(m.id);
    }
  };
  await Promise.all(Array.from({ length: parallel }, (_, w) => worker(w)));
  return ids;
}

function mem(): number {
  return process.memoryUsage().rss / MB;
}

async function deliveryRate(count: number, sink: Sink): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-queue-'));
  const { store, q } = await openQueue(dir, sink.port);
  let peak = mem();
  const sampler = setInterval(() => (peak = Math.max(peak, mem())), 50);
  const base = await sink.accepted();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  q.start();
  await addMany(q, tmpdir(), count, false);
  const added = performance.now();
  while ((await sink.accepted()) - base < count) await new Promise((r) => setTimeout(r, 20));
  while (q.counts().messages > 0) await new Promise((r) => setTimeout(r, 20));
  const secs = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(sampler);
  await q.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  const rate = count / secs;
  console.log(
    `queue: ${count} messages of 2 KB from queue.add to accepted by a local server over ${CONNECTIONS} connections: ` +
      `${rate.toFixed(0)} msg/s (target ${TARGET_PER_SEC}: ${rate >= TARGET_PER_SEC ? 'met' : 'MISSED'}); ` +
      `adding took ${((added - t0) / 1000).toFixed(1)} s; CPU ${((cpu.user + cpu.system) / 1000 / count).toFixed(2)} ms/msg; peak RSS ${peak.toFixed(0)} MB`,
  );
}

async function heldMemory(held: number, sink: Sink): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-queue-'));
  let { store, q } = await openQueue(dir, sink.port);
  const t0 = performance.now();
  const slice = await addMany(q, tmpdir(), held, true);
  const addSecs = (performance.now() - t0) / 1000;
  await q.stop();
  await store.close();
  // A fresh process state as after a restart with a long queue: open, run, deliver some.
  global.gc?.();
  const before = mem();
  ({ store, q } = await openQueue(dir, sink.port));
  let peak = mem();
  const sampler = setInterval(() => (peak = Math.max(peak, mem())), 50);
  q.start();
  // Release a slice so the runner works while 100,000 messages wait.
  const base = await sink.accepted();
  q.release(slice);
  while ((await sink.accepted()) - base < slice.length) await new Promise((r) => setTimeout(r, 20));
  clearInterval(sampler);
  await q.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  console.log(
    `queue: ${held} messages on hold (added at ${(held / addSecs).toFixed(0)} msg/s); ` +
      `reopened RSS ${before.toFixed(0)} MB; delivering ${slice.length} of them while the rest wait: peak RSS ${peak.toFixed(0)} MB`,
  );
}

export async function benchQueue(opts: { count?: number; held?: number } = {}): Promise<void> {
  const sink = await startSink();
  try {
    console.log(
      `load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    await deliveryRate(opts.count ?? 20_000, sink);
    await heldMemory(opts.held ?? 100_000, sink);
  } finally {
    sink.stop();
  }
}

const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--sink')) {
  runSink();
} else if (isMain) {
  const arg = (name: string) => {
    const a = process.argv.find((x) => x.startsWith(`--${name}=`));
    return a ? Number(a.slice(name.length + 3)) : undefined;
  };
  const count = arg('count');
  const held = arg('held');
  await benchQueue({
    ...(count !== undefined ? { count } : {}),
    ...(held !== undefined ? { held } : {}),
  });
}
