// ENVELOPE, BODY and BODYSTRUCTURE rendering (RFC 9051 §7.5.2) from stored MIME structure,
// and finding a part by its section number.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import { parseMessage, type Part } from '../message/index.js';
import {
  bodyStructureText,
  envelopeText,
  findPart,
  isLeaf,
  type StructureOptions,
} from './bodystructure.js';

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');
const ascii: StructureOptions = { utf8: false, messageGlobal: false };
const rev2: StructureOptions = { utf8: true, messageGlobal: true };
const bs = (buf: Buffer, opts = ascii) => bodyStructureText(parseMessage(buf), true, opts);
const body = (buf: Buffer, opts = ascii) => bodyStructureText(parseMessage(buf), false, opts);

// RFC 3501 §7.4.2: the FETCH example (message 12), body 3028 octets in 92 lines.
const RFC3501_MESSAGE = readFileSync(
  new URL('../message/testdata/rfc3501-fetch-example.eml', import.meta.url),
);

describe('ENVELOPE', () => {
  it('gives the RFC 3501 §7.4.2 example exactly', () => {
    assert.equal(
      envelopeText(parseMessage(RFC3501_MESSAGE).envelope, false),
      '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
        '((NIL NIL "imap" "cac.washington.edu")) ' +
        '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) ' +
        'NIL NIL "<B27397-0100000@cac.washington.edu>")',
    );
  });

  it('is all NIL without header fields', () => {
    assert.equal(envelopeText(undefined, false), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
  });

  it('sends group syntax, quotes, encoded words and UTF-8 as stored', () => {
    const env = parseMessage(
      crlf(
        'From: "A \\"q\\" B" <a@x.org>',
        'Sender: =?utf-8?q?J=C3=B6rg?= <j@x.org>',
        'To: Team: b@y.org;',
        'Subject: Grüße',
        'In-Reply-To: <p@x.org>',
        '',
      ),
    ).envelope;
    const expectTail =
      ' (("A \\"q\\" B" NIL "a" "x.org")) (("=?utf-8?q?J=C3=B6rg?=" NIL "j" "x.org"))' +
      ' (("A \\"q\\" B" NIL "a" "x.org")) ((NIL NIL "Team" NIL)(NIL NIL "b" "y.org")(NIL NIL NIL NIL))' +
      ' NIL NIL "<p@x.org>" NIL)';
    // Without UTF-8, 8-bit text goes in a literal of its UTF-8 bytes.
    assert.equal(envelopeText(env, false), '(NIL {7}\r\nGr\xc3\xbc\xc3\x9fe' + expectTail);
    assert.equal(envelopeText(env, true), '(NIL "Gr\xc3\xbc\xc3\x9fe"' + expectTail);
  });

  it('uses From for a missing Sender or Reply-To only', () => {
    const header = (...fields: string[]) => parseMessage(crlf(...fields, '')).envelope;
    const tail = ' NIL "<m@x>")';
    assert.equal(
      envelopeText(header('From: f@x', 'Reply-To: r@x', 'Bcc: b@x', 'Message-ID: <m@x>'), false),
      '(NIL NIL ((NIL NIL "f" "x")) ((NIL NIL "f" "x")) ((NIL NIL "r" "x")) NIL NIL ((NIL NIL "b" "x"))' +
        tail,
    );
    assert.equal(
      envelopeText(header('From: f@x', 'Sender: s@x', 'Cc: c@x', 'Message-ID: <m@x>'), false),
      '(NIL NIL ((NIL NIL "f" "x")) ((NIL NIL "s" "x")) ((NIL NIL "f" "x")) NIL ((NIL NIL "c" "x")) NIL' +
        tail,
    );
    // Without From, Sender and Reply-To stay as they are.
    assert.equal(
      envelopeText(header('Sender: s@x', 'Message-ID: <m@x>'), false),
      '(NIL NIL NIL ((NIL NIL "s" "x")) NIL NIL NIL NIL' + tail,
    );
  });
});

describe('BODY and BODYSTRUCTURE', () => {
  it('gives the RFC 3501 §7.4.2 example', () => {
    assert.equal(
      body(RFC3501_MESSAGE),
      '("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 3028 92)',
    );
    assert.equal(
      bs(RFC3501_MESSAGE),
      '("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 3028 92 NIL NIL NIL NIL)',
    );
  });

  it('describes the nested multipart of RFC 2049 appendix A', () => {
    const msg = readFileSync(
      new URL('../message/testdata/rfc2049-appendix-a.eml', import.meta.url),
    );
    const inner =
      '(NIL "(subject in US-ASCII)" NIL NIL NIL NIL NIL NIL NIL NIL) ' +
      '("text" "plain" ("charset" "ISO-8859-1") NIL NIL "quoted-printable" 51 1';
    assert.equal(
      bs(msg),
      '(' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 275 7 NIL NIL NIL NIL)' +
        '("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 114 3 NIL NIL NIL NIL)' +
        '(("audio" "basic" NIL NIL NIL "base64" 91 NIL NIL NIL NIL)' +
        '("image" "jpeg" NIL NIL NIL "base64" 47 NIL NIL NIL NIL)' +
        ' "parallel" ("boundary" "unique-boundary-2") NIL NIL NIL)' +
        '("text" "enriched" NIL NIL NIL "7bit" 145 5 NIL NIL NIL NIL)' +
        `("message" "rfc822" NIL NIL NIL "7bit" 232 ${inner} NIL NIL NIL NIL) 7 NIL NIL NIL NIL)` +
        ' "mixed" ("boundary" "unique-boundary-1") NIL NIL NIL)',
    );
    assert.equal(
      body(msg),
      '(' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 275 7)' +
        '("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 114 3)' +
        '(("audio" "basic" NIL NIL NIL "base64" 91)("image" "jpeg" NIL NIL NIL "base64" 47) "parallel")' +
        '("text" "enriched" NIL NIL NIL "7bit" 145 5)' +
        `("message" "rfc822" NIL NIL NIL "7bit" 232 ${inner}) 7)` +
        ' "mixed")',
    );
  });

  it('adds us-ascii only to text/plain without parameters', () => {
    assert.equal(
      body(crlf('Subject: x', '', 'hi')),
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 1)',
    );
    assert.equal(
      body(crlf('Content-Type: text/plain; format=flowed', '', 'hi')),
      '("text" "plain" ("format" "flowed") NIL NIL "7bit" 4 1)',
    );
    assert.equal(
      body(crlf('Content-Type: text/html', '', 'hi')),
      '("text" "html" NIL NIL NIL "7bit" 4 1)',
    );
  });

  it('gives every extension field of a single part', () => {
    const msg = crlf(
      'Content-Type: application/pdf; name="a \\"b\\".pdf"',
      'Content-ID: <id@x>',
      'Content-Description: The report',
      'Content-Transfer-Encoding: BASE64',
      'Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==',
      'Content-Disposition: attachment; filename=r.pdf; size=3',
      'Content-Language: en, de (German)',
      'Content-Location: http://x.example/r.pdf',
      '',
      'AAAA',
    );
    assert.equal(
      bs(msg),
      '("application" "pdf" ("name" "a \\"b\\".pdf") "<id@x>" "The report" "base64" 6' +
        ' "Q2hlY2sgSW50ZWdyaXR5IQ==" ("attachment" ("filename" "r.pdf" "size" "3")) ("en" "de")' +
        ' "http://x.example/r.pdf")',
    );
    assert.equal(
      body(msg),
      '("application" "pdf" ("name" "a \\"b\\".pdf") "<id@x>" "The report" "base64" 6)',
    );
  });

  it('gives multipart extension fields', () => {
    const msg = crlf(
      'Content-Type: multipart/alternative; boundary=b',
      'Content-Disposition: inline',
      'Content-Language: fr',
      'Content-Location: loc',
      '',
      '--b',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'x',
      '--b--',
    );
    assert.equal(
      bs(msg),
      '(("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 1 1 NIL NIL NIL NIL)' +
        ' "alternative" ("boundary" "b") ("inline" NIL) ("fr") "loc")',
    );
  });

  it('gives a multipart without parts one empty text part', () => {
    const msg = crlf('Content-Type: multipart/mixed', '', 'no boundary parameter');
    const empty = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0';
    assert.equal(body(msg), `(${empty}) "mixed")`);
    assert.equal(bs(msg), `(${empty} NIL NIL NIL NIL) "mixed" NIL NIL NIL NIL)`);
  });

  it('describes an enclosed message it could not enter with an empty envelope and body', () => {
    const msg = crlf(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: message/rfc822',
      'Content-Transfer-Encoding: base64',
      '',
      'U3ViamVjdDogeA0KDQp5DQo=',
      '--b--',
    );
    assert.equal(
      body(msg),
      '(("message" "rfc822" NIL NIL NIL "base64" 24 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)' +
        ' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) 1) "mixed")',
    );
  });

  it('describes message/global as a message for IMAP4rev2 only', () => {
    const msg = crlf('Content-Type: message/global', '', 'Subject: s', '', 'b');
    assert.equal(
      body(msg, rev2),
      '("message" "global" NIL NIL NIL "7bit" 17 (NIL "s" NIL NIL NIL NIL NIL NIL NIL NIL)' +
        ' ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 3 1) 3)',
    );
    assert.equal(body(msg, ascii), '("message" "global" NIL NIL NIL "7bit" 17)');
  });

  it('sends 8-bit parameter values quoted with UTF-8, else as literals', () => {
    const msg = crlf("Content-Type: text/plain; name*=utf-8''%C3%A9.txt", '', 'x');
    assert.equal(body(msg, rev2), '("text" "plain" ("name" "\xc3\xa9.txt") NIL NIL "7bit" 3 1)');
    assert.equal(
      body(msg, ascii),
      '("text" "plain" ("name" {6}\r\n\xc3\xa9.txt) NIL NIL "7bit" 3 1)',
    );
  });
});

