import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BlockList, isIPv6 } from 'node:net';
import fc from 'fast-check';
import {
  AuthFailureLimiter,
  ConnectionCounter,
  InvalidIPError,
  RateLimiter,
  maskIP,
  newConnectionRateLimiter,
} from './ratelimit.js';

test('maskIP: IPv4 classes /32 /26 /21', () => {
  assert.deepEqual(maskIP('10.20.45.200'), ['10.20.45.200', '10.20.45.192', '10.20.40.0']);
  assert.deepEqual(maskIP('192.0.2.63'), ['192.0.2.63', '192.0.2.0', '192.0.0.0']);
  assert.deepEqual(maskIP('255.255.255.255'), [
    '255.255.255.255',
    '255.255.255.192',
    '255.255.248.0',
  ]);
});

test('maskIP: IPv4-mapped IPv6 is IPv4', () => {
  const want = ['10.20.45.200', '10.20.45.192', '10.20.40.0'];
  assert.deepEqual(maskIP('::ffff:10.20.45.200'), want);
  assert.deepEqual(maskIP('::FFFF:a14:2dc8'), want);
  assert.deepEqual(maskIP('0:0:0:0:0:ffff:10.20.45.200'), want);
});

test('maskIP: IPv6 classes /64 /48 /32', () => {
  assert.deepEqual(maskIP('2001:db8:1234:5678:9abc:def0:1:2'), [
    '2001:db8:1234:5678::',
    '2001:db8:1234::',
    '2001:db8::',
  ]);
  assert.deepEqual(maskIP('2001:0DB8:0000:0001:ffff:0:0:1'), [
    '2001:db8:0:1::',
    '2001:db8::',
    '2001:db8::',
  ]);
  assert.deepEqual(maskIP('2001:db8:ab:cd::7'), [
    '2001:db8:ab:cd::',
    '2001:db8:ab::',
    '2001:db8::',
  ]);
  assert.deepEqual(maskIP('::1'), ['::', '::', '::']);
  assert.deepEqual(maskIP('fe80::1%eth0'), ['fe80::', 'fe80::', 'fe80::']);
  assert.deepEqual(maskIP('::1.2.3.4'), ['::', '::', '::']);
  assert.deepEqual(maskIP('1:2:3:4:5:6:1.2.3.4'), ['1:2:3:4::', '1:2:3::', '1:2::']);
});

test('maskIP: invalid input is a typed error', () => {
  for (const bad of ['', 'example.org', '1.2.3', '1.2.3.256', ':::1', '1::2::3']) {
    assert.throws(() => maskIP(bad), InvalidIPError, bad);
  }
});

test('maskIP: IPv6 masks contain the address and are canonical (property)', () => {
  const group = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  fc.assert(
    fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
      // Not an IPv4-mapped address: those are masked as IPv4.
      fc.pre(!(groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff));
      const ip = groups.map((g) => g.toString(16).padStart(4, '0')).join(':');
      const masked = maskIP(ip);
      [64, 48, 32].forEach((bits, i) => {
        const m = masked[i] as string;
        assert.ok(isIPv6(m), m);
        const bl = new BlockList();
        bl.addSubnet(m, bits, 'ipv6');
        assert.ok(bl.check(ip, 'ipv6'), `${ip} in ${m}/${bits}`);
        // WHATWG URL serialises IPv6 per RFC 5952, as maskIP should.
        assert.equal(new URL(`http://[${m}]/`).hostname, `[${m}]`);
        assert.equal(maskIP(m)[i], m);
      });
    }),
    { numRuns: 500 },
  );
});

