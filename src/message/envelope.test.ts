import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAddressList } from './address.js';
import { imapEnvelope } from './envelope.js';
import { parseMessage } from './parse.js';
import { crlf } from './testutil.js';
import type { Address } from './types.js';

const addr = (
  name: string | null,
  mailbox: string | null,
  host: string | null,
  adl: string | null = null,
): Address => ({ name, adl, mailbox, host });

describe('RFC 3501 §6.4.5 / §7.4.2 FETCH example', () => {
  // A message that yields the ENVELOPE of message 12 in the RFC, body 3028 octets in 92 lines.
  const buf = readFileSync(new URL('./testdata/rfc3501-fetch-example.eml', import.meta.url));
  const root = parseMessage(buf);

  it('gives every envelope field', () => {
    const terry = [addr('Terry Gray', 'gray', 'cac.washington.edu')];
    assert.deepEqual(imapEnvelope(root.envelope), {
      date: 'Wed, 17 Jul 1996 02:23:25 -0700 (PDT)',
      subject: 'IMAP4rev1 WG mtg summary and minutes',
      from: terry,
      sender: terry,
      replyTo: terry,
      to: [addr(null, 'imap', 'cac.washington.edu')],
      cc: [addr(null, 'minutes', 'CNRI.Reston.VA.US'), addr('John Klensin', 'KLENSIN', 'MIT.EDU')],
      bcc: null,
      inReplyTo: null,
      messageId: '<B27397-0100000@cac.washington.edu>',
    });
    // Stored as written: Sender and Reply-To are absent.
    assert.equal(root.envelope?.sender, undefined);
    assert.equal(root.envelope?.replyTo, undefined);
  });

  it('gives the body fields of BODY ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 3028 92)', () => {
    assert.deepEqual(
      [root.type, root.subtype, root.params, root.id, root.description, root.encoding],
      ['text', 'plain', { charset: 'US-ASCII' }, undefined, undefined, '7bit'],
    );
    assert.equal(root.bodySize, 3028);
    assert.equal(root.bodyLines, 92);
  });

  it('keeps a present Sender and Reply-To, and takes the first of repeated fields', () => {
    const r = parseMessage(
      crlf(
        'From: a@example.org',
        'Sender: s@example.org',
        'Reply-To: r@example.org',
        'Subject: first',
        'Subject: second',
        'In-Reply-To: <p@example.org>',
        'Bcc: ',
        '',
      ),
    );
    const e = imapEnvelope(r.envelope);
    assert.deepEqual(e.sender, [addr(null, 's', 'example.org')]);
    assert.deepEqual(e.replyTo, [addr(null, 'r', 'example.org')]);
    assert.equal(e.subject, 'first');
    assert.equal(e.inReplyTo, '<p@example.org>');
    assert.equal(e.bcc, null);
    assert.deepEqual(imapEnvelope(undefined).from, null);
  });
});

describe('address lists', () => {
  it('parses names, quoted strings, comments and obsolete routes', () => {
    assert.deepEqual(
      parseAddressList(
        '"Gray, Terry" <gray@cac.washington.edu>, John "Q." Public <jqp@x.org>, ' +
          'old@style.example (Old Style), <@route1,@route2:user@host.example>',
      ),
      [
        addr('Gray, Terry', 'gray', 'cac.washington.edu'),
        addr('John Q. Public', 'jqp', 'x.org'),
        addr('Old Style', 'old', 'style.example'),
        addr(null, 'user', 'host.example', '@route1,@route2'),
      ],
    );
  });

  it('keeps encoded words and UTF-8 as written', () => {
    assert.deepEqual(
      parseAddressList('=?utf-8?q?J=C3=B6rg?= <j@x.org>, Jörg <jörg@bücher.example>'),
      [addr('=?utf-8?q?J=C3=B6rg?=', 'j', 'x.org'), addr('Jörg', 'jörg', 'bücher.example')],
    );
  });

  it('marks groups as RFC 3501 §7.4.2 describes', () => {
    assert.deepEqual(
      parseAddressList('undisclosed-recipients:;, Team: a@x.org, "B" <b@y.org>; c@z.org'),
      [
        addr(null, 'undisclosed-recipients', null),
        addr(null, null, null),
        addr(null, 'Team', null),
        addr(null, 'a', 'x.org'),
        addr('B', 'b', 'y.org'),
        addr(null, null, null),
        addr(null, 'c', 'z.org'),
      ],
    );
    assert.deepEqual(parseAddressList('Open: a@x.org'), [
      addr(null, 'Open', null),
      addr(null, 'a', 'x.org'),
      addr(null, null, null),
    ]);
  });

  it('handles quoted local parts, domain literals and missing domains', () => {
    assert.deepEqual(parseAddressList('"john doe"@x.org, "plain"@x.org, u@[192.0.2.1], nobody'), [
      addr(null, '"john doe"', 'x.org'),
      addr(null, 'plain', 'x.org'),
      addr(null, 'u', '[192.0.2.1]'),
      addr(null, 'nobody', ''),
    ]);
  });

  it('is lenient with broken input', () => {
    assert.deepEqual(parseAddressList('a@x.org <b@y.org>'), [addr('a@x.org', 'b', 'y.org')]);
    assert.deepEqual(parseAddressList('Name <unterminated@x.org, c@d.org'), [
      addr('Name', 'unterminated', 'x.org'),
      addr(null, 'c', 'd.org'),
    ]);
    assert.deepEqual(parseAddressList(',, ,(only a comment),'), []);
    assert.deepEqual(parseAddressList('<>'), [addr(null, '', '')]);
  });

  it('never throws and never gives a null host outside groups', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.constantFrom('<', '>', ':', ';', ',', '@', '.', '"', '(', ')', '[', ']', '\\', ' '),
            fc.string({ maxLength: 4 }),
          ),
          { maxLength: 30 },
        ),
        (pieces) => {
          let inGroup = false;
          for (const a of parseAddressList(pieces.join(''))) {
            if (a.host === null) inGroup = a.mailbox !== null;
            else assert.equal(typeof a.mailbox, 'string');
          }
          assert.equal(inGroup, false);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
