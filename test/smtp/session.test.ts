// The SMTP session over loopback (RFC 5321 §4.1, RFC 2920 PIPELINING): greeting, EHLO
// extension lists per listener kind (AUTH and FUTURERELEASE on submission only, AUTH not
// before TLS where logins need it, REQUIRETLS once TLS is on), HELO checks (on port 25
// the name must have an address), the simple commands, state errors (an unknown first
// command closes the connection, as the client speaks some other protocol), pipelined
// replies in one write, and the connection/command metrics.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSmtpTestServer,
  SmtpTestClient,
  message,
  type Reply,
  type SmtpTestServer,
} from './harness.js';
import { FUTURE_RELEASE_MAX_MS } from '../../src/queue/index.js';
import { registry } from '../../src/metrics/index.js';

const HOST = 'mail.example.org';
const MECHS =
  'AUTH SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN';
const TAIL = [
  'ENHANCEDSTATUSCODES',
  '8BITMIME',
  'BINARYMIME',
  'CHUNKING',
  'DSN',
  'LIMITS RCPTMAX=1000',
  'SMTPUTF8',
];

/** An error reply: one line, `expected` followed by " (<cid>)". */
function assertError(r: Reply, expected: string): void {
  assert.equal(r.lines.length, 1, r.text);
  const m = /^(.*) \(([0-9a-z]+)\)$/.exec(r.lines[0]!);
  assert.ok(m, `no connection id in ${JSON.stringify(r.text)}`);
  assert.equal(m[1], expected);
}

/** The EHLO reply as it must be on the wire: "250-" on all lines but the last. */
function ehloLines(ext: string[]): string[] {
  const all = [HOST, 'PIPELINING', 'SIZE 10485760', ...ext, ...TAIL];
  return all.map((l, i) => `250${i === all.length - 1 ? ' ' : '-'}${l}`);
}

/**
 * Checks an EHLO reply against `ext` (the lines between SIZE and ENHANCEDSTATUSCODES); a
 * FUTURERELEASE line must give the maximum hold and the date that is now + that maximum.
 */
