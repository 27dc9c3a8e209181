import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockResolver } from './mock.js';
import { rejectsDNS } from './testutil.js';
import { ZoneError, type MockZone } from './zone.js';

const zone: MockZone = {
  mx: {
    'Example.ORG.': [
      { exchange: 'MX1.Example.org.', priority: 10 },
      { exchange: 'mx2.example.org', priority: 20 },
    ],
    'null.example': [{ exchange: '.', priority: 0 }],
  },
  a: { 'mx1.example.org': ['192.0.2.1'], 'target.example': ['192.0.2.9'] },
  aaaa: { 'mx1.example.org': ['2001:DB8:0:0:0:0:0:1'] },
  txt: { 'example.org': ['v=spf1 -all', 'hello world'] },
  ptr: { '192.0.2.1': ['MX1.example.org.'], '2001:db8::1': ['v6.example.org'] },
  cname: {
    'alias.example': ['Target.Example.'],
    'loop1.example': ['loop2.example'],
    'loop2.example': ['loop1.example'],
  },
  fail: {
    'broken.example': 'temporary',
    'MX half.example': 'temporary',
    'txt perm.example': 'permanent',
    'PTR 192.0.2.66': 'temporary',
  },
};

test('answers every record type, normalising names', async () => {
  const r = new MockResolver(zone);
  assert.deepEqual(await r.mx('example.org'), [
    { exchange: 'mx1.example.org', priority: 10 },
    { exchange: 'mx2.example.org', priority: 20 },
  ]);
  assert.deepEqual(await r.mx('null.example'), [{ exchange: '', priority: 0 }]);
  assert.deepEqual(await r.a('MX1.EXAMPLE.ORG.'), ['192.0.2.1']);
  assert.deepEqual(await r.aaaa('mx1.example.org'), ['2001:db8::1']);
  assert.deepEqual(await r.txt('example.org'), ['v=spf1 -all', 'hello world']);
  assert.deepEqual(await r.ptr('192.0.2.1'), ['mx1.example.org']);
  assert.deepEqual(await r.ptr('2001:db8:0::1'), ['v6.example.org']);
  assert.deepEqual(await r.cname('alias.example'), ['target.example']);
});

test('distinguishes NXDOMAIN from NODATA, both notfound', async () => {
  const r = new MockResolver(zone);
  await rejectsDNS(r.a('nope.example'), {
    kind: 'notfound',
    code: 'ENOTFOUND',
    name: 'nope.example',
    rrtype: 'A',
  });
  await rejectsDNS(r.mx('mx1.example.org'), { kind: 'notfound', code: 'ENODATA', rrtype: 'MX' });
  // A parent of a name with records exists (RFC 8020).
  await rejectsDNS(r.a('example'), { kind: 'notfound', code: 'ENODATA' });
  await rejectsDNS(r.ptr('192.0.2.2'), {
    kind: 'notfound',
    code: 'ENOTFOUND',
    name: '192.0.2.2',
    rrtype: 'PTR',
  });
  await rejectsDNS(r.cname('example.org'), { kind: 'notfound', code: 'ENODATA', rrtype: 'CNAME' });
});

test('follows CNAMEs for other types and stops loops', async () => {
  const r = new MockResolver(zone);
  assert.deepEqual(await r.a('Alias.Example'), ['192.0.2.9']);
  await rejectsDNS(r.aaaa('alias.example'), {
    kind: 'notfound',
    code: 'ENODATA',
    name: 'alias.example',
  });
  await rejectsDNS(r.a('loop1.example'), {
    kind: 'permanent',
    code: 'ECNAMELOOP',
    name: 'loop1.example',
  });
});

test('fail entries by name, by "TYPE name" and for PTR by IP', async () => {
  const r = new MockResolver(zone);
  for (const p of [r.mx('broken.example'), r.a('BROKEN.example.'), r.txt('broken.example')]) {
    await rejectsDNS(p, { kind: 'temporary', code: 'ESERVFAIL' });
  }
  await rejectsDNS(r.mx('half.example'), { kind: 'temporary', name: 'half.example', rrtype: 'MX' });
  await rejectsDNS(r.a('half.example'), { kind: 'notfound', code: 'ENOTFOUND' });
  await rejectsDNS(r.txt('perm.example'), { kind: 'permanent', code: 'EFORMERR', rrtype: 'TXT' });
  await rejectsDNS(r.ptr('192.0.2.66'), { kind: 'temporary', name: '192.0.2.66', rrtype: 'PTR' });
  await rejectsDNS(r.ptr('not-an-ip'), { kind: 'permanent', code: 'EINVAL' });
});

test('setZone and update change later answers; results are copies', async () => {
  const r = new MockResolver({ a: { 'h.example': ['192.0.2.1'] } });
  const first = await r.a('h.example');
  first.push('192.0.2.99');
  assert.deepEqual(await r.a('h.example'), ['192.0.2.1']);
  r.update((z) => {
    z.a = { ...z.a, 'h.example': ['192.0.2.2'] };
    z.fail = { 'MX h.example': 'temporary' };
  });
  assert.deepEqual(await r.a('h.example'), ['192.0.2.2']);
  await rejectsDNS(r.mx('h.example'), { kind: 'temporary' });
  r.update(() => ({ mx: { 'h.example': [{ exchange: 'mx.example', priority: 1 }] } }));
  assert.deepEqual(await r.mx('h.example'), [{ exchange: 'mx.example', priority: 1 }]);
  await rejectsDNS(r.a('h.example'), { kind: 'notfound', code: 'ENODATA' });
  r.setZone({});
  await rejectsDNS(r.mx('h.example'), { kind: 'notfound', code: 'ENOTFOUND' });
});

test('an empty record list is no records', async () => {
  const r = new MockResolver({ a: { 'h.example': [] }, aaaa: { 'h.example': ['::1'] } });
  await rejectsDNS(r.a('h.example'), { kind: 'notfound', code: 'ENODATA' });
});

test('unusable zone entries throw ZoneError', () => {
  const bad: MockZone[] = [
    { a: { 'h.example': ['2001:db8::1'] } },
    { aaaa: { 'h.example': ['192.0.2.1'] } },
    { mx: { 'h.example': [{ exchange: 'mx.example', priority: 70000 }] } },
    { mx: { 'h.example': [{ exchange: 'mx.example', priority: 1.5 }] } },
    { ptr: { 'h.example': ['x.example'] } },
    { a: { 'a..example': ['192.0.2.1'] } },
    { a: { ['x'.repeat(64) + '.example']: ['192.0.2.1'] } },
    { a: { [`${'abcdefghi.'.repeat(26)}example`]: ['192.0.2.1'] } },
    { cname: { 'h.example': [''] } },
    { fail: { 'h.example': 'sometimes' as 'temporary' } },
  ];
  for (const z of bad) assert.throws(() => new MockResolver(z), ZoneError, JSON.stringify(z));
});
