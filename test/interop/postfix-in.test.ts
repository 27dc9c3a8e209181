// Interoperability with Postfix as the sending MTA: messages submitted to a private
// Postfix instance are relayed by Postfix's smtp client (STARTTLS when offered, 8BITMIME,
// SMTPUTF8, several recipients in one transaction) into the smtp (port 25 kind) listener,
// and must land in the store byte for byte as sent, behind Postfix's Received line and
// the trace lines the server adds. Also checks the instance's own delivery into its
// Maildir, which other tests use to receive mail.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startSmtpTestServer, type SmtpTestServer } from '../smtp/harness.js';
import { startPostfix, postfixAvailable, type PostfixInstance } from './postfix.js';
import { crlf, within } from './util.js';

// Postfix says EHLO with its myhostname, which the server's resolver must know (ZONE has
// an A record for it); senders are at sender.example, which has an MX record.
const POSTFIX_HOST = 'client.example';
const LOCAL_DOMAIN = 'postfix.test';

const skip = postfixAvailable()
  ? false
  : '/usr/sbin/postfix is not installed: relaying through Postfix is not tested';

const ASCII = crlf(
  'From: Sender <sender@sender.example>',
  'To: mjl@example.org',
  'Subject: through postfix, plain ascii',
  'Message-ID: <postfix-ascii@sender.example>',
  'Date: Sat, 21 Nov 2026 10:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'First line.',
  '.A line with a leading dot, stuffed on both hops.',
  '..Two leading dots.',
  '.',
  'From the start of a line (no mbox escaping over SMTP).',
  'Trailing blanks   ',
  '\tA tab-indented line.',
  '',
  'x'.repeat(990),
  'Last line.',
);

const EIGHTBIT = crlf(
  'From: Sender <sender@sender.example>',
  'To: mjl@example.org, other@example.org',
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= in 8 bits',
  'Message-ID: <postfix-8bit@sender.example>',
  'Date: Sat, 21 Nov 2026 10:01:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Grüße aus Köln – ünïcödé ✓ 日本語 🙂',
  '.ß at the start after a dot',
  'Ünicode at the start of a line, and at the end: é',
  '',
  'Last line.',
);

const UTF8_SENDER = 'søren@sender.example';
const SMTPUTF8 = crlf(
  'From: Søren Ørsted <søren@sender.example>',
  'To: Mjl <mjl@example.org>',
  'Subject: Grüße – ✓ 日本語 over SMTPUTF8',
  'Message-ID: <postfix-smtputf8@sender.example>',
  'Date: Sat, 21 Nov 2026 10:02:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Hej Mjl,',
  '',
  'internationalised headers and body: Ærø, Þórr, Ελληνικά.',
  '.',
  '— Søren',
);

const LOCAL = crlf(
  'From: Sender <sender@sender.example>',
  `To: someone@${LOCAL_DOMAIN}`,
  'Subject: into the Postfix Maildir',
  'Message-ID: <postfix-local@sender.example>',
  'Date: Sat, 21 Nov 2026 10:03:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Delivered by the virtual agent: ünïcödé ✓.',
  '.leading dot',
  'Last line.',
);

/** Whole header fields: a name, a value and folded continuation lines. */
const FIELDS = /^(?:[A-Za-z-]+: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*)+$/;

/** The header text put before `sent` in `stored`, after checking the rest is `sent` exactly. */
function prefixOf(stored: Buffer, sent: Buffer): string {
  assert.ok(stored.length > sent.length, `stored message is shorter than sent:\n${stored}`);
  const tail = stored.subarray(stored.length - sent.length);
  assert.ok(tail.equals(sent), `stored message does not end with the sent bytes:\n${stored}`);
  const text = stored.subarray(0, stored.length - sent.length).toString('utf8');
  assert.match(text, FIELDS);
  return text;
}

/** The prefix split into header fields (each with its CRLFs). */
const fieldsOf = (text: string) => text.match(/[A-Za-z-]+: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*/g) ?? [];

// RFC 5322 §3.3: the day may follow folding white space; Postfix pads a one-digit day.
const DATE = String.raw`[A-Z][a-z]{2}, +\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}`;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Postfix's trace line: its EHLO peer, its name, the protocol, "for" with one recipient. */
function postfixReceived(proto: string, rcpt: string | null): RegExp {
  return new RegExp(
    String.raw`^Received: from nodemailer\.test \(localhost \[127\.0\.0\.1\]\)\r\n` +
      String.raw`\tby ${esc(POSTFIX_HOST)} \(Postfix\) with ${proto} id [0-9A-F]+` +
      (rcpt ? String.raw`\r\n\tfor <${esc(rcpt)}>; ` : ';\r\n\t') +
      `${DATE} \\(UTC\\)\r\n$`,
  );
}

