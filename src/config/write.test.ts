import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeDomains } from './describe.js';
import { loadDomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';
import { assertProblems, tempDir } from './testutil.js';
import {
  addAccountEdit,
  addDkimSelectorEdits,
  editDomainsFile,
  readDomainsFile,
  removeAccountEdit,
  writeFileAtomic,
  updateDomainsConfig,
  type TomlEdit,
} from './write.js';

/** An admin's domains.toml: a comment on top, between tables and after keys. */
const COMMENTED = `# Tidings domains for example.org.
# Edited by hand and by tidings.

[postmaster]
account = "alice" # the boss

# Our domains
[domains."example.org"]
description = "main"   # shown nowhere yet

[domains."example.org".dkim]
sign = ["old"] # rotate yearly

[domains."example.org".dkim.selectors.old]
private_key_file = "dkim/old.key"

[domains."example.net"]

# People
[accounts.alice]
domain = "example.org"  # home domain
destinations = { "alice@example.org" = {} }

# Bob left in March.
[accounts.bob]
domain = "example.org"
quota = "1 GiB"

[accounts.bob.destinations."bob@example.org"]
mailbox = "Inbox" # default

# Aliases
[aliases."team@example.org"]
members = ["alice@example.org"] # just alice
`;

const BOB = `
# Bob left in March.
[accounts.bob]
domain = "example.org"
quota = "1 GiB"

[accounts.bob.destinations."bob@example.org"]
mailbox = "Inbox" # default
`;

/** Writes `text` as domains.toml in a fresh directory and runs `f` with its path. */
async function withFile(text: string, f: (path: string) => Promise<void>): Promise<void> {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'domains.toml');
    writeFileSync(path, text);
    await f(path);
    assert.deepEqual(readdirSync(dir), ['domains.toml'], 'no temp file left');
  } finally {
    cleanup();
  }
}

test('account add inserts its table after the last account and changes nothing else', async () => {
  await withFile(COMMENTED, async (path) => {
    const cfg = await updateDomainsConfig(path, [
      addAccountEdit('carol', { localpart: 'carol', domain: 'example.net' }),
    ]);
    assert.deepEqual(
      { ...cfg.accounts.carol?.destinations },
      {
        'carol@example.net': { mailbox: 'Inbox', rules: [] },
      },
    );
    const added = `
[accounts.carol]
domain = "example.net"
destinations = { "carol@example.net" = {} }
`;
    const text = readFileSync(path, 'utf8');
    assert.equal(text, COMMENTED.replace(BOB, `${BOB}${added}`));
    assert.deepEqual(loadDomainsConfig(path), cfg);

    // Removing it again gives back the admin's file, byte for byte.
    await updateDomainsConfig(path, [removeAccountEdit('carol')]);
    assert.equal(readFileSync(path, 'utf8'), COMMENTED);
  });
});

test('account remove takes its tables and the comment above them, nothing else', async () => {
  await withFile(COMMENTED, async (path) => {
    const cfg = await updateDomainsConfig(path, [removeAccountEdit('bob')]);
    assert.deepEqual(Object.keys(cfg.accounts), ['alice']);
    assert.equal(readFileSync(path, 'utf8'), COMMENTED.replace(BOB, ''));
  });
  // An account written as dotted keys in an [accounts] table, and a first table.
  const dotted = `[accounts]
bob.domain = "example.org" # b
alice.domain = "example.org"
bob.destinations = { bob = {} }
alice.destinations.alice = {}

[domains."example.org"]
`;
  await withFile(dotted, async (path) => {
    await updateDomainsConfig(path, [removeAccountEdit('bob')]);
    assert.equal(
      readFileSync(path, 'utf8'),
      '[accounts]\nalice.domain = "example.org"\nalice.destinations.alice = {}\n\n[domains."example.org"]\n',
    );
  });
  await withFile(
    '[accounts.bob]\ndomain = "example.org"\ndestinations.bob = {}\n\n\n[domains."example.org"]\n',
    async (path) => {
      await updateDomainsConfig(path, [removeAccountEdit('bob')]);
      assert.equal(readFileSync(path, 'utf8'), '[domains."example.org"]\n');
    },
  );
});

test('DKIM selector: a table after the domain, its name appended to sign in place', async () => {
  await withFile(COMMENTED, async (path) => {
    const file = readDomainsFile(path);
    const keyFile = join(path, '..', 'dkim', 'example.org-new.key');
    const cfg = await updateDomainsConfig(
      path,
      addDkimSelectorEdits(file, 'example.org', 'new', keyFile, true),
    );
    assert.deepEqual(cfg.domains['example.org']?.dkim.sign, ['old', 'new']);
    assert.equal(cfg.domains['example.org']?.dkim.selectors.new?.private_key_file, keyFile);
    assert.equal(
      readFileSync(path, 'utf8'),
      COMMENTED.replace('sign = ["old"] # rotate', 'sign = ["old", "new"] # rotate').replace(
        'private_key_file = "dkim/old.key"\n',
        'private_key_file = "dkim/old.key"\n\n[domains."example.org".dkim.selectors.new]\n' +
          'private_key_file = "dkim/example.org-new.key"\n',
      ),
    );
  });
  // A domain without DKIM yet: sign becomes a dotted key of the domain's table.
  await withFile(COMMENTED, async (path) => {
    const file = readDomainsFile(path);
    const keyFile = join(path, '..', 'dkim', 'example.net-s1.key');
    await updateDomainsConfig(path, addDkimSelectorEdits(file, 'example.net', 's1', keyFile, true));
    assert.equal(
      readFileSync(path, 'utf8'),
      COMMENTED.replace(
        '[domains."example.net"]\n',
        '[domains."example.net"]\ndkim.sign = ["s1"]\n\n[domains."example.net".dkim.selectors.s1]\n' +
          'private_key_file = "dkim/example.net-s1.key"\n',
      ),
    );
  });
  // Not signing: only the selector; a key outside the directory keeps its absolute path.
  await withFile(COMMENTED, async (path) => {
    const file = readDomainsFile(path);
    const cfg = await updateDomainsConfig(
      path,
      addDkimSelectorEdits(file, 'example.net', 's2', '/srv/keys/s2.key', false),
    );
    assert.deepEqual(cfg.domains['example.net']?.dkim.sign, []);
    assert.match(
      readFileSync(path, 'utf8'),
      /^\[domains\."example\.net"\.dkim\.selectors\.s2\]\nprivate_key_file = "\/srv\/keys\/s2\.key"\n\n# People\n/m,
    );
  });
});

