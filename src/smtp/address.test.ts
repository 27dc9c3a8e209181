import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AddressError,
  formatLocalpart,
  formatPath,
  parseAddressLiteral,
  parseDomain,
  parseEhloArg,
  parseMailFrom,
  parseRcptTo,
  type Path,
} from './address.js';
import { ParamError } from './params.js';

function throwsAddress(fn: () => unknown, message?: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AddressError, `expected AddressError, got ${String(e)}`);
    if (message !== undefined) assert.equal(e.message, message);
    return true;
  });
}

const ex = { ascii: 'example.com', unicode: 'example.com' };

test('parseDomain: ASCII domains are lower-cased', () => {
  assert.deepEqual(parseDomain('Mail.Example.COM', false), {
    ascii: 'mail.example.com',
    unicode: 'mail.example.com',
  });
  assert.deepEqual(parseDomain('a-b.c1.example', false), {
    ascii: 'a-b.c1.example',
    unicode: 'a-b.c1.example',
  });
  assert.deepEqual(parseDomain('localhost', false), { ascii: 'localhost', unicode: 'localhost' });
  assert.deepEqual(parseDomain('123.example', false), {
    ascii: '123.example',
    unicode: '123.example',
  });
});

test('parseDomain: A-labels and U-labels', () => {
  const b = { ascii: 'xn--bcher-kva.example', unicode: 'bücher.example' };
  assert.deepEqual(parseDomain('xn--bcher-kva.example', false), b);
  assert.deepEqual(parseDomain('XN--BCHER-KVA.Example', false), b);
  assert.deepEqual(parseDomain('bücher.example', true), b);
  assert.deepEqual(parseDomain('BÜCHER.example', true), b);
  assert.deepEqual(parseDomain('例え.テスト', true), {
    ascii: 'xn--r8jz45g.xn--zckzah',
    unicode: '例え.テスト',
  });
  throwsAddress(() => parseDomain('bücher.example', false), 'non-ascii domain requires SMTPUTF8');
});

test('parseDomain: invalid domains', () => {
  const bad = [
    'example.com.',
    '.example.com',
    'a..b',
    '-a.example',
    'a-.example',
    'a_b.example',
    'ex ample.com',
    'a%41.example',
    'xn--zz.example',
    'xn--.example',
    '1.2.3.4',
    'foo.123',
    '[1.2.3.4]',
    'a@b',
    'a'.repeat(64) + '.example',
  ];
  for (const d of bad) throwsAddress(() => parseDomain(d, true));
  throwsAddress(() => parseDomain('', false), 'missing domain');
  throwsAddress(() => parseDomain('b%c3%bccher.example', true));
  throwsAddress(() => parseDomain('bü_cher.example', true), 'invalid domain');
  // 63-octet labels are fine, 255 octets in total is the limit.
  const l63 = 'a'.repeat(63);
  assert.equal(parseDomain(`${l63}.example`, false).ascii, `${l63}.example`);
  const long = [l63, l63, l63, 'a'.repeat(59), 'com'].join('.'); // 255
  assert.equal(long.length, 255);
  assert.equal(parseDomain(long, false).ascii, long);
  throwsAddress(() => parseDomain('a' + long, false), 'domain too long');
});

test('parseAddressLiteral', () => {
  assert.equal(parseAddressLiteral('[192.0.2.1]'), '192.0.2.1');
  assert.equal(parseAddressLiteral('[IPv6:2001:db8::1]'), '2001:db8::1');
  assert.equal(parseAddressLiteral('[ipv6:::1]'), '::1');
  assert.equal(parseAddressLiteral('[IPv6:::ffff:192.0.2.1]'), '::ffff:192.0.2.1');
  throwsAddress(() => parseAddressLiteral('[256.0.0.1]'), 'invalid address literal');
  throwsAddress(() => parseAddressLiteral('[01.2.3.4]'), 'invalid address literal');
  throwsAddress(() => parseAddressLiteral('[1.2.3]'), 'invalid address literal');
  throwsAddress(() => parseAddressLiteral('192.0.2.1'), 'invalid address literal');
  throwsAddress(() => parseAddressLiteral('[192.0.2.1'), 'invalid address literal');
  throwsAddress(() => parseAddressLiteral('[]'), 'invalid address literal');
  throwsAddress(() => parseAddressLiteral('[2001:db8::1]'), 'unsupported address literal');
  throwsAddress(() => parseAddressLiteral('[IPv6:192.0.2.1]'), 'invalid IPv6 address literal');
  throwsAddress(() => parseAddressLiteral('[IPv6:fe80::1%eth0]'), 'invalid IPv6 address literal');
  throwsAddress(() => parseAddressLiteral('[IPv6:2001:db8::g]'), 'invalid IPv6 address literal');
  throwsAddress(() => parseAddressLiteral('[x400:whatever]'), 'unsupported address literal');
});

