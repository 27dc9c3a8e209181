import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeDSN, dsnText, DSNError, parseDSN, type DSNInput } from './dsn.js';
import { decodeHeaderValue, decodeQuotedPrintable } from './decode.js';
import { findHeaders, headerValue, parseHeaderBlock } from './header.js';
import { parseMessage } from './parse.js';
import { at, bodyOf, crlf, headerOf, shape } from './testutil.js';

const T = (d: number, h: number, m: number, s = 0): Date =>
  new Date(Date.UTC(2026, 10, d, h, m, s));

function baseInput(): DSNInput {
  return {
    from: 'postmaster@example.org',
    to: 'alice@example.net',
    subject: 'mail delivery failure',
    messageId: '<dsn1@mx.example.org>',
    references: '<orig1@example.net>',
    reportingMTA: 'mx.example.org',
    receivedFromMTA: 'client.example (192.0.2.1)',
    arrivalDate: T(22, 10, 4, 5),
    envid: 'QQ314159',
    recipients: [
      {
        finalRecipient: 'bob@example.com',
        originalRecipient: { addrType: 'rfc822', address: 'Bob@Example.com' },
        action: 'failed',
        status: '5.1.1',
        diagnostic: { code: 550, secode: '5.1.1', text: 'no such user' },
        remoteMTA: 'mx.example.com',
        lastAttempt: T(22, 10, 5),
      },
      {
        finalRecipient: 'carol@example.com',
        action: 'delayed',
        status: '4.4.1',
        diagnostic: { code: 421, text: 'try again later' },
        lastAttempt: T(22, 10, 5),
        willRetryUntil: T(27, 10, 4, 5),
      },
    ],
    text: 'Delivery failed.',
    original: { headers: crlf('From: alice@example.net', 'Subject: hi') },
    date: T(22, 10, 6),
    boundary: 'BOUNDARY',
  };
}

const originalMessage = crlf(
  'From: alice@example.net',
  'To: bob@example.com',
  'Subject: hi',
  'Message-ID: <orig1@example.net>',
  '',
  'Hello Bob.',
);

/** The top-level header fields of a message. */
const topFields = (m: Buffer) => parseHeaderBlock(m.subarray(0, parseMessage(m).bodyStart));