// RFC 9051 §6.4.5: the part numbering example, each leaf's body naming its part.
const NUMBERING = crlf(
  'Subject: top',
  'Content-Type: multipart/mixed; boundary=a',
  '',
  '--a',
  'Content-Type: text/plain',
  '',
  '1',
  '--a',
  'Content-Type: application/octet-stream',
  '',
  '2',
  '--a',
  'Content-Type: message/rfc822',
  '',
  'Subject: three',
  'Content-Type: multipart/mixed; boundary=b',
  '',
  '--b',
  'Content-Type: text/plain',
  '',
  '3.1',
  '--b',
  'Content-Type: application/octet-stream',
  '',
  '3.2',
  '--b--',
  '--a',
  'Content-Type: multipart/mixed; boundary=c',
  '',
  '--c',
  'Content-Type: image/gif',
  '',
  '4.1',
  '--c',
  'Content-Type: message/rfc822',
  '',
  'Subject: four-two',
  'Content-Type: multipart/mixed; boundary=d',
  '',
  '--d',
  'Content-Type: text/plain',
  '',
  '4.2.1',
  '--d',
  'Content-Type: multipart/alternative; boundary=e',
  '',
  '--e',
  'Content-Type: text/plain',
  '',
  '4.2.2.1',
  '--e',
  'Content-Type: text/richtext',
  '',
  '4.2.2.2',
  '--e--',
  '--d--',
  '--c--',
  '--a--',
);

