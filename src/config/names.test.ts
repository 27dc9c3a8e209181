import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkAccountName,
  checkMailboxName,
  MailboxNameError,
  normalizeDomain,
  normalizeLocalpart,
  parseAddress,
} from './names.js';

test('checkMailboxName accepts and normalises', () => {
  const cases: [string, string][] = [
    ['Inbox', 'Inbox'],
    ['INBOX', 'Inbox'],
    ['inbox/Sub', 'Inbox/Sub'],
    ['iNbOx/INBOX', 'Inbox/INBOX'],
    ['Archive', 'Archive'],
    ['Archive/2024', 'Archive/2024'],
    ['Lists/a%b*c&d#e', 'Lists/a%b*c&d#e'],
    ['Inboxes', 'Inboxes'],
    ['Entwürfe', 'Entwürfe'],
    ['日本語/メール', '日本語/メール'],
    ['a.b/..c/d.', 'a.b/..c/d.'],
  ];
  for (const [input, want] of cases) assert.equal(checkMailboxName(input), want, input);
});

test('checkMailboxName rejects', () => {
  const cases: [string, string][] = [
    ['', 'empty name'],
    ['/Archive', 'starts with "/"'],
    ['Archive/', 'ends with "/"'],
    ['a//b', 'contains "//"'],
    ['a/./b', 'contains a "." level'],
    ['..', 'contains a ".." level'],
    ['a/..', 'contains a ".." level'],
    ['#news', 'starts with "#"'],
    ['a\tb', 'contains control characters'],
    ['a\u0000b', 'contains control characters'],
    ['a\u007fb', 'contains control characters'],
    ['a\u0085b', 'contains control characters'],
    ['a\u2028b', 'contains control characters'],
    ['Entwu\u0308rfe', 'not in Unicode normalization form C (NFC)'],
    ['a\ud800b', 'not valid Unicode'],
  ];
  for (const [input, reason] of cases) {
    assert.throws(
      () => checkMailboxName(input),
      (err: unknown) =>
        err instanceof MailboxNameError && err.reason === reason && err.mailbox === input,
      JSON.stringify(input),
    );
  }
});

test('normalizeDomain lower-cases, converts IDNA and rejects bad names', () => {
  assert.deepEqual(normalizeDomain('Example.COM'), { domain: 'example.com' });
  assert.deepEqual(normalizeDomain('exämple.org'), { domain: 'xn--exmple-cua.org' });
  assert.deepEqual(normalizeDomain('xn--exmple-cua.org'), { domain: 'xn--exmple-cua.org' });
  assert.deepEqual(normalizeDomain('localhost'), { domain: 'localhost' });
  assert.deepEqual(normalizeDomain('example.com.'), {
    problem: 'domain "example.com." must not end with a dot',
  });
  assert.deepEqual(normalizeDomain('192.0.2.1'), {
    problem: '"192.0.2.1" is an IP address or numeric, not a domain name',
  });
  assert.deepEqual(normalizeDomain(''), { problem: 'empty domain name' });
  for (const bad of ['a..b', '-a.com', 'a-.com', 'under_score.com', 'a b.com', 'a@b.com']) {
    assert.ok('problem' in normalizeDomain(bad), bad);
  }
  assert.ok('problem' in normalizeDomain(`${'a'.repeat(64)}.com`));
});

test('checkAccountName', () => {
  for (const ok of ['alice', 'a.b-c_d', 'A1', 'x'.repeat(64)])
    assert.equal(checkAccountName(ok), undefined, ok);
  assert.equal(checkAccountName('x'.repeat(65)), 'account name is longer than 64 characters');
  assert.equal(checkAccountName('.hidden'), 'account name must not start with "."');
  assert.equal(checkAccountName('..'), 'account name must not start with "."');
  assert.equal(
    checkAccountName('a/b'),
    'invalid account name "a/b": use letters, digits, ".", "-" and "_"',
  );
  assert.equal(
    checkAccountName(''),
    'invalid account name "": use letters, digits, ".", "-" and "_"',
  );
  assert.notEqual(checkAccountName('jörg'), undefined);
});

test('parseAddress and localparts', () => {
  assert.deepEqual(parseAddress('Alice.B+x@Example.com'), {
    localpart: 'Alice.B+x',
    domain: 'example.com',
  });
  assert.deepEqual(parseAddress('jörg@exämple.org'), {
    localpart: 'jörg',
    domain: 'xn--exmple-cua.org',
  });
  assert.deepEqual(parseAddress('alice'), { problem: 'address "alice" has no "@"' });
  assert.deepEqual(parseAddress('@example.com'), { problem: 'empty localpart' });
  assert.ok('problem' in parseAddress('a..b@example.com'));
  assert.ok('problem' in parseAddress('.a@example.com'));
  assert.ok('problem' in parseAddress('a b@example.com'));
  assert.ok('problem' in parseAddress('"a"@example.com'));
  assert.deepEqual(normalizeLocalpart('x'.repeat(65)), {
    problem: `localpart "${'x'.repeat(65)}" is longer than 64 octets`,
  });
  assert.deepEqual(normalizeLocalpart('jo\u0308rg'), { localpart: 'jörg' });
});