describe('composeDSN', () => {
  it('writes the exact message for a fixed input', () => {
    const m = composeDSN(baseInput());
    assert.equal(
      m.toString('utf8'),
      crlf(
        'Date: Sun, 22 Nov 2026 10:06:00 +0000',
        'From: Mail Delivery Subsystem <postmaster@example.org>',
        'To: <alice@example.net>',
        'Subject: mail delivery failure',
        'Message-ID: <dsn1@mx.example.org>',
        'References: <orig1@example.net>',
        'In-Reply-To: <orig1@example.net>',
        'MIME-Version: 1.0',
        'Auto-Submitted: auto-replied',
        'Content-Type: multipart/report; report-type=delivery-status; boundary=BOUNDARY',
        '',
        '--BOUNDARY',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 7bit',
        '',
        'Delivery failed.',
        '',
        '--BOUNDARY',
        'Content-Type: message/delivery-status',
        '',
        'Original-Envelope-Id: QQ314159',
        'Reporting-MTA: dns; mx.example.org',
        'Received-From-MTA: dns; client.example (192.0.2.1)',
        'Arrival-Date: Sun, 22 Nov 2026 10:04:05 +0000',
        '',
        'Original-Recipient: rfc822;Bob@Example.com',
        'Final-Recipient: rfc822;bob@example.com',
        'Action: failed',
        'Status: 5.1.1',
        'Remote-MTA: dns; mx.example.com',
        'Diagnostic-Code: smtp; 550 5.1.1 no such user',
        'Last-Attempt-Date: Sun, 22 Nov 2026 10:05:00 +0000',
        '',
        'Final-Recipient: rfc822;carol@example.com',
        'Action: delayed',
        'Status: 4.4.1',
        'Diagnostic-Code: smtp; 421 try again later',
        'Last-Attempt-Date: Sun, 22 Nov 2026 10:05:00 +0000',
        'Will-Retry-Until: Fri, 27 Nov 2026 10:04:05 +0000',
        '',
        '--BOUNDARY',
        'Content-Type: text/rfc822-headers',
        '',
        'From: alice@example.net',
        'Subject: hi',
        '',
        '--BOUNDARY--',
      ).toString('utf8'),
    );
  });

  it('has the multipart/report structure with RET=HDRS', () => {
    const m = composeDSN({ ...baseInput(), boundary: undefined });
    const root = parseMessage(m);
    assert.equal(
      shape(root),
      'multipart/report[text/plain,message/delivery-status,text/rfc822-headers]',
    );
    assert.equal(root.params?.['report-type'], 'delivery-status');
    assert.match(root.params?.boundary ?? '', /^=_[a-z2-7]{24}$/);
    assert.equal(root.envelope?.subject, 'mail delivery failure');
    assert.equal(root.envelope?.messageId, '<dsn1@mx.example.org>');
    assert.equal(root.envelope?.inReplyTo, '<orig1@example.net>');
    assert.deepEqual(root.envelope?.from, [
      { name: 'Mail Delivery Subsystem', adl: null, mailbox: 'postmaster', host: 'example.org' },
    ]);
    assert.equal(headerValue(topFields(m), 'auto-submitted'), 'auto-replied');
    assert.equal(bodyOf(m, at(root, 1)), 'Delivery failed.\r\n');
    assert.equal(bodyOf(m, at(root, 3)), 'From: alice@example.net\r\nSubject: hi\r\n');
  });

  it('returns the whole message as message/rfc822 with RET=FULL', () => {
    const m = composeDSN({ ...baseInput(), original: { message: originalMessage } });
    const root = parseMessage(m);
    assert.equal(
      shape(root),
      'multipart/report[text/plain,message/delivery-status,message/rfc822{text/plain}]',
    );
    const returned = at(root, 3);
    assert.equal(returned.encoding, '7bit');
    assert.equal(returned.message?.envelope?.messageId, '<orig1@example.net>');
    assert.equal(bodyOf(m, returned), originalMessage.toString('latin1'));
  });

  it('marks an 8-bit returned message as 8bit', () => {
    const msg = Buffer.from('Subject: x\r\n\r\nGrüße\r\n', 'utf8');
    const m = composeDSN({ ...baseInput(), original: { message: msg } });
    const returned = at(parseMessage(m), 3);
    assert.equal(returned.encoding, '8bit');
    assert.equal(
      m.subarray(returned.bodyStart, returned.end).toString('utf8'),
      'Subject: x\r\n\r\nGrüße\r\n',
    );
  });

  it('has only two parts when nothing is returned', () => {
    const m = composeDSN({ ...baseInput(), original: undefined, references: undefined });
    assert.equal(shape(parseMessage(m)), 'multipart/report[text/plain,message/delivery-status]');
    assert.equal(headerValue(topFields(m), 'references'), undefined);
    assert.equal(headerValue(topFields(m), 'in-reply-to'), undefined);
  });

  it('uses the global types and UTF-8 addresses with SMTPUTF8 (RFC 6533)', () => {
    const input: DSNInput = {
      ...baseInput(),
      to: 'älice@exämple.net',
      subject: 'Unzustellbar: Grüße',
      smtputf8: true,
      recipients: [
        {
          finalRecipient: 'jürgen@例え.jp',
          originalRecipient: { addrType: 'utf-8', address: 'Jürgen@例え.jp' },
          action: 'failed',
          status: '5.1.1',
          diagnostic: { code: 550, secode: '5.1.1', text: 'unbekannter Empfänger' },
        },
      ],
      original: { headers: Buffer.from('From: älice@exämple.net\r\nSubject: hi\r\n', 'utf8') },
    };
    const m = composeDSN(input);
    const root = parseMessage(m);
    assert.equal(
      shape(root),
      'multipart/report[text/plain,message/global-delivery-status,message/global-headers]',
    );
    assert.equal(root.params?.['report-type'], 'delivery-status');
    assert.equal(headerValue(topFields(m), 'to'), '<älice@exämple.net>');
    assert.equal(
      decodeHeaderValue(headerValue(topFields(m), 'subject') ?? ''),
      'Unzustellbar: Grüße',
    );
    const status = at(root, 2);
    assert.equal(status.encoding, '8bit');
    assert.equal(
      m.subarray(status.bodyStart, status.end).toString('utf8'),
      [
        'Original-Envelope-Id: QQ314159',
        'Reporting-MTA: dns; mx.example.org',
        'Received-From-MTA: dns; client.example (192.0.2.1)',
        'Arrival-Date: Sun, 22 Nov 2026 10:04:05 +0000',
        '',
        'Original-Recipient: utf-8;Jürgen@例え.jp',
        'Final-Recipient: utf-8;jürgen@例え.jp',
        'Action: failed',
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 unbekannter Empfänger',
      ].join('\r\n') + '\r\n',
    );
    assert.equal(at(root, 3).encoding, '8bit');
    assert.deepEqual(parseDSN(m)?.recipients, [
      {
        finalRecipient: 'jürgen@例え.jp',
        originalRecipient: 'Jürgen@例え.jp',
        action: 'failed',
        status: '5.1.1',
        diagnostic: '550 5.1.1 unbekannter Empfänger',
      },
    ]);
  });

  it('writes non-ASCII addresses as utf-8-addr-xtext without SMTPUTF8', () => {
    const input: DSNInput = {
      ...baseInput(),
      recipients: [
        {
          finalRecipient: 'jürgen+x=y@例え.jp',
          action: 'failed',
          status: '5.1.1',
          diagnostic: { code: 550, text: 'unbekannter Empfänger' },
        },
      ],
    };
    const m = composeDSN(input);
    const status = at(parseMessage(m), 2);
    assert.equal(status.subtype, 'delivery-status');
    assert.equal(status.encoding, '7bit');
    const body = bodyOf(m, status);
    assert.match(
      body,
      /\r\nFinal-Recipient: utf-8;j\\x\{FC\}rgen\\x\{2B\}x\\x\{3D\}y@\\x\{4F8B\}\\x\{3048\}\.jp\r\n/,
    );
    assert.match(body, /\r\nDiagnostic-Code: smtp; 550 unbekannter Empf\?nger\r\n/);
    assert.equal(parseDSN(m)?.recipients[0]?.finalRecipient, 'jürgen+x=y@例え.jp');
  });

  it('accepts a quoted local part with a space as the sender', () => {
    const m = composeDSN({ ...baseInput(), to: '"john doe"@example.net' });
    assert.equal(headerValue(topFields(m), 'to'), '<"john doe"@example.net>');
    assert.deepEqual(parseMessage(m).envelope?.to, [
      { name: null, adl: null, mailbox: '"john doe"', host: 'example.net' },
    ]);
  });

  it('refuses a non-ASCII sender address without SMTPUTF8', () => {
    assert.throws(() => composeDSN({ ...baseInput(), to: 'älice@example.net' }), DSNError);
  });

  it('neutralises line breaks in diagnostic text and other fields', () => {
    const input = baseInput();
    input.subject = 'failure\r\nBcc: evil@example.com';
    input.reportingMTA = 'mx.example.org\r\nX-Injected: 1';
    input.recipients = [
      {
        finalRecipient: 'bob@example.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: {
          code: 550,
          secode: '5.1.1',
          text: 'no such user\r\n\r\nFinal-Recipient: rfc822;evil@example.com\r\nX-Injected: yes\x00',
        },
        remoteMTA: 'mx.example.com\nX-Injected: 2',
      },
    ];
    const m = composeDSN(input);
    const fields = topFields(m);
    assert.deepEqual(findHeaders(fields, 'bcc'), []);
    assert.equal(headerValue(fields, 'subject'), 'failure Bcc: evil@example.com');
    const body = bodyOf(m, at(parseMessage(m), 2));
    assert.doesNotMatch(body, /^X-Injected/m);
    assert.doesNotMatch(body, /\x00/);
    assert.deepEqual(parseDSN(m), {
      envid: 'QQ314159',
      reportingMTA: 'mx.example.org X-Injected: 1',
      recipients: [
        {
          finalRecipient: 'bob@example.com',
          action: 'failed',
          status: '5.1.1',
          diagnostic:
            '550 5.1.1 no such user Final-Recipient: rfc822;evil@example.com X-Injected: yes',
          remoteMTA: 'mx.example.com X-Injected: 2',
        },
      ],
    });
  });

  it('folds long diagnostics and does not repeat the enhanced code', () => {
    const text = '5.7.1 ' + Array.from({ length: 30 }, (_, i) => `reason${i}`).join(' ');
    const input = baseInput();
    input.recipients = [
      {
        finalRecipient: 'bob@example.com',
        action: 'failed',
        status: '5.7.1',
        diagnostic: { code: 554, secode: '5.7.1', text },
      },
    ];
    const m = composeDSN(input);
    const body = bodyOf(m, at(parseMessage(m), 2));
    for (const line of body.split('\r\n')) assert.ok(line.length <= 78, line);
    assert.equal(parseDSN(m)?.recipients[0]?.diagnostic, `554 ${text}`);
  });

  it('refuses invalid status codes, reply codes, Message-IDs and empty recipient lists', () => {
    const bad = (patch: Partial<DSNInput>) => () => composeDSN({ ...baseInput(), ...patch });
    const r = baseInput().recipients[0]!;
    assert.throws(bad({ recipients: [{ ...r, status: '5.1' }] }), DSNError);
    assert.throws(bad({ recipients: [{ ...r, status: '3.1.1' }] }), DSNError);
    assert.throws(bad({ recipients: [{ ...r, diagnostic: { code: 55, text: 'x' } }] }), DSNError);
    assert.throws(bad({ messageId: 'no-brackets@x' }), DSNError);
    assert.throws(bad({ references: '<a> <b>' }), DSNError);
    assert.throws(bad({ recipients: [] }), DSNError);
    assert.throws(bad({ to: '' }), DSNError);
  });

  it('encodes non-ASCII human text as quoted-printable', () => {
    const m = composeDSN({ ...baseInput(), text: 'Zustellung an Jürgen fehlgeschlagen.\n' });
    const text = at(parseMessage(m), 1);
    assert.equal(text.encoding, 'quoted-printable');
    const decoded = decodeQuotedPrintable(m.subarray(text.bodyStart, text.end));
    assert.equal(decoded.data.toString('utf8'), 'Zustellung an Jürgen fehlgeschlagen.\r\n');
  });
});

