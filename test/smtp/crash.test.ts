// Durability of incoming delivery (DESIGN.md principle 1): a whole server in a child
// process takes messages from several concurrent connections on the smtp port and is
// killed with SIGKILL in the middle. Afterwards every message that got its 250 is in the
// store exactly once, no message is stored twice or partly, every stored message is the
// sent bytes behind the server's trace headers, and verifyAccount finds nothing wrong.
// A second run on the same data directory repeats this on top of the recovered store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.js';
import { SmtpTestClient, type Reply } from './harness.js';

const ACCOUNTS = 4;
const CONNECTIONS = 8;
const PER_CONNECTION = 50;
/** The child is killed when this many messages of a run have their 250. */
const KILL_AFTER = 120;

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"
log_level = "error"
[delays]
unknown_recipients = "0s"
[listeners.crash]
ips = ["127.0.0.1"]
smtp = { enabled = true, port = 0, first_time_sender_delay = "0s" }
`;

const DOMAINS =
  `[domains."example.org"]\n` +
  Array.from(
    { length: ACCOUNTS },
    (_, k) =>
      `\n[accounts.crash${k}]\ndomain = "example.org"\ndestinations = { "crash${k}@example.org" = {} }\n`,
  ).join('');

/** Message n: a unique Message-ID and a size between about 300 bytes and 100 KB. */
function message(n: number): Buffer {
  const lines: string[] = [];
  const count = n % 7 === 0 ? 1500 : 2 + ((n * 37) % 120);
  for (let i = 0; i < count; i++)
    lines.push(`message ${n} line ${i} ${'abcdefghij'.repeat(i % 6)}`);
  return Buffer.from(
    `From: Sender <sender@sender.example>\r\n` +
      `To: crash${n % ACCOUNTS}@example.org\r\n` +
      `Subject: crash test ${n}\r\n` +
      `Message-ID: <crash-${n}@sender.example>\r\n` +
      `Date: Thu, 08 May 2025 12:00:00 +0000\r\n` +
      `\r\n` +
      lines.join('\r\n') +
      '\r\n',
  );
}

/** Starts the server child; resolves with it and its smtp port. */
function startChild(
  dir: string,
): Promise<{ child: ChildProcess; port: number; exited: Promise<string | null> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'crashchild.ts'), dir],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<string | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('server child did not start within 30 s'));
    }, 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /^port (\d+)\n/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]), exited });
      }
    });
    child.on('error', reject);
    void exited.then((signal) => {
      clearTimeout(timer);
      reject(new Error(`server child exited before listening (${signal})`));
    });
  });
}

type Run = { attempted: Set<number>; acked: Set<number> };

/**
 * Sends messages first..first+CONNECTIONS*PER_CONNECTION-1 over CONNECTIONS connections,
 * MAIL, RCPT and DATA pipelined, and kills the child after KILL_AFTER acknowledgements.
 */
async function sendAndKill(dir: string, first: number): Promise<Run> {
  const { child, port, exited } = await startChild(dir);
  const run: Run = { attempted: new Set(), acked: new Set() };
  let killed = false;
  const kill = () => {
    if (!killed) {
      killed = true;
      child.kill('SIGKILL');
    }
  };
  // Should the clients stall, the child still dies.
  const guard = setTimeout(kill, 60_000);
  const worker = async (w: number) => {
    let c: SmtpTestClient | null = null;
    try {
      c = await SmtpTestClient.open(port);
      await c.ok('EHLO client.example');
      for (let i = 0; i < PER_CONNECTION && !killed; i++) {
        const n = first + w * PER_CONNECTION + i;
        c.write(
          `MAIL FROM:<sender@sender.example>\r\nRCPT TO:<crash${n % ACCOUNTS}@example.org>\r\nDATA\r\n`,
        );
        for (const want of [250, 250, 354]) {
          const r: Reply = await c.reply(30_000);
          assert.equal(r.code, want, r.text);
        }
        run.attempted.add(n);
        // No line of these messages starts with a dot: no stuffing needed.
        c.write(Buffer.concat([message(n), Buffer.from('.\r\n')]));
        const r: Reply = await c.reply(30_000);
        assert.equal(r.code, 250, r.text);
        run.acked.add(n);
        if (run.acked.size >= KILL_AFTER) kill();
      }
    } catch (e) {
      // The connection dies with the server; anything else is a failure.
      if (!killed) throw e;
    } finally {
      c?.close();
    }
  };
  try {
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, w) => worker(w)));
  } finally {
    kill();
    clearTimeout(guard);
  }
  assert.equal(await exited, 'SIGKILL', 'the server only stopped because it was killed');
  return run;
}

/** Checks the store after a crash against everything acknowledged and attempted so far. */
async function checkStore(
  dataDir: string,
  acked: Set<number>,
  attempted: Set<number>,
): Promise<number> {
  const store = await Store.open({ dataDir, cleanup: true });
  let stored = 0;
  try {
    const seen = new Set<number>();
    for (let k = 0; k < ACCOUNTS; k++) {
      const a = await store.account(`crash${k}`);
      const inbox = await a.mailbox('Inbox');
      assert.ok(inbox);
      for (const m of await a.messages(inbox.id, await a.uids(inbox.id))) {
        const id = /^crash-(\d+)@sender\.example$/.exec(m.messageId);
        assert.ok(id, `unexpected message ${m.messageId}`);
        const n = Number(id[1]);
        assert.ok(!seen.has(n), `message ${n} stored twice`);
        seen.add(n);
        assert.ok(attempted.has(n), `message ${n} stored but its DATA was never sent`);
        assert.equal(n % ACCOUNTS, k, `message ${n} in the wrong account`);
        // Whole: the sent bytes exactly, behind the trace headers the server adds.
        const data = await a.readMessage(m);
        assert.equal(data.length, m.size);
        const sent = message(n);
        assert.ok(data.subarray(data.length - sent.length).equals(sent), `message ${n} differs`);
        const prefix = data.subarray(0, data.length - sent.length).toString();
        assert.match(
          prefix,
          new RegExp(
            `^X-Tidings-Reason: no-bad-signals\\r\\nDelivered-To: crash${k}@example\\.org\\r\\n` +
              `Return-Path: <sender@sender\\.example>\\r\\n` +
              `Authentication-Results: mail\\.example\\.org;(\\r\\n\\t[^\\r]*)+\\r\\n` +
              `Received-SPF: [^\\r]*(\\r\\n\\t[^\\r]*)*\\r\\n` +
              `Received: from client\\.example .*\\r\\n` +
              `\\twith ESMTP id \\w+\\r\\n\\tfor <crash${k}@example\\.org>; .*\\r\\n$`,
          ),
        );
      }
      const report = await a.verify();
      assert.deepEqual(report.problems, [], `account crash${k}`);
      stored += report.messages;
    }
    for (const n of acked) assert.ok(seen.has(n), `acknowledged message ${n} is missing`);
  } finally {
    await store.close();
  }
  return stored;
}

test('smtp delivery: SIGKILL during concurrent deliveries loses nothing acknowledged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-smtpcrash-'));
  try {
    await mkdir(join(dir, 'config'));
    await writeFile(join(dir, 'config', 'tidings.toml'), STATIC);
    await writeFile(join(dir, 'config', 'domains.toml'), DOMAINS);
    const acked = new Set<number>();
    const attempted = new Set<number>();
    const total = CONNECTIONS * PER_CONNECTION;
    for (const first of [0, total]) {
      const r = await sendAndKill(dir, first);
      // The kill came in the middle: acknowledged, but not everything.
      assert.ok(r.acked.size >= KILL_AFTER, `only ${r.acked.size} acknowledged`);
      assert.ok(r.acked.size < total, 'every message was acknowledged before the kill');
      // Unacknowledged messages that may be stored: one in flight per connection at most.
      assert.ok(r.attempted.size - r.acked.size <= CONNECTIONS);
      for (const n of r.acked) acked.add(n);
      for (const n of r.attempted) attempted.add(n);
      const stored = await checkStore(join(dir, 'data'), acked, attempted);
      assert.ok(stored >= acked.size);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
