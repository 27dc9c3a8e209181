import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeDomains } from './describe.js';
import { type DomainsConfig, loadDomainsConfig, parseDomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';
import { tempDir } from './testutil.js';
import { serializeDomainsConfig, writeDomainsConfig } from './write.js';

test('written config loads back equal', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'domains.toml');
    const cfg = parseDomainsConfig(describeDomains(), path);
    await writeDomainsConfig(path, cfg);
    assert.deepEqual(loadDomainsConfig(path), cfg);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^private_key_file = "dkim\/example.com-mail2025.key"$/m);
    assert.match(text, /^quota = "10 GiB"$/m);
    assert.match(text, /^expiration = "72h"$/m);
    assert.deepEqual(readdirSync(dir), ['domains.toml']);
  } finally {
    cleanup();
  }
});

test('serialisation leaves out defaults', () => {
  const file = '/etc/tidings/domains.toml';
  const cfg = parseDomainsConfig(
    `[domains."example.com"]
dkim.selectors.s = { private_key_file = "/srv/keys/s.key" }
[accounts.alice]
domain = "example.com"
destinations.alice = {}
destinations.al = { mailbox = "Al" }
[aliases."team@example.com"]
members = ["alice@example.com"]
`,
    file,
  );
  assert.equal(
    serializeDomainsConfig(cfg, file),
    `# Tidings domains, accounts and aliases; reloaded when it changes.

[domains."example.com".dkim.selectors.s]
private_key_file = "/srv/keys/s.key"

[accounts.alice]
domain = "example.com"

[accounts.alice.destinations."alice@example.com"]

[accounts.alice.destinations."al@example.com"]
mailbox = "Al"

[aliases."team@example.com"]
members = [ "alice@example.com" ]

`,
  );
});

test('an invalid config is never written', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'domains.toml');
    const original =
      '[domains."example.com"]\n[accounts.alice]\ndomain = "example.com"\ndestinations.alice = {}\n';
    writeFileSync(path, original);
    chmodSync(path, 0o600);
    const cfg = loadDomainsConfig(path);
    const alice = cfg.accounts.alice;
    assert.ok(alice);
    const bad: DomainsConfig = {
      ...cfg,
      accounts: {
        ...cfg.accounts,
        bob: { ...alice, destinations: { 'bob@example.net': { mailbox: 'Inbox' } } },
      },
    };
    await assert.rejects(
      writeDomainsConfig(path, bad),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `${path}: accounts.bob.destinations."bob@example.net": domain example.net is not configured in [domains]`,
    );
    assert.equal(readFileSync(path, 'utf8'), original);
    assert.deepEqual(readdirSync(dir), ['domains.toml']);

    // A valid change replaces the file and keeps its permissions.
    const good: DomainsConfig = {
      ...cfg,
      accounts: {
        ...cfg.accounts,
        bob: { ...alice, destinations: { 'bob@example.com': { mailbox: 'Inbox' } } },
      },
    };
    await writeDomainsConfig(path, good);
    assert.deepEqual(Object.keys(loadDomainsConfig(path).accounts), ['alice', 'bob']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['domains.toml']);
  } finally {
    cleanup();
  }
});

test('hand-built tables without defaulted keys are written and validated', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'domains.toml');
    writeFileSync(path, '[domains."example.com"]\n');
    const cfg = structuredClone(loadDomainsConfig(path));
    (cfg.accounts as Record<string, unknown>).carol = {
      domain: 'example.com',
      destinations: { 'carol@example.com': {} },
    };
    await writeDomainsConfig(path, cfg);
    assert.deepEqual(loadDomainsConfig(path).accounts.carol, {
      domain: 'example.com',
      destinations: { 'carol@example.com': { mailbox: 'Inbox' } },
      quota: 0,
      keep_rejects: false,
      no_first_time_sender_delay: false,
    });
  } finally {
    cleanup();
  }
});
