// The idle part of the IMAP benchmark: server memory per IMAPS connection that is logged
// in, has a mailbox selected and sits in IDLE, as an operator sees it (RSS growth of the
// server process), at 10,000 connections. For scale, the same count of connections to a
// bare Node TLS server (handshake, a greeting, one command answered, nothing else) is
// measured in a process of its own (this file with `--server`): what Node's TLS costs
// before Tidings keeps anything of its own.
import { execFileSync } from 'node:child_process';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { generateSelfSigned } from '../src/net/index.js';
import { ImapClient } from './imapclient.js';
import { ServerProcess, mb, serveRequests, verdict } from './serverproc.js';

const TARGET_IDLE_KB = 20;
const IDLE_CONNECTIONS = 10_000;
const IDLE_PARALLEL = 50;

export type MemReport = {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  connections: number;
};

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
const signedMb = (n: number) => `${n >= 0 ? '+' : '-'}${mb(Math.abs(n))}`;

function fileLimit(): number {
  try {
    const s = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    return s === 'unlimited' ? Infinity : Number(s);
  } catch {
    return NaN;
  }
}

/** How many connections this machine allows (the server and this process each hold one). */
function connectionCount(): number {
  const limit = fileLimit();
  if (limit >= IDLE_CONNECTIONS + 200) return IDLE_CONNECTIONS;
  const n = Math.max(100, (Number.isFinite(limit) ? limit : 1200) - 200);
  console.log(
    `imap idle: ulimit -n is ${limit}: measuring ${n} connections, not ${IDLE_CONNECTIONS}`,
  );
  return n;
}

/** Opens n connections, IDLE_PARALLEL at a time. */
async function openMany<T>(n: number, open: () => Promise<T>): Promise<{ conns: T[]; s: number }> {
  const conns: T[] = [];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IDLE_PARALLEL }, async () => {
      while (next < n) {
        next++;
        conns.push(await open());
      }
    }),
  );
  return { conns, s: (performance.now() - t0) / 1000 };
}

type MemServer = ServerProcess<{ op: 'mem' | 'stop' }>;

/**
 * Tidings: n IMAPS connections logged in (`login` also selects), in IDLE. The server
 * answers { op: 'mem' } with its MemReport after a full collection.
 */
export async function benchIdle(
  srv: MemServer,
  login: (c: ImapClient) => Promise<void>,
  mailboxSize: number,
): Promise<void> {
  const n = connectionCount();
  const openIdle = async () => {
    const c = await ImapClient.connect(srv.port);
    await login(c);
    await c.idle();
    return c;
  };
  // One connection first, so the account and lazily built state exist before the baseline.
  const warm = await openIdle();
  const before = await srv.call<MemReport>({ op: 'mem' });
  const { conns, s } = await openMany(n, openIdle);
  const after = await srv.call<MemReport>({ op: 'mem' });
  const per = (k: keyof MemReport) => (after[k] - before[k]) / n;
  console.log(
    `imap idle: ${n} IMAPS connections logged in, INBOX (${mailboxSize} messages) selected, in IDLE; opened in ${s.toFixed(1)} s; server has ${after.connections}`,
  );
  const native = per('rss') - per('heapTotal') - per('external');
  console.log(
    `imap idle: server memory per connection: RSS ${kb(per('rss'))} (target <= ${TARGET_IDLE_KB} KB: ${verdict(per('rss') <= TARGET_IDLE_KB * 1024)}); ` +
      `of it JS heap ${kb(per('heapUsed'))} used / ${kb(per('heapTotal'))} reserved, external ${kb(per('external'))} (the UID list is ${kb(mailboxSize * 4)}), ` +
      `native (TLS, sockets, allocator) ${kb(native)}`,
  );
  console.log(
    `imap idle: server totals before ${mb(before.rss)} RSS / ${mb(before.heapUsed)} heap, with ${n} idle: ${mb(after.rss)} RSS / ${mb(after.heapUsed)} heap`,
  );
  for (const c of conns) c.close();
  warm.close();
  for (let i = 0; i < 100; i++) {
    let m = await srv.call<MemReport>({ op: 'mem' });
    if (m.connections === 0) {
      // A closed connection's socket is destroyed up to a second after its teardown.
      await new Promise((r) => setTimeout(r, 1500));
      m = await srv.call<MemReport>({ op: 'mem' });
      console.log(
        `imap idle: all closed: ${mb(m.rss)} RSS / ${mb(m.heapUsed)} heap (heap ${signedMb(m.heapUsed - before.heapUsed)} against the baseline)`,
      );
      break;
    }
  }
  await benchBareTls(n);
}

/** One line from a TLS socket (the greeting, a reply). */
function line(s: TLSSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (d: Buffer) => {
      got += d.toString('latin1');
      if (!got.includes('\r\n')) return;
      s.off('data', onData);
      resolve();
    };
    s.on('data', onData);
    s.once('error', reject);
  });
}

/** The same count of connections to a bare Node TLS server in a process of its own. */
async function benchBareTls(n: number): Promise<void> {
  const bare = await ServerProcess.start<{ op: 'mem' | 'stop' }>(import.meta.url);
  try {
    const open = async () => {
      const s = connect({ port: bare.port, host: '127.0.0.1', rejectUnauthorized: false });
      await line(s);
      s.write('a1 NOOP\r\n');
      await line(s);
      return s;
    };
    const warm = await open();
    const before = await bare.call<MemReport>({ op: 'mem' });
    const { conns } = await openMany(n, open);
    const after = await bare.call<MemReport>({ op: 'mem' });
    const per = (k: keyof MemReport) => (after[k] - before[k]) / n;
    console.log(
      `imap idle: for scale, a bare Node TLS server (${process.versions.node}, OpenSSL ${process.versions.openssl}) with ${after.connections} connections: ` +
        `RSS ${kb(per('rss'))} per connection, of it JS heap ${kb(per('heapUsed'))}, native ${kb(per('rss') - per('heapTotal') - per('external'))}`,
    );
    for (const c of conns) c.destroy();
    warm.destroy();
  } finally {
    await bare.stop();
  }
}

/** The bare TLS server: a greeting, "OK" to every line, memory on request. */
async function bareServerMain(): Promise<void> {
  const cert = await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const sockets = new Set<TLSSocket>();
  const server = createServer({ key: cert.keyPem, cert: cert.certPem }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.write('* OK ready\r\n');
    s.on('data', () => s.write('* OK\r\n'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sockets) s.destroy();
      server.close(() => r());
    });
  const port = (server.address() as { port: number }).port;
  serveRequests<{ op: 'mem' | 'stop' }>(
    async (req) => {
      if (req.op === 'stop') return close().then(() => null);
      const gc = (globalThis as { gc?: () => void }).gc!;
      await new Promise((r) => setTimeout(r, 100));
      gc();
      await new Promise((r) => setImmediate(r));
      gc();
      return { ...process.memoryUsage(), connections: sockets.size };
    },
    close,
    port,
  );
}

const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--server')) await bareServerMain();
