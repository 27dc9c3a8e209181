import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalIP, ipFromReverseName, ipv6Bytes, ipv6FromBytes, reverseName } from './ip.js';

test('canonicalIP gives RFC 5952 text for IPv6 and rejects non-addresses', () => {
  assert.equal(canonicalIP('192.0.2.1'), '192.0.2.1');
  assert.equal(canonicalIP('2001:DB8:0:0:0:0:0:1'), '2001:db8::1');
  assert.equal(canonicalIP('0:0:0:0:0:0:0:1'), '::1');
  assert.equal(canonicalIP('example.org'), undefined);
  assert.equal(canonicalIP('192.0.2.256'), undefined);
});

test('ipv6Bytes handles "::" and an embedded IPv4 tail', () => {
  const hex = (ip: string) => Buffer.from(ipv6Bytes(ip)).toString('hex');
  assert.equal(hex('::1'), '00000000000000000000000000000001');
  assert.equal(hex('::'), '00000000000000000000000000000000');
  assert.equal(hex('2001:db8::1:0:0:1'), '20010db8000000000001000000000001');
  assert.equal(hex('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201');
  assert.equal(hex('1:2:3:4:5:6:1.2.3.4'), '00010002000300040005000601020304');
  assert.equal(ipv6FromBytes(ipv6Bytes('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
});

test('reverseName builds in-addr.arpa and ip6.arpa names', () => {
  assert.equal(reverseName('192.0.2.10'), '10.2.0.192.in-addr.arpa');
  assert.equal(
    reverseName('2001:db8::567:89ab'),
    'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa',
  );
  assert.equal(reverseName('not-an-ip'), undefined);
});

test('ipFromReverseName inverts reverseName and rejects partial names', () => {
  for (const ip of ['192.0.2.10', '2001:db8::567:89ab', '::1', 'fe80::1:2']) {
    assert.equal(ipFromReverseName(reverseName(ip) ?? ''), ip);
  }
  assert.equal(ipFromReverseName('2.0.192.in-addr.arpa'), undefined);
  assert.equal(ipFromReverseName('10.02.0.192.in-addr.arpa'), undefined);
  assert.equal(ipFromReverseName('300.2.0.192.in-addr.arpa'), undefined);
  assert.equal(ipFromReverseName('1.0.ip6.arpa'), undefined);
  assert.equal(ipFromReverseName('example.org'), undefined);
});
