// Outgoing reports: reporting URIs and TLSRPT records (tables), report periods, DMARC
// and TLS documents read back by the parsers for received reports (hostile values
// included), and the sender's runs with a fixed clock: what is due, what is skipped,
// what is kept for later and what is dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MockResolver, type MockZone } from '../dns/index.js';
import { createLogger } from '../log/index.js';
import { GlobalDB, type DMARCEvaluation, type TLSResult } from '../store/index.js';
import { dmarcReportXML, intervalHours } from './dmarcsend.js';
import { parseDMARCXML, parseTLSReport } from './index.js';
import { parseReportURI, parseTLSRPTRecord } from './reportmail.js';
import { ReportSender, type ReportEnqueue } from './sender.js';
import type { ReportPost } from './httpspost.js';
import { tlsReportJSON } from './tlssend.js';

const silent = createLogger({ level: 'silent' } as never);
const DAY = 24 * 3600_000;
/** A fixed day: 2026-03-10T00:00:00Z. */
const T = Date.parse('2026-03-10T00:00:00Z');

test('parseReportURI: mailto addresses with size limits; everything else null', () => {
  const table: [string, ReturnType<typeof parseReportURI>][] = [
    ['mailto:d@example.com', { localpart: 'd', domain: 'example.com', maxBytes: 0 }],
    ['mailto:d@Example.COM!10m', { localpart: 'd', domain: 'example.com', maxBytes: 10485760 }],
    ['mailto:d@example.com!500', { localpart: 'd', domain: 'example.com', maxBytes: 500 }],
    ['mailto:d@example.com!2k', { localpart: 'd', domain: 'example.com', maxBytes: 2048 }],
    [' MAILTO:a%2Bb@example.com ', { localpart: 'a+b', domain: 'example.com', maxBytes: 0 }],
    ['mailto:d@example.com?subject=x', { localpart: 'd', domain: 'example.com', maxBytes: 0 }],
    ['https://example.com/report', null],
    ['mailto:', null],
    ['mailto:@example.com', null],
    ['mailto:d@', null],
    ['mailto:d@exa mple.com', null],
    ['mailto:a<b@example.com', null],
    ['mailto:d@example.com!10x', null],
    ['mailto:%E0%A4%A@example.com', null],
  ];
  for (const [uri, want] of table) assert.deepEqual(parseReportURI(uri), want, uri);
});

test('parseTLSRPTRecord: version first, rua list', () => {
  const table: [string, { rua: string[] } | null][] = [
    ['v=TLSRPTv1; rua=mailto:a@b.example', { rua: ['mailto:a@b.example'] }],
    [
      'v=TLSRPTv1;rua=mailto:a@b.example, https://r.example/x;',
      { rua: ['mailto:a@b.example', 'https://r.example/x'] },
    ],
    ['v=TLSRPTv1', null],
    ['v=TLSRPTv1; rua=', null],
    ['rua=mailto:a@b.example; v=TLSRPTv1', null],
    ['v=spf1 -all', null],
  ];
  for (const [txt, want] of table) assert.deepEqual(parseTLSRPTRecord(txt), want, txt);
});

test('intervalHours: whole hours dividing a day, at most a day', () => {
  const table: [number, number][] = [
    [86400, 24],
    [0, 1],
    [3600, 1],
    [3601, 2],
    [5 * 3600, 6],
    [13 * 3600, 24],
    [7 * 86400, 24],
  ];
  for (const [ri, h] of table) assert.equal(intervalHours(ri), h, String(ri));
});

function evaluation(o: Partial<DMARCEvaluation> = {}): DMARCEvaluation {
  return {
    policyDomain: 'sender.example',
    evaluated: T + 3600_000,
    intervalHours: 24,
    optional: false,
    addresses: ['mailto:dmarc@sender.example'],
    policy: {
      domain: 'sender.example',
      adkim: 'r',
      aspf: 'r',
      p: 'reject',
      sp: 'reject',
      pct: 100,
    },
    sourceIP: '192.0.2.1',
    disposition: 'none',
    alignedDKIMPass: true,
    alignedSPFPass: false,
    envelopeTo: 'example.org',
    envelopeFrom: 'sender.example',
    headerFrom: 'sender.example',
    overrides: [],
    dkim: [{ domain: 'sender.example', selector: 's1', result: 'pass' }],
    spf: [{ domain: 'sender.example', scope: 'mfrom', result: 'softfail' }],
    ...o,
  };
}