test('RateLimiter: refuses when any class is full', () => {
  const rl = new RateLimiter({ windowMs: 1000, limits: [2, 3, 4] });
  assert.equal(rl.add('10.0.0.1', 0), true);
  assert.equal(rl.add('10.0.0.1', 10), true);
  assert.equal(rl.canAdd('10.0.0.1', 20), false);
  assert.equal(rl.add('10.0.0.1', 20), false); // /32 full
  assert.equal(rl.add('10.0.0.2', 30), true);
  assert.equal(rl.add('10.0.0.3', 40), false); // /26 10.0.0.0 full (3)
  assert.equal(rl.add('10.0.0.70', 50), true); // other /26, /21 now 4
  assert.equal(rl.add('10.0.1.1', 60), false); // /21 10.0.0.0 full
  assert.equal(rl.add('10.0.8.1', 70), true); // other /21
});

test('RateLimiter: a refused add records nothing; n counts', () => {
  const rl = new RateLimiter({ windowMs: 1000, limits: [5, 10, 20] });
  assert.equal(rl.add('192.0.2.1', 0, 6), false);
  assert.equal(rl.add('192.0.2.1', 0, 5), true);
  assert.equal(rl.canAdd('192.0.2.1', 0, 1), false);
  assert.equal(rl.canAdd('192.0.2.2', 0, 5), true);
  assert.equal(rl.canAdd('192.0.2.2', 0, 6), false); // /26 has 5 of 10
});

test('RateLimiter: counts restart in the next window', () => {
  const rl = new RateLimiter({ windowMs: 60_000, limits: [1, 1, 1] });
  assert.equal(rl.add('2001:db8::1', 120_000), true);
  assert.equal(rl.add('2001:db8::2', 179_999), false); // same /64, same window
  assert.equal(rl.add('2001:db8::2', 180_000), true);
  assert.equal(rl.add('2001:db8::2', 100_000), false); // clock stepped back: window kept
});

test('RateLimiter: IPv6 classes and mapped IPv4 share counts', () => {
  const rl = new RateLimiter({ windowMs: 1000, limits: [1, 2, 3] });
  assert.equal(rl.add('2001:db8:1:1::1', 0), true);
  assert.equal(rl.add('2001:db8:1:1::2', 0), false); // same /64
  assert.equal(rl.add('2001:db8:1:2::1', 0), true); // same /48, now 2
  assert.equal(rl.add('2001:db8:1:3::1', 0), false); // /48 full
  assert.equal(rl.add('2001:db8:2::1', 0), true); // /32 now 3
  assert.equal(rl.add('2001:db8:3::1', 0), false); // /32 full
  assert.equal(rl.add('198.51.100.7', 0), true);
  assert.equal(rl.add('::ffff:198.51.100.7', 0), false);
});

test('RateLimiter: memory is bounded', () => {
  const rl = new RateLimiter({ windowMs: 1000, limits: [5, 5, 5], maxEntries: 10 });
  for (let i = 0; i < 1000; i++) rl.add(`2001:${i.toString(16)}::1`, 0);
  assert.equal(rl.size, 30);
  rl.add('192.0.2.1', 1000); // new window drops the old one
  assert.equal(rl.size, 3);
});

test('newConnectionRateLimiter: 300 per minute per address', () => {
  const rl = newConnectionRateLimiter();
  for (let i = 0; i < 300; i++) assert.equal(rl.add('192.0.2.1', 5), true);
  assert.equal(rl.add('192.0.2.1', 59_999), false);
  assert.equal(rl.add('192.0.2.1', 60_000), true);
});

test('ConnectionCounter: concurrent limits per class', () => {
  const cc = new ConnectionCounter({ limits: [2, 3, 4] });
  assert.equal(cc.tryAcquire('10.0.0.1'), true);
  assert.equal(cc.tryAcquire('10.0.0.1'), true);
  assert.equal(cc.tryAcquire('10.0.0.1'), false);
  assert.equal(cc.tryAcquire('10.0.0.2'), true);
  assert.equal(cc.tryAcquire('10.0.0.3'), false); // /26 full
  assert.equal(cc.count('10.0.0.1'), 2);
  cc.release('10.0.0.1');
  assert.equal(cc.count('10.0.0.1'), 1);
  assert.equal(cc.tryAcquire('10.0.0.3'), true);
  for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) cc.release(ip);
  assert.equal(cc.size, 0);
  cc.release('10.0.0.1'); // extra release stays at zero
  assert.equal(cc.size, 0);
  assert.equal(cc.tryAcquire('10.0.0.1'), true);
  assert.equal(new ConnectionCounter().tryAcquire('::1'), true);
});

