// Store benchmark: durable deliveries per second (each fsynced and committed before it
// returns), sequential and concurrent, and reads on a large mailbox.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/store/index.js';

function message(i: number, size: number): Buffer {
  const head = `From: bench@example.org\r\nTo: you@example.org\r\nSubject: bench ${i}\r\nMessage-ID: <b${i}@example.org>\r\n\r\n`;
  const line = 'x'.repeat(76) + '\r\n';
  return Buffer.from(
    head + line.repeat(Math.max(1, Math.floor((size - head.length) / line.length))),
  );
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export async function benchStore(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-'));
  const store = await Store.open({ dataDir: dir, cleanup: true });
  try {
    const a = await store.account('bench');
    const deliver = async (i: number) => {
      const p = await store.prepareMessage(message(i, 2048));
      await a.addMessages('Inbox', [{ message: p }]);
      await p.cleanup();
    };
    let t = performance.now();
    const N = 500;
    for (let i = 0; i < N; i++) await deliver(i);
    let s = (performance.now() - t) / 1000;
    console.log(`store: ${N} sequential 2 KB deliveries: ${(N / s).toFixed(0)}/s`);

    t = performance.now();
    const C = 10;
    await Promise.all(
      Array.from({ length: C }, async (_, c) => {
        for (let i = 0; i < N / C; i++) await deliver(N + c * 1000 + i);
      }),
    );
    s = (performance.now() - t) / 1000;
    console.log(
      `store: ${N} 2 KB deliveries from ${C} concurrent senders: ${(N / s).toFixed(0)}/s`,
    );

    // A large mailbox: bulk-load rows by copying (one transaction per 1000 messages).
    const inbox = (await a.mailbox('Inbox'))!;
    const big = (await a.createMailbox('Big'))[0]!;
    const uids = await a.uids(inbox.id);
    const target = 100_000;
    t = performance.now();
    while ((await a.mailboxById(big.id))!.counts.total < target) {
      const n = Math.min(uids.length, target - (await a.mailboxById(big.id))!.counts.total);
      await a.copyMessages(inbox.id, uids.slice(0, n), big.id);
    }
    s = (performance.now() - t) / 1000;
    console.log(`store: copied ${target} messages in ${s.toFixed(1)} s (hard links, batched)`);
    const heap0 = process.memoryUsage().heapUsed;
    t = performance.now();
    const all = await a.uids(big.id);
    const tu = performance.now() - t;
    t = performance.now();
    const flags = await a.flagsOf(big.id);
    const tf = performance.now() - t;
    console.log(
      `store: ${all.length} UIDs in ${tu.toFixed(0)} ms; flags of ${flags.length} in ${tf.toFixed(0)} ms; heap +${mb(process.memoryUsage().heapUsed - heap0)}`,
    );
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}
