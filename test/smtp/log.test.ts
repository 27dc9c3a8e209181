// What the log says about refused commands and connections: one message key per JSON
// line, the reason in a field of its own, and the same in the readable localserve format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, formatPretty } from '../../src/log/index.js';
import { ConnectionCounter } from '../../src/net/index.js';
import { startSmtpTestServer, SmtpTestClient } from './harness.js';
import { startTestServer, Client } from '../imap/harness.js';

/** A logger at info level whose JSON lines are kept. */
function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: { write: (s: string) => lines.push(s) } });
  return { log, lines };
}

const msgKeys = (line: string) => line.match(/"msg":/g)?.length ?? 0;

test('smtp: a refused command logs one message and its reason, mechanism and codes', async () => {
  const { log, lines } = capture();
  const s = await startSmtpTestServer({ log });
  try {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.starttls();
    await c.ok('EHLO client.example');
    await c.cmd('AUTH PLAIN !!!!');
    await c.cmd('MAIL FROM:<mjl@example.org>');
    c.close();
    const errors = lines.filter((l) => l.includes('"smtp error"'));
    assert.equal(errors.length, 2, lines.join(''));
    for (const l of errors) assert.equal(msgKeys(l), 1, l);
    const auth = JSON.parse(errors[0]!) as Record<string, unknown>;
    assert.deepEqual(
      [auth.msg, auth.cmd, auth.mechanism, auth.code, auth.ecode, auth.reason],
      ['smtp error', 'AUTH', 'PLAIN', 501, '5.2', 'invalid base64'],
    );
    const mail = JSON.parse(errors[1]!) as Record<string, unknown>;
    assert.equal(mail.reason, 'authentication required');
    assert.match(
      formatPretty(errors[0]!),
      / smtp error .*mechanism=PLAIN .*reason="invalid base64"/,
    );
  } finally {
    await s.close();
  }
});

test('smtp and imap: connections refused by a limiter are logged with the reason', async () => {
  const smtpLog = capture();
  const limits = { connections: new ConnectionCounter({ limits: [1, 10, 10] }) };
  const s = await startSmtpTestServer({ log: smtpLog.log, limiters: limits });
  const imapLog = capture();
  const i = await startTestServer({
    log: imapLog.log,
    limiters: { connections: new ConnectionCounter({ limits: [1, 10, 10] }) },
  });
  try {
    const first = await SmtpTestClient.open(s.smtp.port);
    const second = await SmtpTestClient.connect(s.smtp.port);
    assert.match((await second.reply()).text, /too many open connections/);
    first.close();
    const a = await Client.connect(i.imaps.port, { tls: true });
    const b = await Client.connect(i.imaps.port, { tls: true });
    assert.match(b.greeting, /^\* BYE too many open connections/);
    a.close();
    for (const lines of [smtpLog.lines, imapLog.lines]) {
      const refused = lines.filter((l) => l.includes('"connection refused"'));
      assert.equal(refused.length, 1, lines.join(''));
      const rec = JSON.parse(refused[0]!) as Record<string, unknown>;
      assert.equal(rec.reason, 'too many open connections from your ip or network');
      assert.equal(rec.remote, '127.0.0.1');
    }
  } finally {
    await s.close();
    await i.close();
  }
});
