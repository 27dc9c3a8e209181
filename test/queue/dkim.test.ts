// DKIM end to end (RFC 6376, RFC 8463): keys generated into a config directory, the DNS
// records printed by `tidings config dnsrecords`, published on a loopback DNS server,
// messages signed as submission signs them, delivered by the queue over SMTP, and the
// received bytes verified. DSNs the queue sends remotely are signed through `sign`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDomainsConfig, type DomainsConfig } from '../../src/config/index.js';
import { generateDkimKey, verifyDkim } from '../../src/msgauth/index.js';
import { harness, msg } from '../../src/queue/testutil.js';
import { dkimSigner } from '../../src/server/outgoing.js';
import { sharedPort, startReceiver, testDNS, testDeliverer, type Receiver } from './receiver.js';

const MAIN = join(import.meta.dirname, '..', '..', 'src', 'cli', 'main.ts');

const STATIC = `hostname = "mail.example.com"
data_dir = "../data"

[listeners.main]
ips = ["127.0.0.1"]
`;

// example.com signs with both keys; the host name signs its DSNs with the Ed25519 key.
const DOMAINS = `[domains."example.com"]
dkim.selectors.ed = { private_key_file = "dkim/ed.pem" }
dkim.selectors.rsa = { private_key_file = "dkim/rsa.pem" }
dkim.sign = ["ed", "rsa"]

[domains."mail.example.com"]
dkim.selectors.dsn = { private_key_file = "dkim/ed.pem" }
dkim.sign = ["dsn"]

[accounts.alice]
domain = "example.com"
destinations = { "alice@example.com" = {} }
`;

const DATA = Buffer.from(
  'From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: Signed\r\n' +
    'Date: Mon, 15 Jan 2024 12:00:00 +0000\r\nMessage-ID: <dkim-1@example.com>\r\n\r\n' +
    'Body line one.\r\n.dotted line\r\n\r\nLast line.\r\n',
);

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The character-strings of a zone file TXT value ("..." "..."), unescaped and joined. */
function txtValue(zoneValue: string): string {
  let out = '';
  for (const m of zoneValue.matchAll(/"((?:[^"\\]|\\.)*)"/g)) {
    out += (m[1] ?? '').replace(/\\(\d{3}|.)/g, (_, e: string) =>
      e.length === 3 ? String.fromCharCode(Number(e)) : e,
    );
  }
  return out;
}

/** TXT records under _domainkey from `tidings config dnsrecords <domain>`. */
async function dkimRecords(configDir: string, domain: string): Promise<Record<string, string>> {
  const r = await run(['config', 'dnsrecords', domain, '-c', configDir]);
  assert.equal(r.code, 0, r.stderr);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(\S+\._domainkey\.\S+) IN TXT (.+)$/.exec(line);
    if (m) out[(m[1] as string).replace(/\.$/, '')] = txtValue(m[2] as string);
  }
  return out;
}

