// Durability of remote delivery across restarts (queue.ts: "a crash at any instant can
// repeat a delivery, never lose one"): 30 messages go to a slow receiver while the queue
// is reopened in the middle of its run, or while a child process running the queue is
// killed with SIGKILL. Afterwards every message arrived, byte for byte, and only
// attempts in flight at the kill may have arrived twice.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { harness, msg } from '../../src/queue/testutil.js';
import type { Queue } from '../../src/queue/index.js';
import {
  openQueue,
  sharedPort,
  startReceiver,
  testDNS,
  testDeliverer,
  type Receiver,
} from './receiver.js';

const COUNT = 30;
const CONCURRENT = 4;
const REPLY_DELAY_MS = 100;
const PREFIX = Buffer.from('Received: from client by mail.example.com\r\n');

function message(n: number): Buffer {
  return Buffer.from(
    `From: Alice <alice@example.com>\r\nTo: r${n}@remote.test\r\nSubject: restart ${n}\r\n` +
      `Message-ID: <restart-${n}@example.com>\r\n\r\n` +
      `Message ${n}.\r\n${'x'.repeat(n * 50)}\r\n`,
  );
}

function newMessage(n: number) {
  return msg(`r${n}@remote.test`, { prefix: PREFIX, messageId: `<restart-${n}@example.com>` });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timeout waiting for ${what}`);
    await sleep(10);
  }
}

/** At least `accepted` messages were accepted and another one's data awaits its reply. */
function inFlight(rcv: Receiver, accepted: number): boolean {
  const data = rcv.commands.filter((c) => c === 'DATA').length;
  return rcv.messages.length >= accepted && data > rcv.messages.length;
}

/** Waits until the queue holds nothing and its runner is idle. */
async function drained(q: () => Queue): Promise<void> {
  await waitFor('an empty queue', () => q().counts().messages === 0);
}

/**
 * Every message arrived with its exact bytes; returns how many arrived more than once.
 */
function checkArrivals(rcv: Receiver): number {
  const seen = new Map<number, number>();
  for (const m of rcv.messages) {
    const id = /^Message-ID: <restart-(\d+)@example\.com>\r$/m.exec(m.data.toString('latin1'));
    assert.ok(id, 'message without a known Message-ID');
    const n = Number(id[1]);
    assert.deepEqual(m.data, Buffer.concat([PREFIX, message(n)]));
    assert.deepEqual(m.rcpts, [`r${n}@remote.test`]);
    seen.set(n, (seen.get(n) ?? 0) + 1);
  }
  assert.deepEqual(
    [...seen.keys()].sort((a, b) => a - b),
    Array.from({ length: COUNT }, (_, i) => i),
  );
  return rcv.messages.length - COUNT;
}

describe('queue restarts lose no remote delivery', () => {
  let port: number;
  let dns: Awaited<ReturnType<typeof testDNS>>;

  before(async () => {
    port = await sharedPort(['127.0.0.1']);
    dns = await testDNS({
      mx: { 'remote.test': [{ exchange: 'mx.remote.test', priority: 10 }] },
      a: { 'mx.remote.test': ['127.0.0.1'] },
    });
  });
  after(() => dns.close());

  function slowReceiver(): Promise<Receiver> {
    return startReceiver({
      port,
      data: () => sleep(REPLY_DELAY_MS).then(() => '250 2.0.0 accepted'),
    });
  }

  test('reopening the queue mid-run finishes attempts in flight and loses nothing', async (t) => {
    const rcv = await slowReceiver();
    const h = await harness({
      remote: testDeliverer({ resolver: dns.resolver, mxPort: port }),
      maxConcurrent: CONCURRENT,
    });
    t.after(async () => {
      await h.close();
      await rcv.close();
    });
    for (let n = 0; n < COUNT; n++) await h.submit(message(n), [newMessage(n)]);
    assert.equal(h.q.counts().messages, COUNT);

    h.q.start();
    await waitFor('an attempt in flight after 10 accepted', () => inFlight(rcv, 10));
    const atReopen = rcv.messages.length;
    await h.reopen();
    // The stop waited for the attempts in flight, and each of those was settled.
    const accepted = rcv.messages.length;
    assert.ok(accepted > atReopen, `${accepted} accepted, ${atReopen} before the stop`);
    assert.ok(accepted < COUNT);
    assert.equal(h.q.counts().messages, COUNT - accepted);
    assert.equal(new Set(h.q.list().map((m) => m.messageId)).size, COUNT - accepted);

    h.q.start();
    await drained(() => h.q);
    // A graceful stop repeats nothing.
    assert.equal(checkArrivals(rcv), 0);
  });

  test('SIGKILL of the process running the queue loses nothing', async (t) => {
    const rcv = await slowReceiver();
    const dir = await mkdtemp(join(tmpdir(), 'tidings-queue-kill-'));
    t.after(async () => {
      await rcv.close();
      await rm(dir, { recursive: true, force: true });
    });
    const opts = { mxPort: port, dnsAddress: dns.address, maxConcurrent: CONCURRENT };

    // Queue everything, then hand the data directory to the child.
    const first = await openQueue(dir, opts);
    for (let n = 0; n < COUNT; n++) {
      const p = await first.store.prepareMessage(message(n));
      await first.q.add(p.path, [newMessage(n)]);
      await p.cleanup();
    }
    await first.close();

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'queuechild.ts'),
        dir,
        String(port),
        dns.address,
        String(CONCURRENT),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    t.after(() => {
      child.kill('SIGKILL');
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('the child to run the queue', () => out === 'running\n', 30_000);
    await waitFor('an attempt in flight after 10 accepted', () => inFlight(rcv, 10));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');
    // Replies the receiver was still delaying find their connection gone.
    await sleep(REPLY_DELAY_MS * 2);
    const beforeRestart = rcv.messages.length;
    assert.ok(beforeRestart < COUNT, `all ${beforeRestart} delivered before the kill`);

    const again = await openQueue(dir, opts);
    t.after(() => again.close());
    // Rows of messages accepted before the kill are gone, except those in flight.
    const left = again.q.counts().messages;
    assert.ok(left >= COUNT - beforeRestart, `${left} left, ${beforeRestart} accepted`);
    assert.ok(left <= COUNT - beforeRestart + CONCURRENT, `${left} left`);
    again.q.start();
    await drained(() => again.q);
    const dups = checkArrivals(rcv);
    assert.ok(dups <= CONCURRENT, `${dups} messages delivered twice`);
    assert.equal(dups, left - (COUNT - beforeRestart));
  });
});
