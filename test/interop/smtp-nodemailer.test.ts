// Interoperability with the nodemailer client library against a whole server started from
// a configuration directory: submission over 587 with STARTTLS and AUTH (PLAIN, LOGIN),
// over 465 with implicit TLS, DSN parameters, and the errors nodemailer reports. Every
// accepted message goes through the queue into mjl's Inbox and is read back over IMAPS,
// byte for byte what nodemailer generated behind the header lines the server added.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Transform, type TransformCallback } from 'node:stream';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { SMTPTransportOptions } from 'nodemailer/lib/smtp-transport';
import { ImapFlow } from 'imapflow';
import { Server } from '../../src/server/server.js';
import { createLogger } from '../../src/log/index.js';
import { generateSelfSigned } from '../../src/net/index.js';
import { deriveSecrets } from '../../src/sasl/index.js';
import { MockResolver } from '../../src/dns/index.js';
import type { Message } from '../../src/store/index.js';
import { ZONE } from '../smtp/harness.js';
import { within } from './util.js';

const PASSWORD = 'nodemailer-secret';
const USER = 'mjl@example.org';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"
log_level = "error"
[delays]
auth_fail = "0s"
bad_client = "0s"
unknown_recipients = "0s"
[listeners.test]
ips = ["127.0.0.1"]
tls = { cert_file = "cert.pem", key_file = "key.pem" }
smtp = { enabled = true, port = 0, first_time_sender_delay = "0s" }
submission = { enabled = true, port = 0 }
submissions = { enabled = true, port = 0 }
imaps = { enabled = true, port = 0 }
`;

const DOMAINS = `[domains."example.org"]

[accounts.mjl]
domain = "example.org"
destinations = { "mjl@example.org" = {} }

