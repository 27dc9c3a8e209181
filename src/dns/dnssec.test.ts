import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bothAuthentic, dnssecState, isLoopback, trackAuthentic, trustsAD } from './dnssec.js';
import { MockResolver } from './mock.js';
import { rejectsDNS } from './testutil.js';
import { DNSError, type Authenticated, type Resolver } from './types.js';
import type { MockZone } from './zone.js';

test('the AD bit is trusted from loopback servers, or from all when configured', () => {
  const cases: [string, boolean, boolean][] = [
    ['127.0.0.1', false, true],
    ['127.0.0.53', false, true],
    ['127.255.255.254', false, true],
    ['::1', false, true],
    ['0:0:0:0:0:0:0:1', false, true],
    ['::ffff:127.0.0.1', false, true],
    ['192.0.2.53', false, false],
    ['10.0.0.1', false, false],
    ['128.0.0.1', false, false],
    ['2001:db8::53', false, false],
    ['::', false, false],
    ['::ffff:192.0.2.1', false, false],
    ['localhost', false, false],
    ['192.0.2.53', true, true],
    ['2001:db8::53', true, true],
  ];
  for (const [ip, all, want] of cases) assert.equal(trustsAD(ip, all), want, `${ip} ${all}`);
  assert.equal(isLoopback('not an ip'), false);
});

test('authenticity combines: known-false wins, then unknown', () => {
  const cases: [boolean | undefined, boolean | undefined, boolean | undefined][] = [
    [true, true, true],
    [true, false, false],
    [true, undefined, undefined],
    [false, undefined, false],
    [false, false, false],
    [undefined, undefined, undefined],
  ];
  for (const [a, b, want] of cases) {
    assert.equal(bothAuthentic(a, b), want, `${a} ${b}`);
    assert.equal(bothAuthentic(b, a), want, `${b} ${a}`);
  }
  assert.equal(dnssecState([]), 'unknown');
  assert.equal(dnssecState([true, true]), 'with');
  assert.equal(dnssecState([true, undefined]), 'unknown');
  assert.equal(dnssecState([undefined, false]), 'without');
});

const zone: MockZone = {
  a: { 'signed.example': ['192.0.2.1'], 'plain.example': ['192.0.2.2'] },
  txt: { 'signed.example': ['v=spf1 -all'] },
  ptr: { '192.0.2.1': ['signed.example'] },
  cname: { 'alias.signed.example': ['plain.example'], 'www.signed.example': ['signed.example'] },
  fail: { 'broken.signed.example': 'temporary' },
  authentic: ['signed.example', '192.0.2.1'],
};

test('MockResolver reports authenticity only when told which zones are signed', async () => {
  const told = new MockResolver(zone);
  const cases: [string, string, boolean | undefined][] = [
    ['A', 'signed.example', true],
    ['A', 'SIGNED.example.', true],
    ['A', 'plain.example', false],
    ['A', 'www.signed.example', true],
    ['A', 'alias.signed.example', false],
    ['PTR', '192.0.2.1', true],
  ];
  for (const [type, name, want] of cases) {
    const r = await told.authenticated!(type as 'A', name);
    assert.equal(r.authentic, want, `${type} ${name}`);
  }
  // Negative answers carry it in the error.
  const errors: [string, boolean][] = [
    ['nope.signed.example', true],
    ['nope.example', false],
    ['broken.signed.example', false],
  ];
  for (const [name, want] of errors) {
    await assert.rejects(told.authenticated!('A', name), (e: unknown) => {
      assert.ok(e instanceof DNSError);
      assert.equal(e.authentic, want, name);
      return true;
    });
  }
  const { authentic: _, ...unsigned } = zone;
  const untold = new MockResolver(unsigned);
  assert.equal((await untold.authenticated!('A', 'signed.example')).authentic, undefined);
});

test('trackAuthentic: with only when something was seen and every answer was authentic', async () => {
  const mock = new MockResolver(zone);
  const t = trackAuthentic(mock);
  assert.equal(t.state(), 'unknown');
  assert.equal(t.authentic(), false);
  assert.deepEqual(await t.a('signed.example'), ['192.0.2.1']);
  assert.deepEqual(await t.ptr('192.0.2.1'), ['signed.example']);
  assert.equal(t.state(), 'with');
  assert.equal(t.authentic(), true);
  // An authenticated NXDOMAIN keeps it.
  await rejectsDNS(t.txt('nope.signed.example'), { kind: 'notfound', code: 'ENOTFOUND' });
  assert.equal(t.state(), 'with');
  // One answer that is not authenticated spoils it, for good.
  await rejectsDNS(t.mx('plain.example'), { kind: 'notfound', code: 'ENODATA' });
  assert.equal(t.state(), 'without');
  await t.a('signed.example');
  assert.equal(t.state(), 'without');
  assert.equal(t.authentic(), false);
  // By name, as a DKIM verifier would ask about each key record.
  assert.equal(t.stateOf('SIGNED.example'), 'with');
  assert.equal(t.stateOf('plain.example'), 'without');
  assert.equal(t.stateOf('192.0.2.1'), 'with');
  assert.equal(t.stateOf('never.example'), 'unknown');
});

test('trackAuthentic over resolvers that cannot tell gives unknown', async () => {
  const { authentic: _, ...unsigned } = zone;
  const t = trackAuthentic(new MockResolver(unsigned));
  await t.a('signed.example');
  await rejectsDNS(t.a('nope.example'), { kind: 'notfound' });
  assert.equal(t.state(), 'unknown');
  // A resolver without the method at all (like SystemResolver): its plain methods are used.
  const calls: string[] = [];
  const plain: Resolver = {
    mx: async () => [],
    a: async (n) => (calls.push(`a ${n}`), ['192.0.2.9']),
    aaaa: async () => [],
    txt: async (n) => (calls.push(`txt ${n}`), ['t']),
    ptr: async () => [],
    cname: async () => {
      throw new Error('not a DNSError');
    },
  };
  const p = trackAuthentic(plain);
  assert.deepEqual(await p.a('x.example'), ['192.0.2.9']);
  assert.deepEqual(await p.txt('y.example'), ['t']);
  await assert.rejects(p.cname('z.example'), /not a DNSError/);
  assert.deepEqual(calls, ['a x.example', 'txt y.example']);
  assert.equal(p.state(), 'unknown');
  // Mixed: a known unauthenticated answer makes it "without" even beside unknown ones.
  const mixed = trackAuthentic({
    ...plain,
    authenticated: async <T>(type: string, name: string) =>
      ({ records: [name], authentic: type === 'A' ? undefined : false }) as Authenticated<T>,
  } as Resolver);
  await mixed.a('a.example');
  assert.equal(mixed.state(), 'unknown');
  await mixed.txt('b.example');
  assert.equal(mixed.state(), 'without');
});

test('trackers nest: each sees the lookups made through it', async () => {
  const outer = trackAuthentic(new MockResolver(zone));
  const inner = trackAuthentic(outer);
  await inner.a('signed.example');
  await outer.a('plain.example');
  assert.equal(inner.state(), 'with');
  assert.equal(outer.state(), 'without');
});
