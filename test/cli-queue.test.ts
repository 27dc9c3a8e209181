// `tidings queue ...`, `tidings suppression ...` and `tidings dkim gen` as an admin uses them: against a
// running server (through its control socket) and, with the server stopped, directly
// on the data directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../src/server/server.js';
import { createLogger } from '../src/log/index.js';
import { MockResolver } from '../src/dns/index.js';
import { parseDSN } from '../src/message/index.js';
import { dkimRecord, loadDkimKey } from '../src/msgauth/index.js';
import { loadDomainsConfig } from '../src/config/index.js';
import { tidings } from './util.js';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"
[listeners.test]
ips = ["127.0.0.1"]
`;

const DOMAINS = `[domains."example.org"]
[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
`;

const MESSAGE = Buffer.from(
  'From: <alice@example.org>\r\nTo: <x@remote.example>\r\nSubject: held\r\n' +
    'Message-ID: <held-1@example.org>\r\n\r\nWaiting.\r\n',
);

test('queue and suppression commands, with the server running and stopped', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-cliq-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  const cli = (...args: string[]) => tidings([...args, '-c', cfg]);

  const server = await Server.start({
    configDir: cfg,
    log: createLogger({ level: 'silent' }),
    resolver: new MockResolver({}),
  });
  let stopped = false;
  t.after(() => (stopped ? undefined : server.stop()));
  // Only the owner may talk to the server.
  assert.equal((await stat(join(dir, 'data', 'ctl.sock'))).mode & 0o777, 0o600);

  let r = await cli('queue', 'holdrule', 'add', '--to-domain', 'Remote.Example');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'hold rule 1 added\n');
  r = await cli('queue', 'holdrule', 'list');
  assert.equal(r.stdout, '1\taccount *\tfrom *\tto remote.example\n');

  const queue = server.queue!;
  const prepared = await server.store.prepareMessage(MESSAGE);
  const path = (lp: string) => ({ localpart: lp, domain: 'remote.example' });
  const added = await queue.add(
    prepared.path,
    ['x', 'y'].map((lp) => ({
      sender: { localpart: 'alice', domain: 'example.org' },
      recipient: path(lp),
      account: 'alice',
      has8bit: false,
      smtputf8: false,
      messageId: '<held-1@example.org>',
      subject: 'held',
      requireTLS: null,
      prefix: Buffer.alloc(0),
    })),
  );
  await prepared.cleanup();
  const [x, y] = added.map((m) => m.id);

  r = await cli('queue', 'list');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0] ?? '',
    new RegExp(
      `^${x}\\talice\\t<alice@example.org> -> x@remote.example\\t\\d+ bytes\\tattempts 0\\theld$`,
    ),
  );

  r = await cli('queue', 'show', String(x));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^id: \d+\n/);
  assert.match(r.stdout, /\nhold: true\n/);
  assert.match(r.stdout, /\nSubject: held\r\n/);

  r = await cli('queue', 'fail');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /name message ids or a filter/);
  r = await cli('queue', 'show', 'abc');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a queue message id: abc/);
  r = await cli('queue', 'show', '9999');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no message 9999 in the queue/);

  r = await cli('queue', 'schedule', '--at', '+2h', String(y));
  assert.equal(r.stdout, '1 message\n');
  r = await cli('queue', 'drop', String(y));
  assert.equal(r.stdout, '1 message\n');
  assert.deepEqual(
    queue.list().map((m) => m.id),
    [x],
  );

  r = await cli(
    'suppression',
    'add',
    'alice',
    'Bounce@Remote.Example',
    '--reason',
    'asked to stop',
  );
  assert.equal(r.stdout, 'Bounce@Remote.Example suppressed for alice\n');
  r = await cli('suppression', 'list');
  assert.match(r.stdout, /^alice\tbounce@remote\.example\t\S+\tmanual\tasked to stop\n$/);

  // With the server stopped, the same commands work on the data directory.
  await server.stop();
  stopped = true;
  r = await cli('queue', 'list', '--held');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${x}\\t`));
  r = await cli('suppression', 'remove', 'alice', 'bounce@remote.example');
  assert.equal(r.stdout, 'bounce@remote.example removed from the suppression list of alice\n');
  r = await cli('suppression', 'list', 'alice');
  assert.equal(r.stdout, 'no suppressed addresses\n');
  r = await cli('queue', 'fail', '--account', 'alice');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '1 message\n');
  r = await cli('queue', 'list');
  assert.equal(r.stdout, 'queue is empty\n');

  // The failure DSN went to alice's Inbox.
  const again = await Server.start({
    configDir: cfg,
    log: createLogger({ level: 'silent' }),
    resolver: new MockResolver({}),
  });
  try {
    const acc = await again.store.account('alice');
    const mb = (await acc.mailbox('Inbox'))!;
    const msgs = await acc.messages(mb.id, [...(await acc.uidArray(mb.id))]);
    assert.equal(msgs.length, 1);
    const dsn = parseDSN(await acc.readMessage(msgs[0]!, 0, msgs[0]!.size));
    assert.equal(dsn?.recipients[0]?.finalRecipient, 'x@remote.example');
    assert.equal(dsn?.recipients[0]?.action, 'failed');
  } finally {
    await again.stop();
  }
});

