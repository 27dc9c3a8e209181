// `tidings localserve` as a developer runs it: first start creates everything, prints
// ports and login, serves, survives Ctrl-C cleanly, and a second start reuses it all. A
// client connecting the moment a port opens can log in, and a Ctrl-C at that moment
// leaves an account that can.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';
import { verifyPassword, type StoredSecrets } from '../src/sasl/index.js';
import { ensureSelfSigned } from '../src/net/index.js';
import { LOCALSERVE_PORTS, localserveStaticConfig } from '../src/server/localserve.js';
import { firstLine } from './util.js';
import { rawDatabase } from '../src/store/testing.js';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

function spawnLocalserve(dir: string): { p: ChildProcess; out: () => string } {
  const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'localserve'], {
    env: { ...process.env, TIDINGS_LOCALSERVE_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const on = (d: Buffer) => {
    out += d.toString();
  };
  p.stdout!.on('data', on);
  p.stderr!.on('data', on);
  return { p, out: () => out };
}

function start(dir: string): Promise<{ p: ChildProcess; out: () => string }> {
  return new Promise((resolve, reject) => {
    const ls = spawnLocalserve(dir);
    const timer = setTimeout(
      () => reject(new Error(`localserve did not start:\n${ls.out()}`)),
      60_000,
    );
    const ready = () => {
      if (ls.out().includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve(ls);
      }
    };
    ls.p.stdout!.on('data', ready);
    ls.p.stderr!.on('data', ready);
    ls.p.on('exit', (code) => reject(new Error(`localserve exited ${code}:\n${ls.out()}`)));
  });
}

function stop(
  p: ChildProcess,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    if (p.exitCode !== null || p.signalCode !== null) {
      resolve({ code: p.exitCode, signal: p.signalCode });
      return;
    }
    p.removeAllListeners('exit');
    p.on('exit', (code, signal) => resolve({ code, signal }));
    p.kill(signal);
  });
}

test('localserve: first start, serving, Ctrl-C, second start reuses everything, SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-localserve-'));
  try {
    // Under a permissive umask, which the started process inherits.
    const umask = process.umask(0);
    const first = await start(dir).finally(() => process.umask(umask));
    const out = first.out();
    assert.match(out, /created and running/);
    assert.match(out, /login: {2}you@localhost {2}password: tidings/);
    for (const [svc, port] of [
      ['smtp', 1025],
      ['submission', 1587],
      ['submissions', 1465],
      ['imap', 1143],
      ['imaps', 1993],
      ['http', 1080],
      ['metrics', 1081],
    ] as const) {
      assert.match(out, new RegExp(`${svc}\\s+.*port ${port}`));
    }
    const metrics = await fetch('http://127.0.0.1:1081/metrics');
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /tidings_panic_total/);
    const info = await fetch('http://127.0.0.1:1080/');
    assert.match(await info.text(), /^Tidings .* mail server at localhost/);
    assert.equal(await firstLine(1025), '220 localhost ESMTP Tidings\r\n');
    assert.match(
      await firstLine(1143),
      /^\* OK \[CAPABILITY IMAP4rev2 .*AUTH=PLAIN.*\] Tidings IMAP ready/,
    );

    const r = await stop(first.p);
    assert.deepEqual(r, { code: 0, signal: null }, `first run:\n${first.out()}`);
    assert.ok((await stat(join(dir, 'config', 'localhost.crt'))).isFile());
    assert.equal((await stat(join(dir, 'config', 'localhost.key'))).mode & 0o777, 0o600);
    // Configuration and data, with the password set at the first start, are the owner's only.
    const open: string[] = [];
    const walk = (p: string, deep = true) => {
      const st = lstatSync(p);
      if ((st.mode & 0o777) !== (st.isDirectory() ? 0o700 : 0o600)) open.push(p);
      if (deep && st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
    };
    walk(join(dir, 'data'));
    for (const p of ['config', 'config/tidings.toml', 'config/domains.toml'])
      walk(join(dir, p), false);
    assert.deepEqual(open, []);

    // The account exists with the printed password.
    const store = await Store.open({ dataDir: join(dir, 'data') });
    const account = await store.account('you');
    const secrets = await account.secrets<StoredSecrets>();
    assert.ok(secrets);
    assert.equal(await verifyPassword(secrets, 'tidings'), true);
    assert.equal((await account.mailbox('Inbox'))?.name, 'Inbox');
    await store.close();

    const second = await start(dir);
    assert.doesNotMatch(second.out(), /created/);
    assert.match(second.out(), /running from/);
    assert.deepEqual(
      await stop(second.p, 'SIGTERM'),
      { code: 0, signal: null },
      `second run:\n${second.out()}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

type Ports = Record<keyof typeof LOCALSERVE_PORTS, number>;

/**
 * Writes the configuration localserve would write on first start, with ports free now
 * on 127.0.0.1 instead of the fixed ones, so the test does not depend on those; the
 * account and its data are still created by the first start.
 */
async function prepare(dir: string): Promise<Ports> {
  const names = Object.keys(LOCALSERVE_PORTS) as (keyof typeof LOCALSERVE_PORTS)[];
  const servers = names.map(() => net.createServer());
  const ports = await Promise.all(
    servers.map(
      (srv) =>
        new Promise<number>((resolve) =>
          srv.listen(0, '127.0.0.1', () => resolve((srv.address() as net.AddressInfo).port)),
        ),
    ),
  );
  await Promise.all(servers.map((srv) => new Promise((resolve) => srv.close(resolve))));
  const chosen = Object.fromEntries(names.map((n, i) => [n, ports[i]])) as Ports;
  const configDir = join(dir, 'config');
  await mkdir(configDir, { recursive: true, mode: 0o700 });
  const files = await ensureSelfSigned(configDir, ['localhost']);
  const text = localserveStaticConfig(files.cert_file, files.key_file, chosen).replace(
    'ips = ["127.0.0.1", "::1"]',
    'ips = ["127.0.0.1"]',
  );
  await writeFile(join(configDir, 'tidings.toml'), text, { mode: 0o600 });
  return chosen;
}

/** Connects at the first moment the port accepts connections. */
async function connectAtOnce(port: number, p: ChildProcess): Promise<net.Socket> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (p.exitCode !== null || p.signalCode !== null) throw new Error('localserve exited');
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        sock.once('error', reject);
        sock.once('connect', () => {
          sock.off('error', reject);
          resolve(sock);
        });
      });
    } catch {
      if (Date.now() > deadline) throw new Error(`nothing accepted on port ${port}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

/** Connects the moment the IMAP port accepts and logs in; returns the tagged reply. */
async function loginAtOnce(port: number, p: ChildProcess): Promise<string> {
  const sock = await connectAtOnce(port, p);
  let buf = '';
  const lines: string[] = [];
  let wake: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 2);
    }
    wake?.();
  });
  sock.on('close', () => wake?.());
  const next = async (): Promise<string> => {
    while (lines.length === 0) {
      if (sock.destroyed) throw new Error(`connection closed; received ${JSON.stringify(buf)}`);
      await new Promise<void>((resolve) => (wake = resolve));
    }
    return lines.shift()!;
  };
  try {
    assert.match(await next(), /^\* OK /);
    sock.write('a LOGIN you@localhost tidings\r\n');
    for (;;) {
      const l = await next();
      if (l.startsWith('a ')) return l;
    }
  } finally {
    sock.destroy();
  }
}

