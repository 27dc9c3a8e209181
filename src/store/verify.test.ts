// verifyModes, the mode check of `tidings verifydata`: each path another user could
// read is a problem naming the path, its mode and the expected mode; nothing changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, lstat, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './store.js';
import { sampleMessage } from './testutil.js';
import { verifyModes } from './verify.js';

test('verifyModes reports each path with a mode other than 0700/0600, and changes none', async () => {
  const base = await mkdtemp(join(tmpdir(), 'tidings-verify-'));
  const dir = join(base, 'data');
  try {
    const store = await Store.open({ dataDir: dir });
    const a = await store.account('alice');
    await a.addMessages('Inbox', [
      { message: await store.prepareMessage(sampleMessage(1)), take: true },
    ]);
    await store.close();
    const clean = await verifyModes(dir);
    assert.deepEqual(clean.problems, []);
    assert.ok(clean.paths >= 8, `${clean.paths} paths`);

    // As a copy made with cp -r under umask 022, or an older version, leaves it.
    await chmod(dir, 0o755);
    await chmod(join(dir, 'accounts', 'alice', 'index.db'), 0o644);
    await chmod(join(dir, 'accounts', 'alice', 'msg', '0', '1'), 0o640);
    await chmod(join(dir, 'accounts', 'alice', 'msg'), 0o711);
    assert.deepEqual((await verifyModes(dir)).problems, [
      '.: mode 0755, expected 0700',
      'accounts/alice/index.db: mode 0644, expected 0600',
      'accounts/alice/msg: mode 0711, expected 0700',
      'accounts/alice/msg/0/1: mode 0640, expected 0600',
    ]);
    assert.deepEqual((await verifyModes(dir, join(dir, 'accounts', 'alice'))).problems, [
      'accounts/alice/index.db: mode 0644, expected 0600',
      'accounts/alice/msg: mode 0711, expected 0700',
      'accounts/alice/msg/0/1: mode 0640, expected 0600',
    ]);
    assert.equal((await lstat(join(dir, 'accounts', 'alice', 'index.db'))).mode & 0o777, 0o644);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
