import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DNSError,
  dnsErrorFromCode,
  errorKindOfCode,
  isNotFound,
  isTemporary,
  normalizeName,
} from './types.js';

test('DNSError carries kind, queried name, type and code', () => {
  const e = new DNSError(
    'MX lookup of example.org: boom',
    'temporary',
    'example.org',
    'MX',
    'ESERVFAIL',
  );
  assert.ok(e instanceof Error);
  assert.equal(e.message, 'MX lookup of example.org: boom');
  assert.equal(e.kind, 'temporary');
  assert.equal(e.name, 'example.org');
  assert.equal(e.rrtype, 'MX');
  assert.equal(e.code, 'ESERVFAIL');
  assert.equal(new DNSError('x', 'notfound', 'a', 'A').code, '');
});

test('isNotFound and isTemporary look only at DNSError kinds', () => {
  const nf = new DNSError('x', 'notfound', 'a', 'A');
  const tmp = new DNSError('x', 'temporary', 'a', 'A');
  const perm = new DNSError('x', 'permanent', 'a', 'A');
  assert.deepEqual([isNotFound(nf), isNotFound(tmp), isNotFound(perm)], [true, false, false]);
  assert.deepEqual([isTemporary(nf), isTemporary(tmp), isTemporary(perm)], [false, true, false]);
  const plain = Object.assign(new Error('x'), { kind: 'notfound' });
  assert.equal(isNotFound(plain), false);
  assert.equal(isTemporary(undefined), false);
  assert.equal(isNotFound('notfound'), false);
});

test('node:dns codes map to kinds', () => {
  const want: Record<string, string> = {
    ENOTFOUND: 'notfound',
    ENODATA: 'notfound',
    ESERVFAIL: 'temporary',
    ETIMEOUT: 'temporary',
    ECONNREFUSED: 'temporary',
    EREFUSED: 'temporary',
    ECANCELLED: 'temporary',
    EFORMERR: 'permanent',
    ENOTIMP: 'permanent',
    EBADNAME: 'permanent',
    EBADRESP: 'permanent',
    EWHATEVER: 'permanent',
  };
  for (const [code, kind] of Object.entries(want)) assert.equal(errorKindOfCode(code), kind, code);
});

test('dnsErrorFromCode builds a readable message', () => {
  const e = dnsErrorFromCode('ENOTFOUND', 'nope.example', 'MX');
  assert.equal(e.message, 'MX lookup of nope.example: domain does not exist (NXDOMAIN)');
  assert.deepEqual(
    [e.kind, e.name, e.rrtype, e.code],
    ['notfound', 'nope.example', 'MX', 'ENOTFOUND'],
  );
  assert.equal(dnsErrorFromCode('EODD', 'x', 'A').message, 'A lookup of x: EODD');
});

test('normalizeName lower-cases and drops one trailing dot', () => {
  assert.equal(normalizeName('Mail.Example.ORG.'), 'mail.example.org');
  assert.equal(normalizeName('example.org'), 'example.org');
  assert.equal(normalizeName('.'), '');
  assert.equal(normalizeName(''), '');
});
