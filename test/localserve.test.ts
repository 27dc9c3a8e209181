// `tidings localserve` as a developer runs it: first start creates everything, prints
// ports and login, serves, survives Ctrl-C cleanly, and a second start reuses it all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';
import { verifyPassword, type StoredSecrets } from '../src/sasl/index.js';
import { firstLine } from './util.js';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

function start(dir: string): Promise<{ p: ChildProcess; out: () => string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'localserve'], {
      env: { ...process.env, TIDINGS_LOCALSERVE_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`localserve did not start:\n${out}`)), 60_000);
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes('Press Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve({ p, out: () => out });
      }
    };
    p.stdout!.on('data', on);
    p.stderr!.on('data', on);
    p.on('exit', (code) => reject(new Error(`localserve exited ${code}:\n${out}`)));
  });
}

function stop(
  p: ChildProcess,
  signal: NodeJS.Signals = 'SIGINT',
): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
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
    const secrets = account.secrets<StoredSecrets>();
    assert.ok(secrets);
    assert.equal(await verifyPassword(secrets, 'tidings'), true);
    assert.equal(account.mailbox('Inbox')?.name, 'Inbox');
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
