// Response building blocks (RFC 9051 §4, §9): strings as quoted strings or literals,
// NIL, astrings, quoting and flag lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { astr, bytes, flagList, nstr, quote, str, toWire } from './response.js';
import { Flag } from '../store/index.js';

/**
 * The rule of RFC 9051 §4.3 and §9 as plainly as it can be said: a quoted string holds
 * at most 1024 characters, no CR, LF or NUL, and 8-bit text only with UTF-8; quotes and
 * backslashes are escaped; anything else is a literal of the UTF-8 bytes. Neither holds
 * NUL: it becomes U+FFFD.
 */
function model(s0: string, utf8: boolean): string {
  const s = s0.replace(/\0/g, '\ufffd');
  const chars = [...s].map((ch) => ch.charCodeAt(0));
  const quotable =
    s.length <= 1024 &&
    !/[\r\n\0]/.test(s) &&
    (utf8 || chars.every((c) => c < 0x80)) &&
    // A lone surrogate is 8-bit too.
    (utf8 || !/[\ud800-\udfff]/.test(s));
  const utf8Bytes = Buffer.from(s, 'utf8');
  if (!quotable) return `{${utf8Bytes.length}}\r\n${utf8Bytes.toString('latin1')}`;
  const escaped = Buffer.from(s.replace(/(["\\])/g, '\\$1'), 'utf8');
  return `"${escaped.toString('latin1')}"`;
}

describe('str', () => {
  it('quotes plain ASCII as it is', () => {
    assert.equal(
      str('Wed, 01 Jan 2025 00:00:00 +0000', false),
      '"Wed, 01 Jan 2025 00:00:00 +0000"',
    );
    assert.equal(str('', false), '""');
    assert.equal(str('tab\there {braces} %*', false), '"tab\there {braces} %*"');
  });

  it('escapes quotes and backslashes', () => {
    assert.equal(str('a "q" b\\c', false), '"a \\"q\\" b\\\\c"');
    assert.equal(str('"', true), '"\\""');
  });

  it('sends 8-bit text quoted as UTF-8 bytes with UTF-8, else as a literal', () => {
    assert.equal(str('Grüße "x"', true), '"Gr\xc3\xbc\xc3\x9fe \\"x\\""');
    assert.equal(str('Grüße', false), '{7}\r\nGr\xc3\xbc\xc3\x9fe');
    assert.equal(str('€', true), '"\xe2\x82\xac"');
    assert.equal(str('\ud83d\ude00', false), '{4}\r\n\xf0\x9f\x98\x80');
  });

  it('uses a literal for CR, LF and long strings; NUL becomes U+FFFD', () => {
    assert.equal(str('a\r\nb', true), '{4}\r\na\r\nb');
    assert.equal(str('a\0', true), '"a\xef\xbf\xbd"');
    assert.equal(str('a\0', false), '{4}\r\na\xef\xbf\xbd');
    assert.equal(str('a\0\r\n', false), '{6}\r\na\xef\xbf\xbd\r\n');
    assert.equal(str('x'.repeat(1024), false), `"${'x'.repeat(1024)}"`);
    assert.equal(str('x'.repeat(1025), false), `{1025}\r\n${'x'.repeat(1025)}`);
    // The limit counts characters: 1024 two-byte characters are still quoted.
    assert.equal(str('é'.repeat(1024), true), `"${'\xc3\xa9'.repeat(1024)}"`);
    assert.equal(str('é'.repeat(1025), true), `{2050}\r\n${'\xc3\xa9'.repeat(1025)}`);
  });

  it('sends raw octets quoted when 7-bit, else as a literal of the same octets', () => {
    assert.equal(str(Buffer.from('a "b"'), false), '"a \\"b\\""');
    assert.equal(str(Buffer.from([0x61, 0xe9]), true), '{2}\r\na\xe9');
    assert.equal(str(Buffer.from('a\nb'), false), '{3}\r\na\nb');
    // Except NUL, which no literal may hold (RFC 9051 §4.3): 0x80 takes its place.
    assert.equal(str(Buffer.from('a\0b'), false), '{3}\r\na\x80b');
    assert.equal(str(Buffer.alloc(1025, 0x61), false), `{1025}\r\n${'a'.repeat(1025)}`);
  });

  it('agrees with the plain rule on any string', () => {
    const text = fc.oneof(
      fc.string({
        unit: fc.constantFrom('a', ' ', '"', '\\', '\r', '\n', '\0', 'é', '€', '\ud800'),
      }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'binary' }),
      fc.string({ minLength: 1020, maxLength: 1030 }),
    );
    fc.assert(
      fc.property(text, fc.boolean(), (s, utf8) => {
        assert.equal(str(s, utf8), model(s, utf8));
      }),
    );
  });
});

describe('nstr, astr, quote, bytes, flagList', () => {
  it('nstr is NIL for null and undefined', () => {
    assert.equal(nstr(null, false), 'NIL');
    assert.equal(nstr(undefined, true), 'NIL');
    assert.equal(nstr('NIL', false), '"NIL"');
  });

  it('astr sends atoms bare, NIL and specials as strings', () => {
    assert.equal(astr('Subject', false), 'Subject');
    assert.equal(astr('nil', false), '"nil"');
    assert.equal(astr('a b', false), '"a b"');
    assert.equal(astr('', false), '""');
  });

  it('quote escapes and bytes encodes UTF-8', () => {
    assert.equal(quote('a\\"'), '"a\\\\\\""');
    assert.equal(bytes('abc'), 'abc');
    assert.equal(bytes('ü'), '\xc3\xbc');
    assert.deepEqual(toWire('\xc3\xbc'), Buffer.from([0xc3, 0xbc]));
  });

  it('flagList lists system flags, then keywords', () => {
    assert.equal(flagList(0, []), '()');
    assert.equal(flagList(Flag.Seen | Flag.Flagged, ['$Junk']), '(\\Seen \\Flagged $Junk)');
  });
});
