// Routes and smarthost transports: the queue relays through a submission server (here
// Tidings' own listeners) with STARTTLS or implicit TLS, a verified certificate and SMTP
// AUTH, chosen by recipient domain, sender domain or account; metrics count attempts.
// Smarthosts are found by IP address or through the system's hosts file; MX hosts only
// through DNS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MockResolver } from '../../src/dns/index.js';
import { registry } from '../../src/metrics/index.js';
import { SmtpDeliverer, type RoutingConfig } from '../../src/queue/index.js';
import { ORIGINAL, harness, msg } from '../../src/queue/testutil.js';
import type { TransportConfig } from '../../src/config/index.js';
import { PASSWORD, startSmtpTestServer } from '../smtp/harness.js';
import { TEST_TIMEOUTS, startReceiver, testCA, testLog } from './receiver.js';

const FROM = 'mjl@example.org';
const DATA = Buffer.from(
  ORIGINAL.toString().replace('From: Alice <alice@example.com>', `From: <${FROM}>`),
);

async function metric(name: string, labels: string): Promise<number> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

test('smarthost routes: STARTTLS and implicit TLS with AUTH; a refused login is retried', async (t) => {
  const s = await startSmtpTestServer();
  t.after(() => s.close());
  const ca = join(s.dir, 'smarthost-ca.pem');
  await writeFile(ca, s.certPem);
  const good = join(s.dir, 'good.pw');
  const bad = join(s.dir, 'bad.pw');
  await writeFile(good, `${PASSWORD}\n`);
  await writeFile(bad, 'wrong\n');
  const transport = (over: Partial<TransportConfig>): TransportConfig => ({
    host: 'localhost',
    port: s.submission.port,
    tls: 'starttls',
    verify_certificate: true,
    ca_file: ca,
    username: FROM,
    password_file: good,
    ...over,
  });
  const routing: RoutingConfig = {
    transports: {
      relay: transport({}),
      implicit: transport({ tls: 'implicit', port: s.submissions.port }),
      badlogin: transport({ password_file: bad }),
    },
    routes: [
      { from_domains: [], to_domains: ['relay.example'], accounts: [], transport: 'relay' },
      { from_domains: [], to_domains: [], accounts: ['bob'], transport: 'implicit' },
      { from_domains: [], to_domains: ['bad.example'], accounts: [], transport: 'badlogin' },
      { from_domains: ['example.org'], to_domains: [], accounts: [], transport: 'relay' },
    ],
  };
  const remote = new SmtpDeliverer({
    hostname: 'mail.example.com',
    // DNS knows no "localhost": the system's hosts file names it.
    resolver: new MockResolver({}),
    log: testLog,
    routing: () => routing,
    mtaSts: null,
    clientTimeouts: TEST_TIMEOUTS,
    connectTimeoutMs: 2000,
  });
  const h = await harness({ remote });
  t.after(() => h.close());
  const delivered0 = await metric(
    'tidings_queue_delivery_attempts_total',
    'kind="remote",result="delivered"',
  );

  // Recipient domain route (STARTTLS), account route (implicit TLS), sender domain route.
  await h.submit(DATA, [msg('one@relay.example', { from: FROM })]);
  await h.submit(DATA, [msg('two@elsewhere.example', { from: FROM, account: 'bob' })]);
  await h.submit(DATA, [msg('three@elsewhere.example', { from: FROM })]);
  await h.q.runOnce();
  assert.deepEqual(
    h.q.list().map((m) => m.lastError),
    [],
  );
  assert.equal(s.recorded.added.length, 3);
  const prefix = msg('x@y.example').prefix;
  const rcptOf = (a: (typeof s.recorded.added)[number]) =>
    `${a.msgs[0]?.recipient.localpart}@${a.msgs[0]?.recipient.domain}`;
  for (const rcpt of ['one@relay.example', 'two@elsewhere.example', 'three@elsewhere.example']) {
    // Delivered concurrently: in any order.
    const a = s.recorded.added.find((x) => rcptOf(x) === rcpt);
    assert.ok(a, rcpt);
    assert.deepEqual(a.data, Buffer.concat([prefix, DATA]));
    // Submitted by mjl over TLS: the smarthost's Received line says so.
    assert.match(a.msgs[0]!.prefix.toString(), /with ESMTPSA id \S+ \(TLSv1\.3/);
  }
  assert.equal(
    (await metric('tidings_queue_delivery_attempts_total', 'kind="remote",result="delivered"')) -
      delivered0,
    3,
  );

  // A refused login: retried later, no DSN, nothing relayed.
  const [m] = await h.submit(DATA, [msg('four@bad.example', { from: FROM })]);
  await h.q.runOnce();
  const left = h.q.list();
  assert.equal(left.length, 1);
  assert.equal(left[0]?.id, m?.id);
  assert.equal(left[0]?.attempts, 1);
  assert.match(left[0]?.lastError ?? '', /^authentication failed \(\w+\) \(in reply to auth\)$/);
  assert.equal(left[0]?.results[0]?.code, 535);
  assert.equal(left[0]?.results[0]?.host, 'localhost');
  assert.equal(s.recorded.added.length, 3);
  assert.ok((await metric('tidings_queue_messages', 'state="pending"')) >= 1);
});

test('smarthosts at 127.0.0.1 and at localhost deliver; an MX host is looked up in DNS only', async (t) => {
  const s = await startSmtpTestServer();
  t.after(() => s.close());
  const ca = join(s.dir, 'smarthost-ca.pem');
  const pw = join(s.dir, 'good.pw');
  await writeFile(ca, s.certPem);
  await writeFile(pw, `${PASSWORD}\n`);
  // The certificate names both "localhost" and the address 127.0.0.1: both verify.
  const transport = (host: string): TransportConfig => ({
    host,
    port: s.submission.port,
    tls: 'starttls',
    verify_certificate: true,
    ca_file: ca,
    username: FROM,
    password_file: pw,
  });
  const routing: RoutingConfig = {
    transports: { ip: transport('127.0.0.1'), name: transport('localhost') },
    routes: [
      { from_domains: [], to_domains: ['ip.example'], accounts: [], transport: 'ip' },
      { from_domains: [], to_domains: ['name.example'], accounts: [], transport: 'name' },
    ],
  };
  // DNS: mx.example's MX host is "localhost", which has no address records. Were the
  // hosts file asked, the message would reach the SMTP listener on mxPort.
  const resolver = new MockResolver({
    mx: { 'mx.example': [{ exchange: 'localhost', priority: 10 }] },
  });
  const remote = new SmtpDeliverer({
    hostname: 'mail.example.com',
    resolver,
    log: testLog,
    routing: () => routing,
    mtaSts: null,
    mxPort: s.smtp.port,
    clientTimeouts: TEST_TIMEOUTS,
    connectTimeoutMs: 2000,
  });
  const h = await harness({ remote });
  t.after(() => h.close());
  await h.submit(DATA, [msg('one@ip.example', { from: FROM })]);
  await h.submit(DATA, [msg('two@name.example', { from: FROM })]);
  const [direct] = await h.submit(DATA, [msg('three@mx.example', { from: FROM })]);
  await h.q.runOnce();

  const rcpts = s.recorded.added.map(
    (a) => `${a.msgs[0]?.recipient.localpart}@${a.msgs[0]?.recipient.domain}`,
  );
  assert.deepEqual(rcpts.sort(), ['one@ip.example', 'two@name.example']);
  for (const a of s.recorded.added) {
    assert.match(a.msgs[0]!.prefix.toString(), /with ESMTPSA id \S+ \(TLSv1\.3/);
  }
  const left = h.q.list();
  assert.deepEqual(
    left.map((m) => m.id),
    [direct?.id],
  );
  assert.match(left[0]?.lastError ?? '', /^looking up address of localhost: /);
});

test('a smarthost at an IP address: the certificate must name it, or verify_certificate = false', async (t) => {
  const ca = await testCA();
  // A certificate for the name only, without the address.
  const r = await startReceiver({ tls: await ca.issue(['localhost']) });
  t.after(() => r.close());
  const h = await harness({});
  t.after(() => h.close());
  const caFile = join(h.dir, 'ca.pem');
  await writeFile(caFile, ca.caPem);
  const transport = (verify: boolean): TransportConfig => ({
    host: '127.0.0.1',
    port: r.port,
    tls: 'starttls',
    verify_certificate: verify,
    ca_file: caFile,
  });
  const routing: RoutingConfig = {
    transports: { strict: transport(true), lax: transport(false) },
    routes: [
      { from_domains: [], to_domains: ['strict.example'], accounts: [], transport: 'strict' },
      { from_domains: [], to_domains: ['lax.example'], accounts: [], transport: 'lax' },
    ],
  };
  const remote = new SmtpDeliverer({
    hostname: 'mail.example.com',
    resolver: new MockResolver({}),
    log: testLog,
    routing: () => routing,
    mtaSts: null,
    clientTimeouts: TEST_TIMEOUTS,
    connectTimeoutMs: 2000,
  });
  await h.reopen({ remote });
  const [strict] = await h.submit(DATA, [msg('one@strict.example', { from: FROM })]);
  await h.submit(DATA, [msg('two@lax.example', { from: FROM })]);
  await h.q.runOnce();

  assert.deepEqual(
    r.messages.map((m) => [m.rcpts, m.tls]),
    [[['two@lax.example'], true]],
  );
  const left = h.q.list();
  assert.deepEqual(
    left.map((m) => m.id),
    [strict?.id],
  );
  assert.match(left[0]?.lastError ?? '', /IP: 127\.0\.0\.1 is not in the cert's list/);
});
