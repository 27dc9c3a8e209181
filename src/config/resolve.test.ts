import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDomainsConfig } from './domains.js';
import { accountAddresses, postmasterTarget, resolveAddress } from './resolve.js';

const cfg = parseDomainsConfig(
  `
[domains."example.com"]
localpart_catchall_separators = ["+", "-"]
[domains."example.org"]
localpart_case_sensitive = true
[domains."exämple.net"]
[domains."catch.example"]
[accounts.alice]
domain = "example.com"
destinations.alice = {}
destinations."a.b" = { mailbox = "AB" }
destinations."Alice@example.org" = { mailbox = "Org" }
[accounts.bob]
domain = "example.com"
destinations.bob = {}
destinations."jörg@exämple.net" = {}
destinations."@catch.example" = { mailbox = "Catch" }
destinations."known@catch.example" = {}
[aliases."team@example.com"]
members = ["alice@example.com", "bob@example.com"]
allow_msg_from = true
`,
  '/etc/tidings/domains.toml',
);

const alice = cfg.accounts.alice?.destinations ?? {};
const bob = cfg.accounts.bob?.destinations ?? {};

test('exact, case-folded and catch-all separator addresses', () => {
  const want = {
    kind: 'account',
    account: 'alice',
    destination: { mailbox: 'Inbox', rules: [] },
    destinationAddress: 'alice@example.com',
    canonical: 'alice@example.com',
  };
  for (const addr of [
    'alice@example.com',
    'ALICE@Example.COM',
    'alice+news@example.com',
    'Alice-x+y@example.com',
    'alice+@example.com',
  ]) {
    assert.deepEqual(resolveAddress(cfg, addr), want, addr);
  }
  assert.deepEqual(resolveAddress(cfg, { localpart: 'A.B+z', domain: 'EXAMPLE.com' }), {
    kind: 'account',
    account: 'alice',
    destination: alice['a.b@example.com'],
    destinationAddress: 'a.b@example.com',
    canonical: 'a.b@example.com',
  });
});

test('case-sensitive domain', () => {
  assert.equal(resolveAddress(cfg, 'Alice@example.org').kind, 'account');
  assert.deepEqual(resolveAddress(cfg, 'alice@example.org'), {
    kind: 'unknown-user',
    domain: 'example.org',
  });
  // No separators configured for example.org: "+" is part of the localpart.
  assert.deepEqual(resolveAddress(cfg, 'Alice+x@example.org'), {
    kind: 'unknown-user',
    domain: 'example.org',
  });
});

test('international domain and localpart', () => {
  const r = resolveAddress(cfg, 'jo\u0308rg@EXÄMPLE.net');
  assert.deepEqual(r, {
    kind: 'account',
    account: 'bob',
    destination: bob['jörg@xn--exmple-cua.net'],
    destinationAddress: 'jörg@xn--exmple-cua.net',
    canonical: 'jörg@xn--exmple-cua.net',
  });
  assert.equal(resolveAddress(cfg, 'jörg@xn--exmple-cua.net').kind, 'account');
});

test('aliases', () => {
  const r = resolveAddress(cfg, 'Team+x@example.com');
  assert.deepEqual(r, {
    kind: 'alias',
    alias: cfg.aliases['team@example.com'],
    canonical: 'team@example.com',
    members: [
      {
        account: 'alice',
        destination: { mailbox: 'Inbox', rules: [] },
        canonical: 'alice@example.com',
      },
      {
        account: 'bob',
        destination: { mailbox: 'Inbox', rules: [] },
        canonical: 'bob@example.com',
      },
    ],
  });
});

test('catch-all destination', () => {
  assert.deepEqual(resolveAddress(cfg, 'anyone@catch.example'), {
    kind: 'account',
    account: 'bob',
    destination: { mailbox: 'Catch', rules: [] },
    destinationAddress: '@catch.example',
    canonical: 'anyone@catch.example',
  });
  assert.deepEqual(resolveAddress(cfg, 'Known@catch.example'), {
    kind: 'account',
    account: 'bob',
    destination: { mailbox: 'Inbox', rules: [] },
    destinationAddress: 'known@catch.example',
    canonical: 'known@catch.example',
  });
});

test('unknown user versus unknown domain', () => {
  assert.deepEqual(resolveAddress(cfg, 'carol@example.com'), {
    kind: 'unknown-user',
    domain: 'example.com',
  });
  assert.deepEqual(resolveAddress(cfg, 'alicex@example.com'), {
    kind: 'unknown-user',
    domain: 'example.com',
  });
  assert.deepEqual(resolveAddress(cfg, 'alice@example.net'), {
    kind: 'unknown-domain',
    domain: 'example.net',
  });
  assert.deepEqual(resolveAddress(cfg, 'alice@sub.example.com'), {
    kind: 'unknown-domain',
    domain: 'sub.example.com',
  });
  assert.deepEqual(resolveAddress(cfg, 'alice'), { kind: 'unknown-domain', domain: '' });
  assert.deepEqual(resolveAddress(cfg, 'alice@[192.0.2.1]'), {
    kind: 'unknown-domain',
    domain: '[192.0.2.1]',
  });
});

test('accountAddresses', () => {
  assert.deepEqual(accountAddresses(cfg, 'alice'), [
    'alice@example.com',
    'a.b@example.com',
    'Alice@example.org',
  ]);
  assert.deepEqual(accountAddresses(cfg, 'bob'), [
    'bob@example.com',
    'jörg@xn--exmple-cua.net',
    '@catch.example',
    'known@catch.example',
  ]);
  assert.deepEqual(accountAddresses(cfg, 'nobody'), []);
});

test('postmaster at every domain goes to the configured postmaster', () => {
  const withPm = parseDomainsConfig(
    `[postmaster]
account = "bob"
mailbox = "Postmaster"
[domains."example.com"]
localpart_catchall_separators = ["+"]
[domains."catch.example"]
[domains."own.example"]
[accounts.alice]
domain = "example.com"
destinations.alice = {}
destinations."postmaster@own.example" = { mailbox = "Own" }
[accounts.bob]
domain = "example.com"
destinations.bob = {}
destinations."@catch.example" = {}
`,
    '/etc/tidings/domains.toml',
  );
  const pm = (canonical: string) => ({
    kind: 'account',
    account: 'bob',
    destination: { mailbox: 'Postmaster', rules: [] },
    destinationAddress: canonical,
    canonical,
  });
  assert.deepEqual(resolveAddress(withPm, 'postmaster@example.com'), pm('postmaster@example.com'));
  assert.deepEqual(
    resolveAddress(withPm, 'PostMaster+x@example.com'),
    pm('postmaster@example.com'),
  );
  // Not taken by a catch-all.
  assert.deepEqual(
    resolveAddress(withPm, 'postmaster@catch.example'),
    pm('postmaster@catch.example'),
  );
  // An address of its own wins.
  assert.equal(resolveAddress(withPm, 'postmaster@own.example').kind, 'account');
  assert.deepEqual(
    (resolveAddress(withPm, 'postmaster@own.example') as { account: string }).account,
    'alice',
  );
  assert.deepEqual(resolveAddress(withPm, 'postmaster@elsewhere.example'), {
    kind: 'unknown-domain',
    domain: 'elsewhere.example',
  });
  // Without [postmaster], postmaster is an address like any other.
  assert.deepEqual(resolveAddress(cfg, 'postmaster@example.com'), {
    kind: 'unknown-user',
    domain: 'example.com',
  });
  assert.equal(postmasterTarget(cfg, 'postmaster@x.example'), null);
});
