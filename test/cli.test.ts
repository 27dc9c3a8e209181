// The `tidings` command as an admin uses it: real processes, real files.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile, readFile, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, tidings } from './util.js';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"

[listeners.main]
ips = ["127.0.0.1"]
metrics = { enabled = true, port = 18010 }
`;

const DOMAINS = `[domains."example.org"]

[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
`;

describe('tidings CLI', () => {
  let dir: string;
  let cfg: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidings-cli-'));
    cfg = join(dir, 'config');
    await rm(cfg, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(cfg));
    await writeFile(join(cfg, 'tidings.toml'), STATIC);
    await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('version', async () => {
    const r = await tidings(['version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Tidings \d+\.\d+\.\d+ \(node v20/);
  });

  test('bad arguments give usage and status 2', async () => {
    for (const args of [
      ['nosuchcommand'],
      ['account', 'add'],
      ['version', '--bogus'],
      ['config', 'describe', 'x.toml'],
    ]) {
      const r = await tidings(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stderr.length > 0);
    }
    const r = await tidings(['account', 'add']);
    assert.match(r.stderr, /missing required argument 'name'/);
    assert.match(r.stderr, /Usage: tidings account add/);
  });

  test('config check succeeds on a valid configuration', async () => {
    const r = await tidings(['config', 'check', '-c', cfg]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'config ok: 1 listeners, 1 domains, 1 accounts, 0 aliases\n');
  });

  test('a broken config names file, key and problem, exits 2, and changes nothing', async () => {
    const bad = join(dir, 'bad');
    await import('node:fs/promises').then((fs) => fs.mkdir(bad));
    await writeFile(join(bad, 'tidings.toml'), STATIC.replace('port = 18010', 'port = 99999'));
    await writeFile(join(bad, 'domains.toml'), DOMAINS);
    const before = await readdir(bad);
    for (const cmd of [['config', 'check'], ['serve'], ['account', 'list'], ['verifydata']]) {
      const r = await tidings([...cmd, '-c', bad]);
      assert.equal(r.code, 2, `${cmd.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /tidings\.toml: listeners\.main\.metrics\.port: /);
    }
    assert.deepEqual(await readdir(bad), before, 'nothing created');
    await writeFile(join(bad, 'tidings.toml'), 'hostname = "x.example"\n[listeners.a\n');
    const r = await tidings(['config', 'check', '-c', bad]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /tidings\.toml.*line 2/);
  });

  test('config describe prints both annotated files', async () => {
    const r = await tidings(['config', 'describe']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /==> tidings.toml <==/);
    assert.match(r.stdout, /==> domains.toml <==/);
    assert.match(r.stdout, /#/);
  });

  test('account add, setpassword, list, verifydata, remove', async () => {
    let r = await tidings(['account', 'add', '-c', cfg, 'bob', 'Bob@Example.org']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /account bob added/);
    const domains = await readFile(join(cfg, 'domains.toml'), 'utf8');
    assert.match(domains, /\[accounts\.bob/);
    assert.ok((await stat(join(dir, 'data', 'accounts', 'bob', 'index.db'))).isFile());

    r = await tidings(['account', 'add', '-c', cfg, 'bob', 'bob2@example.org']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
    r = await tidings(['account', 'add', '-c', cfg, 'carl', 'carl@unknown.example']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /domains\.toml: accounts\.carl/);

    r = await tidings(['setpassword', '-c', cfg, 'bob'], { input: 'correct horse\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'password for bob set\n');
    r = await tidings(['setpassword', '-c', cfg, 'nobody'], { input: 'x\n' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no account nobody/);

    r = await tidings(['account', 'list', '-c', cfg]);
    assert.equal(r.stdout, 'alice\talice@example.org\nbob\tbob@example.org\n');

    r = await tidings(['verifydata', '-c', cfg]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^bob: 6 mailboxes, 0 messages, 0 files: ok$/m);

    r = await tidings(['account', 'remove', '-c', cfg, 'bob']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /moved to .*removed-accounts/);
    r = await tidings(['account', 'list', '-c', cfg]);
    assert.equal(r.stdout, 'alice\talice@example.org\n');
  });

  test('verifydata reports each path other users may read, with its mode and the expected one', async () => {
    let r = await tidings(['setpassword', '-c', cfg, 'alice'], { input: 'correct horse\n' });
    assert.equal(r.code, 0, r.stderr);
    const data = join(dir, 'data');
    r = await tidings(['verifydata', '-c', cfg]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^modes: \\d+ paths in ${data}: ok$`, 'm'));

    // The password's derived secrets in a file any local user can read.
    await chmod(join(data, 'accounts', 'alice', 'index.db'), 0o644);
    await chmod(join(data, 'accounts'), 0o755);
    r = await tidings(['verifydata', '-c', cfg]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^modes: \\d+ paths in ${data}: 2 problems\n` +
          '  accounts: mode 0755, expected 0700\n' +
          '  accounts/alice/index.db: mode 0644, expected 0600\n',
        'm',
      ),
    );
    r = await tidings(['verifydata', '-c', cfg, 'alice']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^alice: \d+ mailboxes, 0 messages, 0 files: 1 problems\n {2}accounts\/alice\/index\.db: mode 0644, expected 0600\n/m,
    );
    assert.equal((await stat(join(data, 'accounts', 'alice', 'index.db'))).mode & 0o777, 0o644);
    await chmod(join(data, 'accounts', 'alice', 'index.db'), 0o600);
    await chmod(join(data, 'accounts'), 0o700);
  });
});

/** A domains.toml as an admin keeps it: comments on top, between tables, after keys. */
const COMMENTED = `# Domains of example.org; edited by hand and by tidings.

# Mail for postmaster goes to alice.
[postmaster]
account = "alice" # keep

# Main domain
[domains."example.org"]
description = "main" # shown nowhere yet

[domains."example.net"]

# Accounts
[accounts.alice]
domain = "example.org"   # alice's domain
destinations = { "alice@example.org" = {} }

# Lists
[aliases."team@example.org"]
members = ["alice@example.org"] # just alice
`;

describe('tidings CLI edits domains.toml in place', () => {
  let dir: string;
  let cfg: string;
  const domainsFile = () => readFile(join(cfg, 'domains.toml'), 'utf8');
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidings-cli-edit-'));
    cfg = join(dir, 'config');
    await mkdir(cfg);
    await writeFile(join(cfg, 'tidings.toml'), STATIC);
    await writeFile(join(cfg, 'domains.toml'), COMMENTED);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('account add, dkim gen and account remove keep comments and layout', async () => {
    let r = await tidings(['account', 'add', '-c', cfg, 'bob', 'bob@example.net']);
    assert.equal(r.code, 0, r.stderr);
    const bob =
      '\n[accounts.bob]\ndomain = "example.net"\ndestinations = { "bob@example.net" = {} }\n';
    const withBob = COMMENTED.replace(
      '{ "alice@example.org" = {} }\n',
      `{ "alice@example.org" = {} }\n${bob}`,
    );
    assert.equal(await domainsFile(), withBob);

    r = await tidings(['dkim', 'gen', '-c', cfg, 'Example.NET', 'sel1']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^sel1\._domainkey\.example\.net\. +.*TXT/m);
    const withKey = withBob.replace(
      '[domains."example.net"]\n',
      '[domains."example.net"]\ndkim.sign = ["sel1"]\n\n' +
        '[domains."example.net".dkim.selectors.sel1]\n' +
        'private_key_file = "dkim/example.net-sel1.key"\n',
    );
    assert.equal(await domainsFile(), withKey);
    assert.equal((await stat(join(cfg, 'dkim', 'example.net-sel1.key'))).mode & 0o777, 0o600);

    r = await tidings(['dkim', 'gen', '-c', cfg, 'example.net', 'sel1']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already has a selector sel1/);

    r = await tidings(['account', 'remove', '-c', cfg, 'bob']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await domainsFile(), withKey.replace(bob, ''));

    // The postmaster's account cannot be removed; nothing changes.
    r = await tidings(['account', 'remove', '-c', cfg, 'alice']);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^tidings: change refused: .*domains\.toml: aliases\."team@example\.org"\.members\[0\]: alice@example\.org is not an account destination\n.*domains\.toml: postmaster\.account: no account "alice"\n$/,
    );
    assert.equal(await domainsFile(), withKey.replace(bob, ''));
  });

  test('[postmaster] may name the account before account add creates it', async () => {
    const pm = join(dir, 'pm');
    await mkdir(pm);
    await writeFile(join(pm, 'tidings.toml'), STATIC);
    const text = '[postmaster]\naccount = "carol" # to be added\n\n[domains."example.org"]\n';
    await writeFile(join(pm, 'domains.toml'), text);
    let r = await tidings(['config', 'check', '-c', pm]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /domains\.toml: postmaster\.account: no account "carol"/);

    r = await tidings(['account', 'add', '-c', pm, 'carol', 'carol@example.org']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      await readFile(join(pm, 'domains.toml'), 'utf8'),
      `${text}\n[accounts.carol]\ndomain = "example.org"\ndestinations = { "carol@example.org" = {} }\n`,
    );
    r = await tidings(['config', 'check', '-c', pm]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await stat(join(dir, 'data', 'accounts', 'carol', 'index.db'))).isFile());
  });
});

test('the executable and npm run localserve start node with the same flags', async () => {
  const first = (await readFile(MAIN, 'utf8')).split('\n')[0];
  assert.equal(first, '#!/usr/bin/env -S node --max-semi-space-size=4');
  const pkg = JSON.parse(
    await readFile(join(import.meta.dirname, '..', 'package.json'), 'utf8'),
  ) as {
    scripts: Record<string, string>;
  };
  assert.match(
    pkg.scripts.localserve!,
    / node --max-semi-space-size=4 dist\/cli\/main\.js localserve$/,
  );
});