describe('parseDSN', () => {
  it('reads back what composeDSN wrote', () => {
    assert.deepEqual(parseDSN(composeDSN(baseInput())), {
      envid: 'QQ314159',
      reportingMTA: 'mx.example.org',
      recipients: [
        {
          finalRecipient: 'bob@example.com',
          originalRecipient: 'Bob@Example.com',
          action: 'failed',
          status: '5.1.1',
          diagnostic: '550 5.1.1 no such user',
          remoteMTA: 'mx.example.com',
        },
        {
          finalRecipient: 'carol@example.com',
          action: 'delayed',
          status: '4.4.1',
          diagnostic: '421 try again later',
        },
      ],
    });
  });

  it("reads another MTA's DSN with folded fields, comments and an encoded part", () => {
    const status = crlf(
      'Reporting-MTA: dns; mail.example.net',
      'X-Postfix-Queue-ID: 4B2F81C0',
      'Arrival-Date: Mon, 2 Nov 2026 10:00:00 +0100 (CET)',
      '   ',
      'Final-Recipient: RFC822; <dave@example.com>',
      'Original-Recipient: rfc822;dave@example.com',
      'Action: FAILED',
      'Status: 5.2.2 (mailbox full)',
      'Remote-MTA: dns; mx.example.com',
      'Diagnostic-Code: smtp; 552-5.2.2 The email account that you tried to reach is',
      '    over quota.',
    );
    const msg = crlf(
      'From: MAILER-DAEMON@mail.example.net',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status;',
      '\tboundary="B.1"',
      '',
      'This is a MIME-encapsulated message.',
      '',
      '--B.1',
      'Content-Type: text/plain',
      '',
      'I am sorry.',
      '',
      '--B.1',
      'Content-Type: message/delivery-status',
      'Content-Transfer-Encoding: base64',
      '',
      status.toString('base64'),
      '',
      '--B.1--',
    );
    assert.deepEqual(parseDSN(msg), {
      reportingMTA: 'mail.example.net',
      recipients: [
        {
          finalRecipient: 'dave@example.com',
          originalRecipient: 'dave@example.com',
          action: 'failed',
          status: '5.2.2',
          diagnostic: '552-5.2.2 The email account that you tried to reach is    over quota.',
          remoteMTA: 'mx.example.com',
        },
      ],
    });
  });

  it('does not take a DSN enclosed in a forwarded message', () => {
    const inner = composeDSN(baseInput());
    const outer = Buffer.concat([crlf('Subject: Fwd', 'Content-Type: message/rfc822', ''), inner]);
    assert.equal(parseDSN(outer), null);
    assert.match(headerOf(outer, parseMessage(outer)), /message\/rfc822/);
  });

  it('returns null for a message without a delivery-status part', () => {
    assert.equal(parseDSN(crlf('Subject: hi', '', 'body')), null);
  });
});

