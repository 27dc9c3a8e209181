import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { dkimRecord, generateDkimKey } from './dkimkey.js';
import { DnsRecordsError, dnsRecords, formatZone, txtZoneValue } from './records.js';

const ED_RECORD = 'v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=';

describe('dnsRecords', () => {
  test('exact zone text for a domain with every record', () => {
    const r = dnsRecords({
      domain: 'Example.com',
      hostname: 'mail.example.com.',
      selectors: [{ name: '2025e', record: ED_RECORD }],
      mtaSTS: {
        id: '20250301T1',
        mode: 'enforce',
        mx: ['mail.example.com', '*.MX.example.com.'],
        maxAgeSeconds: 604800,
      },
      reportAddress: { dmarc: 'dmarc-reports@example.com', tlsrpt: 'tls,reports@example.net' },
    });
    assert.equal(
      formatZone(r.records),
      `; Mail for example.com is delivered to mail.example.com.
example.com. IN MX 10 mail.example.com.

; SPF (RFC 7208): the hosts in the MX record of example.com send its mail.
example.com. IN TXT "v=spf1 mx ~all"

; SPF for mail.example.com itself: bounces have an empty MAIL FROM, so their
; SPF check uses the EHLO name (RFC 7208 section 2.3).
mail.example.com. IN TXT "v=spf1 a ~all"

; DKIM public key for selector 2025e (RFC 6376 section 3.6.2).
2025e._domainkey.example.com. IN TXT "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="

; DMARC (RFC 7489): reject mail from example.com that passes neither aligned
; SPF nor aligned DKIM. Aggregate reports go to dmarc-reports@example.com.
_dmarc.example.com. IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com"

; MTA-STS (RFC 8461): example.com has a policy; change the id whenever the
; policy changes.
_mta-sts.example.com. IN TXT "v=STSv1; id=20250301T1"

; MTA-STS policy host: serves
; https://mta-sts.example.com/.well-known/mta-sts.txt; needs a TLS certificate
; for mta-sts.example.com.
mta-sts.example.com. IN CNAME mail.example.com.

; TLS reporting (RFC 8460): reports on TLS problems delivering to example.com
; go to tls,reports@example.net.
_smtp._tls.example.com. IN TXT "v=TLSRPTv1; rua=mailto:tls%2Creports@example.net"
`,
    );
    assert.equal(
      r.mtaSTSPolicy,
      'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.mx.example.com\r\nmax_age: 604800\r\n',
    );
    assert.deepEqual(r.records[3], {
      name: '2025e._domainkey.example.com.',
      type: 'TXT',
      value: ED_RECORD,
      comment: 'DKIM public key for selector 2025e (RFC 6376 section 3.6.2).',
    });
  });

  test('minimal: host is the domain, no reports, no MTA-STS', () => {
    const r = dnsRecords({ domain: 'bücher.example', hostname: 'Bücher.example', selectors: [] });
    assert.equal(r.mtaSTSPolicy, '');
    assert.deepEqual(
      r.records.map((x) => `${x.name} ${x.type} ${x.value}`),
      [
        'xn--bcher-kva.example. MX 10 xn--bcher-kva.example.',
        'xn--bcher-kva.example. TXT v=spf1 mx ~all',
        '_dmarc.xn--bcher-kva.example. TXT v=DMARC1; p=reject',
      ],
    );
  });

  test('reports to another domain need its consent (RFC 7489 §7.1)', () => {
    const r = dnsRecords({
      domain: 'example.com',
      hostname: 'mx.example.net',
      selectors: [],
      reportAddress: { dmarc: 'rua+x!y@reports.example.net' },
      mtaSTS: { id: 'a', mode: 'none', mx: [], maxAgeSeconds: 0 },
    });
    const dmarc = r.records.find((x) => x.name === '_dmarc.example.com.');
    assert.equal(dmarc?.value, 'v=DMARC1; p=reject; rua=mailto:rua+x%21y@reports.example.net');
    assert.equal(
      dmarc?.comment,
      'DMARC (RFC 7489): reject mail from example.com that passes neither aligned SPF nor aligned DKIM. ' +
        'Aggregate reports go to rua+x!y@reports.example.net; reports.example.net must publish ' +
        'example.com._report._dmarc.reports.example.net. TXT "v=DMARC1".',
    );
    assert.equal(r.mtaSTSPolicy, 'version: STSv1\r\nmode: none\r\nmax_age: 0\r\n');
  });

  test('invalid input', () => {
    const base = { domain: 'example.com', hostname: 'mail.example.com', selectors: [] };
    const cases: [object, string][] = [
      [{ domain: 'bad domain' }, 'invalid domain "bad domain"'],
      [{ hostname: '' }, 'invalid host name ""'],
      [{ selectors: [{ name: 'a b', record: 'x' }] }, 'invalid DKIM selector "a b"'],
      [{ reportAddress: { dmarc: 'nobody' } }, 'invalid DMARC report address "nobody"'],
      [
        { mtaSTS: { id: 'a-b', mode: 'enforce', mx: ['m.example.com'], maxAgeSeconds: 1 } },
        'invalid MTA-STS id "a-b": 1-32 letters or digits',
      ],
      [
        { mtaSTS: { id: 'a', mode: 'enforce', mx: ['m.example.com'], maxAgeSeconds: 31557601 } },
        'invalid MTA-STS max age 31557601: 0 to 31557600 seconds',
      ],
      [
        { mtaSTS: { id: 'a', mode: 'testing', mx: [], maxAgeSeconds: 1 } },
        'MTA-STS mode enforce or testing needs at least one mx',
      ],
      [
        { mtaSTS: { id: 'a', mode: 'enforce', mx: ['a.*.example'], maxAgeSeconds: 1 } },
        'invalid MTA-STS mx "a.*.example"',
      ],
    ];
    for (const [change, msg] of cases) {
      assert.throws(
        () => dnsRecords({ ...base, ...change }),
        (e: unknown) => e instanceof DnsRecordsError && e.message === msg,
        msg,
      );
    }
  });
});

describe('TXT values in zone syntax', () => {
  test('values over 255 octets are split into character-strings', () => {
    const rsa = dkimRecord(generateDkimKey('rsa2048'));
    assert.ok(rsa.length > 255 && rsa.length <= 510);
    const zone = formatZone(
      dnsRecords({
        domain: 'example.com',
        hostname: 'mail.example.com',
        selectors: [{ name: 'r1', record: rsa }],
      }).records,
    );
    const line = zone.split('\n').find((l) => l.startsWith('r1._domainkey.example.com. IN TXT '));
    assert.equal(
      line,
      `r1._domainkey.example.com. IN TXT "${rsa.slice(0, 255)}" "${rsa.slice(255)}"`,
    );
  });

  test('exact splitting and escaping', () => {
    assert.equal(txtZoneValue(''), '""');
    assert.equal(txtZoneValue('a'.repeat(255)), `"${'a'.repeat(255)}"`);
    assert.equal(txtZoneValue('a'.repeat(256)), `"${'a'.repeat(255)}" "a"`);
    assert.equal(
      txtZoneValue('b'.repeat(600)),
      `"${'b'.repeat(255)}" "${'b'.repeat(255)}" "${'b'.repeat(90)}"`,
    );
    assert.equal(txtZoneValue('say "hi"\\\t'), '"say \\"hi\\"\\\\\\009"');
    // Octets count, not characters: "é" is two octets.
    assert.equal(txtZoneValue('é'), '"\\195\\169"');
    assert.equal(txtZoneValue('x'.repeat(254) + 'é'), `"${'x'.repeat(254)}\\195" "\\169"`);
  });
});
