import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  ComposeError,
  MessageBuilder,
  encodeHeaderWord,
  foldHeader,
  formatDate,
  newMessageId,
} from './compose.js';
import { decodeEncodedWords, decodeHeaderValue, decodeQuotedPrintable } from './decode.js';
import { headerValue, parseHeaderBlock } from './header.js';
import { parseMessage } from './parse.js';
import { bodyOf, shape } from './testutil.js';
import { messageId } from './thread.js';

const lines = (s: string): string[] => s.replace(/\r\n$/, '').split('\r\n');
const unfold = (s: string): string => s.replace(/\r\n(?=[ \t])/g, '');

describe('formatDate', () => {
  it('writes RFC 5322 dates in UTC with a two-digit day', () => {
    assert.equal(
      formatDate(new Date(Date.UTC(2026, 10, 22, 10, 4, 5))),
      'Sun, 22 Nov 2026 10:04:05 +0000',
    );
    assert.equal(formatDate(Date.UTC(2027, 0, 2, 3, 4, 5)), 'Sat, 02 Jan 2027 03:04:05 +0000');
    assert.equal(formatDate(Date.UTC(2024, 1, 29, 23, 59, 59)), 'Thu, 29 Feb 2024 23:59:59 +0000');
    assert.equal(formatDate(Date.UTC(2025, 11, 31, 0, 0, 0)), 'Wed, 31 Dec 2025 00:00:00 +0000');
  });

  it('uses the UTC time of a date made from a local-time string', () => {
    assert.equal(
      formatDate(new Date('2026-03-01T01:30:00+02:00')),
      'Sat, 28 Feb 2026 23:30:00 +0000',
    );
  });

  it('refuses invalid dates and years before 1900', () => {
    assert.throws(() => formatDate(new Date(NaN)), ComposeError);
    assert.throws(() => formatDate(Date.UTC(1899, 11, 31)), ComposeError);
  });
});

describe('newMessageId', () => {
  it('makes <random@host> with 160 bits in lower-case base32', () => {
    const id = newMessageId('mx.example.org');
    assert.match(id, /^<[a-z2-7]{32}@mx\.example\.org>$/);
    assert.equal(messageId(id), id.slice(1, -1));
  });

  it('does not repeat', () => {
    const ids = new Set(Array.from({ length: 2000 }, () => newMessageId('h.example')));
    assert.equal(ids.size, 2000);
  });

  it('accepts a domain literal and refuses unusable host names', () => {
    assert.match(newMessageId('[192.0.2.1]'), /^<[a-z2-7]{32}@\[192\.0\.2\.1\]>$/);
    for (const h of ['', 'a..b', '.a', 'a b', 'a>b', 'a@b', 'mx\r\nBcc: x', 'bücher.example']) {
      assert.throws(() => newMessageId(h), ComposeError, h);
    }
  });
});

