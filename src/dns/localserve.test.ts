import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LOCALSERVE_SPF, localserveResolver } from './localserve.js';
import { checkMailFromDomain } from './mailfrom.js';
import { lookupMXTargets } from './mx.js';
import { rejectsDNS } from './testutil.js';

test('hosted domains and localhost resolve to loopback', async () => {
  const r = localserveResolver(() => ['Example.ORG', 'other.example.']);
  for (const name of ['example.org', 'EXAMPLE.org.', 'other.example', 'localhost']) {
    assert.deepEqual(await r.mx(name), [{ exchange: 'localhost', priority: 10 }]);
    assert.deepEqual(await r.a(name), ['127.0.0.1']);
    assert.deepEqual(await r.aaaa(name), ['::1']);
    assert.deepEqual(await r.txt(name), ['v=spf1 ip4:127.0.0.0/8 ip6:::1 ~all']);
    await rejectsDNS(r.cname(name), { kind: 'notfound', code: 'ENODATA' });
  }
  assert.equal(LOCALSERVE_SPF, 'v=spf1 ip4:127.0.0.0/8 ip6:::1 ~all');
  assert.deepEqual(await r.ptr('127.0.0.1'), ['localhost']);
  assert.deepEqual(await r.ptr('0:0::1'), ['localhost']);
});

test('everything else is notfound', async () => {
  const r = localserveResolver(() => ['example.org']);
  await rejectsDNS(r.mx('gmail.com'), { kind: 'notfound', code: 'ENOTFOUND', name: 'gmail.com' });
  await rejectsDNS(r.a('sub.example.org'), { kind: 'notfound', rrtype: 'A' });
  await rejectsDNS(r.aaaa('gmail.com'), { kind: 'notfound', rrtype: 'AAAA' });
  await rejectsDNS(r.txt('_dmarc.example.org'), { kind: 'notfound', rrtype: 'TXT' });
  await rejectsDNS(r.cname('gmail.com'), { kind: 'notfound', code: 'ENOTFOUND' });
  await rejectsDNS(r.ptr('192.0.2.1'), { kind: 'notfound', rrtype: 'PTR' });
  await rejectsDNS(r.ptr('bogus'), { kind: 'permanent', code: 'EINVAL' });
});

test('hosted domains are read on every lookup', async () => {
  let domains = ['a.example'];
  const r = localserveResolver(() => domains);
  assert.equal(await checkMailFromDomain(r, 'b.example'), 'nxdomain');
  domains = ['a.example', 'b.example'];
  assert.equal(await checkMailFromDomain(r, 'b.example'), 'ok');
  assert.deepEqual(await lookupMXTargets(r, 'b.example'), {
    kind: 'hosts',
    hosts: [{ host: 'localhost', priority: 10, implicit: false }],
  });
});