test('parseMailFrom: plain paths and the optional space after the colon', () => {
  const want = { path: { localpart: 'user', domain: ex, ipLiteral: null }, params: [] };
  assert.deepEqual(parseMailFrom('<user@example.com>'), want);
  assert.deepEqual(parseMailFrom(' <user@Example.Com>'), want);
  throwsAddress(() => parseMailFrom('  <user@example.com>'), 'path must be enclosed in <>');
  assert.deepEqual(parseMailFrom('<User.Name+tag@example.com>').path, {
    localpart: 'User.Name+tag',
    domain: ex,
    ipLiteral: null,
  });
  assert.deepEqual(
    parseMailFrom("<!#$%&'*+-/=?^_`{|}~@example.com>").path?.localpart,
    "!#$%&'*+-/=?^_`{|}~",
  );
});

test('parseMailFrom: null reverse-path and params', () => {
  assert.deepEqual(parseMailFrom('<>'), { path: null, params: [] });
  assert.deepEqual(parseMailFrom('<> SIZE=1000 BODY=8BITMIME'), {
    path: null,
    params: [
      { key: 'SIZE', value: '1000' },
      { key: 'BODY', value: '8BITMIME' },
    ],
  });
  assert.deepEqual(parseMailFrom('<a@example.com> ret=hdrs envid=abc+2Bd').params, [
    { key: 'RET', value: 'hdrs' },
    { key: 'ENVID', value: 'abc+2Bd' },
  ]);
  // Trailing space after the path is tolerated.
  assert.deepEqual(parseMailFrom('<> ').params, []);
  throwsAddress(() => parseMailFrom('<>SIZE=1'), 'expected space after path');
  assert.throws(
    () => parseMailFrom('<> SIZE=1 size=2'),
    (e: unknown) => e instanceof ParamError && e.duplicate && e.message === 'duplicate param',
  );
  assert.throws(() => parseMailFrom('<> =x'), ParamError);
});

test('parseMailFrom: missing brackets and malformed paths', () => {
  throwsAddress(() => parseMailFrom('user@example.com'), 'path must be enclosed in <>');
  throwsAddress(() => parseMailFrom('<user@example.com'), 'path must be enclosed in <>');
  throwsAddress(() => parseMailFrom(''), 'path must be enclosed in <>');
  throwsAddress(() => parseMailFrom('<user>'), 'missing domain');
  throwsAddress(() => parseMailFrom('<postmaster>'), 'missing domain');
  throwsAddress(() => parseMailFrom('<user@>'), 'missing domain');
  throwsAddress(() => parseMailFrom('<@example.com>'), 'invalid source route');
  throwsAddress(() => parseMailFrom('<a..b@example.com>'), 'invalid localpart');
  throwsAddress(() => parseMailFrom('<.a@example.com>'), 'invalid localpart');
  throwsAddress(() => parseMailFrom('<a.@example.com>'), 'invalid localpart');
  throwsAddress(() => parseMailFrom('<a b@example.com>'), 'invalid localpart');
  throwsAddress(() => parseMailFrom('<a@example.com.>'), 'invalid domain');
  throwsAddress(() => parseMailFrom('<a@b@example.com>'), 'invalid domain');
  throwsAddress(() => parseMailFrom('<"a"b@example.com>'), 'missing @ after quoted localpart');
  throwsAddress(() => parseMailFrom('<"ab@example.com>'), 'path must be enclosed in <>');
});

test('parseMailFrom: quoted localparts', () => {
  const path = (lp: string): Path => ({ localpart: lp, domain: ex, ipLiteral: null });
  assert.deepEqual(parseMailFrom('<"john doe"@example.com>').path, path('john doe'));
  assert.deepEqual(parseMailFrom('<"a\\"b"@example.com>').path, path('a"b'));
  assert.deepEqual(parseMailFrom('<"a\\\\b"@example.com>').path, path('a\\b'));
  assert.deepEqual(parseMailFrom('<"a>b"@example.com>').path, path('a>b'));
  assert.deepEqual(parseMailFrom('<"plain"@example.com>').path, path('plain'));
  assert.deepEqual(parseMailFrom('<""@example.com>').path, path(''));
  assert.deepEqual(parseMailFrom('<"\\>"@example.com> SIZE=5').params, [
    { key: 'SIZE', value: '5' },
  ]);
  throwsAddress(
    () => parseMailFrom('<"a\tb"@example.com>'),
    'invalid character in quoted localpart',
  );
});