test('localserve: on first start, a client connecting the moment the port opens can log in', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-localserve-'));
  try {
    const ports = await prepare(dir);
    const ls = spawnLocalserve(dir);
    try {
      assert.match(await loginAtOnce(ports.imap, ls.p), /^a OK /, ls.out());
    } finally {
      await stop(ls.p);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('localserve: Ctrl-C the moment a port opens on first start leaves a usable account', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-localserve-'));
  try {
    const ports = await prepare(dir);
    const first = spawnLocalserve(dir);
    (await connectAtOnce(ports.imap, first.p)).destroy();
    await stop(first.p, 'SIGINT');
    const store = await Store.open({ dataDir: join(dir, 'data') });
    try {
      const account = await store.account('you');
      const secrets = await account.secrets<StoredSecrets>();
      assert.ok(secrets, `account left without a password:\n${first.out()}`);
      assert.equal(await verifyPassword(secrets, 'tidings'), true);
      // An account without secrets (left by an interrupted start of an older version)
      // gets its password at the next start, before the ports open.
      rawDatabase(account).prepare('DELETE FROM password').run();
    } finally {
      await store.close();
    }
    const second = spawnLocalserve(dir);
    try {
      assert.match(await loginAtOnce(ports.imap, second.p), /^a OK /, second.out());
    } finally {
      await stop(second.p);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Sends lines one by one on a fresh connection, returning each reply's first line. */
async function converse(port: number, lines: string[]): Promise<string[]> {
  const sock = net.connect({ host: '127.0.0.1', port });
  const replies: string[] = [];
  let buf = '';
  let waiting: ((l: string) => void) | null = null;
  sock.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i < 0 || !waiting) break;
      const line = buf.slice(0, i);
      buf = buf.slice(i + 2);
      // Multi-line SMTP replies: only the last line ("250 ...") ends the reply.
      if (/^\d{3}-/.test(line)) continue;
      const w = waiting;
      waiting = null;
      w(line);
    }
  });
  const next = () => new Promise<string>((resolve) => (waiting = resolve));
  replies.push(await next());
  for (const l of lines) {
    sock.write(`${l}\r\n`);
    replies.push(await next());
  }
  sock.destroy();
  return replies;
}

test('localserve: no connection limits, and HELO names need not resolve', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-localserve-'));
  try {
    const ports = await prepare(dir);
    const ls = await start(dir);
    try {
      // More connections at once from one address than the default limit (30).
      const socks = await Promise.all(
        Array.from({ length: 40 }, () => connectAtOnce(ports.imap, ls.p)),
      );
      const greetings = await Promise.all(
        socks.map(
          (s) =>
            new Promise<string>((resolve) =>
              s.once('data', (d: Buffer) => resolve(d.toString('latin1'))),
            ),
        ),
      );
      for (const s of socks) s.destroy();
      assert.equal(greetings.filter((g) => g.startsWith('* OK ')).length, 40, greetings.join(''));
      const r = await converse(ports.smtp, ['HELO does-not-resolve.invalid', 'QUIT']);
      assert.match(r[1]!, /^250 /, r.join('\n'));
    } finally {
      await stop(ls.p);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
