// DMARC evaluations of incoming mail, kept for aggregate reports, and the reports made
// from them: what each delivery records (disposition, alignment, overrides, optional for
// strangers), and the report a run of the sender queues, read back with the parser for
// received reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DOMAINS, ZONE, message, send, smtp, textOf, withServer } from './harness.js';
import { dkimRecord, dkimSign, generateDkimKey, parseDkimKey } from '../../src/msgauth/index.js';
import type { MockZone } from '../../src/dns/index.js';
import { ReportSender } from '../../src/reports/sender.js';
import { parseDMARCReport } from '../../src/reports/index.js';
import { createLogger } from '../../src/log/index.js';

const ed = generateDkimKey('ed25519');
const edKey = parseDkimKey(ed.pem, 'ed.pem');

const SENDERS: MockZone = {
  ...ZONE,
  a: {
    ...ZONE.a,
    'client.example': ['127.0.0.1'],
    ...Object.fromEntries(
      ['good.example', 'quiet.example', 'q.example', 'relay.example'].map((d) => [
        d,
        ['192.0.2.20'],
      ]),
    ),
  },
  ptr: { '127.0.0.1': ['client.example'] },
  txt: {
    'good.example': ['v=spf1 ip4:127.0.0.1 -all'],
    '_dmarc.good.example': [
      'v=DMARC1; p=reject; rua=mailto:dmarc@good.example,mailto:reports@thirdparty.example,mailto:agreed@agreeing.example!10m',
    ],
    'sel._domainkey.good.example': [dkimRecord(ed)],
    // Only agreeing.example agreed to take good.example's reports (RFC 7489 §7.1).
    'good.example._report._dmarc.agreeing.example': ['v=DMARC1'],
    'quiet.example': ['v=spf1 ip4:127.0.0.1 -all'],
    '_dmarc.quiet.example': ['v=DMARC1; p=reject'],
    'q.example': ['v=spf1 -all'],
    '_dmarc.q.example': ['v=DMARC1; p=quarantine; rua=mailto:d@q.example; ri=3600'],
    'relay.example': ['v=spf1 ip4:127.0.0.1 -all'],
  },
};

const DONE = ['250 2.0.0 message accepted'];
const REJECTED = ['550 5.7.26 dmarc policy rejects message from this domain'];
const silent = createLogger({ level: 'error' } as never);

async function signedGood(subject: string): Promise<string> {
  const data = message({ from: 'Alice <alice@good.example>', subject });
  const sig = await dkimSign(Buffer.from(data), [
    { domain: 'good.example', selector: 'sel', key: edKey },
  ]);
  return sig + data;
}

