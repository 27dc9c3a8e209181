// Remote delivery end to end: the queue with the real SMTP deliverer, a DNS server on
// loopback, and receivers on 127.0.0.x playing the MX hosts (RFC 5321 §5.1, RFC 7505,
// RFC 3207 opportunistic STARTTLS with plaintext fallback).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MockZone } from '../../src/dns/index.js';
import type { AttemptResult, QueueMessage } from '../../src/queue/index.js';
import { MIN, T0, harness, inboxDSNs, msg, type Harness } from '../../src/queue/testutil.js';
import {
  sharedPort,
  startReceiver,
  testCA,
  testDNS,
  testDeliverer,
  type Receiver,
} from './receiver.js';

const ZONE: MockZone = {
  mx: {
    'remote.test': [
      { exchange: 'mx1.remote.test', priority: 10 },
      { exchange: 'mx2.remote.test', priority: 20 },
    ],
    'single.test': [{ exchange: 'mx2.remote.test', priority: 10 }],
    'shared1.test': [{ exchange: 'mx.shared.test', priority: 10 }],
    'shared2.test': [{ exchange: 'mx.shared.test', priority: 5 }],
    'other.test': [{ exchange: 'mx.other.test', priority: 10 }],
    'nullmx.test': [{ exchange: '', priority: 0 }],
  },
  a: {
    'mx1.remote.test': ['127.0.0.2'],
    'mx2.remote.test': ['127.0.0.1'],
    'mx.shared.test': ['127.0.0.1'],
    'mx.other.test': ['127.0.0.3'],
  },
  fail: { 'MX servfail.test': 'temporary' },
};

// A line starting with "." checks dot-stuffing both ways.
const DATA = Buffer.from(
  'From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: Hello\r\n' +
    'Message-ID: <delivery-1@example.com>\r\n\r\nHi there.\r\n.hidden line\r\n..two dots\r\n',
);
const PREFIX = Buffer.from('Received: from client by mail.example.com\r\n');

