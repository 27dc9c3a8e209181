// MTA-STS (RFC 8461) and REQUIRETLS (RFC 8689) in remote delivery: policies are fetched
// over HTTPS from a local server with a certificate of a test CA, MX hosts are receivers
// on loopback, and the queue runs with the real SMTP deliverer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { MockZone } from '../../src/dns/index.js';
import type { TLSResult } from '../../src/store/index.js';
import { MtaStsCache } from '../../src/msgauth/index.js';
import type { AttemptResult, QueueMessage } from '../../src/queue/index.js';
import { MIN, T0, harness, inboxDSNs, msg, type Harness } from '../../src/queue/testutil.js';
import {
  sharedPort,
  startReceiver,
  testCA,
  testDNS,
  testDeliverer,
  type KeyCert,
  type Receiver,
  type ReceiverOptions,
} from './receiver.js';

const ZONE: MockZone = {
  mx: {
    'remote.test': [{ exchange: 'mx1.remote.test', priority: 10 }],
    'nopolicy.test': [{ exchange: 'mx1.remote.test', priority: 10 }],
    'fetchfail.test': [{ exchange: 'mx1.remote.test', priority: 10 }],
  },
  a: { 'mx1.remote.test': ['127.0.0.1'] },
  txt: {
    '_mta-sts.remote.test': ['v=STSv1; id=1'],
    // Its policy host's certificate is not for mta-sts.fetchfail.test: the fetch fails.
    '_mta-sts.fetchfail.test': ['v=STSv1; id=1'],
  },
};

const DATA = Buffer.from(
  'From: Alice <alice@example.com>\r\nTo: bob@remote.test\r\nSubject: Secret\r\n' +
    'Message-ID: <sts-1@example.com>\r\n\r\nFor your eyes only.\r\n',
);
const PREFIX = Buffer.from('Received: from client by mail.example.com\r\n');

function policy(mode: string, mx = 'mx1.remote.test'): string {
  return `version: STSv1\r\nmode: ${mode}\r\nmx: ${mx}\r\nmax_age: 86400\r\n`;
}

