import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockResolver } from './mock.js';
import { lookupIPs, lookupMXTargets } from './mx.js';
import { rejectsDNS } from './testutil.js';

const r = new MockResolver({
  mx: {
    'multi.example': [
      { exchange: 'c.example', priority: 10 },
      { exchange: 'e.example', priority: 20 },
      { exchange: 'a.example', priority: 10 },
      { exchange: 'D.example.', priority: 5 },
      { exchange: 'b.example', priority: 10 },
    ],
    'dup.example': [
      { exchange: 'x.example', priority: 20 },
      { exchange: 'X.example.', priority: 10 },
      { exchange: 'y.example', priority: 15 },
    ],
    'nullmx.example': [{ exchange: '', priority: 0 }],
    'mixed.example': [
      { exchange: '', priority: 0 },
      { exchange: 'mail.mixed.example', priority: 10 },
    ],
  },
  a: { 'v4.example': ['192.0.2.1', '192.0.2.2'], 'half.example': ['192.0.2.5'] },
  aaaa: { 'v4.example': ['2001:db8::1'], 'v6only.example': ['2001:db8::2'] },
  txt: { 'txtonly.example': ['hello'] },
  fail: {
    'MX tempmx.example': 'temporary',
    'MX permmx.example': 'permanent',
    'A tempaddr.example': 'temporary',
    'AAAA half.example': 'temporary',
    'tempboth.example': 'temporary',
    'A permaddr.example': 'permanent',
  },
});

const hostsOf = async (domain: string, random: () => number) => {
  const res = await lookupMXTargets(r, domain, { random });
  assert.equal(res.kind, 'hosts');
  return res.kind === 'hosts' ? res.hosts.map((h) => `${h.priority}:${h.host}`) : [];
};

test('MX hosts sorted by priority, equal priorities shuffled with the given random', async () => {
  // random near 1 keeps each item in place (Fisher-Yates picks j = i): DNS order.
  assert.deepEqual(await hostsOf('multi.example', () => 0.999), [
    '5:d.example',
    '10:c.example',
    '10:a.example',
    '10:b.example',
    '20:e.example',
  ]);
  // random 0 always swaps with the group's first item: [c,a,b] -> [b,a,c] -> [a,b,c].
  assert.deepEqual(await hostsOf('multi.example', () => 0), [
    '5:d.example',
    '10:a.example',
    '10:b.example',
    '10:c.example',
    '20:e.example',
  ]);
  // 0.5 swaps the last with the middle ([c,b,a]), then 0 swaps the first two ([b,c,a]).
  const seq = [0.5, 0.0];
  assert.deepEqual(await hostsOf('multi.example', () => seq.shift() ?? 0), [
    '5:d.example',
    '10:b.example',
    '10:c.example',
    '10:a.example',
    '20:e.example',
  ]);
});

test('every order of equal priorities is reachable with Math.random', async () => {
  const seen = new Set<string>();
  for (let i = 0; i < 400 && seen.size < 6; i++) {
    seen.add((await hostsOf('multi.example', Math.random)).slice(1, 4).join(','));
  }
  assert.equal(seen.size, 6);
});

test('targets carry implicit false and a host listed twice keeps its best priority', async () => {
  const res = await lookupMXTargets(r, 'dup.example');
  assert.deepEqual(res, {
    kind: 'hosts',
    hosts: [
      { host: 'x.example', priority: 10, implicit: false },
      { host: 'y.example', priority: 15, implicit: false },
    ],
  });
});

test('null MX, implicit MX and no mail', async () => {
  assert.deepEqual(await lookupMXTargets(r, 'nullmx.example'), { kind: 'nullmx' });
  assert.deepEqual(await lookupMXTargets(r, 'mixed.example'), {
    kind: 'hosts',
    hosts: [{ host: 'mail.mixed.example', priority: 10, implicit: false }],
  });
  for (const domain of ['V4.Example.', 'v6only.example', 'half.example']) {
    assert.deepEqual(await lookupMXTargets(r, domain), {
      kind: 'hosts',
      hosts: [{ host: domain.toLowerCase().replace(/\.$/, ''), priority: 0, implicit: true }],
    });
  }
  assert.deepEqual(await lookupMXTargets(r, 'txtonly.example'), { kind: 'nomail' });
  assert.deepEqual(await lookupMXTargets(r, 'nxdomain.example'), { kind: 'nomail' });
});

test('temporary and permanent failures reject with the DNSError', async () => {
  await rejectsDNS(lookupMXTargets(r, 'tempmx.example'), { kind: 'temporary', rrtype: 'MX' });
  await rejectsDNS(lookupMXTargets(r, 'tempaddr.example'), { kind: 'temporary', rrtype: 'A' });
  await rejectsDNS(lookupMXTargets(r, 'permmx.example'), { kind: 'permanent', rrtype: 'MX' });
  await rejectsDNS(lookupMXTargets(r, 'permaddr.example'), { kind: 'permanent', rrtype: 'A' });
});

test('lookupIPs returns both families and tolerates one missing', async () => {
  assert.deepEqual(await lookupIPs(r, 'v4.example'), {
    v6: ['2001:db8::1'],
    v4: ['192.0.2.1', '192.0.2.2'],
  });
  assert.deepEqual(await lookupIPs(r, 'v6only.example'), { v6: ['2001:db8::2'], v4: [] });
  assert.deepEqual(await lookupIPs(r, 'half.example'), { v6: [], v4: ['192.0.2.5'] });
  await rejectsDNS(lookupIPs(r, 'tempboth.example'), { kind: 'temporary' });
  await rejectsDNS(lookupIPs(r, 'tempaddr.example'), { kind: 'temporary', rrtype: 'A' });
  await rejectsDNS(lookupIPs(r, 'permaddr.example'), { kind: 'permanent', rrtype: 'A' });
  await rejectsDNS(lookupIPs(r, 'nxdomain.example'), { kind: 'notfound', code: 'ENOTFOUND' });
  await rejectsDNS(lookupIPs(r, 'txtonly.example'), { kind: 'notfound', code: 'ENODATA' });
});