describe('foldHeader', () => {
  it('keeps a short field on one line', () => {
    assert.equal(foldHeader('Subject', 'hello world'), 'Subject: hello world\r\n');
    assert.equal(foldHeader('X-Empty', ''), 'X-Empty: \r\n');
  });

  it('folds before the white space that keeps lines within 78 octets', () => {
    const value = Array.from({ length: 20 }, (_, i) => `word${i}`).join(' ');
    assert.equal(
      foldHeader('Subject', value),
      'Subject: word0 word1 word2 word3 word4 word5 word6 word7 word8 word9 word10\r\n' +
        ' word11 word12 word13 word14 word15 word16 word17 word18 word19\r\n',
    );
  });

  it('gives a word longer than a line a line of its own', () => {
    const long = 'x'.repeat(100);
    assert.equal(
      foldHeader('References', `<a@b> ${long} <c@d>`),
      `References: <a@b>\r\n ${long}\r\n <c@d>\r\n`,
    );
    assert.equal(foldHeader('X', long), `X: ${long}\r\n`);
  });

  it('never leaves a line of white space only', () => {
    const out = foldHeader('X', 'a'.repeat(70) + '        ');
    assert.equal(out, `X: ${'a'.repeat(70)}        \r\n`);
  });

  it('cannot be made to end the field early', () => {
    assert.equal(
      foldHeader('Subject', 'a\r\nBcc: x@example.com'),
      'Subject: a Bcc: x@example.com\r\n',
    );
    assert.equal(foldHeader('Subject', 'a\nb\rc\r\n\r\nd'), 'Subject: a b c  d\r\n');
    assert.equal(foldHeader('Subject', 'a\r\n b'), 'Subject: a b\r\n');
  });

  it('refuses invalid field names', () => {
    for (const n of ['', 'Sub ject', 'Subject:', 'Bcc\r\n', 'Grüße']) {
      assert.throws(() => foldHeader(n, 'v'), ComposeError, n);
    }
  });

  it('keeps lines short where words allow and unfolds to the original', () => {
    const word = fc
      .array(fc.constantFrom('a', 'Z', '-', '.', 'é', '€', '<', '>'), {
        minLength: 1,
        maxLength: 90,
      })
      .map((a) => a.join(''));
    const sep = fc.constantFrom(' ', '  ', '\t', ' \t ');
    const value = fc
      .tuple(fc.array(fc.tuple(word, sep), { maxLength: 30 }), word, fc.option(sep))
      .map(([pairs, last, trail]) => pairs.map(([w, s]) => w + s).join('') + last + (trail ?? ''));
    fc.assert(
      fc.property(fc.constantFrom('Subject', 'X', 'Content-Description'), value, (name, v) => {
        const out = foldHeader(name, v);
        assert.equal(unfold(out), `${name}: ${v}\r\n`);
        lines(out).forEach((line, i) => {
          assert.ok(/[^ \t]/.test(line), 'white space only line');
          if (i > 0) assert.match(line, /^[ \t]/);
          if (Buffer.byteLength(line) > 78) {
            // Only a single word (after the field name) may make a line long.
            const rest = i === 0 ? line.slice(name.length + 2) : line.replace(/^[ \t]+/, '');
            assert.doesNotMatch(rest, /[ \t]/, `long line with a fold point: ${line}`);
          }
        });
      }),
      { numRuns: 400 },
    );
  });
});

describe('encodeHeaderWord', () => {
  it('leaves printable ASCII alone', () => {
    assert.equal(encodeHeaderWord('mail delivery failure'), 'mail delivery failure');
    assert.equal(encodeHeaderWord(''), '');
  });

  it('encodes non-ASCII text in Q or B, whichever is shorter', () => {
    assert.equal(encodeHeaderWord('Empfänger unbekannt'), '=?utf-8?q?Empf=C3=A4nger_unbekannt?=');
    assert.equal(encodeHeaderWord('Grüße'), '=?utf-8?b?R3LDvMOfZQ==?=');
    assert.equal(encodeHeaderWord('日本語'), '=?utf-8?b?5pel5pys6Kqe?=');
    assert.equal(encodeHeaderWord('tab\there'), '=?utf-8?q?tab=09here?=');
  });

  it('encodes ASCII text that a reader would decode', () => {
    const s = '=?utf-8?q?x?=';
    const enc = encodeHeaderWord(s);
    assert.equal(enc, '=?utf-8?b?PT91dGYtOD9xP3g/PQ==?=');
    assert.equal(decodeEncodedWords(enc), s);
  });

  it('splits long text into words of at most 75 characters and keeps the first line within 76', () => {
    const text =
      'Zustellung fehlgeschlagen: Empfänger unbekannt, bitte prüfen Sie die Adresse ' +
      'ü'.repeat(40);
    const enc = encodeHeaderWord(text, 'Subject: '.length);
    const words = enc.split(' ');
    assert.ok(words.length > 2);
    for (const w of words) assert.ok(w.length <= 75, w);
    const field = foldHeader('Subject', enc);
    for (const line of lines(field)) assert.ok(line.length <= 76, line);
    assert.equal(decodeHeaderValue(unfold(field).slice('Subject: '.length)), text);
  });

  it('round-trips any text through the RFC 2047 decoder without splitting a character', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 120 }), fc.nat({ max: 40 }), (s, used) => {
        const enc = encodeHeaderWord(s, used);
        if (enc === s) {
          assert.match(s, /^[\x20-\x7e]*$/);
          return;
        }
        const words = enc.split(' ');
        for (const w of words) {
          assert.match(w, /^=\?utf-8\?[qb]\?[A-Za-z0-9!*+\-/=_]*\?=$/);
          assert.ok(w.length <= 75);
        }
        assert.ok((words[0] as string).length <= Math.max(76 - used, 24));
        // Each word decodes to whole characters on its own.
        assert.equal(words.map((w) => decodeEncodedWords(w)).join(''), s);
        assert.equal(decodeEncodedWords(enc), s);
        assert.equal(decodeHeaderValue(unfold(foldHeader('Subject', enc)).slice(9)), s.trim());
      }),
      { numRuns: 500 },
    );
  });
});

