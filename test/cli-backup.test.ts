// `tidings backup` as an admin uses it: with the server running (the copy is taken by the
// server, over its control socket) and without, then `tidings verifydata` on the copy,
// and a restore: a server started on the copy serves the same mail; and a backup taken
// while mail is being delivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, tidings } from './util.js';
import { Store } from '../src/store/index.js';
import { Server } from '../src/server/server.js';
import { createLogger } from '../src/log/index.js';
import { TestDNSServer } from '../src/dns/index.js';
import { SmtpTestClient } from './smtp/harness.js';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"

[listeners.main]
ips = ["127.0.0.1"]
smtp = { enabled = true, port = 0 }
`;

const DOMAINS = `[domains."example.org"]

[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
`;

/** `tidings serve` until it listens; resolves with a stop function. */
function serve(cfg: string): Promise<() => Promise<number | null>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '-c', cfg], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes('"listening"')) {
        p.stdout.off('data', on);
        resolve(
          () =>
            new Promise((done) => {
              p.on('close', (code) => done(code));
              p.kill('SIGTERM');
            }),
        );
      }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
}

async function messageCount(dataDir: string): Promise<number> {
  const store = await Store.open({ dataDir });
  try {
    const a = await store.account('alice');
    return (await a.uids((await a.mailbox('Inbox'))!.id)).length;
  } finally {
    await store.close();
  }
}

test('backup with the server running and without; verifydata passes on the copy', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-backup-'));
  const cfg = join(dir, 'config');
  const data = join(dir, 'data');
  try {
    await mkdir(cfg);
    await writeFile(join(cfg, 'tidings.toml'), STATIC);
    await writeFile(join(cfg, 'domains.toml'), DOMAINS);
    const store = await Store.open({ dataDir: data });
    const a = await store.account('alice');
    for (let i = 0; i < 20; i++) {
      const p = await store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
      await a.addMessages('Inbox', [{ message: p }]);
      await p.cleanup();
    }
    await store.close();

    const stop = await serve(cfg);
    let r;
    try {
      r = await tidings(['backup', '-c', cfg, join(dir, 'online')]);
    } finally {
      assert.equal(await stop(), 0);
    }
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      `backup in ${join(dir, 'online')}: 1 accounts, 20 message files, 0 queued message files\n` +
        `check it with: tidings verifydata --data ${join(dir, 'online', 'data')}\n`,
    );
    r = await tidings(['verifydata', '--data', join(dir, 'online', 'data')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^alice: \d+ mailboxes, 20 messages, 20 files: ok$/m);
    assert.equal(await readFile(join(dir, 'online', 'config', 'domains.toml'), 'utf8'), DOMAINS);

    // Without a server, the command copies itself; into a directory with anything in it, never.
    r = await tidings(['backup', '-c', cfg, join(dir, 'offline')]);
    assert.equal(r.code, 0, r.stderr);
    r = await tidings(['backup', '-c', cfg, join(dir, 'offline')]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `tidings: ${join(dir, 'offline')}: not empty; give a new or empty directory\n`,
    );
    r = await tidings(['verifydata', '--data', join(dir, 'offline', 'data')]);
    assert.equal(r.code, 0, r.stdout);

    // Restore: the copy's configuration and data, started as they are.
    const restored = await serve(join(dir, 'online', 'config'));
    assert.equal(await restored(), 0);
    assert.equal(await messageCount(join(dir, 'online', 'data')), 20);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('backup during SMTP delivery: the copy has every message acknowledged before it began', async () => {
  const dns = await TestDNSServer.start({
    a: { 'sender.example': ['192.0.2.20'] },
    txt: { 'sender.example': ['v=spf1 ip4:127.0.0.1 -all'] },
  });
  const dir = await mkdtemp(join(tmpdir(), 'tidings-backup-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(
    join(cfg, 'tidings.toml'),
    `${STATIC}[dns]\nservers = ["${dns.host}:${dns.port}"]\ntimeout = "2s"\ntries = 1\n[delays]\nfirst_time_sender = "0s"\n`,
  );
  await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  const server = await Server.start({ configDir: cfg, log: createLogger({ level: 'error' }) });
  let acknowledged = 0;
  let stop = false;
  const port = server.listening.find((l) => l.service === 'smtp')!.port;
  // Four senders, one message after another each, until told to stop.
  const sender = async () => {
    const c = await SmtpTestClient.open(port);
    await c.ok('EHLO client.example');
    while (!stop) {
      await c.ok('MAIL FROM:<bob@sender.example>');
      await c.ok('RCPT TO:<alice@example.org>');
      await c.ok('DATA', 354);
      c.write(
        `From: bob@sender.example\r\nSubject: load ${acknowledged}\r\n\r\n${'x'.repeat(2000)}\r\n.\r\n`,
      );
      assert.equal((await c.reply()).code, 250);
      acknowledged++;
    }
    c.close();
  };
  try {
    const load = Promise.all([sender(), sender(), sender(), sender()]);
    while (acknowledged < 20) await new Promise((r) => setTimeout(r, 20));
    const before = acknowledged;
    const r = await tidings(['backup', '-c', cfg, join(dir, 'copy')]);
    const after = acknowledged;
    stop = true;
    await load;
    assert.equal(r.code, 0, r.stderr);
    const v = await tidings(['verifydata', '--data', join(dir, 'copy', 'data')]);
    assert.equal(v.code, 0, v.stdout);
    const n = await messageCount(join(dir, 'copy', 'data'));
    assert.ok(n >= before && n <= after, `${before} <= ${n} <= ${after}`);
  } finally {
    stop = true;
    await server.stop();
    await dns.close();
    await rm(dir, { recursive: true, force: true });
  }
});
