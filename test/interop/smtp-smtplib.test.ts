// Interoperability with Python's smtplib: SMTPUTF8 and 8BITMIME with a UTF-8 local part
// ("dörte") and an 8-bit body, delivered over the smtp port and submitted over STARTTLS
// with login (smtplib's mechanism choice, and AUTH LOGIN), checked against the exact
// replies smtplib returns and against the stored bytes.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSmtpTestServer, PASSWORD, type SmtpTestServer } from '../smtp/harness.js';
import { Queue } from '../../src/queue/index.js';
import type { Message } from '../../src/store/index.js';
import { crlf, run } from './util.js';

const SCRIPT = fileURLToPath(new URL('./smtplib_session.py', import.meta.url));

// Written in NFC form, as users type it.
const DOERTE = 'dörte@example.org';

const DOMAINS = `[domains."example.org"]

[accounts.mjl]
domain = "example.org"
destinations = { "mjl@example.org" = {} }

[accounts.doerte]
domain = "example.org"
destinations = { "${DOERTE}" = {} }
`;

// Raw UTF-8 in header and body (RFC 6532, RFC 6152), and a line with a leading dot.
const DELIVERED = crlf(
  'From: Jürgen Groß <jürgen@sender.example>',
  `To: Dörte <${DOERTE}>`,
  'Subject: Grüße aus Köln',
  'Date: Tue, 06 May 2025 09:00:00 +0200',
  'Message-ID: <smtplib-25@sender.example>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Straße, Größe, Übermaß.',
  '.Eine Zeile mit Punkt am Anfang.',
  '',
);
const SUBMITTED = crlf(
  'From: mjl@example.org',
  `To: ${DOERTE}`,
  'Subject: Ihre Bestellung – Bestätigung',
  'Date: Tue, 06 May 2025 10:00:00 +0200',
  'Message-ID: <smtplib-587@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Vielen Dank für Ihre Bestellung, Dörte.',
);

/** The header lines the server put before `sent` in `stored`; the rest must be `sent` exactly. */
function addedHeaders(stored: Buffer, sent: Buffer): { names: string[]; text: string } {
  assert.ok(stored.length > sent.length, 'stored message is longer than the sent one');
  const tail = stored.subarray(stored.length - sent.length);
  assert.ok(tail.equals(sent), `stored message does not end with the sent bytes:\n${stored}`);
  const text = stored.subarray(0, stored.length - sent.length).toString('utf8');
  assert.match(text, /^(?:[A-Za-z-]+: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*)+$/);
  return { names: [...text.matchAll(/^([A-Za-z-]+):/gm)].map((m) => m[1] ?? ''), text };
}