[accounts.other]
domain = "example.org"
destinations = { "other@example.org" = {} }
`;

/** The header lines the server put before `sent` in `stored`; the rest must be `sent` exactly. */
function addedHeaders(stored: Buffer, sent: Buffer): { names: string[]; text: string } {
  assert.ok(stored.length > sent.length, 'stored message is longer than the sent one');
  const tail = stored.subarray(stored.length - sent.length);
  assert.ok(tail.equals(sent), `stored message does not end with the sent bytes:\n${stored}`);
  const text = stored.subarray(0, stored.length - sent.length).toString('utf8');
  // Whole header fields only: a name, a value and folded continuation lines.
  assert.match(text, /^(?:[A-Za-z-]+: [^\r\n]*\r\n(?:\t[^\r\n]*\r\n)*)+$/);
  return { names: [...text.matchAll(/^([A-Za-z-]+):/gm)].map((m) => m[1] ?? ''), text };
}

/** A pass-through stream that keeps a copy of what nodemailer generates for the wire. */
class Tap extends Transform {
  private chunks: Buffer[] = [];
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.chunks.push(Buffer.from(chunk));
    cb(null, chunk);
  }
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

describe('nodemailer', () => {
  let dir: string;
  let server: Server;
  let ports: Record<string, number>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidings-nodemailer-'));
    const cfg = join(dir, 'config');
    await mkdir(cfg);
    const cert = await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
    await writeFile(join(cfg, 'cert.pem'), cert.certPem);
    await writeFile(join(cfg, 'key.pem'), cert.keyPem);
    await writeFile(join(cfg, 'tidings.toml'), STATIC);
    await writeFile(join(cfg, 'domains.toml'), DOMAINS);
    server = await Server.start({
      configDir: cfg,
      log: createLogger({ level: process.env.TIDINGS_TEST_LOG ?? 'error' } as never),
      resolver: new MockResolver(ZONE),
    });
    ports = Object.fromEntries(server.listening.map((l) => [l.service, l.port]));
    const secrets = await deriveSecrets(PASSWORD);
    for (const name of ['mjl', 'other'])
      await (await server.store.account(name)).setSecrets(secrets);
  });
  after(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function transport(opts: SMTPTransportOptions) {
    return nodemailer.createTransport({
      host: '127.0.0.1',
      tls: { rejectUnauthorized: false },
      auth: { user: USER, pass: PASSWORD },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      ...opts,
    });
  }

  /** Waits until the queue has delivered a message with this Message-ID into mjl's Inbox. */
  async function delivered(messageId: string): Promise<Message[]> {
    const a = await server.store.account('mjl');
    const mb = await a.mailbox('Inbox');
    assert.ok(mb);
    const deadline = Date.now() + 15_000;
    for (;;) {
      // The store keeps ids without their angle brackets.
      const id = messageId.slice(1, -1);
      const found = (await a.messages(mb.id, await a.uids(mb.id))).filter(
        (m) => m.messageId === id,
      );
      if (found.length > 0) return found;
      if (Date.now() > deadline) throw new Error(`${messageId} not delivered within 15 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The stored bytes of a message, read over IMAPS (BODY.PEEK[]). */
  async function imapSource(uid: number): Promise<Buffer> {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: ports.imaps,
      secure: true,
      auth: { user: USER, pass: PASSWORD },
      tls: { rejectUnauthorized: false },
      logger: false,
      disableAutoIdle: true,
    });
    c.on('error', () => {});
    try {
      await within(10_000, 'imap connect', c.connect());
      await c.mailboxOpen('INBOX');
      const m = await within(
        10_000,
        'imap fetch',
        c.fetchOne(String(uid), { source: true }, { uid: true }),
      );
      assert.ok(m && m.source, `uid ${uid} fetched`);
      await c.logout();
      return m.source;
    } finally {
      c.close();
    }
  }

  /**
   * A Received line as the submission listener writes it: only this server is named, the
   * client's name and address are left out (RFC 5321 §7.6).
   */
  const receivedRe = (proto: string, rcpt: string) =>
    new RegExp(
      `^Received: from mail\\.example\\.org by mail\\.example\\.org via tcp\\r\\n` +
        `\\twith ${proto} id \\w+ \\(TLSv1\\.[23] [A-Z0-9_-]+\\)\\r\\n` +
        `\\tfor <${rcpt.replace(/\./g, '\\.')}>; [A-Z][a-z]{2}, +\\d{1,2} [A-Z][a-z]{2} \\d{4} \\d\\d:\\d\\d:\\d\\d [+-]\\d{4}\\r\\n`,
      'm',
    );

  test('587: STARTTLS, AUTH PLAIN, a multipart message with attachment, read back over IMAP', async () => {
    const t = transport({
      port: ports.submission,
      secure: false,
      requireTLS: true,
      authMethod: 'PLAIN',
    });
    const taps: Tap[] = [];
    t.use('stream', (mail, done) => {
      const tap = new Tap();
      taps.push(tap);
      mail.message.transform(tap);
      done();
    });
    const messageId = '<nodemailer-plain-1@example.org>';
    const info = await within(
      20_000,
      'sendMail',
      t.sendMail({
        from: '"Mjl Sender" <mjl@example.org>',
        to: 'Mjl <mjl@example.org>',
        subject: 'Grüße über STARTTLS',
        messageId,
        date: new Date('2025-05-01T10:00:00Z'),
        // CRLF already: the tap sees the text before the SMTP layer's line-end conversion.
        text: 'Hallo Jürgen,\r\n\r\nthe report is attached.\r\n.a line with a leading dot\r\n',
        html: '<p>Hallo J&uuml;rgen,</p><p>the report is attached.</p>',
        attachments: [{ filename: 'report.bin', content: Buffer.from([0, 1, 2, 0xfe, 0xff]) }],
      }),
    );
    t.close();
    assert.equal(info.response, '250 2.0.0 message accepted');
    assert.deepEqual(info.accepted, ['mjl@example.org']);
    assert.deepEqual(info.rejected, []);
    assert.deepEqual(info.envelope, { from: 'mjl@example.org', to: ['mjl@example.org'] });
    assert.equal(taps.length, 1);
    const sent = taps[0]!.data;
    assert.match(sent.toString(), /^Content-Type: multipart\/mixed;/m);

    const [m] = await delivered(messageId);
    assert.ok(m);
    const stored = await imapSource(m.uid);
    const added = addedHeaders(stored, sent);
    assert.deepEqual(added.names, [
      'Delivered-To',
      'Return-Path',
      'Received',
      'Authentication-Results',
    ]);
    assert.match(
      added.text,
      /^Delivered-To: mjl@example\.org\r\nReturn-Path: <mjl@example\.org>\r\n/,
    );
    assert.match(added.text, receivedRe('ESMTPSA', 'mjl@example.org'));
    assert.match(
      added.text,
      /^Authentication-Results: mail\.example\.org;\r\n\tauth=pass smtp\.mailfrom=mjl@example\.org\r\n/m,
    );
  });

  test('587: STARTTLS, AUTH LOGIN, a pre-built raw message with an 8-bit body', async () => {
    const raw = await new MailComposer({
      from: 'mjl@example.org',
      to: 'mjl@example.org',
      subject: 'raw and 8bit',
      messageId: '<nodemailer-login-1@example.org>',
      date: new Date('2025-05-02T10:00:00Z'),
      // A pre-generated part: nodemailer would otherwise re-encode text as QP or base64.
      text: {
        raw:
          'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
          'Größe: 8-bit text without transfer encoding\r\n',
      },
      attachments: [{ filename: 'data.bin', content: Buffer.from('größe\r\n') }],
    })
      .compile()
      .build();
    assert.match(raw.toString(), /^Content-Transfer-Encoding: 8bit$/m);
    const t = transport({
      port: ports.submission,
      secure: false,
      requireTLS: true,
      authMethod: 'LOGIN',
    });
    const info = await within(
      20_000,
      'sendMail',
      t.sendMail({ envelope: { from: USER, to: [USER] }, raw }),
    );
    t.close();
    assert.equal(info.response, '250 2.0.0 message accepted');
    const [m] = await delivered('<nodemailer-login-1@example.org>');
    assert.ok(m);
    const added = addedHeaders(await imapSource(m.uid), raw);
    assert.deepEqual(added.names, [
      'Delivered-To',
      'Return-Path',
      'Received',
      'Authentication-Results',
    ]);
    assert.match(added.text, receivedRe('ESMTPSA', 'mjl@example.org'));
  });

  test('465: implicit TLS, REQUIRETLS, two recipients in one transaction', async () => {
    const t = transport({ port: ports.submissions, secure: true });
    const raw = Buffer.from(
      'From: mjl@example.org\r\nTo: mjl@example.org, other@example.org\r\n' +
        'Subject: over 465\r\nMessage-ID: <nodemailer-465@example.org>\r\n' +
        'Date: Sat, 03 May 2025 10:00:00 +0000\r\n\r\nTwo recipients.\r\n',
    );
    const info = await within(
      20_000,
      'sendMail',
      t.sendMail({
        envelope: { from: USER, to: [USER, 'other@example.org'] },
        raw,
        // RFC 8689: MAIL FROM ... REQUIRETLS, offered once TLS is active.
        requireTLSExtensionEnabled: true,
      }),
    );
    t.close();
    assert.equal(info.response, '250 2.0.0 message accepted');
    assert.deepEqual(info.accepted, [USER, 'other@example.org']);
    const [m] = await delivered('<nodemailer-465@example.org>');
    assert.ok(m);
    const added = addedHeaders(await imapSource(m.uid), raw);
    assert.deepEqual(added.names, [
      'Delivered-To',
      'Return-Path',
      'Received',
      'Authentication-Results',
    ]);
    // With several recipients the Received line has no "for" clause: it may name one
    // path at most (RFC 5321 §4.4), and naming one would show it to the others (§7.6).
    // A REQUIRETLS transaction is noted as a comment after the protocol, so the trace
    // shows that the sender required TLS.
    assert.match(
      added.text,
      /^Received: from mail\.example\.org by mail\.example\.org via tcp\r\n\twith ESMTPSA \(requiretls\) id \w+ \(TLSv1\.[23] [A-Z0-9_-]+\); .*\r\n/m,
    );
    // The other account got its own copy.
    const other = await server.store.account('other');
    const inbox = await other.mailbox('Inbox');
    assert.ok(inbox);
    const copies = await other.messages(inbox.id, await other.uids(inbox.id));
    assert.equal(copies.length, 1);
    const otherAdded = addedHeaders(await other.readMessage(copies[0]!), raw);
    assert.match(otherAdded.text, /^Delivered-To: other@example\.org\r\n/);
  });

  test('DSN parameters: NOTIFY=SUCCESS brings a delivery report with ENVID and ORCPT', async () => {
    const t = transport({ port: ports.submission, secure: false, requireTLS: true });
    const messageId = '<nodemailer-dsn@example.org>';
    const info = await within(
      20_000,
      'sendMail',
      t.sendMail({
        from: USER,
        to: USER,
        subject: 'please confirm',
        messageId,
        text: 'Tell me when it arrives.',
        dsn: {
          id: 'env-42+x',
          return: 'headers',
          notify: ['success'],
          recipient: 'Mjl@Example.org',
        },
      }),
    );
    t.close();
    assert.equal(info.response, '250 2.0.0 message accepted');
    await delivered(messageId);
    // The report goes to the sender, mjl, and references the original.
    const a = await server.store.account('mjl');
    const mb = await a.mailbox('Inbox');
    assert.ok(mb);
    const deadline = Date.now() + 15_000;
    let report: Message | undefined;
    while (!report) {
      report = (await a.messages(mb.id, await a.uids(mb.id))).find((m) =>
        m.references.includes(messageId.slice(1, -1)),
      );
      if (!report && Date.now() > deadline) throw new Error('no delivery report within 15 s');
      if (!report) await new Promise((r) => setTimeout(r, 20));
    }
    const text = (await imapSource(report.uid)).toString('utf8');
    assert.match(text, /^Subject: mail delivered\r\n/m);
    assert.match(text, /^Content-Type: multipart\/report; report-type=delivery-status;/m);
    // RFC 3464 §2.2.1, §2.3.1, §2.3.3: the envelope id and original recipient as given.
    assert.match(text, /^Original-Envelope-Id: env-42\+x\r\n/m);
    assert.match(text, /^Original-Recipient: rfc822;Mjl@Example\.org\r\n/m);
    assert.match(text, /^Final-Recipient: rfc822;mjl@example\.org\r\n/m);
    assert.match(text, /^Action: delivered\r\n/m);
    assert.match(text, /^Status: 2\.0\.0\r\n/m);
    // RET=HDRS: the original's header comes back, not its body.
    assert.match(text, /^Subject: please confirm\r\n/m);
    assert.doesNotMatch(text, /Tell me when it arrives/);
  });

  test('errors as nodemailer reports them: bad password, foreign From, unknown local user', async () => {
    const bad = transport({
      port: ports.submission,
      secure: false,
      requireTLS: true,
      auth: { user: USER, pass: 'wrong' },
    });
    await assert.rejects(
      bad.sendMail({ from: USER, to: USER, subject: 'x', text: 'x' }),
      (e: { code?: string; responseCode?: number; response?: string }) => {
        assert.equal(e.code, 'EAUTH');
        assert.equal(e.responseCode, 535);
        assert.match(e.response ?? '', /^535 5\.7\.8 /);
        return true;
      },
    );
    bad.close();

    const t = transport({ port: ports.submission, secure: false, requireTLS: true });
    await assert.rejects(
      t.sendMail({ from: 'someone@example.net', to: USER, subject: 'x', text: 'x' }),
      (e: { code?: string; responseCode?: number; response?: string; command?: string }) => {
        assert.equal(e.code, 'EENVELOPE');
        assert.equal(e.command, 'MAIL FROM');
        assert.match(e.response ?? '', /^550 5\.7\.1 must match authenticated user \(\w+\)$/);
        return true;
      },
    );
    await assert.rejects(
      t.sendMail({ from: USER, to: 'nobody@example.org', subject: 'x', text: 'x' }),
      (e: { code?: string; rejected?: string[]; response?: string }) => {
        assert.equal(e.code, 'EENVELOPE');
        assert.deepEqual(e.rejected, ['nobody@example.org']);
        assert.match(e.response ?? '', /^550 5\.1\.1 no such user \(\w+\)$/);
        return true;
      },
    );
    // The From header is checked after DATA as well: it must be an address of the
    // account, as MAIL FROM must (RFC 6409 §6.3, 550 5.7.1).
    await assert.rejects(
      t.sendMail({
        envelope: { from: USER, to: [USER] },
        raw: 'From: someone@example.net\r\nTo: mjl@example.org\r\nSubject: x\r\n\r\nx\r\n',
      }),
      (e: { code?: string; responseCode?: number; response?: string }) => {
        assert.equal(e.code, 'EMESSAGE');
        assert.equal(e.responseCode, 550);
        assert.match(
          e.response ?? '',
          /^550 5\.7\.1 message from address must belong to authenticated user \(\w+\)$/,
        );
        return true;
      },
    );
    t.close();
  });
});
