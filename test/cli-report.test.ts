// `tidings report dmarc|tls import|list|show` as an admin uses them: report files and
// whole messages imported into a data directory, listed and shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzip, messageWith, sample } from '../src/reports/testutil.js';
import { tidings } from './util.js';
import { GlobalDB, type DMARCEvaluation } from '../src/store/index.js';

const DATE = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ';

test('DMARC and TLS reports: import files and messages, list, show', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-clireport-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(
    join(cfg, 'tidings.toml'),
    'hostname = "mail.example.org"\ndata_dir = "../data"\n[listeners.main]\nips = ["127.0.0.1"]\n',
  );
  await writeFile(join(cfg, 'domains.toml'), '[domains."example.org"]\n');
  const cli = (...args: string[]) => tidings(['report', ...args, '--data', data]);

  // Nothing received: no database, and none is made.
  let r = await cli('dmarc', 'list');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tidings: no database in .*data: nothing received yet/);
  assert.deepEqual(await readdir(dir), ['config']);

  const files = {
    message: join(dir, 'google.eml'),
    xml: join(dir, 'microsoft.xml'),
    doctype: join(dir, 'evil.xml'),
    tls: join(dir, 'tls.json.gz'),
  };
  await writeFile(
    files.message,
    messageWith({
      contentType: 'application/gzip',
      fileName: 'google.com!example.org!1714521600!1714607999.xml.gz',
      data: gzip(sample('google.xml')),
    }),
  );
  await writeFile(files.xml, sample('microsoft.xml'));
  await writeFile(
    files.doctype,
    '<?xml version="1.0"?><!DOCTYPE f [<!ENTITY x SYSTEM "file:///etc/passwd">]><feedback>&x;</feedback>',
  );
  await writeFile(files.tls, gzip(sample('rfc8460-example.json')));

  // Every file is tried; a bad one is reported and makes the status 1.
  r = await cli('dmarc', 'import', files.message, files.doctype, files.xml);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(
    r.stdout,
    `${files.message}: added DMARC aggregate report 1 from google.com for example.org, 2024-05-01T00:00:00Z - 2024-05-01T23:59:59Z\n` +
      `${files.xml}: added DMARC aggregate report 2 from Enterprise Outlook for example.org, 2024-04-30T00:00:00Z - 2024-05-01T00:00:00Z\n`,
  );
  assert.equal(
    r.stderr,
    `tidings: ${files.doctype}: XML with a <!DOCTYPE> declaration is refused: reports need no DTD or entities\n`,
  );
  // A report delivered twice is stored once.
  r = await tidings(['report', 'dmarc', 'import', files.message, '-c', cfg]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, `${files.message}: already stored as DMARC aggregate report 1\n`);

  r = await cli('dmarc', 'list');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines.length, 3);
  assert.match(
    lines[0]!,
    new RegExp(
      `^2\\t${DATE}\\tEnterprise Outlook\\texample.org\\t2024-04-30T00:00:00Z - 2024-05-01T00:00:00Z\\t1 message in 1 record, 0 failed DMARC$`,
    ),
  );
  assert.match(
    lines[1]!,
    new RegExp(
      `^1\\t${DATE}\\tgoogle.com\\texample.org\\t2024-05-01T00:00:00Z - 2024-05-01T23:59:59Z\\t15 messages in 2 records, 3 failed DMARC$`,
    ),
  );
  r = await cli('dmarc', 'list', '--limit', '1', '--offset', '1');
  assert.match(r.stdout, /^1\t[^\n]*google.com[^\n]*\n$/);
  r = await cli('dmarc', 'list', '--domain', 'other.example');
  assert.equal(r.stdout, 'no DMARC aggregate reports\n');

  r = await cli('dmarc', 'show', '1');
  assert.equal(r.code, 0, r.stderr);
  const show = r.stdout.replace(new RegExp(DATE), 'DATE');
  assert.equal(
    show,
    `DMARC aggregate report 1
received: DATE
organization: google.com
email: noreply-dmarc-support@google.com
extra contact info: https://support.google.com/a/answer/2466580
report id: 5717107811868587391
period: 2024-05-01T00:00:00Z - 2024-05-01T23:59:59Z
policy: example.org p=reject sp=reject adkim=r aspf=r np=reject pct=100
2 records, 15 messages, 3 failed DMARC

2001:db8::25  count 12  disposition none  dkim pass  spf pass  header_from example.org
  dkim example.org selector 2024a: pass
  spf example.org: pass
198.51.100.7  count 3  disposition reject  dkim fail  spf fail  header_from example.org
  spf spammer.example: softfail
`,
  );
  r = await cli('dmarc', 'show', '9');
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'tidings: no DMARC aggregate report 9\n');
  r = await cli('dmarc', 'show', 'x');
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'tidings: not a DMARC aggregate report id: x\n');

  r = await cli('tls', 'import', files.tls);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    `${files.tls}: added TLS report 1 from Company-X for company-y.example, 2016-04-01T00:00:00Z - 2016-04-01T23:59:59Z\n`,
  );
  r = await cli('tls', 'list');
  assert.match(
    r.stdout,
    new RegExp(
      `^1\\t${DATE}\\tCompany-X\\tcompany-y.example\\t2016-04-01T00:00:00Z - 2016-04-01T23:59:59Z\\t5326 successful, 303 failed sessions\\n$`,
    ),
  );
  r = await cli('tls', 'show', '1');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout.replace(new RegExp(DATE), 'DATE'),
    `TLS report 1
received: DATE
organization: Company-X
contact: sts-reporting@company-x.example
report id: 5065427c-23d3-47ca-b6e0-946ea0e8c4be
period: 2016-04-01T00:00:00Z - 2016-04-01T23:59:59Z
1 policy, 5326 successful, 303 failed sessions

policy sts company-y.example: 5326 successful, 303 failed sessions
  mx-host: *.mail.company-y.example
  policy-string: version: STSv1; mode: testing; mx: *.mail.company-y.example; max_age: 86400
  certificate-expired: 100 sessions from 2001:db8:abcd:0012::1 to mx1.mail.company-y.example
  starttls-not-supported: 200 sessions from 2001:db8:abcd:0013::1 to mx2.mail.company-y.example (203.0.113.56) info https://reports.company-x.example/report_info?id=5065427c-23d3#StarttlsNotSupported
  validation-failure: 3 sessions from 198.51.100.62 to mx-backup.mail.company-y.example (203.0.113.58) code X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED
`,
  );
  // Text from a report reaches the terminal without its control characters.
  const evil = join(dir, 'evil-org.xml');
  await writeFile(
    evil,
    sample('microsoft.xml')
      .replace('Enterprise Outlook', 'Evil\x1b[2J Org')
      .replace('Example.ORG', 'evil.example'),
  );
  r = await cli('dmarc', 'import', evil);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /added DMARC aggregate report 3 from Evil\?\[2J Org for evil.example/);
  r = await cli('dmarc', 'list', '--domain', 'evil.example');
  assert.match(r.stdout, /^3\t[^\t]+\tEvil\?\[2J Org\tevil.example\t/);

  // The kinds are apart: a DMARC file is no TLS report.
  r = await cli('tls', 'import', files.xml);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /microsoft\.xml: not a TLS report: neither JSON, gzip, nor a message/);
});

