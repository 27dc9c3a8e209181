// SMTP TLS reports: the RFC 8460 example and samples in the style of the large
// reporters, each packing (JSON, gzip, attached to a message), and hostile or incomplete
// reports refused with a reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReportError } from './errors.js';
import { parseTLSReport, tlsSummary, type TLSSummary } from './tls.js';
import { gzip, messageOf, messageWith, sample } from './testutil.js';

const RFC = sample('rfc8460-example.json');
const GOOGLE = sample('google-tls.json');
const MICROSOFT = sample('microsoft-tls.json');

test('reports parse to their summary', async () => {
  const cases: [string, string, TLSSummary][] = [
    [
      'rfc 8460 example',
      RFC,
      {
        org: 'Company-X',
        reportId: '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
        contact: 'sts-reporting@company-x.example',
        domain: 'company-y.example',
        start: Date.UTC(2016, 3, 1),
        end: Date.UTC(2016, 3, 1, 23, 59, 59),
        policies: 1,
        successes: 5326,
        failures: 303,
      },
    ],
    [
      'google',
      GOOGLE,
      {
        org: 'Google Inc.',
        reportId: '2024-05-01T00:00:00Z_example.org',
        contact: 'smtp-tls-reporting@google.com',
        domain: 'example.org',
        start: Date.UTC(2024, 4, 1),
        end: Date.UTC(2024, 4, 1, 23, 59, 59),
        policies: 1,
        successes: 42,
        failures: 0,
      },
    ],
    [
      'microsoft',
      MICROSOFT,
      {
        org: 'Microsoft Corporation',
        reportId: '133590816000000000+example.org',
        contact: 'tlsrpt-noreply@microsoft.com',
        domain: 'example.org',
        start: Date.UTC(2024, 4, 1),
        end: Date.UTC(2024, 4, 1, 23, 59, 59),
        policies: 1,
        successes: 17,
        failures: 2,
      },
    ],
  ];
  for (const [what, json, want] of cases) {
    assert.deepEqual(tlsSummary(await parseTLSReport(Buffer.from(json))), want, what);
  }
});

test('a report parses to every field RFC 8460 has', async () => {
  const r = await parseTLSReport(Buffer.from(RFC));
  assert.deepEqual(r.dateRange, {
    startDatetime: '2016-04-01T00:00:00Z',
    endDatetime: '2016-04-01T23:59:59Z',
  });
  assert.deepEqual(r.policies[0]?.policy, {
    policyType: 'sts',
    policyString: [
      'version: STSv1',
      'mode: testing',
      'mx: *.mail.company-y.example',
      'max_age: 86400',
    ],
    policyDomain: 'company-y.example',
    mxHost: ['*.mail.company-y.example'],
  });
  assert.deepEqual(r.policies[0]?.failureDetails[1], {
    resultType: 'starttls-not-supported',
    sendingMtaIp: '2001:db8:abcd:0013::1',
    receivingMxHostname: 'mx2.mail.company-y.example',
    receivingMxHelo: '',
    receivingIp: '203.0.113.56',
    failedSessionCount: 200,
    additionalInformation:
      'https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported',
    failureReasonCode: '',
  });
  assert.equal(
    r.policies[0]?.failureDetails[2]?.failureReasonCode,
    'X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED',
  );
  // A single mx-host string is a list of one; no policy-string is an empty list.
  const ms = await parseTLSReport(Buffer.from(MICROSOFT));
  assert.deepEqual(ms.policies[0]?.policy, {
    policyType: 'no-policy-found',
    policyString: [],
    policyDomain: 'example.org',
    mxHost: ['mail.example.org'],
  });
  assert.deepEqual((await parseTLSReport(Buffer.from(GOOGLE))).policies[0]?.failureDetails, []);
});

test('the report as JSON or gzip, alone or attached to a message', async () => {
  const name = 'google.com!example.org!1714521600!1714607999!001.json';
  const cases: [string, Buffer][] = [
    ['json', Buffer.from(GOOGLE)],
    ['gzip', gzip(GOOGLE)],
    [
      'multipart/report with application/tlsrpt+gzip',
      messageWith(
        { contentType: 'application/tlsrpt+gzip', fileName: `${name}.gz`, data: gzip(GOOGLE) },
        'tlsrpt',
      ),
    ],
    [
      'application/tlsrpt+json, 7bit',
      messageWith({ contentType: 'application/tlsrpt+json', data: GOOGLE, encoding: '7bit' }),
    ],
    [
      'octet-stream named .json.gz',
      messageWith({
        contentType: 'application/octet-stream',
        fileName: `${name}.gz`,
        data: gzip(GOOGLE),
      }),
    ],
    ['the whole body', messageOf('application/tlsrpt+gzip', gzip(GOOGLE))],
  ];
  for (const [what, data] of cases) {
    assert.equal((await parseTLSReport(data)).organizationName, 'Google Inc.', what);
  }
});

