// File modes of the data directory: whatever the umask, what the store writes (databases
// with their -wal and -shm files, message files, temp files, directories) is readable by
// the owner only, and the mode walk finds and fixes what is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, readdirSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile, lstat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Store } from './store.js';
import { sampleMessage } from './testutil.js';
import { mkdirPrivate, scanModes, type WrongMode } from './fsmode.js';
import { deriveSecrets } from '../sasl/index.js';

/** Every path under root (root included, links not followed) with its permission bits. */
function modes(root: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (p: string) => {
    const st = lstatSync(p);
    out.set(relative(root, p) || '.', st.mode & 0o777);
    if (st.isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(root);
  return out;
}

/** Paths whose mode is not 0700 (directories) or 0600 (anything else). */
function notPrivate(root: string): string[] {
  const bad: string[] = [];
  for (const [p, m] of modes(root)) {
    const dir = lstatSync(join(root, p)).isDirectory();
    if (m !== (dir ? 0o700 : 0o600)) bad.push(`${p} ${m.toString(8)}`);
  }
  return bad;
}

async function withUmask<T>(mask: number, f: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await f();
  } finally {
    process.umask(old);
  }
}

for (const mask of [0o000, 0o022, 0o277]) {
  test(`umask ${mask.toString(8).padStart(3, '0')}: a new data directory with an account, messages and a password is private`, async () => {
    const base = await mkdtemp(join(tmpdir(), 'tidings-fsmode-'));
    const dir = join(base, 'data');
    try {
      await withUmask(mask, async () => {
        const store = await Store.open({ dataDir: dir, cleanup: true });
        try {
          const a = await store.account('alice');
          const kept = await store.prepareMessage(sampleMessage(1));
          const taken = await store.prepareMessage(sampleMessage(2));
          await a.addMessages('Inbox', [{ message: kept }, { message: taken, take: true }]);
          await a.setSecrets(
            await deriveSecrets('secret', { scrypt: { N: 1024, r: 8, p: 1 }, scramIterations: 16 }),
          );
          // An incoming message still being received.
          const t = await store.tempMessage();
          await t.write(sampleMessage(3));
          await store.global.addLoginAttempt({
            account: 'alice',
            address: 'alice@example.org',
            protocol: 'imap',
            mechanism: 'plain',
            result: 'success',
            remoteIP: '192.0.2.1',
            localIP: '192.0.2.2',
            tls: '',
          });
          await store.account('bob');
          await store.removeAccount('bob');

          const paths = [...modes(dir).keys()];
          for (const want of [
            'tidings.db',
            'tidings.db-wal',
            'tidings.db-shm',
            'accounts/alice/index.db',
            'accounts/alice/index.db-wal',
            'accounts/alice/index.db-shm',
            'accounts/alice/msg/0/1',
            'accounts/alice/msg/0/2',
            relative(dir, t.path),
            relative(dir, kept.path),
          ]) {
            assert.ok(paths.includes(want), `${want} exists (${paths.join(' ')})`);
          }
          assert.ok(paths.some((p) => p.startsWith('removed-accounts/bob-')));
          assert.deepEqual(notPrivate(dir), []);
          await t.abort();
          await kept.cleanup();
        } finally {
          await store.close();
        }
      });
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
}

test('mkdirPrivate makes missing parents 0700 under any umask and reports them', async () => {
  const base = await mkdtemp(join(tmpdir(), 'tidings-fsmode-'));
  try {
    const made = await withUmask(0o277, () => mkdirPrivate(join(base, 'a', 'b', 'c')));
    assert.deepEqual(made, [join(base, 'a'), join(base, 'a', 'b'), join(base, 'a', 'b', 'c')]);
    assert.deepEqual(await mkdirPrivate(join(base, 'a', 'b')), []);
    assert.deepEqual(notPrivate(join(base, 'a')), []);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('scanModes reports and fixes world-readable data, leaving links and their targets alone', async () => {
  const base = await mkdtemp(join(tmpdir(), 'tidings-fsmode-'));
  const dir = join(base, 'data');
  try {
    await mkdir(join(dir, 'accounts', 'alice', 'msg', '0'), { recursive: true });
    await writeFile(join(dir, 'accounts', 'alice', 'index.db'), 'secrets');
    await writeFile(join(dir, 'accounts', 'alice', 'msg', '0', '1'), 'message');
    await writeFile(join(dir, 'tidings.db'), 'x');
    await writeFile(join(base, 'elsewhere'), 'not ours');
    await chmod(join(base, 'elsewhere'), 0o644);
    await symlink(join(base, 'elsewhere'), join(dir, 'link'));
    for (const p of [
      '',
      'accounts',
      'accounts/alice',
      'accounts/alice/msg',
      'accounts/alice/msg/0',
    ])
      await chmod(join(dir, p), 0o755);
    for (const p of ['accounts/alice/index.db', 'accounts/alice/msg/0/1', 'tidings.db'])
      await chmod(join(dir, p), 0o644);
    await chmod(join(dir, 'tidings.db'), 0o600);

    const seen: WrongMode[] = [];
    const check = await scanModes(dir, { onWrong: (w) => seen.push(w) });
    assert.deepEqual(check, { paths: 8, wrong: 7, fixed: 0, failed: 0 });
    assert.deepEqual(
      seen.map((w) => [relative(dir, w.path) || '.', w.mode, w.expected]).sort(),
      [
        ['.', 0o755, 0o700],
        ['accounts', 0o755, 0o700],
        ['accounts/alice', 0o755, 0o700],
        ['accounts/alice/index.db', 0o644, 0o600],
        ['accounts/alice/msg', 0o755, 0o700],
        ['accounts/alice/msg/0', 0o755, 0o700],
        ['accounts/alice/msg/0/1', 0o644, 0o600],
      ].sort(),
    );
    assert.equal(notPrivate(dir).length, 8, 'checking changes nothing (the link counts here)');

    const root = await scanModes(dir, { fix: true, depth: 0 });
    assert.deepEqual(root, { paths: 1, wrong: 1, fixed: 1, failed: 0 });
    assert.equal((await lstat(dir)).mode & 0o777, 0o700);

    const fixed = await scanModes(dir, { fix: true });
    assert.deepEqual(fixed, { paths: 8, wrong: 6, fixed: 6, failed: 0 });
    assert.deepEqual(notPrivate(dir), ['link 777']);
    assert.equal((await lstat(join(base, 'elsewhere'))).mode & 0o777, 0o644, 'link not followed');
    assert.deepEqual(await scanModes(dir, { fix: true }), {
      paths: 8,
      wrong: 0,
      fixed: 0,
      failed: 0,
    });
    assert.deepEqual(await scanModes(join(base, 'missing')), {
      paths: 0,
      wrong: 0,
      fixed: 0,
      failed: 0,
    });
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