describe('MessageBuilder', () => {
  it('builds a single text part message', () => {
    const m = new MessageBuilder()
      .header('From', 'a@example.org')
      .header('Subject', 'hi')
      .textPart('line one\nline two\r\nend')
      .build();
    assert.equal(
      m.toString('latin1'),
      'From: a@example.org\r\nSubject: hi\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
        'line one\r\nline two\r\nend\r\n',
    );
  });

  it('keeps a MIME-Version given by the caller', () => {
    const m = new MessageBuilder().header('MIME-Version', '1.0 (x)').build().toString();
    assert.equal(m, 'MIME-Version: 1.0 (x)\r\n\r\n');
  });

  it('uses quoted-printable for non-ASCII text and long lines', () => {
    const text = `Grüße ${'ä'.repeat(60)}\nshort line \n${'x'.repeat(1000)}\n`;
    const m = new MessageBuilder().textPart(text).build();
    const root = parseMessage(m);
    assert.equal(root.encoding, 'quoted-printable');
    assert.equal(root.params?.charset, 'utf-8');
    const body = m.subarray(root.bodyStart, root.end);
    for (const line of lines(body.toString('latin1'))) assert.ok(line.length <= 76, line);
    assert.match(body.toString('latin1'), /short line=20\r\n/);
    const decoded = decodeQuotedPrintable(body);
    assert.ok(decoded.ok);
    assert.equal(decoded.data.toString('utf8'), text.replace(/\n/g, '\r\n'));
  });

  it('keeps ASCII lines up to 998 octets as 7bit', () => {
    const ok = parseMessage(new MessageBuilder().textPart('y'.repeat(998)).build());
    assert.equal(ok.encoding, '7bit');
    const long = parseMessage(new MessageBuilder().textPart('y'.repeat(999)).build());
    assert.equal(long.encoding, 'quoted-printable');
  });

  it('builds a multipart message with a fixed boundary', () => {
    const m = new MessageBuilder({ boundary: 'b1' })
      .header('Subject', 'parts')
      .multipart('mixed', { note: 'two words', name: 'Bücher' })
      .textPart('hello')
      .part({ 'Content-Type': 'application/octet-stream' }, Buffer.from([1, 2, 3]))
      .build();
    assert.equal(
      m.toString('latin1'),
      'Subject: parts\r\nMIME-Version: 1.0\r\n' +
        'Content-Type: multipart/mixed; note="two words"; name*=utf-8\'\'B%C3%BCcher;\r\n boundary=b1\r\n' +
        '\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n' +
        'hello\r\n\r\n--b1\r\nContent-Type: application/octet-stream\r\n\r\n\x01\x02\x03\r\n--b1--\r\n',
    );
    const root = parseMessage(m);
    assert.equal(shape(root), 'multipart/mixed[text/plain,application/octet-stream]');
    assert.deepEqual(root.params, { note: 'two words', name: 'Bücher', boundary: 'b1' });
    assert.equal(bodyOf(m, root.parts?.[1] as never), '\x01\x02\x03');
  });

  it('picks a random boundary that no part contains', () => {
    const body = Buffer.from('--=_ =_aaaa\r\n');
    const m = new MessageBuilder().multipart('mixed').part({}, body).part({}, body).build();
    const root = parseMessage(m);
    const boundary = root.params?.boundary as string;
    assert.match(boundary, /^=_[a-z2-7]{24}$/);
    assert.equal(root.parts?.length, 2);
    for (const p of root.parts ?? []) assert.equal(bodyOf(m, p), body.toString('latin1'));
    const fields = parseHeaderBlock(m.subarray(0, root.bodyStart));
    assert.match(headerValue(fields, 'content-type') ?? '', /boundary="=_[a-z2-7]{24}"$/);
  });

  it('refuses a fixed boundary that occurs in a part, and bad boundaries', () => {
    const b = new MessageBuilder({ boundary: 'xyz' }).multipart('mixed');
    b.part({}, Buffer.from('text\r\n--xyz\r\n'));
    assert.throws(() => b.build(), ComposeError);
    const bad = new MessageBuilder({ boundary: 'bad\r\nboundary' }).multipart('mixed');
    assert.throws(() => bad.build(), ComposeError);
  });

  it('needs multipart() for more than one part', () => {
    const b = new MessageBuilder().textPart('a').textPart('b');
    assert.throws(() => b.build(), ComposeError);
  });
});
