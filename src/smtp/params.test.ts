import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ParamError,
  decodeUtf8AddrXtext,
  decodeXtext,
  encodeUtf8AddrUnitext,
  encodeUtf8AddrXtext,
  encodeXtext,
  formatOrcpt,
  parseBody,
  parseEnvid,
  parseNotify,
  parseOrcpt,
  parseParams,
  parseRet,
  parseSize,
} from './params.js';

function throwsParam(fn: () => unknown, message: string, duplicate = false): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ParamError, `expected ParamError, got ${String(e)}`);
    assert.equal(e.message, message);
    assert.equal(e.duplicate, duplicate);
    return true;
  });
}

test('parseParams: keys, values, spacing', () => {
  assert.deepEqual(parseParams(''), []);
  assert.deepEqual(parseParams('   '), []);
  assert.deepEqual(parseParams('size=100 body=8BITMIME SMTPUTF8'), [
    { key: 'SIZE', value: '100' },
    { key: 'BODY', value: '8BITMIME' },
    { key: 'SMTPUTF8', value: null },
  ]);
  assert.deepEqual(parseParams(' A  x-y=1 '), [
    { key: 'A', value: null },
    { key: 'X-Y', value: '1' },
  ]);
  assert.deepEqual(parseParams('ORCPT=rfc822;a+2Bb@example.com'), [
    { key: 'ORCPT', value: 'rfc822;a+2Bb@example.com' },
  ]);
  assert.deepEqual(parseParams('X=jörg'), [{ key: 'X', value: 'jörg' }]);
  assert.deepEqual(parseParams('HOLDUNTIL=2024-01-01T00:00:00Z'), [
    { key: 'HOLDUNTIL', value: '2024-01-01T00:00:00Z' },
  ]);
});

test('parseParams: errors', () => {
  throwsParam(() => parseParams('SIZE=1 size=2'), 'duplicate param', true);
  throwsParam(() => parseParams('A B a'), 'duplicate param', true);
  throwsParam(() => parseParams('-A'), 'invalid param keyword');
  throwsParam(() => parseParams('=1'), 'invalid param keyword');
  throwsParam(() => parseParams('A_B=1'), 'invalid param keyword');
  throwsParam(() => parseParams('A='), 'invalid param value');
  throwsParam(() => parseParams('A=b=c'), 'invalid param value');
  throwsParam(() => parseParams('A=b\tc'), 'invalid param value');
  throwsParam(() => parseParams('A=\x7f'), 'invalid param value');
});

test('xtext: decode and encode', () => {
  assert.equal(decodeXtext('abc'), 'abc');
  assert.equal(decodeXtext(''), '');
  assert.equal(decodeXtext('a+2Bb+3Dc+20d'), 'a+b=c d');
  assert.equal(decodeXtext('a+2bb'), 'a+b');
  assert.equal(decodeXtext('+C3+BCber'), 'über');
  assert.equal(encodeXtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(encodeXtext('über'), '+C3+BCber');
  assert.equal(encodeXtext('\x00\x7f~!'), '+00+7F~!');
  assert.equal(encodeXtext('plain@example.com'), 'plain@example.com');
  throwsParam(() => decodeXtext('a+2'), 'invalid xtext hexchar');
  throwsParam(() => decodeXtext('a+'), 'invalid xtext hexchar');
  throwsParam(() => decodeXtext('a+GG'), 'invalid xtext hexchar');
  throwsParam(() => decodeXtext('a=b'), 'invalid xtext character');
  throwsParam(() => decodeXtext('a b'), 'invalid xtext character');
  throwsParam(() => decodeXtext('a+2Bb c'), 'invalid xtext character');
  throwsParam(() => decodeXtext('ü'), 'invalid xtext character');
  throwsParam(() => decodeXtext('+C3'), 'invalid utf-8 in xtext');
});

test('xtext: round trip (property)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), (s) => {
      const enc = encodeXtext(s);
      assert.match(
        enc,
        /^[\x21-\x2a\x2c-\x3c\x3e-\x7e]*(?:\+[0-9A-F]{2}[\x21-\x2a\x2c-\x3c\x3e-\x7e]*)*$/,
      );
      assert.equal(decodeXtext(enc), s);
    }),
    { numRuns: 500 },
  );
});