function assertEhlo(r: Reply, ext: string[], sentAt: number): void {
  const lines = [...r.lines];
  const fr = lines.findIndex((l) => l.startsWith('250-FUTURERELEASE '));
  const want = ehloLines(ext);
  if (fr >= 0) {
    // RFC 4865 §3: FUTURERELEASE max-future-release-interval max-future-release-date-time.
    const m = /^250-FUTURERELEASE (\d+) (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$/.exec(lines[fr]!);
    assert.ok(m, lines[fr]);
    assert.equal(Number(m[1]), FUTURE_RELEASE_MAX_MS / 1000);
    const until = Date.parse(m[2]!);
    assert.ok(until >= Math.floor((sentAt + FUTURE_RELEASE_MAX_MS) / 1000) * 1000, m[2]);
    assert.ok(until <= Date.now() + FUTURE_RELEASE_MAX_MS, m[2]);
    lines[fr] = '250-FUTURERELEASE';
  }
  assert.deepEqual(lines, want);
}

async function ehlo(c: SmtpTestClient, ext: string[]): Promise<void> {
  const t = Date.now();
  assertEhlo(await c.ok('EHLO client.example'), ext, t);
}

describe('smtp session', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer();
    s.resolver.update((z) => ({
      ...z,
      fail: { ...z.fail, 'A flaky.example': 'temporary', 'AAAA flaky.example': 'temporary' },
    }));
  });
  after(() => s.close());

  test('greeting on every listener kind', async () => {
    for (const [port, tls] of [
      [s.smtp.port, false],
      [s.submission.port, false],
      [s.submissions.port, true],
    ] as const) {
      const c = await SmtpTestClient.connect(port, { tls });
      assert.equal(await c.readLine(), '220 mail.example.org ESMTP Tidings');
      c.close();
    }
  });

  test('EHLO on port 25: STARTTLS, no AUTH and no FUTURERELEASE; REQUIRETLS after TLS', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await ehlo(c, ['STARTTLS']);
    await c.starttls();
    await ehlo(c, ['REQUIRETLS']);
    await c.ok('QUIT', 221);
  });

  test('EHLO on submission: no AUTH before TLS when TLS is required for it', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    await ehlo(c, ['STARTTLS', 'FUTURERELEASE']);
    await c.starttls();
    await ehlo(c, ['REQUIRETLS', MECHS, 'FUTURERELEASE']);
    c.close();
  });

  test('EHLO on submissions (implicit TLS)', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await ehlo(c, ['REQUIRETLS', MECHS, 'FUTURERELEASE']);
    c.close();
  });

  test('HELO: a single line with the host name', async () => {
    for (const port of [s.smtp.port, s.submission.port]) {
      const c = await SmtpTestClient.open(port);
      const r = await c.ok('HELO client.example');
      assert.deepEqual(r.lines, ['250 mail.example.org']);
      c.close();
    }
  });

  test('HELO and EHLO without an argument: 501', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    for (const cmd of ['HELO', 'EHLO', 'EHLO   ']) {
      assertError(await c.cmd(cmd), '501 5.5.4 missing domain or address literal');
    }
    // Still no hello: MAIL is refused.
    assertError(await c.cmd('MAIL FROM:<sender@sender.example>'), '503 5.5.1 no ehlo/helo yet');
    c.close();
  });

  test('EHLO with a malformed argument: 501', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    const r = await c.cmd('EHLO bad..name');
    assert.equal(r.code, 501);
    assert.match(r.lines[0]!, /^501 5\.5\.4 invalid EHLO argument: .* \([0-9a-z]+\)$/);
    await ehlo(c, ['STARTTLS']);
    c.close();
  });

  test('HELO on port 25: the name must have an address, DNS trouble is forgiven', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    const noip = '550 5.5.0 your ehlo domain does not resolve to an IP address';
    // No such name, and a name that exists without A/AAAA records (only MX).
    assertError(await c.cmd('HELO nonexistent.example'), noip);
    assertError(await c.cmd('HELO sender.example'), noip);
    assertError(await c.cmd('MAIL FROM:<sender@sender.example>'), '503 5.5.1 no ehlo/helo yet');
    assert.deepEqual((await c.ok('HELO flaky.example')).lines, ['250 mail.example.org']);
    assert.deepEqual((await c.ok('HELO client.example')).lines, ['250 mail.example.org']);
    // EHLO is not checked (spec §1.2), and an address literal needs no lookup.
    await c.ok('EHLO nonexistent.example');
    assert.deepEqual((await c.ok('HELO [192.0.2.1]')).lines, ['250 mail.example.org']);
    c.close();
  });

  test('HELO on submission: the name is ignored', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    assert.deepEqual((await c.ok('HELO nonexistent.example')).lines, ['250 mail.example.org']);
    c.close();
  });

  test('EHLO resets the transaction', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    assert.deepEqual((await c.ok('MAIL FROM:<sender@sender.example>')).lines, [
      '250 2.1.0 sender ok',
    ]);
    await c.ok('EHLO client.example');
    assertError(await c.cmd('RCPT TO:<mjl@example.org>'), '503 5.5.1 missing MAIL FROM');
    // HELO does the same.
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('HELO client.example');
    assertError(await c.cmd('RCPT TO:<mjl@example.org>'), '503 5.5.1 missing MAIL FROM');
    c.close();
  });

  test('NOOP, RSET, HELP, VRFY, EXPN', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    // VRFY and EXPN need no EHLO first, and take an optional SMTPUTF8 (RFC 6531 §3.7.4).
    const vrfy = ['252 2.7.0 no verify/expand but will try delivery'];
    assert.deepEqual((await c.ok('VRFY mjl', 252)).lines, vrfy);
    assert.deepEqual((await c.ok('EXPN team@example.org', 252)).lines, vrfy);
    assert.deepEqual((await c.ok('VRFY mjl SMTPUTF8', 252)).lines, vrfy);
    assert.deepEqual((await c.ok('NOOP')).lines, ['250 2.0.0 alrighty']);
    // RFC 5321 §4.1.1.9: NOOP may have a string argument.
    assert.deepEqual((await c.ok('NOOP are you there?')).lines, ['250 2.0.0 alrighty']);
    assert.deepEqual((await c.ok('HELP', 214)).lines, ['214 2.0.0 see rfc 5321 (smtp)']);
    assert.deepEqual((await c.ok('HELP MAIL', 214)).lines, ['214 2.0.0 see rfc 5321 (smtp)']);
    assert.deepEqual((await c.ok('RSET')).lines, ['250 2.0.0 all clear']);
    assertError(await c.cmd('RSET now'), '501 5.5.4 no parameters allowed');
    c.close();
  });

  test('RSET drops the transaction', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await c.ok('RSET');
    assertError(await c.cmd('DATA'), '503 5.5.1 missing MAIL FROM');
    // A new transaction can start.
    await c.ok('MAIL FROM:<sender@sender.example>');
    c.close();
  });

  test('commands are case-insensitive', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    assert.equal((await c.ok('ehlo client.example')).lines.at(-1), '250 SMTPUTF8');
    assert.deepEqual((await c.ok('noop')).lines, ['250 2.0.0 alrighty']);
    assert.deepEqual((await c.ok('Rset')).lines, ['250 2.0.0 all clear']);
    c.close();
  });

  test('QUIT: 221 and the server closes', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    assert.deepEqual((await c.ok('QUIT', 221)).lines, ['221 2.0.0 okay thanks bye']);
    assert.equal(await c.closed(), true);
    // QUIT works before EHLO too.
    const d = await SmtpTestClient.open(s.smtp.port);
    assert.deepEqual((await d.ok('QUIT', 221)).lines, ['221 2.0.0 okay thanks bye']);
    assert.equal(await d.closed(), true);
  });

  test('an unknown first command: 500 5.5.2 and the connection is closed', async () => {
    for (const line of ['GET / HTTP/1.1', 'a1 CAPABILITY', '']) {
      const c = await SmtpTestClient.open(s.smtp.port);
      c.write(`${line}\r\nNOOP\r\n`);
      assertError(await c.reply(), '500 5.5.2 please try again speaking smtp');
      // The pipelined NOOP is never answered.
      assert.equal(await c.readLine(), null);
      assert.equal(await c.closed(), true);
    }
  });

  test('an unknown later command: 500 5.5.1 and the connection stays', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    assertError(await c.cmd('FROB nicate'), '500 5.5.1 unknown command');
    assertError(await c.cmd('ETRN example.org'), '500 5.5.1 unknown command');
    assert.deepEqual((await c.ok('NOOP')).lines, ['250 2.0.0 alrighty']);
    // A known command failing first also makes later unknown ones non-fatal.
    const d = await SmtpTestClient.open(s.smtp.port);
    assertError(await d.cmd('MAIL FROM:<sender@sender.example>'), '503 5.5.1 no ehlo/helo yet');
    assertError(await d.cmd('FROB'), '500 5.5.1 unknown command');
    assert.deepEqual((await d.ok('NOOP')).lines, ['250 2.0.0 alrighty']);
    c.close();
    d.close();
  });

  test('commands before EHLO: 503 no ehlo/helo yet', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    const no = '503 5.5.1 no ehlo/helo yet';
    assertError(await c.cmd('MAIL FROM:<sender@sender.example>'), no);
    assertError(await c.cmd('RCPT TO:<mjl@example.org>'), no);
    assertError(await c.cmd('DATA'), no);
    const d = await SmtpTestClient.open(s.submission.port);
    assertError(await d.cmd('AUTH PLAIN'), no);
    c.close();
    d.close();
  });

  test('pipelining: the replies to a batch of commands leave in one write', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    const chunks: string[] = [];
    c.socket.on('data', (d: Buffer) => chunks.push(d.toString()));
    c.write(
      'EHLO client.example\r\n' +
        'MAIL FROM:<sender@sender.example>\r\n' +
        'RCPT TO:<mjl@example.org>\r\n' +
        'RCPT TO:<other@example.org>\r\n' +
        'DATA\r\n',
    );
    assert.equal((await c.reply()).code, 250);
    assert.deepEqual((await c.reply()).lines, ['250 2.1.0 sender ok']);
    const r1 = await c.reply();
    const r2 = await c.reply();
    assert.equal(r1.code, 250);
    assert.equal(r2.code, 250);
    assert.deepEqual((await c.reply()).lines, ['354 start mail input, end with <CRLF>.<CRLF>']);
    assert.equal(chunks.length, 1, JSON.stringify(chunks));
    assert.ok(chunks[0]!.startsWith('250-mail.example.org\r\n'), chunks[0]);
    assert.ok(
      chunks[0]!.endsWith('\r\n354 start mail input, end with <CRLF>.<CRLF>\r\n'),
      chunks[0],
    );
    c.write(`${message()}.\r\n`);
    assert.equal((await c.reply()).code, 250);
    c.close();
  });

  test('pipelining after the transaction: RSET, MAIL, RCPT, NOOP in one write', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    const chunks: string[] = [];
    c.socket.on('data', (d: Buffer) => chunks.push(d.toString()));
    c.write('RSET\r\nMAIL FROM:<sender@sender.example>\r\nRCPT TO:<mjl@example.org>\r\nNOOP\r\n');
    for (const code of [250, 250, 250, 250]) assert.equal((await c.reply()).code, code);
    assert.equal(chunks.length, 1, JSON.stringify(chunks));
    assert.ok(chunks[0]!.endsWith('\r\n250 2.0.0 alrighty\r\n'));
    c.close();
  });
});

