// The server lifecycle: listeners from the config, domains.toml followed while running
// (only complete, valid versions replace the running one), config-driven quota, a clean
// stop, and the modes of the data directory fixed at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, readdirSync, statSync, symlinkSync } from 'node:fs';
import { mkdtemp, mkdir, open, rm, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, configuredResolver } from '../src/server/server.js';
import { createLogger } from '../src/log/index.js';
import { Store } from '../src/store/index.js';
import type { DomainsConfig } from '../src/config/index.js';
import { firstLine } from './util.js';
import { SmtpTestClient } from './smtp/harness.js';
import { StubResolver, SystemResolver, TestDNSServer } from '../src/dns/index.js';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"
[limits]
default_quota = 5000
[listeners.test]
ips = ["127.0.0.1"]
smtp = { enabled = true, port = 0 }
imap = { enabled = true, port = 0, no_require_starttls = true }
http = { enabled = true, port = 0 }
metrics = { enabled = true, port = 0 }
`;

const domains = (extra = '') => `[domains."example.org"]
[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
${extra}`;

test('server: listeners, live reload of domains.toml, quota from config, clean stop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-server-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), domains());
  const reloads: DomainsConfig[] = [];
  let waiter: (() => void) | null = null;
  const server = await Server.start({
    configDir: cfg,
    log: createLogger({ level: 'error' }),
    onReload: (c) => {
      reloads.push(c);
      waiter?.();
    },
  });
  try {
    const port = (svc: string) => server.listening.find((l) => l.service === svc)!.port;
    assert.deepEqual(
      server.listening.map((l) => l.service),
      ['imap', 'smtp', 'http', 'metrics'],
    );
    assert.ok(server.listening.every((l) => l.port > 0));
    assert.equal(await firstLine(port('smtp')), '220 mail.example.org ESMTP Tidings\r\n');
    assert.match(
      await firstLine(port('imap')),
      /^\* OK \[CAPABILITY IMAP4rev2 .*\] Tidings IMAP ready\r\n$/,
    );
    const m = await fetch(`http://127.0.0.1:${port('metrics')}/metrics`);
    assert.equal(m.status, 200);

    const alice = await server.store.account('alice');
    assert.equal(await alice.quotaLimit(), 5000, 'global default quota');

    // A valid change replaces the running configuration.
    const reloaded = new Promise<void>((r) => (waiter = r));
    await writeFile(
      join(cfg, 'domains.toml.new'),
      domains(
        'quota = 9000\n[accounts.bob]\ndomain = "example.org"\ndestinations = { "bob@example.org" = {} }\n',
      ),
    );
    await rename(join(cfg, 'domains.toml.new'), join(cfg, 'domains.toml'));
    await reloaded;
    assert.ok(server.domains.accounts.bob);
    assert.equal(await alice.quotaLimit(), 9000, 'account quota applies without restart');

    // An invalid change is refused and the running one stays.
    await writeFile(join(cfg, 'domains.toml'), domains('quota = "lots"\n'));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(reloads.length, 1);
    assert.ok(server.domains.accounts.bob);
    assert.equal(await alice.quotaLimit(), 9000);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  // Listeners are closed after stop.
  const p = server.listening[0]!.port;
  await assert.rejects(firstLine(p), /ECONNREFUSED/);
});