test('pending: what the reports this server sends will say', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-clireport-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = join(dir, 'data');
  const cli = (...args: string[]) => tidings(['report', ...args, '--data', data]);
  await mkdir(data);
  const g = new GlobalDB(join(data, 'tidings.db'));
  const past = Date.parse('2026-03-10T12:00:00Z');
  // Far ahead: a period that is still open whenever the test runs.
  const future = Date.parse('2999-01-01T12:00:00Z');
  const evaluation: DMARCEvaluation = {
    policyDomain: 'sender.example',
    evaluated: past,
    intervalHours: 24,
    optional: false,
    addresses: ['mailto:d@sender.example'],
    policy: { domain: 'sender.example', adkim: 'r', aspf: 'r', p: 'none', sp: 'none', pct: 100 },
    sourceIP: '192.0.2.1',
    disposition: 'none',
    alignedDKIMPass: true,
    alignedSPFPass: true,
    envelopeTo: 'example.org',
    envelopeFrom: 'sender.example',
    headerFrom: 'sender.example',
    overrides: [],
    dkim: [],
    spf: [],
  };
  await g.addDMARCEvaluation(evaluation);
  await g.addDMARCEvaluation(evaluation);
  await g.addDMARCEvaluation({ ...evaluation, evaluated: future });
  await g.addDMARCEvaluation({ ...evaluation, policyDomain: 'stranger.example', optional: true });
  const tls = {
    policyDomain: 'rcpt.example',
    time: past,
    optional: false,
    policy: { type: 'no-policy-found' as const, strings: [], mxHosts: [] },
    failure: null,
  };
  await g.addTLSResult(tls);
  await g.addTLSResult({
    ...tls,
    failure: {
      resultType: 'starttls-not-supported',
      sendingMtaIp: '',
      receivingMxHostname: 'mx.rcpt.example',
      receivingIp: '192.0.2.9',
      failureReasonCode: '',
    },
  });
  await g.close();

  let r = await cli('dmarc', 'pending');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'sender.example\t2026-03-10T00:00:00Z - 2026-03-11T00:00:00Z\t2 evaluations\tdue\n' +
      'stranger.example\t2026-03-10T00:00:00Z - 2026-03-11T00:00:00Z\t1 evaluation\toptional only, no report\n' +
      'sender.example\t2999-01-01T00:00:00Z - 2999-01-02T00:00:00Z\t1 evaluation\topen\n',
  );
  r = await cli('tls', 'pending');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'rcpt.example\t2026-03-10\t1 successful, 1 failed sessions (starttls-not-supported)\tdue\n',
  );
});
