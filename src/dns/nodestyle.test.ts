import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockResolver } from './mock.js';
import { nodeStyleResolve } from './nodestyle.js';
import { DNSError } from './types.js';

const resolve = nodeStyleResolve(
  new MockResolver({
    mx: { 'example.org': [{ exchange: 'mx.example.org', priority: 10 }] },
    a: { 'example.org': ['192.0.2.1'] },
    aaaa: { 'example.org': ['2001:db8::1'] },
    txt: { 'example.org': ['v=spf1 -all'] },
    ptr: { '192.0.2.1': ['example.org'] },
    cname: { 'www.example.org': ['example.org'] },
    fail: { 'broken.example': 'temporary' },
  }),
);

test('returns records shaped like node:dns resolve', async () => {
  assert.deepEqual(await resolve('example.org'), ['192.0.2.1']);
  assert.deepEqual(await resolve('example.org', 'a'), ['192.0.2.1']);
  assert.deepEqual(await resolve('example.org', 'AAAA'), ['2001:db8::1']);
  assert.deepEqual(await resolve('example.org', 'MX'), [
    { exchange: 'mx.example.org', priority: 10 },
  ]);
  assert.deepEqual(await resolve('example.org', 'TXT'), [['v=spf1 -all']]);
  assert.deepEqual(await resolve('www.example.org', 'CNAME'), ['example.org']);
  assert.deepEqual(await resolve('1.2.0.192.in-addr.arpa.', 'PTR'), ['example.org']);
  assert.deepEqual(await resolve('192.0.2.1', 'PTR'), ['example.org']);
});

test('failures carry node:dns error codes', async () => {
  const code = async (name: string, type: string) => {
    try {
      await resolve(name, type);
    } catch (e) {
      assert.ok(!(e instanceof DNSError));
      return (e as NodeJS.ErrnoException).code;
    }
    return 'resolved';
  };
  assert.equal(await code('nope.example', 'TXT'), 'ENOTFOUND');
  assert.equal(await code('example.org', 'CNAME'), 'ENODATA');
  assert.equal(await code('broken.example', 'MX'), 'ESERVFAIL');
  assert.equal(await code('example.org', 'SRV'), 'ENOTIMP');
});