test('utf-8-addr-xtext: decode and encode', () => {
  assert.equal(decodeUtf8AddrXtext('user@example.com'), 'user@example.com');
  assert.equal(decodeUtf8AddrXtext('j\\x{F6}rg@example.com'), 'jörg@example.com');
  assert.equal(decodeUtf8AddrXtext('j\\x{f6}rg@example.com'), 'jörg@example.com');
  assert.equal(decodeUtf8AddrXtext('jörg@example.com'), 'jörg@example.com');
  assert.equal(decodeUtf8AddrXtext('a\\x{2B}b\\x{3D}c\\x{5C}d\\x{20}e'), 'a+b=c\\d e');
  assert.equal(decodeUtf8AddrXtext('\\x{1F600}'), '😀');
  assert.equal(encodeUtf8AddrXtext('jörg+tag@example.com'), 'j\\x{F6}rg\\x{2B}tag@example.com');
  assert.equal(encodeUtf8AddrXtext('a=b\\c d\x01'), 'a\\x{3D}b\\x{5C}c\\x{20}d\\x{01}');
  assert.equal(encodeUtf8AddrXtext('用😀'), '\\x{7528}\\x{1F600}');
  assert.equal(encodeUtf8AddrUnitext('jörg+tag@用.example'), 'jörg\\x{2B}tag@用.example');
  throwsParam(() => decodeUtf8AddrXtext('a+b'), 'invalid utf-8-addr-xtext character');
  throwsParam(() => decodeUtf8AddrXtext('a=b'), 'invalid utf-8-addr-xtext character');
  throwsParam(() => decodeUtf8AddrXtext('a b'), 'invalid utf-8-addr-xtext character');
  throwsParam(() => decodeUtf8AddrXtext('a\\b'), 'invalid utf-8-addr-xtext escape');
  throwsParam(() => decodeUtf8AddrXtext('a\\x{}'), 'invalid utf-8-addr-xtext escape');
  throwsParam(() => decodeUtf8AddrXtext('a\\x{F6'), 'invalid utf-8-addr-xtext escape');
  throwsParam(() => decodeUtf8AddrXtext('\\x{1234567}'), 'invalid utf-8-addr-xtext escape');
  throwsParam(() => decodeUtf8AddrXtext('\\x{110000}'), 'invalid utf-8-addr-xtext code point');
  throwsParam(() => decodeUtf8AddrXtext('\\x{D800}'), 'invalid utf-8-addr-xtext code point');
  throwsParam(() => decodeUtf8AddrXtext('\\x{0}'), 'invalid utf-8-addr-xtext code point');
});

test('utf-8-addr-xtext and unitext: round trip (property)', () => {
  const nonZero = fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0'));
  fc.assert(
    fc.property(nonZero, (s) => {
      const x = encodeUtf8AddrXtext(s);
      assert.match(x, /^[\x21-\x7e]*$/);
      assert.equal(decodeUtf8AddrXtext(x), s);
      assert.equal(decodeUtf8AddrXtext(encodeUtf8AddrUnitext(s)), s);
    }),
    { numRuns: 500 },
  );
});

