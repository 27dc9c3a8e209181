// Interoperability with swaks (Debian's 20201014): a pipelined delivery on the smtp port
// with DSN parameters and a recipient that fails after DATA (the sender gets a DSN
// carrying ENVID, ORCPT and, for RET=FULL, the message), and submission with STARTTLS
// or implicit TLS and AUTH PLAIN, LOGIN and CRAM-MD5, whose DSN parameters reach the
// queue.
//
// This swaks has no options for DSN parameters and none for BDAT. It writes
// `MAIL FROM:<addr>` and `RCPT TO:<addr>` with the given text verbatim, so the DSN
// parameters are appended to the addresses; the `>` swaks closes the path with then ends
// the last parameter, which is therefore one whose xtext value may hold it (ENVID for
// MAIL, ORCPT for RCPT). swaks cannot send BDAT at all, nor can any other client here
// (nodemailer, smtplib, curl): CHUNKING is left to the protocol tests.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSmtpTestServer, PASSWORD, type SmtpTestServer } from '../smtp/harness.js';
import { run, type RunResult } from './util.js';

const SWAKS = '/usr/bin/swaks';

// Without a final line end: swaks adds CRLF before its closing dot.
const MESSAGE =
  'From: Sender <sender@sender.example>\r\n' +
  'To: mjl@example.org\r\n' +
  'Subject: swaks pipelined\r\n' +
  'Date: Wed, 07 May 2025 08:00:00 +0000\r\n' +
  'Message-ID: <swaks-25@sender.example>\r\n' +
  '\r\n' +
  'line one\r\n' +
  '.a line swaks dot-stuffs\r\n' +
  'last line';
const RECEIVED = Buffer.from(MESSAGE + '\r\n');

/** The header lines the server put before `sent` in `stored`; the rest must be `sent` exactly. */
function addedHeaders(stored: Buffer, sent: Buffer): string[] {
  assert.ok(stored.length > sent.length, 'stored message is longer than the sent one');
  const tail = stored.subarray(stored.length - sent.length);
  assert.ok(tail.equals(sent), `stored message does not end with the sent bytes:\n${stored}`);
  const text = stored.subarray(0, stored.length - sent.length).toString('utf8');
  assert.match(text, /^(?:[A-Za-z-]+: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*)+$/);
  return [...text.matchAll(/^([A-Za-z-]+):/gm)].map((m) => m[1] ?? '');
}

/** The lines swaks printed for what it sent (" -> ") and received ("<-  "), in order. */
function transcript(r: RunResult): string[] {
  return r.stdout
    .split(/\r?\n/)
    .filter((l) => /^(?: ->| ~>|<- |<~ |<-\*|<~\*) /.test(l))
    .map((l) => l.replace(/ \(\w+\)$/, ' (cid)'));
}