describe('DKIM signatures survive queue delivery', () => {
  let dir: string;
  let cfg: DomainsConfig;
  let records: Record<string, string>;
  let keys: { ed: string; rsa: string };
  let dns: Awaited<ReturnType<typeof testDNS>>;
  let port: number;
  let rcv: Receiver;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidings-dkim-'));
    const configDir = join(dir, 'config');
    await mkdir(join(configDir, 'dkim'), { recursive: true });
    const ed = generateDkimKey('ed25519');
    const rsa = generateDkimKey('rsa2048');
    keys = { ed: ed.publicKeyBase64, rsa: rsa.publicKeyBase64 };
    await writeFile(join(configDir, 'dkim', 'ed.pem'), ed.pem, { mode: 0o600 });
    await writeFile(join(configDir, 'dkim', 'rsa.pem'), rsa.pem, { mode: 0o600 });
    await writeFile(join(configDir, 'tidings.toml'), STATIC);
    await writeFile(join(configDir, 'domains.toml'), DOMAINS);
    const domainsPath = join(configDir, 'domains.toml');
    cfg = parseDomainsConfig(await readFile(domainsPath, 'utf8'), domainsPath);
    const [a, b] = await Promise.all([
      dkimRecords(configDir, 'example.com'),
      dkimRecords(configDir, 'mail.example.com'),
    ]);
    records = { ...a, ...b };
    port = await sharedPort(['127.0.0.1']);
    dns = await testDNS({
      mx: { 'remote.test': [{ exchange: 'mx.remote.test', priority: 10 }] },
      a: { 'mx.remote.test': ['127.0.0.1'] },
      txt: Object.fromEntries(Object.entries(records).map(([k, v]) => [k, [v]])),
    });
  });
  after(async () => {
    await dns?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('dnsrecords prints the public keys', () => {
    assert.deepEqual(records, {
      'ed._domainkey.example.com': `v=DKIM1; k=ed25519; p=${keys.ed}`,
      'rsa._domainkey.example.com': `v=DKIM1; k=rsa; p=${keys.rsa}`,
      'dsn._domainkey.mail.example.com': `v=DKIM1; k=ed25519; p=${keys.ed}`,
    });
  });

  test('a submitted message signed with Ed25519 and RSA verifies after delivery', async (t) => {
    rcv = await startReceiver({ port });
    const h = await harness({
      remote: testDeliverer({ resolver: dns.resolver, mxPort: port }),
    });
    t.after(async () => {
      await h.close();
      await rcv.close();
    });
    // As submission does: the signature covers the trace fields and the message.
    const unsigned = Buffer.from('Received: from client by mail.example.com\r\n');
    const sig = await dkimSigner(() => cfg)('example.com', Buffer.concat([unsigned, DATA]));
    assert.match(sig, /^DKIM-Signature: /);
    const prefix = Buffer.concat([Buffer.from(sig), unsigned]);
    await h.submit(DATA, [msg('bob@remote.test', { prefix })]);
    await h.q.runOnce();

    assert.equal(rcv.messages.length, 1);
    const got = rcv.messages[0]?.data as Buffer;
    assert.deepEqual(got, Buffer.concat([prefix, DATA]));
    const results = await verifyDkim(got, dns.resolver);
    assert.deepEqual(
      results.map((r) => [r.domain, r.selector, r.result]),
      [
        ['example.com', 'ed', 'pass'],
        ['example.com', 'rsa', 'pass'],
      ],
    );

    // A changed body no longer verifies: the check above can fail.
    const tampered = Buffer.from(
      got.toString('latin1').replace('Last line.', 'Last line!'),
      'latin1',
    );
    assert.deepEqual(
      (await verifyDkim(tampered, dns.resolver)).map((r) => r.result),
      ['fail', 'fail'],
    );
  });

  test('a DSN queued for remote delivery is signed for the host name', async (t) => {
    rcv = await startReceiver({
      port,
      rcpt: (a) => (a.startsWith('gone') ? '550 5.1.1 no such user' : '250 2.1.5 ok'),
    });
    const sign = dkimSigner(() => cfg);
    const h = await harness({
      remote: testDeliverer({ resolver: dns.resolver, mxPort: port }),
      sign: (domain, data) => sign(domain, data),
    });
    t.after(async () => {
      await h.close();
      await rcv.close();
    });
    // The sender is remote, so its DSN goes out over SMTP.
    await h.submit(DATA, [msg('gone@remote.test', { from: 'sender@remote.test' })]);
    await h.q.runOnce();
    assert.equal(rcv.messages.length, 0);
    const [dsn] = h.q.list();
    assert.ok(dsn);
    assert.equal(dsn.isDSN, true);
    assert.equal(dsn.sender, null);
    await h.q.runOnce();

    assert.equal(rcv.messages.length, 1);
    const got = rcv.messages[0];
    assert.ok(got);
    assert.equal(got.mailFrom, '');
    assert.deepEqual(got.rcpts, ['sender@remote.test']);
    assert.match(
      got.data.toString('latin1'),
      /^DKIM-Signature: [^]*\r\nFrom: [^\r]*postmaster@mail\.example\.com/m,
    );
    const results = await verifyDkim(got.data, dns.resolver);
    assert.deepEqual(
      results.map((r) => [r.domain, r.selector, r.result]),
      [['mail.example.com', 'dsn', 'pass']],
    );
    assert.deepEqual(h.q.list(), []);
  });
});