test('dmarc evaluations: each delivery is recorded as judged; strangers are optional', async () => {
  // Every evaluation at one time, in the middle of a UTC day: the periods they fall in
  // do not depend on when the test runs.
  const t0 = Date.parse('2026-03-10T12:30:00Z');
  const verification = { evaluatedAt: () => t0 };
  await withServer({ dmarcReports: true, domains: DOMAINS, verification }, async (s) => {
    s.resolver.setZone(SENDERS);
    const g = s.store.global;
    const c = await smtp(s);
    // A forgery of a domain the account never heard from: refused, kept as optional.
    const forged = message({ from: 'Bank <alice@good.example>' });
    assert.deepEqual(
      textOf(await send(c, 'x@relay.example', ['mjl@example.org'], forged)),
      REJECTED,
    );
    // Real mail from it, twice: both aligned passes.
    for (const subject of ['one', 'two']) {
      assert.deepEqual(
        textOf(await send(c, 'alice@good.example', ['mjl@example.org'], await signedGood(subject))),
        DONE,
      );
    }
    // Now the domain is known: the next forgery counts.
    assert.deepEqual(
      textOf(await send(c, 'x@relay.example', ['mjl@example.org'], forged)),
      REJECTED,
    );
    // Quarantine, with a record asking for hourly reports.
    const q = message({ from: 'x@q.example' });
    assert.deepEqual(textOf(await send(c, 'x@q.example', ['mjl@example.org'], q)), DONE);
    // No rua: nothing to record.
    const quiet = message({ from: 'x@quiet.example' });
    assert.deepEqual(textOf(await send(c, 'x@quiet.example', ['mjl@example.org'], quiet)), DONE);
    c.close();

    // No period has ended at the time of the deliveries.
    assert.deepEqual(await g.dmarcPeriods(t0), []);
    const later = t0 + 24 * 3600_000;
    const periods = await g.dmarcPeriods(later);
    assert.deepEqual(periods.map((p) => [p.policyDomain, p.intervalHours, p.optionalOnly]).sort(), [
      ['good.example', 24, false],
      ['q.example', 1, false],
    ]);
    const good = periods.find((p) => p.policyDomain === 'good.example')!;
    const evals = await g.dmarcEvaluations(good);
    assert.deepEqual(
      evals.map((e) => [e.disposition, e.alignedDKIMPass, e.alignedSPFPass, e.optional]),
      [
        ['reject', false, false, true],
        ['none', true, true, false],
        ['none', true, true, false],
        ['reject', false, false, false],
      ],
    );
    const pass = evals[1]!;
    assert.equal(pass.sourceIP, '127.0.0.1');
    assert.equal(pass.envelopeTo, 'example.org');
    assert.equal(pass.envelopeFrom, 'good.example');
    assert.equal(pass.headerFrom, 'good.example');
    assert.deepEqual(pass.dkim, [{ domain: 'good.example', selector: 'sel', result: 'pass' }]);
    assert.deepEqual(pass.spf, [{ domain: 'good.example', scope: 'mfrom', result: 'pass' }]);
    assert.deepEqual(pass.policy, {
      domain: 'good.example',
      adkim: 'r',
      aspf: 'r',
      p: 'reject',
      sp: 'reject',
      pct: 100,
    });
    // The forgery: SPF passed for the relay, which does not align.
    assert.deepEqual(evals[0]!.spf, [{ domain: 'relay.example', scope: 'mfrom', result: 'pass' }]);
    assert.deepEqual(evals[0]!.dkim, []);
    const [qe] = await g.dmarcEvaluations(periods.find((p) => p.policyDomain === 'q.example')!);
    assert.equal(qe!.disposition, 'quarantine');

    // The sender's run: one report per agreeing address, then the evaluations are gone.
    const queued: { to: string; data: Buffer }[] = [];
    const sender = new ReportSender({
      hostname: 'mail.example.org',
      global: g,
      resolver: s.resolver,
      log: silent,
      dmarc: true,
      tls: true,
      clock: () => later,
      enqueue: async (data, m) => {
        queued.push({ to: `${m.to.localpart}@${m.to.domain}`, data });
      },
    });
    const run = await sender.run();
    assert.deepEqual(run, { dmarc: 3, tls: 0, dropped: 0, expired: 0 });
    assert.deepEqual(queued.map((q) => q.to).sort(), [
      'agreed@agreeing.example',
      'd@q.example',
      'dmarc@good.example',
    ]);
    const mail = queued.find((q) => q.to === 'dmarc@good.example')!.data;
    const text = mail.toString('latin1').replace(/\r\n /g, ' ');
    assert.match(
      text,
      /^Subject: Report Domain: good\.example Submitter: mail\.example\.org Report-ID: <[^>]+>\r$/m,
    );
    assert.match(text, /^From: postmaster@mail\.example\.org\r$/m);
    assert.match(text, /filename="mail\.example\.org!good\.example!\d+!\d+\.xml\.gz"/);
    const report = await parseDMARCReport(mail);
    assert.equal(report.metadata.orgName, 'mail.example.org');
    assert.equal(report.policy.domain, 'good.example');
    assert.equal(report.policy.p, 'reject');
    assert.deepEqual(report.metadata.dateRange, {
      begin: Date.parse('2026-03-10T00:00:00Z') / 1000,
      end: Date.parse('2026-03-11T00:00:00Z') / 1000 - 1,
    });
    // The two passes are one record counted twice; the forgeries another.
    assert.deepEqual(
      report.records
        .map((r) => [r.row.count, r.row.policyEvaluated.disposition, r.row.policyEvaluated.dkim])
        .sort(),
      [
        [2, 'none', 'pass'],
        [2, 'reject', 'fail'],
      ],
    );
    assert.deepEqual(await g.dmarcPeriods(later), []);
    // Nothing more to send.
    assert.deepEqual(await sender.run(), { dmarc: 0, tls: 0, dropped: 0, expired: 0 });
  });
});

test('dmarc evaluations: not kept when reports are off', async () => {
  await withServer({ domains: DOMAINS }, async (s) => {
    s.resolver.setZone(SENDERS);
    const c = await smtp(s);
    assert.deepEqual(
      textOf(await send(c, 'alice@good.example', ['mjl@example.org'], await signedGood('x'))),
      DONE,
    );
    c.close();
    assert.deepEqual(await s.store.global.dmarcPeriods(Date.now() + 3 * 24 * 3600_000), []);
  });
});