describe('smtp session: submission without required STARTTLS', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer({ noRequireSTARTTLS: true });
  });
  after(() => s.close());

  test('EHLO announces AUTH on plaintext, without -PLUS mechanisms', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    await ehlo(c, [
      'STARTTLS',
      'AUTH SCRAM-SHA-256 SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN',
      'FUTURERELEASE',
    ]);
    c.close();
  });
});

/** The value of one series in the registry's text output, 0 when absent. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await registry.metrics();
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2]!.split(',');
    if (have.length === want.length && want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return 0;
}

describe('smtp metrics', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer();
  });
  after(() => s.close());

  test('connections per kind and command durations by command and code', async () => {
    const conn = (kind: string) => metric('tidings_smtpserver_connection_total', { kind });
    const cmd = (kind: string, c: string, code: string, ecode: string) =>
      metric('tidings_smtpserver_command_duration_seconds_count', { kind, cmd: c, code, ecode });
    const before = {
      smtp: await conn('smtp'),
      submission: await conn('submission'),
      submissions: await conn('submissions'),
      ehlo: await cmd('smtp', 'ehlo', '250', ''),
      noop: await cmd('smtp', 'noop', '250', '2.0.0'),
      mail: await cmd('smtp', 'mail', '503', '5.5.1'),
      unknown: await cmd('smtp', '(unrecognized)', '500', '5.5.1'),
      subEhlo: await cmd('submission', 'ehlo', '250', ''),
    };
    const c = await SmtpTestClient.open(s.smtp.port);
    assertError(await c.cmd('MAIL FROM:<sender@sender.example>'), '503 5.5.1 no ehlo/helo yet');
    await c.ok('EHLO client.example');
    await c.ok('EHLO client.example');
    await c.ok('NOOP');
    await c.cmd('BLAH');
    const d = await SmtpTestClient.open(s.submission.port);
    await d.ok('EHLO client.example');
    const e = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await c.ok('QUIT', 221);
    d.close();
    e.close();
    assert.equal(await conn('smtp'), before.smtp + 1);
    assert.equal(await conn('submission'), before.submission + 1);
    assert.equal(await conn('submissions'), before.submissions + 1);
    assert.equal(await cmd('smtp', 'ehlo', '250', ''), before.ehlo + 2);
    assert.equal(await cmd('smtp', 'noop', '250', '2.0.0'), before.noop + 1);
    assert.equal(await cmd('smtp', 'mail', '503', '5.5.1'), before.mail + 1);
    assert.equal(await cmd('smtp', '(unrecognized)', '500', '5.5.1'), before.unknown + 1);
    assert.equal(await cmd('submission', 'ehlo', '250', ''), before.subEhlo + 1);
    const text = await registry.metrics();
    assert.match(text, /^tidings_smtpserver_connection_total\{kind="smtp"\} \d+$/m);
    assert.match(
      text,
      /^tidings_smtpserver_command_duration_seconds_bucket\{le="0\.001",kind="smtp",cmd="ehlo",code="250",ecode=""\} \d+$/m,
    );
  });
});