describe('python smtplib', () => {
  let server: SmtpTestServer;

  before(async () => {
    server = await startSmtpTestServer({ realQueue: true, domains: DOMAINS });
  });
  after(async () => {
    await server.close();
  });

  /** Messages in Dörte's Inbox with this Message-ID (without brackets), waiting for the queue. */
  async function inDoerte(id: string): Promise<Message> {
    const a = await server.store.account('doerte');
    const mb = await a.mailbox('Inbox');
    assert.ok(mb);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const m = (await a.messages(mb.id, await a.uids(mb.id))).find((x) => x.messageId === id);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`<${id}> not delivered within 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test('SMTPUTF8 and 8BITMIME on the smtp port and over submission with login', async () => {
    const queue = server.queue;
    assert.ok(queue instanceof Queue);
    const m25 = join(server.dir, 'm25.eml');
    const m587 = join(server.dir, 'm587.eml');
    await writeFile(m25, DELIVERED);
    await writeFile(m587, SUBMITTED);
    const r = await run('python3', [SCRIPT], {
      timeoutMs: 60_000,
      env: {
        ...process.env,
        PYTHONIOENCODING: 'utf-8',
        SMTP_HOST: '127.0.0.1',
        SMTP_PORT: String(server.smtp.port),
        SUBMISSION_PORT: String(server.submission.port),
        SMTP_CAFILE: join(server.dir, 'cert.pem'),
        SMTP_USER: 'mjl@example.org',
        SMTP_PASSWORD: PASSWORD,
        SMTP_FROM_25: 'jürgen@sender.example',
        SMTP_RCPT: DOERTE,
        MESSAGE_25: m25,
        MESSAGE_587: m587,
      },
    });
    assert.equal(r.code, 0, `python3 exited ${r.code} ${r.signal}\n${r.stderr}\n${r.stdout}`);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;
    // Every error text ends in the connection id: replace it for the comparison.
    const cid = (v: unknown) =>
      Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'string'
        ? [v[0], v[1].replace(/ \(\w+\)$/, ' (cid)')]
        : v;
    const normalized = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, cid(v)]));
    assert.deepEqual(normalized, {
      ehlo25: 250,
      features25: ['8bitmime', 'pipelining', 'smtputf8', 'starttls'],
      d25_mail: [250, '2.1.0 sender ok'],
      d25_rcpt: [250, '2.1.5 recipient ok'],
      d25_data: [250, '2.0.0 message accepted'],
      quit25: [221, '2.0.0 okay thanks bye'],
      // While TLS is required for logins, submission announces AUTH only after STARTTLS,
      // so no password is sent in plaintext (RFC 4954 §4).
      features587_plain: ['8bitmime', 'pipelining', 'smtputf8', 'starttls'],
      starttls: [220, '2.0.0 ready to start TLS (cid)'],
      features587_tls: ['8bitmime', 'auth', 'pipelining', 'smtputf8'],
      auth587: [
        'SCRAM-SHA-256-PLUS',
        'SCRAM-SHA-256',
        'SCRAM-SHA-1-PLUS',
        'SCRAM-SHA-1',
        'CRAM-MD5',
        'PLAIN',
        'LOGIN',
      ],
      // smtplib prefers CRAM-MD5 among what it knows.
      login: [235, '2.7.0 authentication successful'],
      s587_mail: [250, '2.1.0 sender ok'],
      s587_rcpt: [250, '2.1.5 recipient ok'],
      s587_data: [250, '2.0.0 message accepted'],
      quit587: [221, '2.0.0 okay thanks bye'],
      auth_login: [235, '2.7.0 authentication successful'],
      bad_from_mail: [250, '2.1.0 sender ok'],
      bad_from_rcpt: [250, '2.1.5 recipient ok'],
      bad_from_data: [550, '5.7.1 message from address must belong to authenticated user (cid)'],
      quit_login: [221, '2.0.0 okay thanks bye'],
    });

    // The mechanisms as the server recorded them: smtplib's own choice, then LOGIN.
    const logins = (await server.store.global.loginAttempts('mjl'))
      .map((l) => `${l.protocol} ${l.mechanism} ${l.result} ${l.count}`)
      .sort();
    assert.deepEqual(logins, ['submission cram-md5 success 1', 'submission login success 1']);

    // Delivery: stored before the 250, with the trace headers in front.
    const delivered = await inDoerte('smtplib-25@sender.example');
    const a = await server.store.account('doerte');
    const d = addedHeaders(await a.readMessage(delivered), DELIVERED);
    assert.deepEqual(d.names, [
      'X-Tidings-Reason',
      'Delivered-To',
      'Return-Path',
      'Authentication-Results',
      'Received-SPF',
      'Received',
    ]);
    assert.match(
      d.text,
      new RegExp(
        '^X-Tidings-Reason: no-bad-signals\\r\\n' +
          `Delivered-To: ${DOERTE}\\r\\n` +
          'Return-Path: <jürgen@sender\\.example>\\r\\n' +
          'Authentication-Results: mail\\.example\\.org;(\\r\\n\\t[^\\r]*)+\\r\\n' +
          'Received-SPF: [^\\r]*(\\r\\n\\t[^\\r]*)*\\r\\n' +
          'Received: from client\\.example \\(\\[127\\.0\\.0\\.1\\]\\) by mail\\.example\\.org \\(\\[127\\.0\\.0\\.1\\]\\) via tcp\\r\\n' +
          '\\twith UTF8SMTP id \\w+\\r\\n' +
          `\\tfor <${DOERTE}>; .+\\r\\n$`,
      ),
    );

    // Submission: through the queue into the same mailbox.
    const submitted = await inDoerte('smtplib-587@example.org');
    const s = addedHeaders(await a.readMessage(submitted), SUBMITTED);
    assert.deepEqual(s.names, [
      'Delivered-To',
      'Return-Path',
      'Received',
      'Authentication-Results',
    ]);
    assert.match(
      s.text,
      new RegExp(
        `^Delivered-To: ${DOERTE}\\r\\n` +
          'Return-Path: <mjl@example\\.org>\\r\\n' +
          'Received: from mail\\.example\\.org by mail\\.example\\.org via tcp\\r\\n' +
          '\\twith UTF8SMTPSA id \\w+ \\(TLSv1\\.[23] [A-Z0-9_-]+\\)\\r\\n' +
          `\\tfor <${DOERTE}>; .+\\r\\n` +
          'Authentication-Results: mail\\.example\\.org;\\r\\n' +
          '\\tauth=pass smtp\\.mailfrom=mjl@example\\.org\\r\\n$',
      ),
    );
    // Nothing else arrived, and nothing is left in the queue.
    const inbox = await a.mailbox('Inbox');
    assert.ok(inbox);
    assert.equal((await a.uids(inbox.id)).length, 2);
    assert.deepEqual(queue.list(), []);
  });
});