describe('swaks', () => {
  let server: SmtpTestServer;
  let dataFile: string;

  before(async () => {
    server = await startSmtpTestServer();
    dataFile = join(server.dir, 'message.eml');
    await writeFile(dataFile, MESSAGE);
  });
  after(async () => {
    await server.close();
  });

  const swaks = (args: string[]) =>
    run(SWAKS, ['--ehlo', 'client.example', '--timeout', '20', ...args], { timeoutMs: 30_000 });

  test('port 25, pipelined, DSN parameters: partial failure brings a DSN with ENVID, ORCPT, RET=FULL', async () => {
    const r = await swaks([
      '--server',
      `127.0.0.1:${server.smtp.port}`,
      '--pipeline',
      '--from',
      'sender@sender.example> RET=FULL ENVID=<swaks-envid-25',
      '--to',
      'mjl@example.org,nosuch@example.org> NOTIFY=FAILURE ORCPT=rfc822;<nosuch@example.org',
      '--data',
      `@${dataFile}`,
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // MAIL, RCPT, RCPT and DATA in one go, then their four replies (RFC 2920).
    const t = transcript(r);
    const mail = t.indexOf(' -> MAIL FROM:<sender@sender.example> RET=FULL ENVID=<swaks-envid-25>');
    assert.ok(mail > 0, t.join('\n'));
    assert.deepEqual(t.slice(mail, mail + 8), [
      ' -> MAIL FROM:<sender@sender.example> RET=FULL ENVID=<swaks-envid-25>',
      ' -> RCPT TO:<mjl@example.org>',
      ' -> RCPT TO:<nosuch@example.org> NOTIFY=FAILURE ORCPT=rfc822;<nosuch@example.org>',
      ' -> DATA',
      '<-  250 2.1.0 sender ok',
      '<-  250 2.1.5 recipient ok',
      '<-  250 2.1.5 recipient ok',
      '<-  354 start mail input, end with <CRLF>.<CRLF>',
    ]);
    assert.ok(t.includes(' -> ..a line swaks dot-stuffs'), t.join('\n'));
    assert.deepEqual(t.slice(-3), [
      '<-  250 2.0.0 message accepted',
      ' -> QUIT',
      '<-  221 2.0.0 okay thanks bye',
    ]);

    // The known recipient has the message, dot-stuffing undone, stored before the 250.
    const a = await server.store.account('mjl');
    const inbox = await a.mailbox('Inbox');
    assert.ok(inbox);
    const msgs = (await a.messages(inbox.id, await a.uids(inbox.id))).filter(
      (m) => m.messageId === 'swaks-25@sender.example',
    );
    assert.equal(msgs.length, 1);
    assert.deepEqual(addedHeaders(await a.readMessage(msgs[0]!), RECEIVED), [
      'X-Tidings-Reason',
      'Delivered-To',
      'Return-Path',
      'Authentication-Results',
      'Received-SPF',
      'Received',
    ]);

    // The message was accepted, so the failure for the unknown one is reported to the
    // sender by mail (RFC 5321 §6.1), in one DSN (RFC 3464).
    const dsns = server.recorded.added.filter((x) => x.msgs.some((m) => m.isDSN));
    assert.equal(dsns.length, 1);
    const dsn = dsns[0]!;
    assert.deepEqual(
      dsn.msgs.map((m) => ({ sender: m.sender, recipient: m.recipient, isDSN: m.isDSN })),
      [{ sender: null, recipient: { localpart: 'sender', domain: 'sender.example' }, isDSN: true }],
    );
    const text = dsn.data.toString('utf8');
    assert.match(text, /^To: <sender@sender\.example>\r\n/m);
    assert.match(text, /^Subject: mail delivery failure\r\n/m);
    assert.match(text, /^References: <swaks-25@sender\.example>\r\n/m);
    // RFC 3464 §2.2.1, §2.3: the envelope id and original recipient as swaks gave them.
    assert.match(text, /^Original-Envelope-Id: <swaks-envid-25>\r\n/m);
    assert.match(text, /^Received-From-MTA: dns; client\.example \(127\.0\.0\.1\)\r\n/m);
    const recipientFields = /\r\n\r\n(Original-Recipient:[^]*?)\r\n\r\n/.exec(text)?.[1] ?? '';
    assert.deepEqual(
      recipientFields.split('\r\n').filter((l) => !l.startsWith('Last-Attempt-Date:')),
      [
        'Original-Recipient: rfc822;<nosuch@example.org>',
        'Final-Recipient: rfc822;nosuch@example.org',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 no such user',
      ],
    );
    // RET=FULL: the whole message as received comes back (RFC 3461 §4.3).
    const returned = /\r\nContent-Type: message\/rfc822\r\n\r\n([^]*)\r\n--[^\r\n]+--\r\n$/.exec(
      text,
    );
    assert.ok(returned, text);
    assert.equal(returned[1], RECEIVED.toString());
  });

  const submissions = [
    {
      name: 'STARTTLS and AUTH PLAIN',
      tls: ['-tls'],
      auth: 'PLAIN',
      port: () => server.submission.port,
    },
    {
      name: 'STARTTLS and AUTH LOGIN',
      tls: ['-tls'],
      auth: 'LOGIN',
      port: () => server.submission.port,
    },
    {
      name: 'implicit TLS and AUTH CRAM-MD5',
      tls: ['--tls-on-connect'],
      auth: 'CRAM-MD5',
      port: () => server.submissions.port,
    },
  ];
  for (const [i, sub] of submissions.entries()) {
    test(`submission with ${sub.name}; DSN parameters reach the queue`, async () => {
      const before = server.recorded.added.length;
      const body =
        'From: mjl@example.org\r\nTo: friend@remote.example, other@example.org\r\n' +
        `Subject: swaks ${sub.auth}\r\nMessage-ID: <swaks-sub-${i}@example.org>\r\n` +
        'Date: Wed, 07 May 2025 09:00:00 +0000\r\n\r\nSubmitted with swaks.';
      const file = join(server.dir, `sub-${i}.eml`);
      await writeFile(file, body);
      const r = await swaks([
        '--server',
        `127.0.0.1:${sub.port()}`,
        ...sub.tls,
        '--auth',
        sub.auth,
        '--auth-user',
        'mjl@example.org',
        '--auth-password',
        PASSWORD,
        '--from',
        `mjl@example.org> RET=HDRS ENVID=<swaks-sub-${i}`,
        '--to',
        'friend@remote.example> NOTIFY=FAILURE ORCPT=rfc822;<Friend@Remote.example,other@example.org',
        '--data',
        `@${file}`,
      ]);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const t = transcript(r);
      assert.ok(t.includes('<~  235 2.7.0 authentication successful'), t.join('\n'));
      assert.ok(t.includes('<~  250 2.0.0 message accepted'), t.join('\n'));

      assert.equal(server.recorded.added.length, before + 1);
      const q = server.recorded.added[before]!;
      // The queue gets the message as sent; the server's headers travel as the prefix.
      assert.equal(q.data.toString(), body + '\r\n');
      assert.deepEqual(
        q.msgs.map((m) => ({
          sender: m.sender,
          recipient: m.recipient,
          account: m.account,
          dsn: m.dsn,
        })),
        [
          {
            sender: { localpart: 'mjl', domain: 'example.org' },
            recipient: { localpart: 'friend', domain: 'remote.example' },
            account: 'mjl',
            dsn: {
              notify: ['FAILURE'],
              orcpt: { addrType: 'rfc822', address: '<Friend@Remote.example>' },
              ret: 'HDRS',
              envid: `<swaks-sub-${i}>`,
            },
          },
          {
            sender: { localpart: 'mjl', domain: 'example.org' },
            recipient: { localpart: 'other', domain: 'example.org' },
            account: 'mjl',
            dsn: { notify: undefined, orcpt: undefined, ret: 'HDRS', envid: `<swaks-sub-${i}>` },
          },
        ],
      );
      const prefix = q.msgs[0]!.prefix.toString();
      assert.match(
        prefix,
        /^Received: from mail\.example\.org by mail\.example\.org via tcp\r\n\twith ESMTPSA id \w+ \(TLSv1\.[23] [A-Z0-9_-]+\); .*\r\nAuthentication-Results: mail\.example\.org;\r\n\tauth=pass smtp\.mailfrom=mjl@example\.org\r\n$/,
      );
      assert.equal(q.msgs[1]!.prefix.toString(), prefix, 'one prefix for all recipients');
    });
  }

  test('submission: a wrong password ends swaks with its auth failure status', async () => {
    const before = server.recorded.added.length;
    const r = await swaks([
      '--server',
      `127.0.0.1:${server.submission.port}`,
      '-tls',
      '--auth',
      'PLAIN',
      '--auth-user',
      'mjl@example.org',
      '--auth-password',
      'not-the-password',
      '--from',
      'mjl@example.org',
      '--to',
      'mjl@example.org',
    ]);
    // swaks exits 28 when authentication fails.
    assert.equal(r.code, 28, r.stdout + r.stderr);
    assert.ok(transcript(r).includes('<~* 535 5.7.8 authentication failed (cid)'), r.stdout);
    assert.equal(server.recorded.added.length, before);
  });
});