describe('remote delivery over SMTP', () => {
  let port: number;
  let dns: Awaited<ReturnType<typeof testDNS>>;
  let caPem: string;
  let untrusted: { key: string; cert: string };
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    port = await sharedPort(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    dns = await testDNS(ZONE);
    const ca = await testCA();
    caPem = ca.caPem;
    // Signed by a CA the deliverer does not trust.
    untrusted = await (await testCA('Unknown CA')).issue(['mx2.remote.test']);
  });
  after(async () => {
    await dns.close();
  });

  async function receiver(opts: Parameters<typeof startReceiver>[0] = {}): Promise<Receiver> {
    const r = await startReceiver({ port, ...opts });
    cleanups.push(() => r.close());
    return r;
  }

  async function setup(): Promise<Harness> {
    const h = await harness({
      remote: testDeliverer({ resolver: dns.resolver, mxPort: port, tlsCA: caPem }),
    });
    cleanups.push(() => h.close());
    return h;
  }

  async function cleanup(): Promise<void> {
    for (const c of cleanups.splice(0).reverse()) await c();
  }

  /** Attempt results of messages that left the queue, by id. */
  function finished(h: Harness): Map<number, { m: QueueMessage; r: AttemptResult }> {
    const out = new Map<number, { m: QueueMessage; r: AttemptResult }>();
    h.q.on('delivered', (m, r) => out.set(m.id, { m, r }));
    h.q.on('failed', (m, r) => out.set(m.id, { m, r }));
    return out;
  }

  test('first MX down: the second MX gets the exact bytes', async (t) => {
    t.after(cleanup);
    const mx2 = await receiver({ host: '127.0.0.1' });
    const h = await setup();
    const done = finished(h);
    const [m] = await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    assert.ok(m);
    await h.q.runOnce();

    assert.equal(mx2.messages.length, 1);
    const got = mx2.messages[0];
    assert.ok(got);
    assert.deepEqual(got.data, Buffer.concat([PREFIX, DATA]));
    assert.equal(got.mailFrom, 'alice@example.com');
    assert.equal(got.mailParams, `SIZE=${PREFIX.length + DATA.length}`);
    assert.deepEqual(got.rcpts, ['bob@remote.test']);
    assert.equal(got.tls, false);
    assert.equal(got.ehlo, 'mail.example.com');
    assert.equal(mx2.connections, 1);

    const d = done.get(m.id);
    assert.ok(d);
    assert.equal(d.r.success, true);
    assert.equal(d.r.host, 'mx2.remote.test');
    assert.equal(d.r.code, 250);
    assert.equal(d.r.secode, '2.0.0');
    assert.deepEqual(d.m.results, [d.r]);
    assert.deepEqual(h.q.list(), []);
    assert.deepEqual(await inboxDSNs(h.store, 'alice'), []);
  });

  test('bare CR or LF in a queued message cannot end it early at a DATA-only server', async (t) => {
    t.after(cleanup);
    // A server without CHUNKING that ends lines at a bare CR or LF as well.
    const mx = await receiver({ host: '127.0.0.1', lenientLineEnds: true });
    const h = await setup();
    const done = finished(h);
    // Queue files written before bare line ends were refused (or from BINARYMIME
    // submissions) may hold them; each attempt below would start a second message.
    const smuggled =
      'MAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@remote.test>\r\nDATA\r\n' +
      'Subject: smuggled\r\n\r\nsmuggled\r\n.\r\n';
    const raw = Buffer.from(
      'From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: Hello\r\n\r\n' +
        `one\n.\n${smuggled}two\r.\r${smuggled}three\r\n.\r${smuggled}four\n.\r\n${smuggled}end\n`,
      'latin1',
    );
    const file = join(h.dir, 'stored-by-an-older-version.msg');
    await writeFile(file, raw);
    const [m] = await h.q.add(file, [msg('bob@remote.test', { prefix: PREFIX })]);
    assert.ok(m);
    await h.q.runOnce();

    assert.equal(mx.messages.length, 1);
    assert.equal(mx.commands.filter((c) => c.startsWith('MAIL')).length, 1);
    const got = mx.messages[0]!.data.toString('latin1');
    assert.doesNotMatch(got, /\r(?!\n)|(?<!\r)\n/, 'bare CR or LF reached the server');
    assert.equal(
      got,
      (PREFIX.toString('latin1') + raw.toString('latin1')).replace(/\r\n|\r|\n/g, '\r\n'),
    );
    assert.equal(done.get(m.id)?.r.success, true);
  });

  test('domains sharing an MX host go in one transaction, others separately', async (t) => {
    t.after(cleanup);
    const shared = await receiver({ host: '127.0.0.1' });
    const other = await receiver({ host: '127.0.0.3' });
    const h = await setup();
    await h.submit(DATA, [
      msg('a@shared1.test', { prefix: PREFIX }),
      msg('b@shared2.test', { prefix: PREFIX }),
      msg('c@other.test', { prefix: PREFIX }),
    ]);
    await h.q.runOnce();

    assert.deepEqual(
      shared.messages.map((m) => m.rcpts),
      [['a@shared1.test', 'b@shared2.test']],
    );
    assert.equal(shared.connections, 1);
    assert.deepEqual(
      other.messages.map((m) => m.rcpts),
      [['c@other.test']],
    );
    assert.deepEqual(shared.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
    assert.deepEqual(other.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
    assert.deepEqual(h.q.list(), []);
  });

  test('a temporary RCPT failure is retried on the backoff schedule', async (t) => {
    t.after(cleanup);
    let refuse = true;
    const mx = await receiver({
      host: '127.0.0.1',
      rcpt: () => (refuse ? '451 4.3.0 try again later' : '250 2.1.5 ok'),
    });
    const h = await setup();
    const done = finished(h);
    const [m] = await h.submit(DATA, [msg('carl@single.test', { prefix: PREFIX })]);
    assert.ok(m);

    const expectedError = 'try again later';
    const attempt = async (at: number) => {
      h.setNow(at);
      await h.q.runOnce();
    };

    await attempt(T0);
    assert.equal(mx.connections, 1);
    let q = h.q.get(m.id);
    assert.ok(q);
    assert.equal(q.attempts, 1);
    assert.equal(q.nextAttempt.getTime(), T0 + 7.5 * MIN);
    assert.equal(q.lastError, expectedError);
    assert.deepEqual(q.results, [
      {
        start: new Date(T0),
        duration: 0,
        success: false,
        code: 451,
        secode: '4.3.0',
        error: expectedError,
        host: 'mx2.remote.test',
      },
    ]);

    // Not due yet: nothing happens.
    await attempt(T0 + 7.5 * MIN - 1);
    assert.equal(mx.connections, 1);
    assert.equal(h.q.get(m.id)?.attempts, 1);

    await attempt(T0 + 7.5 * MIN);
    assert.equal(mx.connections, 2);
    q = h.q.get(m.id);
    assert.equal(q?.attempts, 2);
    assert.equal(q?.nextAttempt.getTime(), T0 + 22.5 * MIN);

    await attempt(T0 + 22.5 * MIN - 1);
    assert.equal(mx.connections, 2);

    await attempt(T0 + 22.5 * MIN);
    assert.equal(mx.connections, 3);
    q = h.q.get(m.id);
    assert.equal(q?.attempts, 3);
    assert.equal(q?.nextAttempt.getTime(), T0 + 52.5 * MIN);
    assert.deepEqual(
      q?.results.map((r) => [r.start.getTime() - T0, r.code, r.success]),
      [
        [0, 451, false],
        [7.5 * MIN, 451, false],
        [22.5 * MIN, 451, false],
      ],
    );
    assert.equal(mx.messages.length, 0);

    refuse = false;
    await attempt(T0 + 52.5 * MIN);
    assert.equal(mx.connections, 4);
    assert.equal(mx.messages.length, 1);
    assert.deepEqual(mx.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
    assert.deepEqual(h.q.list(), []);
    const d = done.get(m.id);
    assert.ok(d);
    assert.equal(d.m.attempts, 4);
    assert.equal(d.m.lastError, '');
    assert.deepEqual(
      d.m.results.map((r) => [r.start.getTime() - T0, r.code, r.success, r.host]),
      [
        [0, 451, false, 'mx2.remote.test'],
        [7.5 * MIN, 451, false, 'mx2.remote.test'],
        [22.5 * MIN, 451, false, 'mx2.remote.test'],
        [52.5 * MIN, 250, true, 'mx2.remote.test'],
      ],
    );
    // Under 4 hours: no delay DSN yet.
    assert.deepEqual(await inboxDSNs(h.store, 'alice'), []);
  });

  test('a permanent failure sends a DSN with the remote reply, unless NOTIFY=NEVER', async (t) => {
    t.after(cleanup);
    const mx = await receiver({
      host: '127.0.0.1',
      rcpt: (a) => (a.startsWith('gone') ? '550 5.1.1 no such user here' : '250 2.1.5 ok'),
    });
    const h = await setup();

    await h.submit(DATA, [msg('gone1@single.test', { prefix: PREFIX, dsn: { notify: 'NEVER' } })]);
    await h.q.runOnce();
    assert.equal(mx.connections, 1);
    assert.deepEqual(h.q.list(), []);
    assert.deepEqual(await inboxDSNs(h.store, 'alice'), []);

    await h.submit(DATA, [msg('gone2@single.test', { prefix: PREFIX })]);
    await h.q.runOnce();
    assert.equal(mx.connections, 2);
    assert.equal(mx.messages.length, 0);
    assert.deepEqual(h.q.list(), []);
    const dsns = await inboxDSNs(h.store, 'alice');
    assert.equal(dsns.length, 1);
    assert.deepEqual(dsns[0]?.dsn.recipients, [
      {
        finalRecipient: 'gone2@single.test',
        action: 'failed',
        status: '5.1.1',
        diagnostic: '550 5.1.1 no such user here',
        remoteMTA: 'mx2.remote.test',
      },
    ]);
    assert.equal(dsns[0]?.dsn.reportingMTA, 'mail.example.com');
  });

  test('null MX and NXDOMAIN fail permanently without a connection; SERVFAIL is retried', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ host: '127.0.0.1' });
    const h = await setup();
    const done = finished(h);
    const [nullmx] = await h.submit(DATA, [msg('x@nullmx.test', { prefix: PREFIX })]);
    const [nx] = await h.submit(DATA, [msg('y@nxdomain.test', { prefix: PREFIX })]);
    const [sf] = await h.submit(DATA, [msg('z@servfail.test', { prefix: PREFIX })]);
    assert.ok(nullmx && nx && sf);
    await h.q.runOnce();
    assert.equal(mx.connections, 0);

    assert.deepEqual(
      [done.get(nullmx.id)?.r, done.get(nx.id)?.r].map((r) => [r?.success, r?.secode, r?.host]),
      [
        [false, '5.1.10', ''],
        [false, '5.1.2', ''],
      ],
    );
    assert.equal(done.get(nullmx.id)?.r.error, 'domain nullmx.test does not accept mail (null MX)');
    assert.equal(done.get(nx.id)?.r.error, 'domain nxdomain.test has no MX and no address');

    const left = h.q.list();
    assert.deepEqual(
      left.map((m) => [m.id, m.attempts, m.nextAttempt.getTime() - T0, m.results[0]?.secode]),
      [[sf.id, 1, 7.5 * MIN, '4.4.3']],
    );
    assert.match(left[0]?.lastError ?? '', /^looking up MX of servfail\.test: /);

    // The two attempts ran at once: their DSNs may come in either order.
    const dsns = await inboxDSNs(h.store, 'alice');
    assert.deepEqual(
      dsns
        .flatMap((d) => d.dsn.recipients.map((r) => [r.finalRecipient, r.action, r.status]))
        .sort(),
      [
        ['x@nullmx.test', 'failed', '5.1.10'],
        ['y@nxdomain.test', 'failed', '5.1.2'],
      ],
    );
  });

  test('opportunistic STARTTLS is used even with a certificate that does not verify', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ host: '127.0.0.1', tls: untrusted });
    const h = await setup();
    await h.submit(DATA, [msg('bob@single.test', { prefix: PREFIX })]);
    await h.q.runOnce();
    assert.equal(mx.connections, 1);
    assert.equal(mx.messages.length, 1);
    assert.equal(mx.messages[0]?.tls, true);
    assert.deepEqual(mx.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
    assert.deepEqual(
      mx.commands.filter((c) => !c.startsWith('RCPT')).map((c) => c.split(' ')[0]),
      ['EHLO', 'STARTTLS', 'EHLO', 'MAIL', 'DATA', 'QUIT'],
    );
    assert.deepEqual(h.q.list(), []);
  });

  for (const mode of ['refuse', 'break'] as const) {
    test(`a failed STARTTLS (${mode}) falls back to plaintext on a new connection`, async (t) => {
      t.after(cleanup);
      const mx = await receiver({ host: '127.0.0.1', tls: untrusted, starttls: mode });
      const h = await setup();
      await h.submit(DATA, [msg('bob@single.test', { prefix: PREFIX })]);
      await h.q.runOnce();
      assert.equal(mx.connections, 2);
      assert.equal(mx.messages.length, 1);
      assert.equal(mx.messages[0]?.tls, false);
      assert.deepEqual(mx.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
      assert.deepEqual(
        mx.commands.map((c) => c.split(' ')[0]),
        ['EHLO', 'STARTTLS', 'EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT'],
      );
      assert.deepEqual(h.q.list(), []);
    });
  }
});
