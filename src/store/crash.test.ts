import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from './store.js';

/** Runs the child until it dies (by itself, or killed after killAfterMs); returns acknowledged UIDs. */
function runChild(dataDir: string, mode: string, killAfterMs?: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'crashchild.ts'), dataDir, mode],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const acked: number[] = [];
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line.startsWith('ok ')) acked.push(Number(line.slice(3)));
        if (line === 'ready' && killAfterMs !== undefined) {
          setTimeout(() => child.kill('SIGKILL'), killAfterMs);
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') reject(new Error(`child exited without being killed (${signal})`));
      else resolve(acked);
    });
  });
}

async function checkAfterCrash(dataDir: string, acked: number[], maxInFlight = 1) {
  const store = await Store.open({ dataDir, cleanup: true });
  try {
    const a = await store.account('crash');
    const inbox = (await a.mailbox('Inbox'))!;
    const uids = await a.uids(inbox.id);
    // Every acknowledged message is there; at most the one in flight may also be there.
    for (const u of acked) assert.ok(uids.includes(u), `acknowledged uid ${u} missing`);
    assert.ok(uids.length <= acked.length + maxInFlight);
    assert.deepEqual(
      uids,
      [...uids].sort((x, y) => x - y),
    );
    const r = await a.verify();
    assert.deepEqual(r.problems, []);
    // Each stored message reads back whole.
    for (const m of await a.messages(inbox.id, uids)) {
      const data = await a.readMessage(m);
      assert.equal(data.length, m.size);
      assert.match(data.toString(), /Body of message \d+\.\r\n$/);
    }
    const files = (await readdir(join(a.dir, 'msg', '0'))).length;
    assert.equal(files, uids.length, 'no orphan files');
  } finally {
    await store.close();
  }
}

test('killed after the file is linked and before the commit: no orphan visible', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-crash-'));
  try {
    const acked = await runChild(dir, 'kill-before-commit');
    assert.deepEqual(acked, [1, 2, 3]);
    await checkAfterCrash(dir, acked);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('killed at arbitrary moments during delivery: store stays consistent', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-crash-'));
  try {
    let total: number[] = [];
    let runs = 0;
    for (const ms of [37, 113, 251]) {
      const acked = await runChild(dir, 'random', ms);
      await checkAfterCrash(dir, [...total, ...acked], ++runs);
      total = [...total, ...acked];
    }
    assert.ok(total.length > 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('killed at arbitrary moments during concurrent deliveries stored in groups', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-crash-'));
  try {
    let total: number[] = [];
    let runs = 0;
    for (const ms of [29, 97, 233]) {
      const acked = await runChild(dir, 'concurrent', ms);
      // Each run may leave up to four adds in flight stored but unacknowledged.
      await checkAfterCrash(dir, [...total, ...acked], 4 * ++runs);
      total = [...total, ...acked];
    }
    assert.ok(total.length > 8);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