test('[postmaster] may name an account before account add creates it', async () => {
  const text = `[postmaster]
account = "carol"

[domains."example.org"]
`;
  await withFile(text, async (path) => {
    // The file as it is does not load, and says why ...
    assertProblems(() => loadDomainsConfig(path), path, [
      ['postmaster.account', 'no account "carol"'],
    ]);
    // ... and adding that account is what fixes it.
    const cfg = await updateDomainsConfig(path, [
      addAccountEdit('carol', { localpart: 'carol', domain: 'example.org' }),
    ]);
    assert.equal(cfg.postmaster?.account, 'carol');
    assert.equal(
      readFileSync(path, 'utf8'),
      `${text}\n[accounts.carol]\ndomain = "example.org"\ndestinations = { "carol@example.org" = {} }\n`,
    );
    assert.deepEqual(loadDomainsConfig(path), cfg);
    // Removing the postmaster's account is refused.
    await assert.rejects(
      updateDomainsConfig(path, [removeAccountEdit('carol')]),
      (e: unknown) =>
        e instanceof ConfigError && e.message === `${path}: postmaster.account: no account "carol"`,
    );
  });
});

test('an invalid result is never written; a valid one keeps the permissions', async () => {
  const original =
    '[domains."example.com"]\n[accounts.alice]\ndomain = "example.com"\ndestinations.alice = {}\n';
  await withFile(original, async (path) => {
    chmodSync(path, 0o600);
    await assert.rejects(
      updateDomainsConfig(path, [
        addAccountEdit('bob', { localpart: 'bob', domain: 'example.net' }),
      ]),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message ===
          `${path}: accounts.bob.domain: domain example.net is not configured in [domains]\n` +
            `${path}: accounts.bob.destinations."bob@example.net": domain example.net is not configured in [domains]`,
    );
    assert.equal(readFileSync(path, 'utf8'), original);

    // Tables written without blank lines between them get none either.
    await updateDomainsConfig(path, [
      addAccountEdit('bob', { localpart: 'bob', domain: 'example.com' }),
    ]);
    assert.equal(
      readFileSync(path, 'utf8'),
      `${original}[accounts.bob]\ndomain = "example.com"\ndestinations = { "bob@example.com" = {} }\n`,
    );
    assert.deepEqual(Object.keys(loadDomainsConfig(path).accounts), ['alice', 'bob']);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});

test('edits that cannot be made in place name the key and write nothing', async () => {
  const inline = `[domains."example.com"]
accounts = { alice = { domain = "example.com", destinations = { alice = {} } } }
`.replace('[domains."example.com"]\n', 'domains."example.com" = {}\n');
  await withFile(inline, async (path) => {
    const file = readDomainsFile(path);
    const edit: TomlEdit = addAccountEdit('bob', { localpart: 'bob', domain: 'example.com' });
    assertProblems(() => editDomainsFile(file, [edit]), path, [
      [
        'accounts',
        'is written as an inline value, which cannot be edited in place; change accounts.bob by hand',
      ],
    ]);
    assert.equal(readFileSync(path, 'utf8'), inline);
  });
});

test('a file changed after it was read is not overwritten', async () => {
  await withFile(COMMENTED, async (path) => {
    const file = readDomainsFile(path);
    const { text } = editDomainsFile(file, [removeAccountEdit('bob')]);
    writeFileSync(path, `${COMMENTED}# a late edit\n`);
    await assert.rejects(
      writeFileAtomic(file.path, text, 0o644, file.text),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === `${path}: changed while it was being edited; nothing written, try again`,
    );
    assert.equal(readFileSync(path, 'utf8'), `${COMMENTED}# a late edit\n`);
  });
});

test('the annotated example keeps every comment through add and remove', async () => {
  const example = describeDomains();
  await withFile(example, async (path) => {
    await updateDomainsConfig(path, [
      addAccountEdit('dave', { localpart: 'dave', domain: 'example.org' }),
    ]);
    const text = readFileSync(path, 'utf8');
    assert.equal(
      text,
      example.replace(
        '[accounts.bob.destinations."@example.org"]\n',
        '[accounts.bob.destinations."@example.org"]\n\n[accounts.dave]\ndomain = "example.org"\n' +
          'destinations = { "dave@example.org" = {} }\n',
      ),
    );
    await updateDomainsConfig(path, [removeAccountEdit('dave')]);
    assert.equal(readFileSync(path, 'utf8'), example);
  });
});