describe('dsnText', () => {
  it('pairs each recipient with its own error', () => {
    assert.equal(
      dsnText('failed', [
        { address: 'bob@example.com', error: '550 5.1.1 no such user' },
        { address: 'carol@example.com', error: '451 4.3.0 try later', transient: true },
      ]),
      'Your message could not be delivered to the following recipients.\n\n' +
        'Permanent delivery failure to: bob@example.com\nError: 550 5.1.1 no such user\n\n' +
        'Transient delivery failure to: carol@example.com\nError: 451 4.3.0 try later\n\n' +
        'No further attempts will be made to deliver it to them.\n',
    );
  });

  it('explains a delay with the retry limit and indents multi-line errors', () => {
    assert.equal(
      dsnText(
        'delayed',
        [{ address: 'carol@example.com', error: '421 4.4.1 connection\r\ntimed out' }],
        { retryUntil: T(27, 10, 4, 5) },
      ),
      'Delivery of your message to the following recipients has been delayed.\n\n' +
        'Delivery delayed to: carol@example.com\nError: 421 4.4.1 connection\n  timed out\n\n' +
        'Delivery will be attempted again until Fri, 27 Nov 2026 10:04:05 +0000.\n' +
        'You do not need to send the message again.\n',
    );
    assert.match(dsnText('delayed', [{ address: 'a@b' }]), /Delivery will be attempted again\.\n/);
  });

  it('reports delivery and relaying', () => {
    assert.equal(
      dsnText('delivered', [{ address: 'bob@example.com', error: '250 2.0.0 ok' }]),
      'Your message has been delivered to the following recipients.\n\n' +
        'Delivered to: bob@example.com\nResponse: 250 2.0.0 ok\n\n',
    );
    assert.equal(
      dsnText('relayed', [{ address: 'bob@example.com' }]),
      'Your message has been relayed to the following recipients. The receiving system ' +
        'does not send delivery notifications, so no further notice will follow.\n\n' +
        'Relayed to: bob@example.com\n\n',
    );
  });
});
