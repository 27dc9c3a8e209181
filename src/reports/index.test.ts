// ingestReport: a received report parsed and stored once, a bad one refused with nothing
// stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GlobalDB, Store } from '../store/index.js';
import { ingestReport, isReportError, type DMARCReport, type TLSReport } from './index.js';
import { gzip, messageWith, sample, zip } from './testutil.js';

async function withDB(fn: (g: GlobalDB) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-reports-'));
  const g = new GlobalDB(join(dir, 'tidings.db'));
  try {
    await fn(g);
  } finally {
    await g.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('reports are stored once, whatever their packing, with their summary', () =>
  withDB(async (g) => {
    const xml = sample('google.xml');
    const cases: [string, 'dmarc' | 'tls', Buffer, { id: number; added: boolean }][] = [
      [
        'dmarc in a message',
        'dmarc',
        messageWith({ contentType: 'application/gzip', fileName: 'r.xml.gz', data: gzip(xml) }),
        { id: 1, added: true },
      ],
      ['the same as zip', 'dmarc', zip([{ name: 'r.xml', data: xml }]), { id: 1, added: false }],
      ['another dmarc', 'dmarc', Buffer.from(sample('microsoft.xml')), { id: 2, added: true }],
      ['tls', 'tls', gzip(sample('google-tls.json')), { id: 1, added: true }],
      ['the same tls', 'tls', Buffer.from(sample('google-tls.json')), { id: 1, added: false }],
    ];
    for (const [what, kind, data, want] of cases) {
      const r = await ingestReport(kind, data, g, { received: 1000 });
      assert.deepEqual({ id: r.id, added: r.added }, want, what);
      assert.equal(r.kind, kind);
    }
    const d = await g.receivedDMARCReport(1);
    assert.equal(d?.received, 1000);
    assert.equal(d?.org, 'google.com');
    assert.equal(d?.messages, 15);
    assert.equal(d?.failed, 3);
    assert.equal((d?.report as DMARCReport).records[1]?.row.sourceIP, '198.51.100.7');
    const t = await g.receivedTLSReport(1);
    assert.equal(t?.successes, 42);
    assert.equal((t?.report as TLSReport).policies[0]?.policy.policyType, 'sts');
  }));

test('a summary comes back; a bad report is a ReportError and stores nothing', () =>
  withDB(async (g) => {
    const r = await ingestReport('tls', Buffer.from(sample('rfc8460-example.json')), g);
    assert.equal(r.kind, 'tls');
    if (r.kind !== 'tls') return;
    assert.equal(r.org, 'Company-X');
    assert.equal(r.failures, 303);
    assert.equal(r.domain, 'company-y.example');
    assert.ok(Math.abs((await g.receivedTLSReport(r.id))!.received - Date.now()) < 60_000);

    await assert.rejects(
      ingestReport('dmarc', Buffer.from(sample('google-tls.json')), g),
      (e: unknown) =>
        isReportError(e) &&
        /^not a DMARC aggregate report: neither XML, gzip nor zip, nor a message/.test(e.message),
    );
    await assert.rejects(
      ingestReport('tls', Buffer.from(sample('google.xml')), g),
      (e: unknown) =>
        isReportError(e) && /^not a TLS report: neither JSON, gzip, nor a message/.test(e.message),
    );
    assert.deepEqual(await g.receivedDMARCReports(), []);
  }));

test('the store itself may be passed', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-reports-'));
  const store = await Store.open({ dataDir: dir });
  try {
    const r = await ingestReport('dmarc', Buffer.from(sample('microsoft.xml')), store);
    assert.equal(r.added, true);
    assert.equal((await store.global.receivedDMARCReports())[0]?.org, 'Enterprise Outlook');
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
