// Backups of a store in use: taken while messages are added, expunged and erased, the
// copy opens and verifies, holds every message of its snapshot with its data, has the
// modes of a data directory, and shares the message files (hard links) unless asked to
// copy them. The copies are made inside the test's data directory, which is removed
// after it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempStore, sampleMessage } from './testutil.js';
import { Store } from './store.js';
import { verifyModes } from './verify.js';
import type { Account } from './account.js';

const queueFile = (id: number) => join('queue', String(Math.floor(id / 1000)), String(id));

async function add(store: Store, a: Account, n: number, from = 0): Promise<void> {
  for (let i = 0; i < n; i++) {
    const p = await store.prepareMessage(sampleMessage(from + i));
    await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
  }
}

test('a backup taken while mail is added and expunged is consistent', async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('alice');
    const b = await t.store.account('bob');
    await add(t.store, a, 30);
    await add(t.store, b, 5);
    const inbox = (await a.mailbox('Inbox'))!;
    // Writers and an eraser at work during the backup.
    let stop = false;
    const busy = (async () => {
      for (let i = 0; !stop; i++) {
        await add(t.store, a, 1, 1000 + i);
        const uids = await a.uids(inbox.id);
        await a.expunge(inbox.id, uids.slice(0, 1), null);
      }
    })();
    const dest = join(t.dir, 'backups', 'copy');
    const r = await t.store.backup(dest, { queueFile });
    stop = true;
    await busy;
    assert.equal(r.accounts, 2);
    assert.ok(r.messageFiles >= 35, String(r.messageFiles));
    assert.deepEqual((await verifyModes(dest)).problems, []);
    const copy = await Store.open({ dataDir: dest });
    try {
      for (const name of ['alice', 'bob']) {
        const c = await copy.account(name);
        await c.settle();
        const v = await c.verify();
        assert.deepEqual(v.problems, [], name);
        // Every message of the copy reads back whole.
        const mb = (await c.mailbox('Inbox'))!;
        for (const m of await c.messages(mb.id, await c.uids(mb.id))) {
          assert.match((await c.readMessage(m)).toString(), /^From: sender\d+@example\.org/);
        }
      }
    } finally {
      await copy.close();
    }
    await assert.rejects(t.store.backup(dest, { queueFile }), /not empty/);
  } finally {
    await t.cleanup();
  }
});

test('copy instead of link; queue files gone since the snapshot leave their rows out', async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('carol');
    await add(t.store, a, 3);
    const linked = join(t.dir, 'backups', 'linked');
    const copied = join(t.dir, 'backups', 'copied');
    await t.store.backup(linked, { queueFile });
    await t.store.backup(copied, { queueFile, copy: true });
    const rel = (root: string) => join(root, 'accounts', 'carol', 'msg', '0', '1');
    assert.ok((await stat(rel(linked))).nlink >= 2);
    assert.equal((await stat(rel(copied))).nlink, 1);
    assert.equal((await stat(rel(copied))).mode & 0o777, 0o600);
    // A queue with one message whose file is there and one whose file is gone.
    const db = t.store.global.db;
    db.exec(`CREATE TABLE IF NOT EXISTS queue_files (id INTEGER PRIMARY KEY, size INTEGER);
             CREATE TABLE IF NOT EXISTS queue_messages (id INTEGER PRIMARY KEY, file_id INTEGER)`);
    db.exec('INSERT INTO queue_files (id, size) VALUES (1, 1), (2, 1)');
    db.exec('INSERT INTO queue_messages (id, file_id) VALUES (10, 1), (20, 2)');
    await mkdir(join(t.dir, 'queue', '0'), { recursive: true, mode: 0o700 });
    await writeFile(join(t.dir, queueFile(1)), 'x', { mode: 0o600 });
    const q = join(t.dir, 'backups', 'queue');
    const r = await t.store.backup(q, { queueFile });
    assert.deepEqual([r.queueFiles, r.queueDropped], [1, 1]);
    const copy = await Store.open({ dataDir: q });
    try {
      assert.deepEqual(copy.global.db.prepare('SELECT id FROM queue_messages').pluck().all(), [10]);
    } finally {
      await copy.close();
    }
  } finally {
    await t.cleanup();
  }
});
