// Reports arriving by mail: a DMARC aggregate report (gzip) or TLS report (JSON) sent to
// an address that receives reports is stored and delivered read; a report from an
// unverified sender, about another domain, or broken, is not stored, and the message is
// judged as any other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import {
  DOMAINS,
  ZONE,
  send,
  smtp,
  storedHeads,
  textOf,
  withServer,
  type SmtpTestServer,
} from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';
import type { MockZone } from '../../src/dns/index.js';

const DATA = join(import.meta.dirname, '..', '..', 'src', 'reports', 'testdata');
const xml = readFileSync(join(DATA, 'google.xml'));
const tls = readFileSync(join(DATA, 'google-tls.json'));

const WITH_REPORTS = DOMAINS.replace(
  'destinations = { "mjl@example.org" = {}, "other@example.org" = { mailbox = "Other" } }',
  'destinations = { "mjl@example.org" = {}, "other@example.org" = { mailbox = "Other" }, "dmarc@example.org" = { mailbox = "Reports", reports = "dmarc" }, "tlsrpt@example.org" = { mailbox = "Reports", reports = "tls" } }',
);

/** reporter.example verifies (SPF aligned with From, DMARC); forger.example does not. */
const SENDERS: MockZone = {
  ...ZONE,
  a: { ...ZONE.a, 'reporter.example': ['192.0.2.40'], 'forger.example': ['192.0.2.41'] },
  txt: {
    'reporter.example': ['v=spf1 ip4:127.0.0.1 -all'],
    '_dmarc.reporter.example': ['v=DMARC1; p=reject'],
  },
};

/** A report message: a text part, then the report attached. */
function reportMessage(from: string, type: string, name: string, data: Buffer): string {
  const b64 = data.toString('base64').replace(/.{76}/g, '$&\r\n');
  return (
    `From: ${from}\r\nTo: dmarc@example.org\r\nSubject: Report domain: example.org\r\n` +
    `Message-ID: <${Math.random().toString(36).slice(2)}@reporter.example>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
    '--b\r\nContent-Type: text/plain\r\n\r\nThis is a report.\r\n' +
    `--b\r\nContent-Type: ${type}; name="${name}"\r\nContent-Transfer-Encoding: base64\r\n` +
    `Content-Disposition: attachment; filename="${name}"\r\n\r\n${b64}\r\n--b--\r\n`
  );
}

async function stored(a: Account, name: string) {
  return (await storedHeads(a, name, 300)).map((h) => ({
    reason: /^X-Tidings-Reason: ([^\r]*)/m.exec(h.text)?.[1] ?? '',
    seen: (h.flags & Flag.Seen) !== 0,
  }));
}

async function withReports(fn: (s: SmtpTestServer, a: Account) => Promise<void>) {
  await withServer({ domains: WITH_REPORTS }, async (s) => {
    s.resolver.setZone(SENDERS);
    await fn(s, await s.store.account('mjl'));
  });
}

const DONE = ['250 2.0.0 message accepted'];

test('reports: a verified DMARC report is stored once and delivered read', async () => {
  await withReports(async (s, a) => {
    const c = await smtp(s);
    const m = reportMessage(
      'noreply@reporter.example',
      'application/gzip',
      'r.xml.gz',
      gzipSync(xml),
    );
    assert.deepEqual(
      textOf(await send(c, 'noreply@reporter.example', ['dmarc@example.org'], m)),
      DONE,
    );
    // The same report again (another message): stored once.
    const again = reportMessage(
      'noreply@reporter.example',
      'application/gzip',
      'r.xml.gz',
      gzipSync(xml),
    );
    assert.deepEqual(
      textOf(await send(c, 'noreply@reporter.example', ['dmarc@example.org'], again)),
      DONE,
    );
    const reports = await s.store.global.receivedDMARCReports();
    assert.equal(reports.length, 1);
    assert.equal(reports[0]?.domain, 'example.org');
    assert.deepEqual(await stored(a, 'Reports'), [
      { reason: 'dmarc-report', seen: true },
      { reason: 'dmarc-report', seen: true },
    ]);
    // A TLS report to the TLS report address.
    const t = reportMessage('tls@reporter.example', 'application/tlsrpt+json', 'r.json', tls);
    assert.deepEqual(
      textOf(await send(c, 'tls@reporter.example', ['tlsrpt@example.org'], t)),
      DONE,
    );
    assert.equal((await s.store.global.receivedTLSReports()).length, 1);
    c.close();
  });
});

test('reports: unverified, foreign or broken reports are not stored; the mail is judged as any', async () => {
  await withReports(async (s, a) => {
    const c = await smtp(s);
    // No SPF or DKIM for forger.example: its From is not verified.
    const forged = reportMessage('x@forger.example', 'application/gzip', 'r.xml.gz', gzipSync(xml));
    assert.deepEqual(
      textOf(await send(c, 'x@forger.example', ['dmarc@example.org'], forged)),
      DONE,
    );
    // About a domain that is not ours.
    const foreign = reportMessage(
      'noreply@reporter.example',
      'text/xml',
      'r.xml',
      Buffer.from(
        xml
          .toString()
          .replaceAll('<domain>example.org</domain>', '<domain>elsewhere.example</domain>'),
      ),
    );
    assert.deepEqual(
      textOf(await send(c, 'noreply@reporter.example', ['dmarc@example.org'], foreign)),
      DONE,
    );
    // Not a report at all.
    const junk = reportMessage(
      'noreply@reporter.example',
      'text/xml',
      'r.xml',
      Buffer.from('<feedback>'),
    );
    assert.deepEqual(
      textOf(await send(c, 'noreply@reporter.example', ['dmarc@example.org'], junk)),
      DONE,
    );
    assert.deepEqual(await s.store.global.receivedDMARCReports(), []);
    assert.deepEqual(
      (await stored(a, 'Reports')).map((x) => x.reason),
      ['no-bad-signals', 'no-bad-signals', 'no-bad-signals'],
    );
    c.close();
  });
});
