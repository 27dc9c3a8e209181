// A 50,000-message mbox imported: every message arrives, in order, and the importer's
// memory does not grow with the count (one message read at a time, a hundred stored per
// transaction, and a final move that reads no message structure).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../store/index.js';
import { importMail } from './importexport.js';

const COUNT = 50_000;

test('a 50,000-message mbox, with memory bounded', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bigimport-'));
  try {
    const mbox = join(dir, 'big.mbox');
    const fh = await open(mbox, 'w');
    let chunk = '';
    for (let i = 0; i < COUNT; i++) {
      chunk += `From x@example.org Mon Jan  1 10:00:00 2024\nSubject: bulk ${i}\n\nbody ${i}\n\n`;
      if (chunk.length > 1 << 20) {
        await fh.write(chunk);
        chunk = '';
      }
    }
    await fh.write(chunk);
    await fh.close();
    const store = await Store.open({ dataDir: join(dir, 'data') });
    try {
      const before = process.memoryUsage().rss;
      let peak = before;
      const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
      let reported = 0;
      const r = await importMail(store, 'big', 'Inbox', [mbox], (n) => (reported = n));
      clearInterval(sample);
      assert.equal(r.messages, COUNT);
      assert.equal(reported, COUNT);
      const a = await store.account('big');
      const inbox = (await a.mailbox('Inbox'))!;
      const uids = await a.uids(inbox.id);
      assert.equal(uids.length, COUNT);
      const ends = await a.messages(inbox.id, [uids[0]!, uids[COUNT - 1]!]);
      const subject = async (i: number) =>
        /Subject: (.*?)\r\n/.exec((await a.readMessage(ends[i]!)).toString())![1];
      assert.deepEqual([await subject(0), await subject(1)], ['bulk 0', `bulk ${COUNT - 1}`]);
      // A message is about 80 bytes on disk and some 3 KB as a parsed row: growth with
      // the count would show as well over a hundred megabytes.
      const growth = (peak - before) / 1024 / 1024;
      assert.ok(growth < 120, `RSS grew ${growth.toFixed(0)} MB importing ${COUNT} messages`);
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