test('parseMailFrom: UTF-8 needs SMTPUTF8', () => {
  throwsAddress(() => parseMailFrom('<jörg@example.com>'), 'non-ascii address requires SMTPUTF8');
  throwsAddress(
    () => parseMailFrom('<user@bücher.example>'),
    'non-ascii address requires SMTPUTF8',
  );
  throwsAddress(
    () => parseMailFrom('<"jörg"@example.com> BODY=8BITMIME'),
    'non-ascii address requires SMTPUTF8',
  );
  assert.deepEqual(parseMailFrom('<jörg@bücher.example> SMTPUTF8'), {
    path: {
      localpart: 'jörg',
      domain: { ascii: 'xn--bcher-kva.example', unicode: 'bücher.example' },
      ipLiteral: null,
    },
    params: [{ key: 'SMTPUTF8', value: null }],
  });
  assert.equal(parseMailFrom('<"jö rg"@example.com> smtputf8').path?.localpart, 'jö rg');
  assert.equal(
    parseMailFrom('<用户@例え.テスト> SMTPUTF8').path?.domain?.ascii,
    'xn--r8jz45g.xn--zckzah',
  );
});

test('parseMailFrom: source routes are ignored', () => {
  assert.deepEqual(parseMailFrom('<@a.example,@b.example:user@example.com>').path, {
    localpart: 'user',
    domain: ex,
    ipLiteral: null,
  });
  assert.deepEqual(parseMailFrom('<@a.example:user@example.com>').path?.localpart, 'user');
  throwsAddress(
    () => parseMailFrom('<@a.example,b.example:user@example.com>'),
    'invalid source route',
  );
  throwsAddress(() => parseMailFrom('<@a_b:user@example.com>'), 'invalid domain');
  throwsAddress(() => parseMailFrom('<@:user@example.com>'), 'missing domain');
});

test('parseMailFrom: address literals', () => {
  assert.deepEqual(parseMailFrom('<user@[192.0.2.1]>').path, {
    localpart: 'user',
    domain: null,
    ipLiteral: '192.0.2.1',
  });
  assert.deepEqual(parseMailFrom('<user@[IPv6:2001:db8::1]>').path, {
    localpart: 'user',
    domain: null,
    ipLiteral: '2001:db8::1',
  });
  throwsAddress(() => parseMailFrom('<user@[192.0.2.300]>'), 'invalid address literal');
});

test('parseMailFrom: path length limit of 256 octets', () => {
  const lp = 'a'.repeat(64);
  const domain = 'b'.repeat(63) + '.' + 'c'.repeat(63) + '.' + 'd'.repeat(53) + '.example';
  const ok = `<${lp}@${domain}>`;
  assert.equal(ok.length, 256);
  assert.equal(parseMailFrom(ok).path?.localpart, lp);
  throwsAddress(() => parseMailFrom(`<a${lp}@${domain}>`), 'path too long');
  // Localparts over 64 octets are tolerated.
  assert.equal(parseMailFrom(`<${'x'.repeat(100)}@example.com>`).path?.localpart, 'x'.repeat(100));
  // Octets, not characters, count.
  const utf = `<${'ö'.repeat(125)}@example.com>`;
  assert.equal(utf.length, 139);
  throwsAddress(() => parseMailFrom(`${utf} SMTPUTF8`), 'path too long');
});

test('parseRcptTo', () => {
  assert.deepEqual(parseRcptTo('<user@example.com>', false), {
    path: { localpart: 'user', domain: ex, ipLiteral: null },
    params: [],
  });
  assert.deepEqual(parseRcptTo(' <user@example.com> NOTIFY=SUCCESS,FAILURE', false).params, [
    { key: 'NOTIFY', value: 'SUCCESS,FAILURE' },
  ]);
  const pm = { localpart: 'postmaster', domain: null, ipLiteral: null };
  assert.deepEqual(parseRcptTo('<postmaster>', false).path, pm);
  assert.deepEqual(parseRcptTo('<PostMaster>', false).path, pm);
  assert.deepEqual(parseRcptTo('<Postmaster@Example.com>', false).path, {
    localpart: 'Postmaster',
    domain: ex,
    ipLiteral: null,
  });
  throwsAddress(() => parseRcptTo('<>', false), 'null path not allowed for recipient');
  throwsAddress(
    () => parseRcptTo('<jörg@example.com>', false),
    'non-ascii address requires SMTPUTF8',
  );
  assert.equal(parseRcptTo('<jörg@example.com>', true).path?.localpart, 'jörg');
  throwsAddress(() => parseRcptTo('<user>', false), 'missing domain');
  throwsAddress(() => parseRcptTo('user@example.com', false), 'path must be enclosed in <>');
  assert.throws(() => parseRcptTo('<a@example.com> ORCPT=x orcpt=y', false), ParamError);
});