describe('MTA-STS and REQUIRETLS in remote delivery', () => {
  let port: number;
  let dns: Awaited<ReturnType<typeof testDNS>>;
  let caPem: string;
  let mxCert: KeyCert;
  let untrusted: KeyCert;
  let https: Server;
  let httpsPort: number;
  let policyText = '';
  let policyFetches = 0;
  /** TLS results the deliverer reported, for TLS reports (RFC 8460). */
  let tlsResults: TLSResult[] = [];
  /** The results in short: policy type, then the result type or "success". */
  const results = () =>
    tlsResults.map((r) => [r.policyDomain, r.policy.type, r.failure?.resultType ?? 'success']);
  const cleanups: Array<() => Promise<void>> = [];

  before(async () => {
    port = await sharedPort(['127.0.0.1']);
    dns = await testDNS(ZONE);
    const ca = await testCA();
    caPem = ca.caPem;
    mxCert = await ca.issue(['mx1.remote.test']);
    untrusted = await (await testCA('Unknown CA')).issue(['mx1.remote.test']);
    const web = await ca.issue(['mta-sts.remote.test']);
    https = createServer({ key: web.key, cert: web.cert }, (req, res) => {
      policyFetches++;
      if (req.url !== '/.well-known/mta-sts.txt' || req.headers.host !== 'mta-sts.remote.test') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(policyText);
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const addr = https.address();
    httpsPort = addr !== null && typeof addr !== 'string' ? addr.port : 0;
  });
  after(async () => {
    https.closeAllConnections();
    await new Promise<void>((resolve) => https.close(() => resolve()));
    await dns.close();
  });

  async function receiver(opts: ReceiverOptions = {}): Promise<Receiver> {
    const r = await startReceiver({ port, ...opts });
    cleanups.push(() => r.close());
    return r;
  }

  /** A queue whose deliverer has a fresh MTA-STS cache serving `text` as the policy. */
  async function setup(text: string): Promise<Harness> {
    policyText = text;
    policyFetches = 0;
    tlsResults = [];
    const mtaSts = new MtaStsCache({
      resolver: dns.resolver,
      httpsCA: caPem,
      connectTo: () => ({ host: '127.0.0.1', port: httpsPort }),
    });
    const h = await harness({
      remote: testDeliverer({
        resolver: dns.resolver,
        mxPort: port,
        tlsCA: caPem,
        mtaSts,
        tlsResults: (r) => tlsResults.push(r),
      }),
    });
    cleanups.push(() => h.close());
    return h;
  }

  async function cleanup(): Promise<void> {
    for (const c of cleanups.splice(0).reverse()) await c();
  }

  function finished(h: Harness): Map<number, { m: QueueMessage; r: AttemptResult }> {
    const out = new Map<number, { m: QueueMessage; r: AttemptResult }>();
    h.q.on('delivered', (m, r) => out.set(m.id, { m, r }));
    h.q.on('failed', (m, r) => out.set(m.id, { m, r }));
    return out;
  }

  /** The only queued message, after a temporary failure. */
  function retrying(h: Harness, id: number): QueueMessage {
    const left = h.q.list();
    assert.deepEqual(
      left.map((m) => [m.id, m.attempts, m.nextAttempt.getTime() - T0]),
      [[id, 1, 7.5 * MIN]],
    );
    return left[0] as QueueMessage;
  }

  test('enforce: an MX host without STARTTLS is not used; the message waits', async (t) => {
    t.after(cleanup);
    const mx = await receiver();
    const h = await setup(policy('enforce'));
    const [m] = await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(policyFetches, 1);
    assert.equal(mx.connections, 1);
    assert.deepEqual(mx.messages, []);
    assert.deepEqual(
      mx.commands.map((c) => c.split(' ')[0]),
      ['EHLO'],
    );
    const q = retrying(h, m.id);
    assert.equal(q.results[0]?.success, false);
    assert.equal(q.results[0]?.host, 'mx1.remote.test');
    assert.equal(q.lastError, 'mx1.remote.test: starttls: server does not offer STARTTLS');
    assert.deepEqual(await inboxDSNs(h.store, 'alice'), []);
    assert.deepEqual(results(), [['remote.test', 'sts', 'starttls-not-supported']]);
    assert.deepEqual(tlsResults[0]?.policy.strings, [
      'version: STSv1',
      'mode: enforce',
      'mx: mx1.remote.test',
      'max_age: 86400',
    ]);
    assert.equal(tlsResults[0]?.failure?.receivingMxHostname, 'mx1.remote.test');
    assert.equal(tlsResults[0]?.failure?.receivingIp, '127.0.0.1');
  });

  test('enforce with "TLS-Required: No": delivered in plaintext', async (t) => {
    t.after(cleanup);
    const mx = await receiver();
    const h = await setup(policy('enforce'));
    await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX, requireTLS: false })]);
    await h.q.runOnce();
    // The policy is not even looked at.
    assert.equal(policyFetches, 0);
    assert.equal(mx.messages.length, 1);
    assert.equal(mx.messages[0]?.tls, false);
    assert.deepEqual(mx.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
    assert.deepEqual(h.q.list(), []);
  });

  test('enforce: delivered over TLS to an MX host with a verifying certificate', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ tls: mxCert });
    const h = await setup(policy('enforce'));
    const done = finished(h);
    const [m] = await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(mx.messages.length, 1);
    assert.equal(mx.messages[0]?.tls, true);
    assert.equal(mx.messages[0]?.mailParams, `SIZE=${PREFIX.length + DATA.length}`);
    assert.deepEqual(mx.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
    assert.equal(done.get(m.id)?.r.success, true);
    assert.equal(done.get(m.id)?.r.host, 'mx1.remote.test');
    assert.deepEqual(h.q.list(), []);
    assert.deepEqual(results(), [['remote.test', 'sts', 'success']]);
    assert.equal(tlsResults[0]?.optional, false);
  });

  test('enforce: a certificate that does not verify gets no message and no plaintext retry', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ tls: untrusted });
    const h = await setup(policy('enforce'));
    const [m] = await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(mx.connections, 1);
    assert.deepEqual(mx.messages, []);
    const q = retrying(h, m.id);
    assert.equal(
      q.lastError,
      'mx1.remote.test: starttls: TLS handshake: unable to verify the first certificate',
    );
    assert.deepEqual(results(), [['remote.test', 'sts', 'certificate-not-trusted']]);
    assert.equal(tlsResults[0]?.failure?.failureReasonCode, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('enforce: no MX host matches the policy: temporary failure, no connection', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ tls: mxCert });
    const h = await setup(policy('enforce', 'mx9.remote.test'));
    const [m] = await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(mx.connections, 0);
    const q = retrying(h, m.id);
    assert.deepEqual(q.results[0] && [q.results[0].secode, q.results[0].host], ['4.7.5', '']);
    assert.equal(
      q.lastError,
      'no MX host of remote.test matches its MTA-STS policy (mx9.remote.test)',
    );
    assert.deepEqual(results(), [['remote.test', 'sts', 'validation-failure']]);
  });

  test('testing: delivered in plaintext without TLS, and to MX hosts outside the policy', async (t) => {
    t.after(cleanup);
    const mx = await receiver();
    const h = await setup(policy('testing', '*.elsewhere.test'));
    await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    await h.q.runOnce();
    assert.equal(policyFetches, 1);
    assert.equal(mx.messages.length, 1);
    assert.equal(mx.messages[0]?.tls, false);
    assert.deepEqual(h.q.list(), []);
    // Plaintext after a policy that allows it is still a failure to report.
    assert.deepEqual(results(), [['remote.test', 'sts', 'starttls-not-supported']]);
  });

  test('a policy that cannot be fetched, or is invalid, is reported; no policy: sessions still are', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ tls: mxCert });
    const h = await setup('this is not a policy');
    await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX })]);
    await h.submit(DATA, [msg('carol@nopolicy.test', { prefix: PREFIX })]);
    await h.submit(DATA, [msg('dave@fetchfail.test', { prefix: PREFIX })]);
    await h.q.runOnce();
    // Without a policy, opportunistic TLS: all delivered over TLS (not verified).
    assert.equal(mx.messages.length, 3);
    assert.deepEqual(results().sort(), [
      ['fetchfail.test', 'no-policy-found', 'success'],
      ['fetchfail.test', 'sts', 'sts-policy-fetch-error'],
      ['nopolicy.test', 'no-policy-found', 'success'],
      ['remote.test', 'no-policy-found', 'success'],
      ['remote.test', 'sts', 'sts-policy-invalid'],
    ]);
  });

  for (const mode of ['enforce', 'testing']) {
    test(`REQUIRETLS with a ${mode} policy, verified TLS and a server that supports it`, async (t) => {
      t.after(cleanup);
      const mx = await receiver({ tls: mxCert, requireTLSExtension: true });
      const h = await setup(policy(mode));
      await h.submit(DATA, [msg('bob@remote.test', { prefix: PREFIX, requireTLS: true })]);
      await h.q.runOnce();
      assert.equal(mx.messages.length, 1);
      assert.equal(mx.messages[0]?.tls, true);
      assert.equal(mx.messages[0]?.mailParams, `SIZE=${PREFIX.length + DATA.length} REQUIRETLS`);
      assert.deepEqual(mx.messages[0]?.data, Buffer.concat([PREFIX, DATA]));
      assert.deepEqual(h.q.list(), []);
    });
  }

  test('REQUIRETLS to a server that does not support it: permanent 5.7.30 with a DSN', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ tls: mxCert });
    const h = await setup(policy('enforce'));
    const done = finished(h);
    const [m] = await h.submit(DATA, [
      msg('bob@remote.test', { prefix: PREFIX, requireTLS: true }),
    ]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(mx.connections, 1);
    assert.deepEqual(mx.messages, []);
    // Nothing was sent after TLS and EHLO: the client decided on its own.
    assert.deepEqual(
      mx.commands.map((c) => c.split(' ')[0]),
      ['EHLO', 'STARTTLS', 'EHLO', 'QUIT'],
    );
    const r = done.get(m.id)?.r;
    assert.equal(r?.success, false);
    assert.deepEqual(r && [r.code, r.secode, r.host], [0, '5.7.30', 'mx1.remote.test']);
    assert.equal(
      r?.error,
      'mx1.remote.test: REQUIRETLS needed but remote server does not support REQUIRETLS',
    );
    assert.deepEqual(h.q.list(), []);
    // The reply was not the host's: no Diagnostic-Code.
    const dsns = await inboxDSNs(h.store, 'alice');
    assert.deepEqual(
      dsns.map((d) => d.dsn.recipients),
      [
        [
          {
            finalRecipient: 'bob@remote.test',
            action: 'failed',
            status: '5.7.30',
            remoteMTA: 'mx1.remote.test',
          },
        ],
      ],
    );
  });

  test('REQUIRETLS to an MX host without STARTTLS: permanent 5.7.30 with a DSN', async (t) => {
    t.after(cleanup);
    const mx = await receiver();
    const h = await setup(policy('enforce'));
    const done = finished(h);
    const [m] = await h.submit(DATA, [
      msg('bob@remote.test', { prefix: PREFIX, requireTLS: true }),
    ]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(mx.connections, 1);
    assert.deepEqual(mx.messages, []);
    const r = done.get(m.id)?.r;
    assert.deepEqual(r && [r.success, r.code, r.secode, r.host], [
      false,
      0,
      '5.7.30',
      'mx1.remote.test',
    ]);
    assert.equal(r?.error, 'mx1.remote.test: starttls: server does not offer STARTTLS');
    assert.deepEqual(h.q.list(), []);
    const dsns = await inboxDSNs(h.store, 'alice');
    assert.deepEqual(
      dsns.flatMap((d) => d.dsn.recipients.map((x) => [x.finalRecipient, x.action, x.status])),
      [['bob@remote.test', 'failed', '5.7.30']],
    );
  });

  test('REQUIRETLS to a domain without MTA-STS: permanent 5.7.30, no connection', async (t) => {
    t.after(cleanup);
    const mx = await receiver({ tls: mxCert, requireTLSExtension: true });
    const h = await setup(policy('enforce'));
    const done = finished(h);
    const [m] = await h.submit(DATA, [
      msg('bob@nopolicy.test', { prefix: PREFIX, requireTLS: true }),
    ]);
    assert.ok(m);
    await h.q.runOnce();
    assert.equal(mx.connections, 0);
    assert.equal(policyFetches, 0);
    const r = done.get(m.id)?.r;
    assert.deepEqual(r && [r.success, r.code, r.secode, r.host], [false, 0, '5.7.30', '']);
    assert.equal(
      r?.error,
      'REQUIRETLS: the MX hosts of nopolicy.test cannot be authenticated (no MTA-STS policy)',
    );
    assert.deepEqual(h.q.list(), []);
    const dsns = await inboxDSNs(h.store, 'alice');
    assert.deepEqual(
      dsns.flatMap((d) => d.dsn.recipients.map((x) => [x.finalRecipient, x.action, x.status])),
      [['bob@nopolicy.test', 'failed', '5.7.30']],
    );
  });
});