describe('findPart', () => {
  const root = parseMessage(NUMBERING);
  const bodyOf = (p: Part | null) => (p ? NUMBERING.toString('latin1', p.bodyStart, p.end) : null);
  const at = (...path: number[]) => findPart(root, path);

  it('numbers parts as RFC 9051 §6.4.5 does', () => {
    for (const n of ['1', '2', '3.1', '3.2', '4.1', '4.2.1', '4.2.2.1', '4.2.2.2']) {
      assert.equal(bodyOf(at(...n.split('.').map(Number))), n, n);
    }
    assert.equal(at(3)?.type, 'message');
    assert.equal(at(3)?.message?.envelope?.subject, 'three');
    assert.equal(at(4)?.subtype, 'mixed');
    assert.equal(at(4, 2, 2)?.subtype, 'alternative');
    assert.equal(findPart(root, []), root);
  });

  it('gives null for parts that do not exist', () => {
    for (const path of [
      [0],
      [5],
      [1, 1],
      [2, 1],
      [3, 3],
      [4, 3],
      [4, 1, 1],
      [4, 2, 2, 3],
      [4, 2, 2, 1, 1],
    ]) {
      assert.equal(at(...path), null, path.join('.'));
    }
  });

  it('gives a non-multipart message only part 1, its body', () => {
    const single = parseMessage(crlf('Subject: s', '', 'body'));
    assert.equal(findPart(single, [1]), single);
    assert.equal(findPart(single, [2]), null);
    assert.equal(findPart(single, [1, 1]), null);
    const inner = parseMessage(
      crlf(
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: message/rfc822',
        '',
        'Subject: i',
        '',
        'ib',
        '--b--',
      ),
    );
    const msgPart = findPart(inner, [1]);
    assert.equal(msgPart?.type, 'message');
    assert.equal(findPart(inner, [1, 1]), msgPart?.message);
    assert.equal(findPart(inner, [1, 2]), null);
  });

  it('tells leaves from containers', () => {
    assert.equal(isLeaf(at(1) as Part), true);
    assert.equal(isLeaf(at(3) as Part), false);
    assert.equal(isLeaf(at(4) as Part), false);
    assert.equal(isLeaf(root), false);
  });
});