test('ConnectionCounter: default limit of 30 per address', () => {
  const cc = new ConnectionCounter();
  for (let i = 0; i < 30; i++) assert.equal(cc.tryAcquire('2001:db8::1'), true);
  assert.equal(cc.tryAcquire('2001:db8::2'), false); // same /64
  assert.equal(cc.tryAcquire('2001:db8:0:1::1'), true);
});

test('AuthFailureLimiter: per-minute and per-day windows; a success clears nothing', () => {
  let now = 0;
  const af = new AuthFailureLimiter({ now: () => now });
  for (let i = 0; i < 10; i++) {
    assert.equal(af.check('192.0.2.1'), true);
    af.fail('192.0.2.1');
  }
  assert.equal(af.check('192.0.2.1'), false);
  assert.equal(af.check('192.0.2.2'), true); // /26 allows 30
  now = 60_000;
  assert.equal(af.check('192.0.2.1'), true);
  for (let m = 1; m < 5; m++) {
    now = m * 60_000;
    for (let i = 0; i < 10; i++) af.fail('192.0.2.1');
  }
  now = 10 * 60_000;
  assert.equal(af.check('192.0.2.1'), false); // 50 today
  // Logging in to an account of one's own does not buy more guesses.
  af.success('192.0.2.1', 'own');
  assert.equal(af.check('192.0.2.1'), false);
  now = 86_400_000;
  assert.equal(af.check('192.0.2.1'), true);
});

test('AuthFailureLimiter: failures per account, except from networks it logs in from', () => {
  let now = 0;
  const af = new AuthFailureLimiter({ now: () => now, perAccount: [3, 5] });
  af.success('198.51.100.7', 'mjl'); // the owner's network
  // Guesses from many networks, each under its own limit.
  for (let i = 0; i < 3; i++) {
    assert.equal(af.checkAccount('mjl', `203.0.${i}.1`), true);
    af.fail(`203.0.${i}.1`, 'mjl');
  }
  assert.equal(af.checkAccount('mjl', '203.0.9.1'), false);
  assert.equal(af.checkAccount('other', '203.0.9.1'), true);
  // The owner still gets in, from its network (any address in the same /64 or /32 only).
  assert.equal(af.checkAccount('mjl', '198.51.100.7'), true);
  assert.equal(af.checkAccount('mjl', '198.51.100.8'), false);
  now = 60_000;
  assert.equal(af.checkAccount('mjl', '203.0.9.1'), true);
  af.fail('203.0.9.1', 'mjl');
  af.fail('203.0.9.1', 'mjl');
  assert.equal(af.checkAccount('mjl', '203.0.9.1'), false); // 5 today
  assert.equal(af.checkAccount('mjl', '198.51.100.7'), true);
  // A network is known for a day after its last login.
  now = 86_400_000 + 1000;
  for (let i = 0; i < 3; i++) af.fail(`203.0.${i}.1`, 'mjl');
  assert.equal(af.checkAccount('mjl', '198.51.100.7'), false);
});

test('AuthFailureLimiter: a network is blocked at its wider class', () => {
  let now = 0;
  const af = new AuthFailureLimiter({ now: () => now });
  for (let i = 0; i < 30; i++) af.fail(`192.0.2.${i}`);
  assert.equal(af.check('192.0.2.40'), false); // /26 192.0.2.0 has 30
  assert.equal(af.check('192.0.2.64'), true);
  now = 60_000;
  assert.equal(af.check('192.0.2.40'), true);
});