/** The Google sample with the value at `path` replaced (undefined: removed). */
function changed(path: string, value: unknown): string {
  const r: unknown = JSON.parse(GOOGLE);
  const keys = path.split('.');
  let o = r as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) o = o[k] as Record<string, unknown>;
  o[keys[keys.length - 1]!] = value;
  return JSON.stringify(r);
}

test('incomplete, invalid and hostile reports are refused with what is wrong', async () => {
  const fd = (d: Record<string, unknown>) =>
    changed('policies.0.failure-details', [
      { 'result-type': 'validation-failure', 'failed-session-count': 1, ...d },
    ]);
  const cases: [string, string | Buffer, RegExp][] = [
    ['not JSON', '{"organization-name": ', /^report is not valid JSON: /],
    ['an array', '[]', /^report is not an object$/],
    [
      'no organization-name',
      changed('organization-name', undefined),
      /^organization-name is missing$/,
    ],
    ['numeric report-id', changed('report-id', 5), /^report-id is not a string$/],
    ['no date-range', changed('date-range', undefined), /^date-range is missing$/],
    [
      'bad start',
      changed('date-range.start-datetime', 'May 1'),
      /date-range\/start-datetime "May 1" is not an RFC 3339 date-time/,
    ],
    [
      'end before start',
      changed('date-range.end-datetime', '2024-04-01T00:00:00Z'),
      /date-range ends \(2024-04-01T00:00:00Z\) before it begins/,
    ],
    ['no policies', changed('policies', undefined), /^policies is missing$/],
    ['policies not a list', changed('policies', {}), /^policies is not an array$/],
    [
      'policy-type',
      changed('policies.0.policy.policy-type', 'dane'),
      /policies\[0\]\/policy\/policy-type "dane" is not sts, tlsa or no-policy-found/,
    ],
    [
      'no policy-domain',
      changed('policies.0.policy.policy-domain', undefined),
      /policies\[0\]\/policy\/policy-domain is missing/,
    ],
    ['no summary', changed('policies.0.summary', undefined), /policies\[0\]\/summary is missing/],
    [
      'negative count',
      changed('policies.0.summary.total-failure-session-count', -1),
      /total-failure-session-count -1 is not a count/,
    ],
    [
      'fractional count',
      changed('policies.0.summary.total-successful-session-count', 1.5),
      /total-successful-session-count 1.5 is not a count/,
    ],
    [
      'string count',
      changed('policies.0.summary.total-successful-session-count', '3'),
      /"3" is not a count/,
    ],
    [
      'policy-string numbers',
      changed('policies.0.policy.policy-string', [1]),
      /policy-string\[0\] is not a string/,
    ],
    [
      'bad sending-mta-ip',
      fd({ 'sending-mta-ip': '10.0.0.256' }),
      /failure-details\[0\]\/sending-mta-ip "10.0.0.256" is not an IP address/,
    ],
    [
      'bad receiving-ip',
      fd({ 'receiving-ip': 'mx.example' }),
      /receiving-ip "mx.example" is not an IP address/,
    ],
    [
      'no result-type',
      fd({ 'result-type': undefined }),
      /failure-details\[0\]\/result-type is missing/,
    ],
    [
      'no failed-session-count',
      fd({ 'failed-session-count': undefined }),
      /failed-session-count is missing/,
    ],
    [
      'failure-details not a list',
      changed('policies.0.failure-details', 'none'),
      /failure-details is not an array/,
    ],
    [
      'long string',
      changed('contact-info', 'x'.repeat(4097)),
      /contact-info is longer than 4096 characters/,
    ],
    ['deep nesting', `{"a":${'['.repeat(9)}${']'.repeat(9)}}`, /^JSON is nested more than 8 deep$/],
    ['very deep nesting', '['.repeat(1_000_000), /^JSON is nested more than 8 deep$/],
    [
      'brackets in strings do not count',
      `{"a":"${'['.repeat(50)}\\"["}`,
      /^date-range is missing$/,
    ],
    [
      'huge array',
      `{"a":[${'0,'.repeat(100_000)}0]}`,
      /^JSON array or object has more than 100000 members$/,
    ],
    [
      'gzip bomb',
      gzip(`{"a":"${' '.repeat(21 * 1024 * 1024)}"}`),
      /^gzip data decompresses to more than 20971520 bytes$/,
    ],
    [
      'no report in the message',
      messageWith({ contentType: 'application/pdf', data: 'x' }),
      /no TLS report in the message/,
    ],
  ];
  for (const [what, input, want] of cases) {
    await assert.rejects(
      parseTLSReport(Buffer.from(input)),
      (e: unknown) => e instanceof ReportError && want.test(e.message),
      what,
    );
  }
});