test('formatLocalpart', () => {
  assert.equal(formatLocalpart('user'), 'user');
  assert.equal(formatLocalpart('first.last+tag'), 'first.last+tag');
  assert.equal(formatLocalpart('jörg'), 'jörg');
  assert.equal(formatLocalpart('john doe'), '"john doe"');
  assert.equal(formatLocalpart('a"b'), '"a\\"b"');
  assert.equal(formatLocalpart('a\\b'), '"a\\\\b"');
  assert.equal(formatLocalpart('a..b'), '"a..b"');
  assert.equal(formatLocalpart('.a'), '".a"');
  assert.equal(formatLocalpart(''), '""');
  assert.equal(formatLocalpart('a@b'), '"a@b"');
});

test('formatPath', () => {
  assert.equal(formatPath(null), '');
  assert.equal(
    formatPath({ localpart: 'postmaster', domain: null, ipLiteral: null }),
    'postmaster',
  );
  const b = { ascii: 'xn--bcher-kva.example', unicode: 'bücher.example' };
  assert.equal(
    formatPath({ localpart: 'a b', domain: b, ipLiteral: null }),
    '"a b"@xn--bcher-kva.example',
  );
  assert.equal(
    formatPath({ localpart: 'jörg', domain: b, ipLiteral: null }, true),
    'jörg@bücher.example',
  );
  assert.equal(
    formatPath({ localpart: 'u', domain: null, ipLiteral: '192.0.2.1' }),
    'u@[192.0.2.1]',
  );
  assert.equal(
    formatPath({ localpart: 'u', domain: null, ipLiteral: '2001:db8::1' }),
    'u@[IPv6:2001:db8::1]',
  );
});

test('formatPath and parseMailFrom round trip', () => {
  const inputs = [
    'user@example.com',
    '"john \\"the\\" doe"@example.com',
    '"a\\\\b"@[192.0.2.1]',
    'x@[IPv6:2001:db8::1]',
    'jörg@bücher.example',
  ];
  for (const s of inputs) {
    const p = parseMailFrom(`<${s}> SMTPUTF8`).path;
    assert.equal(formatPath(p, true), s);
  }
});

test('parseEhloArg', () => {
  assert.deepEqual(parseEhloArg('Mail.Example.com', false), {
    domain: { ascii: 'mail.example.com', unicode: 'mail.example.com' },
    ipLiteral: null,
  });
  assert.deepEqual(parseEhloArg(' mail.example.com ', false).domain?.ascii, 'mail.example.com');
  assert.deepEqual(parseEhloArg('[192.0.2.1]', false), { domain: null, ipLiteral: '192.0.2.1' });
  assert.deepEqual(parseEhloArg('[IPv6:2001:db8::1] client name here', false), {
    domain: null,
    ipLiteral: '2001:db8::1',
  });
  assert.deepEqual(parseEhloArg('bücher.example', true).domain, {
    ascii: 'xn--bcher-kva.example',
    unicode: 'bücher.example',
  });
  throwsAddress(() => parseEhloArg('bücher.example', false), 'non-ascii domain requires SMTPUTF8');
  throwsAddress(() => parseEhloArg('', false), 'missing domain');
  throwsAddress(() => parseEhloArg('   ', false), 'missing domain');
  throwsAddress(() => parseEhloArg('example.com extra', false), 'invalid domain');
  throwsAddress(() => parseEhloArg('example.com.', false), 'invalid domain');
  throwsAddress(() => parseEhloArg('192.0.2.1', false), 'invalid domain');
  throwsAddress(() => parseEhloArg('[192.0.2.1', false), 'invalid address literal');
  throwsAddress(() => parseEhloArg('[192.0.2.1]x', false), 'invalid address literal');
  throwsAddress(() => parseEhloArg('[300.0.2.1]', false), 'invalid address literal');
});
