// Tag-list, DKIM-Signature, ARC-Seal and key record parsing: what is accepted, and the
// reason given for what is not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  PermanentTagError,
  TagError,
  arcMessageSignature,
  arcSeal,
  dkimSignature,
  parseKeyRecord,
  parseTagList,
} from './dkimtags.js';

describe('parseTagList (RFC 6376 §3.2)', () => {
  const ok: [string, [string, string][]][] = [
    [
      'a=1; b=2',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
    [
      'a=1; b=2;',
      [
        ['a', '1'],
        ['b', '2'],
      ],
    ],
    [
      ' a = 1 ;\r\n\tb=two words ; ',
      [
        ['a', '1'],
        ['b', 'two words'],
      ],
    ],
    ['a=', [['a', '']]],
    [
      'A=1; a=2',
      [
        ['A', '1'],
        ['a', '2'],
      ],
    ],
    ['x_y9=v', [['x_y9', 'v']]],
    ['', []],
  ];
  for (const [text, want] of ok) {
    test(`accepts ${JSON.stringify(text)}`, () => {
      assert.deepEqual([...parseTagList(text)], want);
    });
  }
  const bad: [string, RegExp][] = [
    ['a=1; a=2', /duplicate tag a=/],
    ['a=1;; b=2', /tag without "="/],
    ['a', /tag without "="/],
    ['1a=x', /invalid tag name/],
    ['a b=x', /invalid tag name/],
    ['=x', /invalid tag name/],
    ['a=x\x00y', /invalid characters in a=/],
    ['a=x\ny', /invalid characters in a=/],
  ];
  for (const [text, want] of bad) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      assert.throws(
        () => parseTagList(text),
        (e) => e instanceof TagError && want.test(e.message),
      );
    });
  }
});

const GOOD: Record<string, string> = {
  v: '1',
  a: 'rsa-sha256',
  c: 'relaxed/simple',
  d: 'Example.COM',
  s: 'Sel',
  h: 'From : to:Subject',
  bh: 'AAAA',
  b: 'AA AA\r\n BBBB',
};

function sig(changes: Record<string, string | null>) {
  const tags = new Map(Object.entries(GOOD));
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) tags.delete(k);
    else tags.set(k, v);
  }
  return dkimSignature(tags);
}

describe('dkimSignature (RFC 6376 §3.5, §6.1.1)', () => {
  test('a good one, names lower-cased, b= without whitespace', () => {
    const s = sig({});
    assert.equal(s.domain, 'example.com');
    assert.equal(s.selector, 'sel');
    assert.deepEqual(s.headers, ['from', 'to', 'subject']);
    assert.equal(s.headerCanon, 'relaxed');
    assert.equal(s.bodyCanon, 'simple');
    assert.equal(s.bText, 'AAAABBBB');
    assert.equal(s.identityDomain, 'example.com');
    assert.equal(s.length, undefined);
  });

  test('c= defaults: simple/simple, and a header algorithm alone has a simple body', () => {
    assert.deepEqual(
      [sig({ c: null }).headerCanon, sig({ c: null }).bodyCanon],
      ['simple', 'simple'],
    );
    assert.deepEqual(
      [sig({ c: 'relaxed' }).headerCanon, sig({ c: 'relaxed' }).bodyCanon],
      ['relaxed', 'simple'],
    );
  });

  test('i= in a subdomain of d=, l=, t=, x=', () => {
    const s = sig({ i: 'user@Mail.Example.com', l: '12', t: '100', x: '200' });
    assert.deepEqual(
      [s.identityDomain, s.length, s.timestamp, s.expiration],
      ['mail.example.com', 12, 100, 200],
    );
    // l= beyond 2^53 is taken as longer than any body, not rounded.
    assert.equal(sig({ l: '9'.repeat(40) }).length, Number.MAX_SAFE_INTEGER);
  });

  const bad: [string, Record<string, string | null>, RegExp, boolean][] = [
    ['no v=', { v: null }, /missing v=/, false],
    ['v=2', { v: '2' }, /unsupported version/, false],
    ['no b=', { b: null }, /missing b=/, false],
    ['no bh=', { bh: null }, /missing bh=/, false],
    ['no d=', { d: null }, /missing d=/, false],
    ['no h=', { h: null }, /missing h=/, false],
    ['no s=', { s: null }, /missing s=/, false],
    ['rsa-sha1 (RFC 8301)', { a: 'rsa-sha1' }, /rsa-sha1 is not accepted/, false],
    ['an unknown algorithm', { a: 'dsa-sha256' }, /unsupported algorithm/, false],
    ['b= not base64', { b: 'abc$' }, /b= is not base64/, false],
    ['bh= not base64', { bh: 'A' }, /bh= is not base64/, false],
    ['c= unknown', { c: 'nowsp/simple' }, /unsupported canonicalization/, false],
    ['d= not a domain', { d: 'exa mple.com' }, /invalid d=/, false],
    ['s= empty', { s: '' }, /invalid s=/, false],
    ['l= not a number', { l: '-1' }, /l= is not a number/, false],
    ['l= with 77 digits', { l: '1'.repeat(77) }, /l= is not a number/, false],
    ['x= not a number', { x: 'soon' }, /x= is not a number/, false],
    ['q= without dns/txt', { q: 'http/well-known' }, /q= without dns\/txt/, false],
    ['h= with an empty name', { h: 'from::to' }, /h= has an invalid field name/, false],
    ['h= without From', { h: 'to:subject' }, /From field not signed/, true],
    ['i= outside d=', { i: '@evil.example' }, /i= is not within d=/, true],
    ['i= a suffix but not a subdomain', { i: '@badexample.com' }, /i= is not within d=/, true],
    ['i= without @', { i: 'example.com' }, /invalid i=/, false],
  ];
  for (const [name, changes, want, permanent] of bad) {
    test(`refuses: ${name}`, () => {
      assert.throws(
        () => sig(changes),
        (e) =>
          e instanceof TagError &&
          e instanceof PermanentTagError === permanent &&
          want.test(e.message),
      );
    });
  }
});

