import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MockResolver, type MockZone } from '../dns/mock.js';
import type { DnssecState } from '../dns/dnssec.js';
import { verifyIprev, type IprevResult, type IprevStatus } from './iprev.js';

const zone: MockZone = {
  ptr: {
    '192.0.2.1': ['mail.example.com'],
    // The first name points elsewhere, the second back: the second is the pass name.
    '192.0.2.2': ['other.example.net', 'Mail2.Example.COM.', 'third.example.org'],
    '2001:db8::25': ['v6.example.com'],
    '192.0.2.3': ['elsewhere.example.com', 'nowhere.example.com'],
    '192.0.2.4': ['slow.example.com'],
    '192.0.2.5': ['slow.example.com', 'elsewhere.example.com'],
    '192.0.2.6': ['slow.example.com', 'mail6.example.com'],
    '192.0.2.7': ['broken.example.com'],
    // An IPv4 address whose name has only an AAAA record, and the reverse.
    '192.0.2.8': ['v6.example.com'],
    '2001:db8::8': ['mail.example.com'],
  },
  a: {
    'mail.example.com': ['192.0.2.1'],
    'other.example.net': ['198.51.100.1'],
    'mail2.example.com': ['198.51.100.7', '192.0.2.2'],
    'third.example.org': ['192.0.2.2'],
    'elsewhere.example.com': ['198.51.100.3'],
    'mail6.example.com': ['192.0.2.6'],
  },
  aaaa: { 'v6.example.com': ['2001:DB8:0:0:0:0:0:25'] },
  fail: {
    'PTR 192.0.2.66': 'temporary',
    'PTR 192.0.2.67': 'permanent',
    'A slow.example.com': 'temporary',
    'broken.example.com': 'permanent',
  },
};

describe('verifyIprev results', () => {
  // The zone says nothing about DNSSEC: the state is always unknown.
  const r = new MockResolver(zone);
  const cases: [string, string, Omit<IprevResult, 'dnssec'>][] = [
    ['IPv4 name resolves back', '192.0.2.1', { status: 'pass', names: ['mail.example.com'] }],
    [
      'the confirmed name is listed first, the others keep their order',
      '192.0.2.2',
      {
        status: 'pass',
        names: ['mail2.example.com', 'other.example.net', 'third.example.org'],
      },
    ],
    ['IPv6 name resolves back', '2001:db8::25', { status: 'pass', names: ['v6.example.com'] }],
    [
      'IPv6 written out in full',
      '2001:0DB8:0000:0000:0000:0000:0000:0025',
      { status: 'pass', names: ['v6.example.com'] },
    ],
    [
      // How node reports an IPv4 client on a dual-stack socket (RFC 4291 §2.5.5.2).
      'IPv4-mapped IPv6 is looked up as IPv4',
      '::ffff:192.0.2.1',
      { status: 'pass', names: ['mail.example.com'] },
    ],
    ['IPv4-mapped IPv6 in hex', '::FFFF:c000:201', { status: 'pass', names: ['mail.example.com'] }],
    ['no PTR record', '192.0.2.99', { status: 'permerror', names: [] }],
    ['no PTR record (IPv6)', '2001:db8::99', { status: 'permerror', names: [] }],
    [
      'PTR names resolve elsewhere or not at all',
      '192.0.2.3',
      { status: 'fail', names: ['elsewhere.example.com', 'nowhere.example.com'] },
    ],
    [
      'an IPv4 client is not confirmed by an AAAA record',
      '192.0.2.8',
      { status: 'fail', names: ['v6.example.com'] },
    ],
    [
      'an IPv6 client is not confirmed by an A record',
      '2001:db8::8',
      { status: 'fail', names: ['mail.example.com'] },
    ],
    ['PTR lookup fails temporarily', '192.0.2.66', { status: 'temperror', names: [] }],
    ['PTR lookup fails permanently', '192.0.2.67', { status: 'permerror', names: [] }],
    [
      'forward lookup fails temporarily, no other name matches',
      '192.0.2.4',
      { status: 'temperror', names: ['slow.example.com'] },
    ],
    [
      'forward lookup fails temporarily, the other name resolves elsewhere',
      '192.0.2.5',
      { status: 'temperror', names: ['slow.example.com', 'elsewhere.example.com'] },
    ],
    [
      'a temporary failure does not hide a match',
      '192.0.2.6',
      { status: 'pass', names: ['mail6.example.com', 'slow.example.com'] },
    ],
    [
      'a permanent forward failure is a fail',
      '192.0.2.7',
      { status: 'fail', names: ['broken.example.com'] },
    ],
    ['not an IP address', 'mail.example.com', { status: 'permerror', names: [] }],
    ['empty', '', { status: 'permerror', names: [] }],
    ['address literal with brackets', '[192.0.2.1]', { status: 'permerror', names: [] }],
  ];
  for (const [name, ip, want] of cases) {
    test(name, async () =>
      assert.deepEqual(await verifyIprev(ip, r), { ...want, dnssec: 'unknown' }),
    );
  }
});