/** The server's trace line: Postfix's EHLO name and address, over TLS (Postfix's "may"). */
function tidingsReceived(proto: string, rcpt: string): RegExp {
  return new RegExp(
    String.raw`^Received: from ${esc(POSTFIX_HOST)} \(\[127\.0\.0\.1\]\) by mail\.example\.org \(\[127\.0\.0\.1\]\) via tcp\r\n` +
      String.raw`\twith ${proto} id \w+ \(TLSv1\.[23] [A-Z0-9_-]+\)\r\n` +
      String.raw`\tfor <${esc(rcpt)}>; ${DATE}\r\n$`,
  );
}

describe('postfix relays into the smtp listener', { skip, timeout: 50_000 }, () => {
  let server: SmtpTestServer;
  let pf: PostfixInstance;
  /** The client's commands as nodemailer logged them ("MAIL FROM:..."). */
  const commands: string[] = [];

  before(async () => {
    server = await startSmtpTestServer({ realQueue: true });
    pf = await startPostfix({
      localDomain: LOCAL_DOMAIN,
      hostname: POSTFIX_HOST,
      relay: { 'example.org': server.smtp.port },
    });
  });
  after(async () => {
    await pf?.stop();
    await server?.close();
  });

  /** Submits raw bytes to Postfix's smtpd with this envelope. */
  async function submit(from: string, to: string[], raw: Buffer, use8BitMime = false) {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: pf.port,
      secure: false,
      ignoreTLS: true,
      name: 'nodemailer.test',
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 20_000,
      debug: true,
      logger: {
        level: () => {},
        trace: () => {},
        debug: (meta: { tnx?: string }, line: unknown) => {
          if (meta.tnx === 'client' && /^(MAIL|RCPT) /.test(String(line))) {
            commands.push(String(line));
          }
        },
        info: () => {},
        warn: () => {},
        error: () => {},
        fatal: () => {},
      },
    });
    try {
      const info = await within(
        20_000,
        'sendMail to postfix',
        t.sendMail({ envelope: { from, to, use8BitMime }, raw }),
      );
      assert.match(info.response, /^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
      assert.deepEqual(info.accepted, to);
    } finally {
      t.close();
    }
  }

  /** The stored bytes of the message with this Message-ID in a mailbox of account mjl. */
  async function stored(mailbox: string, messageId: string): Promise<Buffer> {
    const a = await server.store.account('mjl');
    const deadline = Date.now() + 20_000;
    for (;;) {
      const mb = await a.mailbox(mailbox);
      if (mb) {
        const found = (await a.messages(mb.id, await a.uids(mb.id))).filter(
          (m) => m.messageId === messageId,
        );
        assert.ok(found.length <= 1, `${messageId} stored once in ${mailbox}`);
        const m = found[0];
        if (m) return a.readMessage(m, 0, m.size);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${messageId} not in ${mailbox} within 20 s\npostfix queue:\n${await pf.queueList()}\n` +
            `postfix log:\n${await pf.logs()}`,
        );
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  test('plain ASCII message, dot lines and a 990-octet line intact', async () => {
    await submit('sender@sender.example', ['mjl@example.org'], ASCII);
    assert.deepEqual(commands, ['MAIL FROM:<sender@sender.example>', 'RCPT TO:<mjl@example.org>']);
    const msg = await stored('Inbox', 'postfix-ascii@sender.example');
    const fields = fieldsOf(prefixOf(msg, ASCII));
    assert.equal(fields.length, 7, fields.join(''));
    assert.equal(fields[0], 'X-Tidings-Reason: no-bad-signals\r\n');
    assert.equal(fields[1], 'Delivered-To: mjl@example.org\r\n');
    assert.equal(fields[2], 'Return-Path: <sender@sender.example>\r\n');
    assert.match(fields[3]!, /^Authentication-Results: mail\.example\.org;\r\n\t/);
    assert.match(fields[4]!, /^Received-SPF: /);
    assert.match(fields[5]!, tidingsReceived('ESMTPS', 'mjl@example.org'));
    assert.match(fields[6]!, postfixReceived('ESMTP', 'mjl@example.org'));
  });

  test('8-bit body with BODY=8BITMIME, two recipients in one transaction', async () => {
    const to = ['mjl@example.org', 'other@example.org'];
    await submit('sender@sender.example', to, EIGHTBIT, true);
    assert.ok(
      commands.includes('MAIL FROM:<sender@sender.example> BODY=8BITMIME'),
      commands.join('\n'),
    );
    for (const [mailbox, rcpt] of [
      ['Inbox', 'mjl@example.org'],
      ['Other', 'other@example.org'],
    ] as const) {
      const msg = await stored(mailbox, 'postfix-8bit@sender.example');
      const fields = fieldsOf(prefixOf(msg, EIGHTBIT));
      assert.equal(fields.length, 7, fields.join(''));
      assert.equal(fields[1], `Delivered-To: ${rcpt}\r\n`);
      assert.equal(fields[2], 'Return-Path: <sender@sender.example>\r\n');
      assert.match(fields[3]!, /^Authentication-Results: mail\.example\.org;\r\n\t/);
      assert.match(fields[4]!, /^Received-SPF: /);
      assert.match(fields[5]!, tidingsReceived('ESMTPS', rcpt));
      // Postfix names no recipient when a message has several.
      assert.match(fields[6]!, postfixReceived('ESMTP', null));
    }
    // One transaction from Postfix: both copies carry the same Postfix queue id.
    const ids = await Promise.all(
      ['Inbox', 'Other'].map(async (mb) => {
        const t = (await stored(mb, 'postfix-8bit@sender.example')).toString('utf8');
        return /\(Postfix\) with ESMTP id ([0-9A-F]+)/.exec(t)?.[1];
      }),
    );
    assert.ok(ids[0]);
    assert.equal(ids[0], ids[1]);
  });

  test('SMTPUTF8: UTF-8 sender localpart, From and Subject', async () => {
    await submit(UTF8_SENDER, ['mjl@example.org'], SMTPUTF8, true);
    assert.ok(
      commands.includes(`MAIL FROM:<${UTF8_SENDER}> SMTPUTF8 BODY=8BITMIME`),
      commands.join('\n'),
    );
    const msg = await stored('Inbox', 'postfix-smtputf8@sender.example');
    const fields = fieldsOf(prefixOf(msg, SMTPUTF8));
    assert.equal(fields.length, 7, fields.join(''));
    assert.equal(fields[1], 'Delivered-To: mjl@example.org\r\n');
    assert.equal(fields[2], `Return-Path: <${UTF8_SENDER}>\r\n`);
    assert.match(fields[3]!, /^Authentication-Results: mail\.example\.org;\r\n\t/);
    assert.match(fields[4]!, /^Received-SPF: /);
    // Both hops used SMTPUTF8 (RFC 6531 §3.7.3 "UTF8SMTP", with "S" for TLS).
    assert.match(fields[5]!, tidingsReceived('UTF8SMTPS', 'mjl@example.org'));
    assert.match(fields[6]!, postfixReceived('UTF8SMTP', 'mjl@example.org'));
  });

  test('a 2 MB 8-bit message with dot lines throughout', async () => {
    const line = (i: number) =>
      `${String(i).padStart(6, '0')} Grüße ✓ ${'ä'.repeat(40)} ${'x'.repeat(30)}`;
    const big = crlf(
      'From: Sender <sender@sender.example>',
      'To: mjl@example.org',
      'Subject: a large one',
      'Message-ID: <postfix-large@sender.example>',
      'Date: Sat, 21 Nov 2026 10:04:00 +0000',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      ...Array.from({ length: 16_000 }, (_, i) => (i % 1000 === 0 ? `.${line(i)}` : line(i))),
    );
    assert.ok(big.length > 2_000_000);
    await submit('sender@sender.example', ['mjl@example.org'], big, true);
    const msg = await stored('Inbox', 'postfix-large@sender.example');
    const fields = fieldsOf(prefixOf(msg, big));
    assert.equal(fields.length, 7, fields.join(''));
    assert.match(fields[5]!, tidingsReceived('ESMTPS', 'mjl@example.org'));
    assert.match(fields[6]!, postfixReceived('ESMTP', 'mjl@example.org'));
  });

  test('nothing left in the Postfix queue', async () => {
    assert.equal((await pf.queueList()).trim(), 'Mail queue is empty');
    assert.match(
      await pf.logs(),
      /to=<mjl@example\.org>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+,.* status=sent/,
    );
  });

  test('the instance delivers its local domain into its Maildir', async () => {
    await submit('sender@sender.example', [`someone@${LOCAL_DOMAIN}`], LOCAL, true);
    const msgs = await pf.waitForMessages(1, 15_000);
    assert.equal(msgs.length, 1);
    // Maildir files have LF line ends.
    const sent = Buffer.from(LOCAL.toString('utf8').replace(/\r\n/g, '\n'), 'utf8');
    const got = msgs[0]!;
    assert.ok(got.subarray(got.length - sent.length).equals(sent), got.toString('utf8'));
    const head = got.subarray(0, got.length - sent.length).toString('utf8');
    assert.match(
      head,
      new RegExp(
        String.raw`^Return-Path: <sender@sender\.example>\n` +
          String.raw`X-Original-To: someone@postfix\.test\n` +
          String.raw`Delivered-To: someone@postfix\.test\n` +
          String.raw`Received: from nodemailer\.test \(localhost \[127\.0\.0\.1\]\)\n` +
          String.raw`\tby client\.example \(Postfix\) with ESMTP id [0-9A-F]+\n` +
          String.raw`\tfor <someone@postfix\.test>; ${DATE} \(UTC\)\n$`,
      ),
    );
  });
});