describe('ARC fields (RFC 8617 §4.1)', () => {
  const seal = (extra: Record<string, string>) =>
    arcSeal(
      new Map(
        Object.entries({
          i: '1',
          a: 'rsa-sha256',
          b: 'AAAA',
          cv: 'none',
          d: 'x.example',
          s: 's',
          ...extra,
        }),
      ),
    );
  test('an ARC-Seal', () => {
    assert.deepEqual(
      { ...seal({ cv: 'Pass', i: '50' }), b: null },
      {
        instance: 50,
        algorithm: 'rsa-sha256',
        b: null,
        domain: 'x.example',
        selector: 's',
        cv: 'pass',
      },
    );
  });
  for (const [name, extra, want] of [
    ['i=0', { i: '0' }, /out of range/],
    ['i=51', { i: '51' }, /out of range/],
    ['i=a', { i: 'a' }, /invalid i=/],
    ['cv=maybe', { cv: 'maybe' }, /invalid cv=/],
    ['h=', { h: 'from' }, /unexpected h=/],
  ] as const) {
    test(`ARC-Seal refused: ${name}`, () => {
      assert.throws(() => seal(extra), want);
    });
  }
  test('an ARC-Message-Signature may not sign ARC-Seal', () => {
    const ams = (h: string) =>
      arcMessageSignature(new Map(Object.entries({ ...GOOD, v: '', i: '1', h })));
    assert.equal(ams('from:to').instance, 1);
    assert.throws(() => ams('from:arc-seal'), /h= includes arc-seal/);
  });
});

describe('parseKeyRecord (RFC 6376 §3.6.1, RFC 8463 §4.2)', () => {
  test('defaults: k=rsa, any hash, not strict', () => {
    const r = parseKeyRecord('p=AAAA');
    assert.deepEqual(r, {
      type: 'rsa',
      key: Buffer.from('AAAA', 'base64'),
      hashes: null,
      strict: false,
    });
  });
  test('k=ed25519, h=, t=y:s, an empty p= (revoked)', () => {
    const r = parseKeyRecord('v=DKIM1;k=ed25519;h=sha256:SHA1;t=y:s;p=');
    assert.deepEqual(r, {
      type: 'ed25519',
      key: Buffer.alloc(0),
      hashes: ['sha256', 'sha1'],
      strict: true,
    });
  });
  for (const [text, kind] of [
    ['v=DKIM2;p=AAAA', 'version'],
    ['k=rsa;v=DKIM1;p=AAAA', 'version'],
    ['k=dsa;p=AAAA', 'type'],
    ['s=other;p=AAAA', 'type'],
    ['k=rsa', 'value'],
    ['p=A$AA', 'value'],
    ['p=AAAA;p=BBBB', 'value'],
  ] as const) {
    test(`refuses ${text} (${kind})`, () => {
      assert.throws(
        () => parseKeyRecord(text),
        (e) => (e as { kind?: string }).kind === kind,
      );
    });
  }
});