describe('verifyIprev DNSSEC state: the lookups that decided the result', () => {
  const signed = (authentic: string[]) =>
    new MockResolver({
      ...zone,
      // 192.0.2.9 reverses to a name without address: fail.
      ptr: { ...zone.ptr, '192.0.2.9': ['gone.example.com'] },
      authentic,
    });
  const cases: [string, string, string[], IprevStatus, DnssecState][] = [
    ['PTR and A signed', '192.0.2.1', ['192.0.2.1', 'example.com'], 'pass', 'with'],
    ['PTR signed, A not', '192.0.2.1', ['192.0.2.1'], 'pass', 'without'],
    ['A signed, PTR not', '192.0.2.1', ['example.com'], 'pass', 'without'],
    ['IPv6, both signed', '2001:db8::25', ['2001:db8::25', 'v6.example.com'], 'pass', 'with'],
    // Only the confirming name counts: other.example.net's unsigned answer decided nothing.
    ['pass through the second name', '192.0.2.2', ['192.0.2.2', 'example.com'], 'pass', 'with'],
    ['fail: every name counts', '192.0.2.3', ['192.0.2.3', 'example.com'], 'fail', 'with'],
    [
      'fail, one name unsigned',
      '192.0.2.3',
      ['192.0.2.3', 'elsewhere.example.com'],
      'fail',
      'without',
    ],
    ['fail with NXDOMAIN signed', '192.0.2.9', ['192.0.2.9', 'example.com'], 'fail', 'with'],
    ['no PTR, NXDOMAIN signed', '192.0.2.99', ['2.0.192.in-addr.arpa'], 'permerror', 'with'],
    ['no PTR, unsigned', '192.0.2.99', ['example.com'], 'permerror', 'without'],
    ['PTR failure is not authentic', '192.0.2.66', ['in-addr.arpa'], 'temperror', 'without'],
    ['not an IP address: no lookup', 'x', ['example.com'], 'permerror', 'unknown'],
  ];
  for (const [name, ip, authentic, status, dnssec] of cases) {
    test(name, async () => {
      const got = await verifyIprev(ip, signed(authentic));
      assert.deepEqual([got.status, got.dnssec], [status, dnssec]);
    });
  }
});

/** A MockResolver that records the forward lookups made. */
class CountingResolver extends MockResolver {
  readonly forward: string[] = [];
  override async a(name: string): Promise<string[]> {
    this.forward.push(`A ${name}`);
    return super.a(name);
  }
  override async aaaa(name: string): Promise<string[]> {
    this.forward.push(`AAAA ${name}`);
    return super.aaaa(name);
  }
}

test('only the first 10 PTR names are looked up', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `h${i + 1}.example.com`);
  const a: Record<string, string[]> = {};
  for (const n of names) a[n] = ['198.51.100.1'];
  // The 11th name would confirm the address, but it is past the limit.
  a['h11.example.com'] = ['192.0.2.1'];
  const r = new CountingResolver({ ptr: { '192.0.2.1': names }, a });
  assert.deepEqual(await verifyIprev('192.0.2.1', r), { status: 'fail', names, dnssec: 'unknown' });
  assert.deepEqual(
    r.forward,
    names.slice(0, 10).map((n) => `A ${n}`),
  );

  // The 10th name is still looked up.
  r.update((z) => {
    z.a = { ...a, 'h10.example.com': ['192.0.2.1'] };
  });
  r.forward.length = 0;
  const got = await verifyIprev('192.0.2.1', r);
  assert.equal(got.status, 'pass');
  assert.deepEqual(got.names, ['h10.example.com', ...names.filter((n) => n !== 'h10.example.com')]);
  assert.deepEqual(
    r.forward,
    names.slice(0, 10).map((n) => `A ${n}`),
  );
});

test('an IPv6 client is looked up by AAAA, an IPv4 one by A', async () => {
  const r = new CountingResolver(zone);
  await verifyIprev('2001:db8::25', r);
  await verifyIprev('192.0.2.1', r);
  assert.deepEqual(r.forward, ['AAAA v6.example.com', 'A mail.example.com']);
});
