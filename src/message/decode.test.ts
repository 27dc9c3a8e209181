import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  decodeEncodedWords,
  decodeHeaderValue,
  decodeToText,
  decodeTransfer,
  knownCharset,
  knownTransferEncoding,
  parseStructuredValue,
} from './decode.js';

describe('RFC 2047 encoded words', () => {
  it('decodes the examples of RFC 2047 §8', () => {
    const cases: [string, string][] = [
      ['(=?ISO-8859-1?Q?a?=)', '(a)'],
      ['(=?ISO-8859-1?Q?a?= b)', '(a b)'],
      ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
      ['(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)', '(ab)'],
      ['(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)', '(ab)'],
      ['(=?ISO-8859-1?Q?a_b?=)', '(a b)'],
      ['(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)', '(a b)'],
      ['=?ISO-8859-1?Q?Andr=E9?= Pirard', 'André Pirard'],
      [
        '=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= ' +
          '=?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=',
        'If you can read this you understand the example.',
      ],
    ];
    for (const [input, expected] of cases) assert.equal(decodeEncodedWords(input), expected);
  });

  it('decodes several charsets and a language suffix (RFC 2231 §5)', () => {
    assert.equal(decodeEncodedWords('=?iso-8859-1?q?caf=E9?='), 'café');
    assert.equal(decodeEncodedWords('=?utf-8?b?w6k=?='), 'é');
    assert.equal(decodeEncodedWords('=?windows-1252?q?=80?='), '€');
    assert.equal(decodeEncodedWords('=?US-ASCII*EN?Q?Keith_Moore?='), 'Keith Moore');
    assert.equal(decodeEncodedWords('=?ISO-2022-JP?B?GyRCMCEbKEI=?='), '亜');
    assert.equal(decodeEncodedWords('=?koi8-r?b?8NLJ18XU?='), 'Привет');
  });

  it('joins a character split over adjacent words', () => {
    assert.equal(decodeEncodedWords('=?UTF-8?Q?caf=C3?= =?UTF-8?B?qQ==?= bar'), 'café bar');
  });

  it('leaves invalid words as they are', () => {
    assert.equal(decodeEncodedWords('=?x-unknown?q?abc?='), '=?x-unknown?q?abc?=');
    assert.equal(decodeEncodedWords('=?utf-8?q?a=ZZ?='), '=?utf-8?q?a=ZZ?=');
    assert.equal(decodeEncodedWords('=?utf-8?b?A?='), '=?utf-8?b?A?=');
    assert.equal(decodeEncodedWords('=?utf-8?x?abc?='), '=?utf-8?x?abc?=');
    assert.equal(decodeEncodedWords('=?utf-8?q?café?='), '=?utf-8?q?café?=');
    assert.equal(
      decodeEncodedWords('=?utf-8?q?a?= =?bogus?q?b?= =?utf-8?q?c?='),
      'a =?bogus?q?b?= c',
    );
    assert.equal(decodeEncodedWords('plain = text ?= here'), 'plain = text ?= here');
  });

  it('unfolds and trims with decodeHeaderValue', () => {
    assert.equal(
      decodeHeaderValue(' =?utf-8?q?Gr=C3=BC?=\r\n =?utf-8?q?=C3=9Fe?= from\r\n\there '),
      'Grüße from\there',
    );
    assert.equal(decodeHeaderValue(Buffer.from('Gr\xfc\xdfe', 'latin1')), 'Grüße');
  });

  it('never throws on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        decodeEncodedWords(s);
        decodeEncodedWords(`=?utf-8?q?${s}?= =?utf-8?b?${s}?=`);
      }),
      { numRuns: 500 },
    );
  });
});