test('dmarcReportXML: read back by the parser, identical rows counted, hostile text escaped', async () => {
  const hostile = 'x<y>&"z\'\u0001';
  const evals = [
    evaluation(),
    evaluation({ evaluated: T + 7200_000 }),
    evaluation({
      sourceIP: '2001:db8::1',
      disposition: 'reject',
      alignedDKIMPass: false,
      overrides: [{ type: 'local_policy', comment: hostile }],
      dkim: [],
      spf: [],
      envelopeFrom: 'other.example',
    }),
  ];
  const xml = dmarcReportXML(
    evals,
    { start: T, end: T + DAY },
    { org: 'mail.example.org', email: 'postmaster@mail.example.org' },
    'r-1',
  );
  const r = await parseDMARCXML(Buffer.from(xml));
  assert.equal(r.metadata.reportId, 'r-1');
  assert.deepEqual(r.metadata.dateRange, { begin: T / 1000, end: (T + DAY) / 1000 - 1 });
  assert.equal(r.policy.pct, 100);
  assert.equal(r.records.length, 2);
  assert.equal(r.records[0]!.row.count, 2);
  assert.deepEqual(
    r.records[0]!.authResults.dkim.map((d) => [d.domain, d.selector, d.result]),
    [['sender.example', 's1', 'pass']],
  );
  const rej = r.records[1]!;
  assert.equal(rej.row.sourceIP, '2001:db8::1');
  assert.equal(rej.row.policyEvaluated.disposition, 'reject');
  // Control characters are dropped (XML 1.0 cannot carry them); the rest survives.
  assert.deepEqual(rej.row.policyEvaluated.reasons, [
    { type: 'local_policy', comment: 'x<y>&"z\'' },
  ]);
  // At least one SPF result (RFC 7489 Appendix C): none for the envelope domain.
  assert.deepEqual(
    rej.authResults.spf.map((s) => [s.domain, s.scope, s.result]),
    [['other.example', 'mfrom', 'none']],
  );
});

test('tlsReportJSON: read back by the parser', async () => {
  const json = tlsReportJSON(
    {
      policyDomain: 'rcpt.example',
      day: '2026-03-10',
      policies: [
        {
          policy: {
            type: 'sts',
            strings: ['version: STSv1', 'mode: enforce', 'mx: mx.rcpt.example', 'max_age: 86400'],
            mxHosts: ['mx.rcpt.example'],
          },
          successes: 5,
          failures: [
            {
              failure: {
                resultType: 'certificate-expired',
                sendingMtaIp: '',
                receivingMxHostname: 'mx.rcpt.example',
                receivingIp: '192.0.2.9',
                failureReasonCode: 'CERT_HAS_EXPIRED',
              },
              count: 2,
            },
          ],
        },
        {
          policy: { type: 'no-policy-found', strings: [], mxHosts: [] },
          successes: 1,
          failures: [],
        },
      ],
    },
    { org: 'mail.example.org', contact: 'postmaster@mail.example.org' },
    'tls-1',
  );
  const r = await parseTLSReport(Buffer.from(json));
  assert.equal(r.reportId, 'tls-1');
  assert.deepEqual(r.dateRange, {
    startDatetime: '2026-03-10T00:00:00Z',
    endDatetime: '2026-03-10T23:59:59Z',
  });
  assert.deepEqual(
    r.policies.map((p) => [
      p.policy.policyType,
      p.policy.policyDomain,
      p.summary.totalSuccessfulSessionCount,
      p.summary.totalFailureSessionCount,
    ]),
    [
      ['sts', 'rcpt.example', 5, 2],
      ['no-policy-found', 'rcpt.example', 1, 0],
    ],
  );
  assert.equal(r.policies[0]!.failureDetails[0]!.resultType, 'certificate-expired');
  assert.equal(r.policies[0]!.failureDetails[0]!.receivingIp, '192.0.2.9');
});