test('dkim gen creates keys and selectors; config dnsrecords publishes them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-clidkim-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  const cli = (...args: string[]) => tidings([...args, '-c', cfg]);

  // A umask that would leave the key unwritable, or readable by others, changes nothing.
  const umask = process.umask(0o277);
  let r = await cli('dkim', 'gen', 'Example.ORG', 'first').finally(() => process.umask(umask));
  assert.equal(r.code, 0, r.stderr);
  const file = join(cfg, 'dkim', 'example.org-first.key');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(join(cfg, 'dkim'))).mode & 0o777, 0o700);
  const key = await loadDkimKey(file);
  assert.equal(key.algorithm, 'ed25519-sha256');
  const record = dkimRecord(key);
  assert.ok(r.stdout.includes(`first._domainkey.example.org. IN TXT "${record}"`), r.stdout);

  r = await cli('dkim', 'gen', 'example.org', 'second', '--algorithm', 'rsa2048', '--no-sign');
  assert.equal(r.code, 0, r.stderr);
  const domains = loadDomainsConfig(join(cfg, 'domains.toml'));
  assert.deepEqual(domains.domains['example.org']?.dkim.sign, ['first']);
  assert.deepEqual(Object.keys(domains.domains['example.org']?.dkim.selectors ?? {}).sort(), [
    'first',
    'second',
  ]);

  r = await cli('dkim', 'gen', 'example.org', 'first');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /already has a selector first/);
  r = await cli('dkim', 'gen', 'nosuch.example');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /domain nosuch\.example is not configured/);
  r = await cli('dkim', 'gen', 'example.org', '--algorithm', 'dsa');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown algorithm "dsa"/);

  r = await cli('config', 'dnsrecords', 'example.org');
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.includes(`first._domainkey.example.org. IN TXT "${record}"`));
  assert.match(r.stdout, /^second\._domainkey\.example\.org\. IN TXT "v=DKIM1; k=rsa; p=/m);
  assert.match(r.stdout, /^example\.org\. IN MX 10 mail\.example\.org\.$/m);
  assert.match(
    r.stdout,
    /^_dmarc\.example\.org\. IN TXT "v=DMARC1; p=reject; rua=mailto:postmaster@example\.org"$/m,
  );
  assert.match(
    r.stdout,
    /^_smtp\._tls\.example\.org\. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@example\.org"$/m,
  );
  assert.match(r.stdout, /^; {3}mode: enforce$/m);
  // Addresses that receive reports are the ones the records name.
  const text = (await readFile(join(cfg, 'domains.toml'), 'utf8')).replace(
    'destinations = { "alice@example.org" = {} }',
    'destinations = { "alice@example.org" = {}, "dmarc@example.org" = { reports = "dmarc" }, "tls@example.org" = { reports = "tls" } }',
  );
  await writeFile(join(cfg, 'domains.toml'), text);
  r = await cli('config', 'dnsrecords', 'example.org');
  assert.match(
    r.stdout,
    /^_dmarc\.example\.org\. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example\.org"$/m,
  );
  assert.match(
    r.stdout,
    /^_smtp\._tls\.example\.org\. IN TXT "v=TLSRPTv1; rua=mailto:tls@example\.org"$/m,
  );
  r = await cli('config', 'dnsrecords', 'other.example');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /domain other\.example is not configured/);
});