test('server start: a data directory open to other users is made private, and the log says so', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-server-'));
  const cfg = join(dir, 'config');
  const data = join(dir, 'data');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), domains());
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', destination: { write: (s: string) => lines.push(s) } });
  const walk = (p: string, out: string[] = []): string[] => {
    out.push(p);
    if (lstatSync(p).isDirectory()) for (const n of readdirSync(p)) walk(join(p, n), out);
    return out;
  };
  try {
    // Data as an older version (or a restore with the wrong umask) left it.
    const store = await Store.open({ dataDir: data });
    const alice = await store.account('alice');
    const m = await store.prepareMessage(Buffer.from('Subject: hi\r\n\r\nHello.\r\n'));
    await alice.addMessages('Inbox', [{ message: m, take: true }]);
    await store.close();
    const paths = walk(data);
    for (const p of paths) chmodSync(p, lstatSync(p).isDirectory() ? 0o755 : 0o644);
    await writeFile(join(dir, 'elsewhere'), 'not data');
    chmodSync(join(dir, 'elsewhere'), 0o644);
    symlinkSync(join(dir, 'elsewhere'), join(data, 'link'));

    const server = await Server.start({ configDir: cfg, log });
    try {
      assert.equal(statSync(data).mode & 0o777, 0o700, 'the data directory before listening');
      const r = await server.dataModes;
      // Also tidings.db-wal and -shm: SQLite made them with the 0644 of tidings.db.
      assert.equal(r?.fixed, paths.length + 2);
      for (const p of walk(data)) {
        const st = lstatSync(p);
        if (st.isSymbolicLink()) continue;
        assert.equal(st.mode & 0o777, st.isDirectory() ? 0o700 : 0o600, p);
      }
      assert.ok(walk(data).includes(join(data, 'ctl.sock')));
      assert.ok(walk(data).includes(join(data, 'accounts', 'alice', 'msg', '0', '1')));
      assert.equal(statSync(join(dir, 'elsewhere')).mode & 0o777, 0o644, 'link not followed');
    } finally {
      await server.stop();
    }
    const warned = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const n = paths.length + 2;
    assert.deepEqual(
      warned.map((l) => [l.level, l.fixed, l.msg]),
      [
        [
          'warn',
          n,
          `fixed the modes of ${n} paths in the data directory (directories 0700, files 0600)`,
        ],
      ],
    );

    // Nothing to fix at the next start: nothing logged.
    lines.length = 0;
    const again = await Server.start({ configDir: cfg, log });
    try {
      assert.equal((await again.dataModes)?.fixed, 0);
    } finally {
      await again.stop();
    }
    assert.deepEqual(lines, []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('domains.toml emptied or caught mid-write: the running version stays; unknown addresses get 451', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-server-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), domains());
  const reloads: DomainsConfig[] = [];
  const server = await Server.start({
    configDir: cfg,
    log: createLogger({ level: 'fatal' }),
    onReload: (c) => reloads.push(c),
  });
  const until = async (what: string, cond: () => boolean) => {
    const deadline = Date.now() + 10_000;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`${what}: not within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const rcpt = async (to: string): Promise<string> => {
    const port = server.listening.find((l) => l.service === 'smtp')!.port;
    const c = await SmtpTestClient.open(port);
    await c.ok('EHLO client.example.net');
    await c.ok('MAIL FROM:<>');
    const r = await c.cmd(`RCPT TO:<${to}>`);
    c.close();
    return r.lines.join('\n');
  };
  try {
    // An empty file: refused, loudly; alice still gets mail, an unknown address is
    // deferred instead of refused for good.
    await writeFile(join(cfg, 'domains.toml'), '');
    await until('empty file refused', () => server.domainsProblem !== null);
    assert.match(server.domainsProblem!, /has no accounts, the running configuration has 1/);
    assert.ok(server.domains.accounts.alice);
    assert.match(await rcpt('alice@example.org'), /^250 /);
    assert.match(
      await rcpt('bob@example.org'),
      /^451 4\.3\.5 mail system configuration being fixed, try again later /,
    );
    assert.match(await rcpt('someone@elsewhere.example'), /^451 4\.3\.5 /);

    // A file written in two pieces with a pause between: only the whole one is loaded,
    // although the first piece alone would parse (with alice only).
    const whole = domains(
      '[accounts.bob]\ndomain = "example.org"\ndestinations = { "bob@example.org" = {} }\n',
    );
    const cut = whole.indexOf('[accounts.bob]');
    const fh = await open(join(cfg, 'domains.toml'), 'w');
    await fh.write(whole.slice(0, cut));
    await new Promise((r) => setTimeout(r, 300));
    await fh.write(whole.slice(cut));
    await fh.close();
    await until('whole file loaded', () => server.domainsProblem === null);
    assert.deepEqual(
      reloads.map((c) => Object.keys(c.accounts).sort()),
      [['alice', 'bob']],
    );
    assert.match(await rcpt('bob@example.org'), /^250 /);
    // Unknown addresses are refused again once the configuration is sound (on port 25,
    // after DATA; at RCPT for an unknown domain).
    assert.match(await rcpt('someone@elsewhere.example'), /^550 5\.1\.1 /);

    // A deleted file: the running version stays, unknown addresses wait.
    await rm(join(cfg, 'domains.toml'));
    await until('deleted file reported', () => server.domainsProblem !== null);
    assert.match(server.domainsProblem!, /cannot read file/);
    assert.match(await rcpt('bob@example.org'), /^250 /);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test('server: [dns] servers are the ones asked, for verification too', async () => {
  // A validating resolver on loopback, for which sender.example is signed.
  const dns = await TestDNSServer.start({
    a: { 'sender.example': ['192.0.2.20'] },
    txt: { 'sender.example': ['v=spf1 ip4:127.0.0.1 -all'] },
    authentic: ['sender.example'],
  });
  const dir = await mkdtemp(join(tmpdir(), 'tidings-server-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(
    join(cfg, 'tidings.toml'),
    `${STATIC}[dns]\nservers = ["${dns.host}:${dns.port}"]\ntimeout = "2s"\ntries = 1\n[delays]\nfirst_time_sender = "0s"\n`,
  );
  await writeFile(join(cfg, 'domains.toml'), domains());
  const server = await Server.start({ configDir: cfg, log: createLogger({ level: 'error' }) });
  try {
    const port = server.listening.find((l) => l.service === 'smtp')!.port;
    const c = await SmtpTestClient.open(port);
    await c.ok('EHLO client.example');
    await c.ok('MAIL FROM:<bob@sender.example>');
    await c.ok('RCPT TO:<alice@example.org>');
    await c.ok('DATA', 354);
    c.write('From: bob@sender.example\r\nSubject: hi\r\n\r\nhello\r\n.\r\n');
    assert.equal((await c.reply()).code, 250);
    c.close();
    const alice = await server.store.account('alice');
    const inbox = (await alice.mailbox('Inbox'))!;
    const [m] = await alice.messages(inbox.id, await alice.uids(inbox.id));
    const text = (await alice.readMessage(m!)).toString();
    assert.match(text, /^\tspf=pass \(with dnssec\) smtp\.mailfrom=bob@sender\.example;\r$/m);
    assert.ok(dns.stats.udp + dns.stats.tcp > 0);
  } finally {
    await server.stop();
    await dns.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('server: [dns] resolver is the stub by default, trusting AD from loopback or as told', () => {
  const dns = {
    servers: ['127.0.0.1:5353', '192.0.2.53'],
    timeout: 1000,
    tries: 2,
    resolver: 'stub' as const,
    trust_ad: false,
  };
  const trusted = (r: unknown) => {
    assert.ok(r instanceof StubResolver);
    return r.servers.map((s) => `${s.host}:${s.port} ${s.trusted}`);
  };
  assert.deepEqual(trusted(configuredResolver(dns)), [
    '127.0.0.1:5353 true',
    '192.0.2.53:53 false',
  ]);
  assert.deepEqual(trusted(configuredResolver({ ...dns, trust_ad: true })), [
    '127.0.0.1:5353 true',
    '192.0.2.53:53 true',
  ]);
  assert.ok(configuredResolver({ ...dns, resolver: 'system' }) instanceof SystemResolver);
});