test('ORCPT', () => {
  assert.deepEqual(parseOrcpt('rfc822;Bob+2Btag@Example.COM'), {
    addrType: 'rfc822',
    address: 'Bob+tag@Example.COM',
  });
  assert.deepEqual(parseOrcpt('RFC822;a@example.com'), {
    addrType: 'rfc822',
    address: 'a@example.com',
  });
  assert.deepEqual(parseOrcpt('utf-8;j\\x{F6}rg@example.com'), {
    addrType: 'utf-8',
    address: 'jörg@example.com',
  });
  assert.deepEqual(parseOrcpt('UTF-8;jörg@example.com'), {
    addrType: 'utf-8',
    address: 'jörg@example.com',
  });
  assert.deepEqual(parseOrcpt('x400;a+3Bb'), { addrType: 'x400', address: 'a;b' });
  assert.equal(
    formatOrcpt({ addrType: 'rfc822', address: 'Bob+tag@example.com' }),
    'rfc822;Bob+2Btag@example.com',
  );
  assert.equal(
    formatOrcpt({ addrType: 'utf-8', address: 'jörg+x@example.com' }),
    'utf-8;j\\x{F6}rg\\x{2B}x@example.com',
  );
  for (const o of [
    { addrType: 'rfc822', address: 'a b=c+d@example.com' },
    { addrType: 'utf-8', address: '"ö \\\\"@例え.テスト' },
  ]) {
    assert.deepEqual(parseOrcpt(formatOrcpt(o)), o);
  }
  throwsParam(() => parseOrcpt('a@example.com'), 'ORCPT needs addr-type;address');
  throwsParam(() => parseOrcpt(';a@example.com'), 'invalid ORCPT addr-type');
  throwsParam(() => parseOrcpt('rfc822;'), 'empty ORCPT address');
  throwsParam(() => parseOrcpt('rfc822;a+b@example.com'), 'invalid xtext hexchar');
  throwsParam(() => parseOrcpt('rfc822;' + 'a'.repeat(494)), 'ORCPT too long');
  assert.equal(parseOrcpt('rfc822;' + 'a'.repeat(493)).address.length, 493);
});

test('NOTIFY', () => {
  assert.equal(parseNotify('NEVER'), 'NEVER');
  assert.equal(parseNotify('never'), 'NEVER');
  assert.deepEqual(parseNotify('SUCCESS'), ['SUCCESS']);
  assert.deepEqual(parseNotify('failure,Delay,success'), ['FAILURE', 'DELAY', 'SUCCESS']);
  throwsParam(() => parseNotify('NEVER,SUCCESS'), 'NOTIFY=NEVER cannot be combined');
  throwsParam(() => parseNotify('DELAY,never'), 'NOTIFY=NEVER cannot be combined');
  throwsParam(() => parseNotify('SUCCESS,SUCCESS'), 'duplicate NOTIFY value');
  throwsParam(() => parseNotify('failure,FAILURE'), 'duplicate NOTIFY value');
  throwsParam(() => parseNotify('SUCCESS,'), 'invalid NOTIFY value');
  throwsParam(() => parseNotify(''), 'invalid NOTIFY value');
  throwsParam(() => parseNotify('SUCCESS FAILURE'), 'invalid NOTIFY value');
  throwsParam(() => parseNotify('ALWAYS'), 'invalid NOTIFY value');
});

test('RET, ENVID, SIZE, BODY', () => {
  assert.equal(parseRet('FULL'), 'FULL');
  assert.equal(parseRet('hdrs'), 'HDRS');
  throwsParam(() => parseRet('BODY'), 'invalid RET value');
  assert.equal(parseEnvid('QQ314159'), 'QQ314159');
  assert.equal(parseEnvid('a+2Bb+20c'), 'a+b c');
  assert.equal(parseEnvid('x'.repeat(100)), 'x'.repeat(100));
  throwsParam(() => parseEnvid('x'.repeat(101)), 'ENVID too long');
  throwsParam(() => parseEnvid(''), 'empty ENVID');
  throwsParam(() => parseEnvid('a+0Ab'), 'ENVID must be printable ASCII');
  throwsParam(() => parseEnvid('+C3+BC'), 'ENVID must be printable ASCII');
  throwsParam(() => parseEnvid('a+b'), 'invalid xtext hexchar');
  assert.equal(parseSize('0'), 0);
  assert.equal(parseSize('10485760'), 10485760);
  assert.equal(parseSize('99999999999999999999'), Number.MAX_SAFE_INTEGER);
  throwsParam(() => parseSize('999999999999999999999'), 'invalid SIZE value');
  throwsParam(() => parseSize('-1'), 'invalid SIZE value');
  throwsParam(() => parseSize(''), 'invalid SIZE value');
  assert.equal(parseBody('8bitmime'), '8BITMIME');
  assert.equal(parseBody('7BIT'), '7BIT');
  throwsParam(() => parseBody('BINARYMIME'), 'invalid BODY value');
});
