import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Utf7Error, decodeMailboxName, encodeMailboxName } from './utf7.js';

describe('modified UTF-7 (RFC 3501 §5.1.3)', () => {
  it('handles the RFC example', () => {
    assert.equal(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/台北/日本語');
    assert.equal(encodeMailboxName('~peter/mail/台北/日本語'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  });

  it('encodes "&", control characters and astral characters', () => {
    assert.equal(encodeMailboxName('a&b'), 'a&-b');
    assert.equal(encodeMailboxName('&'), '&-');
    assert.equal(encodeMailboxName('tab\there'), 'tab&AAk-here');
    assert.equal(encodeMailboxName('☺&'), '&Jjo-&-');
    assert.equal(encodeMailboxName('𐐷'), '&2AHcNw-');
    assert.equal(encodeMailboxName('Entwürfe'), 'Entw&APw-rfe');
    assert.equal(encodeMailboxName(''), '');
  });

  it('decodes valid names', () => {
    assert.equal(decodeMailboxName('&-'), '&');
    assert.equal(decodeMailboxName('a&-b&-'), 'a&b&');
    assert.equal(decodeMailboxName('&Jjo-&-'), '☺&');
    assert.equal(decodeMailboxName('&Jjo-test&Jjo-'), '☺test☺');
    assert.equal(decodeMailboxName('&2AHcNw-'), '𐐷');
    assert.equal(decodeMailboxName('Entw&APw-rfe'), 'Entwürfe');
    // Printable US-ASCII mixed with other characters in one sequence is tolerated.
    assert.equal(decodeMailboxName('&JjoAYQ-'), '☺a');
  });

  const invalid: [string, string][] = [
    ['&Jjo', 'unterminated shift sequence'],
    ['abc&', 'unterminated shift sequence'],
    ['&AGE-', 'shift sequence encodes only printable US-ASCII'],
    ['&ACY-', 'shift sequence encodes only printable US-ASCII'],
    ['&AGEAYg-', 'shift sequence encodes only printable US-ASCII'],
    ['&Jj*-', 'invalid character "*" in modified base64'],
    ['&Jj/o-', 'invalid character "/" in modified base64'],
    ['&Jjo=-', 'invalid character "=" in modified base64'],
    ['&Jjp-', 'non-zero padding bits'],
    ['&YQ-', 'odd number of bytes in modified base64'],
    ['&A-', 'incomplete modified base64'],
    ['&2AA-', 'unpaired high surrogate'],
    ['&3AA-', 'unpaired low surrogate'],
    ['&3ADYAA-', 'unpaired low surrogate'],
    ['&2ADYAA-', 'unpaired high surrogate'],
    ['&Jjo-&Jjo-', 'shift sequence directly after another'],
    ['&AGE-&AGE-', 'shift sequence encodes only printable US-ASCII'],
    ['台北', 'character outside printable US-ASCII in mailbox name'],
    ['a\u00e9', 'character outside printable US-ASCII in mailbox name'],
    ['tab\there', 'character outside printable US-ASCII in mailbox name'],
    ['del\x7f', 'character outside printable US-ASCII in mailbox name'],
  ];
  for (const [input, message] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(
        () => decodeMailboxName(input),
        (e: unknown) => e instanceof Utf7Error && e.message === message && e.name === 'Utf7Error',
      );
    });
  }

  it('reports where the problem is', () => {
    assert.throws(
      () => decodeMailboxName('ok/&Jjo-&Jjo-'),
      (e: unknown) => e instanceof Utf7Error && e.position === 8,
    );
  });

  it('refuses to encode an unpaired surrogate', () => {
    assert.throws(() => encodeMailboxName('a\ud800b'), Utf7Error);
    assert.throws(() => encodeMailboxName('\udc00'), Utf7Error);
  });

  it('round-trips arbitrary Unicode, astral characters included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
        const enc = encodeMailboxName(s);
        assert.match(enc, /^[\x20-\x7e]*$/);
        assert.equal(decodeMailboxName(enc), s);
      }),
      { numRuns: 2000 },
    );
  });

  it('only throws Utf7Error on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            '&',
            '-',
            'A',
            'G',
            'E',
            'J',
            'j',
            'o',
            ',',
            '+',
            'a',
            '2',
            '3',
            'é',
          ),
          maxLength: 20,
        }),
        (s) => {
          try {
            const d = decodeMailboxName(s);
            // Whatever decodes re-encodes to a name that decodes to the same text.
            assert.equal(decodeMailboxName(encodeMailboxName(d)), d);
          } catch (e) {
            assert.ok(e instanceof Utf7Error);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});