const ZONE: MockZone = {
  txt: {
    '_smtp._tls.rcpt.example': ['v=TLSRPTv1; rua=https://r.example/x,mailto:tls@rcpt.example'],
    '_smtp._tls.two.example': [
      'v=TLSRPTv1; rua=mailto:a@two.example',
      'v=TLSRPTv1; rua=mailto:b@two.example',
    ],
  },
  fail: { 'TXT _smtp._tls.flaky.example': 'temporary' },
};

type Queued = { to: string; data: Buffer };
type Posted = { url: string; body: Buffer; contentType: string };

async function withSender(
  fn: (o: {
    g: GlobalDB;
    queued: Queued[];
    posted: Posted[];
    at: (ms: number) => ReportSender;
    failing: { on: boolean };
  }) => Promise<void>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-reports-'));
  const g = new GlobalDB(join(dir, 'tidings.db'));
  const queued: Queued[] = [];
  const posted: Posted[] = [];
  const failing = { on: false };
  const enqueue: ReportEnqueue = async (data, m) => {
    if (failing.on) throw new Error('disk full');
    queued.push({ to: `${m.to.localpart}@${m.to.domain}`, data });
  };
  const post: ReportPost = async (url, body, contentType) => {
    if (failing.on) throw new Error(`${url}: HTTP status 503`);
    posted.push({ url, body, contentType });
  };
  const resolver = new MockResolver(ZONE);
  const at = (ms: number) =>
    new ReportSender({
      hostname: 'mail.example.org',
      global: g,
      resolver,
      log: silent,
      enqueue,
      dmarc: true,
      tls: true,
      clock: () => ms,
      post,
    });
  try {
    await fn({ g, queued, posted, at, failing });
  } finally {
    await g.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('sender: DMARC periods are sent once over, kept on failure, dropped when only optional', async () => {
  await withSender(async ({ g, queued, at, failing }) => {
    await g.addDMARCEvaluation(evaluation());
    await g.addDMARCEvaluation(evaluation({ policyDomain: 'opt.example', optional: true }));
    await g.addDMARCEvaluation(
      evaluation({ policyDomain: 'small.example', addresses: ['mailto:d@small.example!100'] }),
    );
    // During the period: nothing.
    assert.deepEqual(await at(T + DAY - 1).run(), { dmarc: 0, tls: 0, dropped: 0, expired: 0 });
    // Queueing fails: the evaluations stay for the next run. The report is larger than
    // small.example takes: skipped, and that period is done.
    failing.on = true;
    assert.deepEqual(await at(T + DAY).run(), { dmarc: 0, tls: 0, dropped: 1, expired: 0 });
    assert.deepEqual(
      (await g.dmarcPeriods(T + DAY)).map((p) => p.policyDomain),
      ['sender.example'],
    );
    failing.on = false;
    assert.deepEqual(await at(T + DAY).run(), { dmarc: 1, tls: 0, dropped: 0, expired: 0 });
    assert.deepEqual(
      queued.map((q) => q.to),
      ['dmarc@sender.example'],
    );
    assert.deepEqual(await g.dmarcPeriods(T + 10 * DAY), []);
  });
});

function tlsResult(o: Partial<TLSResult> = {}): TLSResult {
  return {
    policyDomain: 'rcpt.example',
    time: T + 3600_000,
    optional: false,
    policy: { type: 'no-policy-found', strings: [], mxHosts: [] },
    failure: null,
    ...o,
  };
}

test('sender: TLS results are reported the next UTC day to the rua, by mail and https; lookups retried, then dropped', async () => {
  await withSender(async ({ g, queued, posted, at }) => {
    for (let i = 0; i < 3; i++) await g.addTLSResult(tlsResult());
    await g.addTLSResult(
      tlsResult({
        failure: {
          resultType: 'starttls-not-supported',
          sendingMtaIp: '',
          receivingMxHostname: 'mx.rcpt.example',
          receivingIp: '192.0.2.9',
          failureReasonCode: '',
        },
      }),
    );
    // Reports about report deliveries only: dropped. No record, or two: nothing to send.
    await g.addTLSResult(tlsResult({ policyDomain: 'loop.example', optional: true }));
    await g.addTLSResult(tlsResult({ policyDomain: 'none.example' }));
    await g.addTLSResult(tlsResult({ policyDomain: 'two.example' }));
    await g.addTLSResult(tlsResult({ policyDomain: 'flaky.example' }));
    assert.deepEqual(await at(T + DAY - 1).run(), { dmarc: 0, tls: 0, dropped: 0, expired: 0 });
    assert.deepEqual(await at(T + DAY).run(), { dmarc: 0, tls: 2, dropped: 1, expired: 0 });
    assert.deepEqual(
      queued.map((q) => q.to),
      ['tls@rcpt.example'],
    );
    // RFC 8460 §5.3.2: the gzipped report, posted as application/tlsrpt+gzip.
    assert.deepEqual(
      posted.map((p) => [p.url, p.contentType]),
      [['https://r.example/x', 'application/tlsrpt+gzip']],
    );
    const viaHttps = JSON.parse(gunzipSync(posted[0]!.body).toString('utf8')) as {
      policies: { summary: Record<string, number> }[];
    };
    assert.deepEqual(viaHttps.policies[0]!.summary, {
      'total-successful-session-count': 3,
      'total-failure-session-count': 1,
    });
    const text = queued[0]!.data.toString('latin1').replace(/\r\n /g, ' ');
    assert.match(text, /^TLS-Report-Domain: rcpt\.example\r$/m);
    assert.match(text, /^TLS-Report-Submitter: mail\.example\.org\r$/m);
    assert.match(text, /Content-Type: multipart\/report; report-type=tlsrpt;/);
    const r = await parseTLSReport(queued[0]!.data);
    assert.deepEqual(
      [
        r.policies[0]!.summary.totalSuccessfulSessionCount,
        r.policies[0]!.summary.totalFailureSessionCount,
      ],
      [3, 1],
    );
    // The lookup that failed for now is tried again; after three days it is given up.
    assert.deepEqual(
      (await g.tlsDays('2026-04-01')).map((d) => d.policyDomain),
      ['flaky.example'],
    );
    assert.deepEqual(await at(T + 2 * DAY).run(), { dmarc: 0, tls: 0, dropped: 0, expired: 0 });
    assert.equal((await g.tlsDays('2026-04-01')).length, 1);
    assert.deepEqual(await at(T + 5 * DAY).run(), { dmarc: 0, tls: 0, dropped: 0, expired: 0 });
    assert.deepEqual(await g.tlsDays('2026-04-01'), []);
    assert.equal(queued.length, 1);
  });
});

test('sender: received reports are removed once past their retention', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-reports-'));
  const g = new GlobalDB(join(dir, 'tidings.db'));
  try {
    const base = {
      org: 'Reporter',
      email: 'r@reporter.example',
      domain: 'example.org',
      start: T,
      end: T + DAY,
      records: 1,
      messages: 1,
      failed: 0,
      report: {},
    };
    await g.addReceivedDMARCReport({ ...base, reportId: 'old', received: T });
    await g.addReceivedDMARCReport({ ...base, reportId: 'new', received: T + 5 * DAY });
    await g.addReceivedTLSReport({
      org: 'Reporter',
      reportId: 't-old',
      contact: 'r@reporter.example',
      domain: 'example.org',
      start: T,
      end: T + DAY,
      policies: 1,
      successes: 1,
      failures: 0,
      report: {},
      received: T,
    });
    const sender = new ReportSender({
      hostname: 'mail.example.org',
      global: g,
      resolver: new MockResolver({}),
      log: silent,
      enqueue: async () => undefined,
      dmarc: false,
      tls: false,
      keepReceivedMs: 3 * DAY,
      clock: () => T + 6 * DAY,
    });
    assert.deepEqual(await sender.run(), { dmarc: 0, tls: 0, dropped: 0, expired: 2 });
    assert.deepEqual(
      (await g.receivedDMARCReports()).map((r) => r.reportId),
      ['new'],
    );
    assert.deepEqual(await g.receivedTLSReports(), []);
  } finally {
    await g.close();
    await rm(dir, { recursive: true, force: true });
  }
});