describe('structured values and RFC 2231 parameters', () => {
  it('splits the value and lower-cases parameter names', () => {
    assert.deepEqual(parseStructuredValue('Text/Plain; CharSet="UTF-8" ; Format=flowed'), {
      value: 'Text/Plain',
      params: { charset: 'UTF-8', format: 'flowed' },
    });
    assert.deepEqual(parseStructuredValue(' text / plain (comment) ; a="x\\"y;z"; b = 2 ;'), {
      value: 'text/plain',
      params: { a: 'x"y;z', b: '2' },
    });
    assert.deepEqual(parseStructuredValue('text/plain; charset=us-ascii (Plain text)'), {
      value: 'text/plain',
      params: { charset: 'us-ascii' },
    });
  });

  it('decodes charset and language (RFC 2231 §4)', () => {
    assert.deepEqual(
      parseStructuredValue(
        "application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
      ).params,
      { title: 'This is ***fun***' },
    );
    assert.deepEqual(parseStructuredValue("attachment; filename*=iso-8859-1''caf%E9.txt").params, {
      filename: 'café.txt',
    });
  });

  it('joins continuations (RFC 2231 §3, §4.1), in numeric order', () => {
    assert.deepEqual(
      parseStructuredValue(
        'message/external-body; access-type=URL; ' +
          'URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"',
      ).params,
      { 'access-type': 'URL', url: 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar' },
    );
    assert.deepEqual(
      parseStructuredValue(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; " +
          'title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2="isn\'t it!"',
      ).params,
      { title: "This is even more ***fun*** isn't it!" },
    );
    assert.deepEqual(parseStructuredValue('x; name*10="c"; name*1="b"; name*0="a"').params, {
      name: 'abc',
    });
    assert.deepEqual(parseStructuredValue("x; n*0*=utf-8''%E2%82; n*1*=%AC").params, { n: '€' });
  });

  it('prefers the RFC 2231 form and decodes RFC 2047 words in plain values', () => {
    assert.deepEqual(
      parseStructuredValue('a; filename="fallback.txt"; filename*=utf-8\'\'%E2%82%AC.txt').params,
      { filename: '€.txt' },
    );
    assert.deepEqual(parseStructuredValue('a; name="=?utf-8?q?caf=C3=A9?="').params, {
      name: 'café',
    });
    assert.deepEqual(parseStructuredValue('multipart/mixed; boundary="=?utf-8?q?x?="').params, {
      boundary: '=?utf-8?q?x?=',
    });
  });

  it('keeps a __proto__ parameter as a plain property', () => {
    const { params } = parseStructuredValue('x; __proto__=evil; a=1');
    assert.equal(Object.getPrototypeOf(params), Object.prototype);
    assert.deepEqual(Object.keys(params), ['__proto__', 'a']);
    assert.equal(JSON.parse(JSON.stringify(params)).a, '1');
  });
});

describe('content-transfer-encodings', () => {
  const dec = (enc: string, s: string): [string, boolean] => {
    const r = decodeTransfer(enc, Buffer.from(s, 'latin1'));
    return [r.data.toString('latin1'), r.ok];
  };

  it('decodes base64 (RFC 2045 §6.8)', () => {
    assert.deepEqual(dec('base64', 'SGVsbG8s\r\nIHdvcmxk\r\nIQ==\r\n'), ['Hello, world!', true]);
    assert.deepEqual(dec('BASE64', 'SGVsbG8'), ['Hello', true]);
    assert.deepEqual(dec('base64', 'SGk=SGk='), ['HiHi', true]);
    assert.deepEqual(dec('base64', ''), ['', true]);
  });

  it('detects malformed base64', () => {
    assert.deepEqual(dec('base64', 'SGVs*bG8='), ['Hello', false]);
    assert.deepEqual(dec('base64', 'SGVsbG8sI'), ['Hello,', false]);
    assert.deepEqual(dec('base64', '=SGk='), ['Hi', false]);
    assert.deepEqual(dec('base64', 'SGk=\r\n=x'), ['Hi', false]);
  });

  it('decodes quoted-printable (RFC 2045 §6.7)', () => {
    assert.deepEqual(dec('quoted-printable', 'caf=E9 =\r\nsoft   \r\nline=3d=3D\t\n'), [
      'caf\xe9 soft\r\nline==\n',
      true,
    ]);
    assert.deepEqual(dec('quoted-printable', 'a=\t \r\nb=\nc='), ['abc', true]);
    assert.deepEqual(dec('quoted-printable', 'keep  inner  space'), ['keep  inner  space', true]);
  });

  it('detects malformed quoted-printable', () => {
    assert.deepEqual(dec('quoted-printable', 'a=ZZb'), ['a=ZZb', false]);
    assert.deepEqual(dec('quoted-printable', 'x=4'), ['x=4', false]);
    assert.deepEqual(dec('quoted-printable', '= x'), ['= x', false]);
  });

  it('passes identity encodings through and flags unknown ones', () => {
    for (const e of ['7bit', '8BIT', 'binary', '']) {
      assert.deepEqual(dec(e, 'a=\xff'), ['a=\xff', true]);
      assert.equal(knownTransferEncoding(e), true);
    }
    assert.deepEqual(dec('x-uuencode', 'begin'), ['begin', false]);
    assert.equal(knownTransferEncoding('x-uuencode'), false);
    assert.equal(knownTransferEncoding(' Quoted-Printable '), true);
  });

  it('never throws on random data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const buf = Buffer.from(bytes);
        decodeTransfer('base64', buf);
        decodeTransfer('quoted-printable', buf);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips base64 of random data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString('base64').replace(/.{76}/g, '$&\r\n');
        const r = decodeTransfer('base64', Buffer.from(b64));
        assert.ok(r.ok);
        assert.deepEqual(r.data, Buffer.from(bytes));
      }),
      { numRuns: 300 },
    );
  });
});

describe('charsets', () => {
  it('decodes text in its charset, with fallbacks', () => {
    assert.equal(decodeToText(Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'ISO-8859-1'), 'café');
    assert.equal(decodeToText(Buffer.from('café'), undefined), 'café');
    assert.equal(decodeToText(Buffer.from([0x63, 0xe9]), undefined), 'cé');
    assert.equal(decodeToText(Buffer.from('café'), 'us-ascii'), 'café');
    assert.equal(decodeToText(Buffer.from([0xe9]), 'x-bogus'), 'é');
    assert.equal(decodeToText(Buffer.from([0x80]), 'windows-1252'), '€');
    assert.equal(decodeToText(Buffer.from([0xf0, 0xd2]), 'koi8-r'), 'Пр');
  });

  it('tells known charsets', () => {
    assert.equal(knownCharset('UTF8'), 'UTF-8');
    assert.equal(knownCharset('iso-2022-jp'), 'ISO-2022-JP');
    assert.equal(knownCharset('x-unknown'), undefined);
    assert.equal(knownCharset(''), undefined);
  });
});
