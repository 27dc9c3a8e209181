import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkMailFromDomain } from './mailfrom.js';
import { MockResolver } from './mock.js';
import type { Resolver } from './types.js';

const r = new MockResolver({
  mx: {
    'mx.example': [{ exchange: 'mail.mx.example', priority: 10 }],
    'nullmx.example': [{ exchange: '', priority: 0 }],
    'mixed.example': [
      { exchange: '', priority: 0 },
      { exchange: 'mail.mixed.example', priority: 10 },
    ],
    'tempaddr.example': [],
  },
  a: { 'v4.example': ['192.0.2.1'], 'tempv6.example': ['192.0.2.3'] },
  aaaa: { 'v6only.example': ['2001:db8::2'] },
  txt: { 'txtonly.example': ['v=spf1 -all'] },
  cname: { 'alias.example': ['mx.example'] },
  fail: {
    'MX tempmx.example': 'temporary',
    'MX permmx.example': 'permanent',
    'A tempaddr.example': 'temporary',
    'AAAA tempv6.example': 'temporary',
    'A permaddr.example': 'permanent',
    'AAAA permaddr.example': 'temporary',
  },
});

test('each outcome of the MAIL FROM domain check', async () => {
  const cases: [string, string][] = [
    ['mx.example', 'ok'],
    ['MX.Example.', 'ok'],
    ['nullmx.example', 'nullmx'],
    ['mixed.example', 'ok'],
    ['v4.example', 'ok'],
    ['v6only.example', 'ok'],
    ['txtonly.example', 'nomail'],
    ['nxdomain.example', 'nxdomain'],
    ['tempmx.example', 'temperror'],
    ['permmx.example', 'nomail'],
    ['tempaddr.example', 'temperror'],
    ['tempv6.example', 'ok'],
    ['permaddr.example', 'temperror'],
    ['alias.example', 'ok'],
  ];
  for (const [domain, want] of cases) {
    assert.equal(await checkMailFromDomain(r, domain), want, domain);
  }
});

test('address lookups are skipped when MX records answer', async () => {
  const asked: string[] = [];
  const counting: Resolver = {
    mx: async (n) => (asked.push(`MX ${n}`), r.mx(n)),
    a: async (n) => (asked.push(`A ${n}`), r.a(n)),
    aaaa: async (n) => (asked.push(`AAAA ${n}`), r.aaaa(n)),
    txt: (n) => r.txt(n),
    ptr: (n) => r.ptr(n),
    cname: (n) => r.cname(n),
  };
  assert.equal(await checkMailFromDomain(counting, 'nullmx.example'), 'nullmx');
  assert.deepEqual(asked, ['MX nullmx.example']);
  assert.equal(await checkMailFromDomain(counting, 'v4.example'), 'ok');
  assert.deepEqual(asked, [
    'MX nullmx.example',
    'MX v4.example',
    'A v4.example',
    'AAAA v4.example',
  ]);
});

test('errors that are not DNSErrors propagate', async () => {
  const bug = () => Promise.reject(new RangeError('bug'));
  const broken: Resolver = {
    mx: bug,
    a: (n) => r.a(n),
    aaaa: (n) => r.aaaa(n),
    txt: (n) => r.txt(n),
    ptr: (n) => r.ptr(n),
    cname: (n) => r.cname(n),
  };
  await assert.rejects(checkMailFromDomain(broken, 'mx.example'), RangeError);
  const brokenA: Resolver = { ...broken, mx: (n) => r.mx(n), a: bug };
  await assert.rejects(checkMailFromDomain(brokenA, 'v6only.example'), RangeError);
});
