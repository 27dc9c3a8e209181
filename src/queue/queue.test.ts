import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HOUR, MIN, ORIGINAL, T0, harness, inboxDSNs, mailboxContents, msg } from './testutil.js';
import { QueueError } from './errors.js';
import { GLOBAL_MIGRATIONS } from '../store/schema.js';
import type { QueueMessage } from './types.js';

async function queueFiles(dir: string): Promise<string[]> {
  const root = join(dir, 'queue');
  const out: string[] = [];
  for (const sub of await readdir(root).catch(() => [] as string[])) {
    for (const f of await readdir(join(root, sub))) out.push(`${sub}/${f}`);
  }
  return out.sort();
}

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('add of three recipients shares one durable file', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const prefix = Buffer.from('Received: from client\r\n');
  const added = await h.submit(ORIGINAL, [
    msg('x@remote.example', { prefix }),
    msg('y@remote.example', { prefix, dsn: { notify: ['SUCCESS'], ret: 'FULL', envid: 'e1' } }),
    msg('z@other.example', { prefix, hold: true, futureReleaseRequest: 'for;60' }),
  ]);
  assert.equal(added.length, 3);
  const fileId = added[0]?.fileId as number;
  assert.deepEqual(
    added.map((m) => m.fileId),
    [fileId, fileId, fileId],
  );
  assert.deepEqual(await queueFiles(h.dir), [`0/${fileId}`]);
  assert.deepEqual(await readFile(join(h.dir, 'queue', '0', String(fileId))), ORIGINAL);
  const y = added[1] as QueueMessage;
  assert.deepEqual(y, {
    id: y.id,
    fileId,
    queued: new Date(T0),
    account: 'alice',
    sender: { localpart: 'alice', domain: 'example.com' },
    recipient: { localpart: 'y', domain: 'remote.example' },
    has8bit: false,
    smtputf8: false,
    messageId: '<orig-1@example.com>',
    subject: 'Hello',
    requireTLS: null,
    prefix,
    size: prefix.length + ORIGINAL.length,
    nextAttempt: new Date(T0),
    futureReleaseRequest: '',
    hold: false,
    isDSN: false,
    isReport: false,
    attempts: 0,
    lastAttempt: null,
    lastError: '',
    results: [],
    dsn: { notify: ['SUCCESS'], ret: 'FULL', envid: 'e1' },
  });
  assert.deepEqual(h.q.get(y.id), y);
  assert.deepEqual(h.q.list(), added);
  assert.deepEqual(
    h.q.list({ hold: true }).map((m) => m.recipient.localpart),
    ['z'],
  );
  assert.deepEqual(h.q.list({ account: 'bob' }), []);
  assert.deepEqual(
    h.q.list({ ids: [y.id, 9999] }).map((m) => m.id),
    [y.id],
  );
  assert.deepEqual(await readAll(h.q.openMessage(y)), Buffer.concat([prefix, ORIGINAL]));
});

test('a failing add queues nothing and leaves no file', async (t) => {
  let failCommit = false;
  const h = await harness({
    beforeCommit: () => {
      if (failCommit) throw new Error('injected database failure');
    },
  });
  t.after(() => h.close());

  await assert.rejects(
    h.q.add(join(h.dir, 'tmp', 'missing.msg'), [msg('x@remote.example')]),
    (e: NodeJS.ErrnoException) => e.code === 'ENOENT',
  );
  failCommit = true;
  await assert.rejects(
    h.submit(ORIGINAL, [msg('x@remote.example'), msg('y@remote.example'), msg('z@remote.example')]),
    /injected database failure/,
  );
  failCommit = false;
  await assert.rejects(h.submit(ORIGINAL, []), QueueError);
  await assert.rejects(
    h.submit(ORIGINAL, [msg('x@remote.example'), msg('bad@exämple.org')]),
    /invalid recipient/,
  );
  assert.deepEqual(h.q.list(), []);
  assert.deepEqual(await queueFiles(h.dir), []);
  // The store's temp directory holds nothing either (the harness removed its temp files).
  assert.deepEqual(await readdir(join(h.dir, 'tmp')), []);

  // The queue still works afterwards, with a fresh file id.
  const [m] = await h.submit(ORIGINAL, [msg('x@remote.example')]);
  assert.deepEqual(await queueFiles(h.dir), [`0/${m?.fileId}`]);
});

test('reopening resumes pending messages and keeps their attempt history', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const added = await h.submit(ORIGINAL, [msg('x@remote.example'), msg('bob@example.com')]);
  await h.q.runOnce();
  // bob got it; the remote one waits for a remote deliverer.
  assert.equal((await mailboxContents(h.store, 'bob')).length, 1);
  const before = h.q.list();
  assert.equal(before.length, 1);
  assert.equal(before[0]?.attempts, 1);
  assert.equal(before[0]?.lastError, 'no remote delivery configured');
  assert.deepEqual(before[0]?.nextAttempt, new Date(T0 + 7.5 * MIN));

  await h.reopen();
  assert.deepEqual(h.q.list(), before);
  const delivered: QueueMessage[] = [];
  await h.reopen({
    remote: {
      deliver: async (msgs) => {
        delivered.push(...msgs);
        return msgs.map(() => ({
          ok: true,
          permanent: false,
          code: 250,
          secode: '2.0.0',
          error: 'ok',
          host: 'mx.remote.example',
        }));
      },
    },
  });
  h.setNow(T0 + 8 * MIN);
  await h.q.runOnce();
  assert.deepEqual(
    delivered.map((m) => m.id),
    [added[0]?.id],
  );
  assert.deepEqual(h.q.list(), []);
  assert.deepEqual(await queueFiles(h.dir), []);
});

test('open removes orphan files and fails messages whose file is missing', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const [a] = await h.submit(ORIGINAL, [msg('x@remote.example')]);
  const [b] = await h.submit(ORIGINAL, [
    msg('y@remote.example', { dsn: { envid: 'env-b' } }),
    msg('z@remote.example', { from: null }),
  ]);
  assert.ok(a && b);
  await h.q.stop();
  // A crash between link and commit leaves a file nothing references...
  await mkdir(join(h.dir, 'queue', '7'), { recursive: true });
  await writeFile(join(h.dir, 'queue', '7', '7001'), 'orphan');
  await writeFile(join(h.dir, 'queue', '0', '555'), 'orphan');
  // ...and a lost file leaves rows without data.
  await (await import('node:fs/promises')).unlink(join(h.dir, 'queue', '0', String(b.fileId)));

  await h.reopen();
  assert.deepEqual(await queueFiles(h.dir), [`0/${a.fileId}`]);
  assert.deepEqual(
    h.q.list().map((m) => m.id),
    [a.id],
  );
  // One failure DSN to alice about y (z had a null sender), without the original.
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.equal(dsns.length, 1);
  assert.deepEqual(dsns[0]?.dsn, {
    envid: 'env-b',
    reportingMTA: 'mail.example.com',
    recipients: [{ finalRecipient: 'y@remote.example', action: 'failed', status: '5.0.0' }],
  });
  assert.match(dsns[0]?.raw.toString() ?? '', /message file missing from queue/);
  assert.doesNotMatch(dsns[0]?.raw.toString() ?? '', /rfc822-headers/);
  // New files get ids above the orphans' ids.
  const [c] = await h.submit(ORIGINAL, [msg('w@remote.example')]);
  assert.equal(c?.fileId, 7002);
});

test('hold, release, reschedule and drop', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const added = await h.submit(ORIGINAL, [
    msg('alice@example.com'),
    msg('bob@example.com'),
    msg('carol@example.com'),
  ]);
  const [ma, mb, mc] = added.map((m) => m.id) as [number, number, number];
  assert.equal(h.q.hold([ma, mb, 12345]), 2);
  await h.q.runOnce();
  assert.equal((await mailboxContents(h.store, 'carol')).length, 1);
  assert.deepEqual(
    h.q.list({ hold: true }).map((m) => m.id),
    [ma, mb],
  );

  assert.equal(h.q.release([ma]), 1);
  assert.equal(h.q.reschedule([ma], new Date(T0 + HOUR)), 1);
  await h.q.runOnce();
  assert.equal((await mailboxContents(h.store, 'alice')).length, 0);
  h.setNow(T0 + HOUR);
  await h.q.runOnce();
  assert.equal((await mailboxContents(h.store, 'alice')).length, 1);

  // The file stays while bob's held message needs it; drop removes row and file.
  const fileId = added[0]?.fileId as number;
  assert.ok(await stat(join(h.dir, 'queue', '0', String(fileId))));
  assert.equal(await h.q.drop([mb, mc]), 1);
  assert.deepEqual(h.q.list(), []);
  assert.deepEqual(await queueFiles(h.dir), []);
  assert.equal((await mailboxContents(h.store, 'bob')).length, 0);
  assert.equal((await inboxDSNs(h.store, 'alice')).length, 0);
});

test('FUTURERELEASE: nothing is attempted before nextAttempt', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const release = new Date(T0 + 2 * HOUR);
  const [m] = await h.submit(ORIGINAL, [
    msg('bob@example.com', { nextAttempt: release, futureReleaseRequest: 'for;7200' }),
  ]);
  assert.deepEqual(m?.nextAttempt, release);
  assert.equal(m?.futureReleaseRequest, 'for;7200');
  h.setNow(T0 + 2 * HOUR - 1);
  await h.q.runOnce();
  assert.equal(h.q.list().length, 1);
  assert.equal((await mailboxContents(h.store, 'bob')).length, 0);
  h.setNow(T0 + 2 * HOUR);
  await h.q.runOnce();
  assert.equal(h.q.list().length, 0);
  assert.equal((await mailboxContents(h.store, 'bob')).length, 1);
});

test('the file is removed only after the last recipient finishes', async (t) => {
  const outcomes: boolean[] = [];
  const h = await harness({
    remote: {
      deliver: async (msgs) =>
        msgs.map(() => ({
          ok: outcomes.shift() ?? false,
          permanent: false,
          code: 451,
          secode: '4.0.0',
          error: 'try later',
          host: 'mx.remote.example',
        })),
    },
  });
  t.after(() => h.close());
  const [m] = await h.submit(ORIGINAL, [msg('bob@example.com'), msg('x@remote.example')]);
  const file = join(h.dir, 'queue', '0', String(m?.fileId));
  outcomes.push(false);
  await h.q.runOnce();
  assert.equal((await mailboxContents(h.store, 'bob')).length, 1);
  assert.ok(await stat(file));
  h.setNow(T0 + 7.5 * MIN);
  outcomes.push(true);
  await h.q.runOnce();
  assert.deepEqual(h.q.list(), []);
  await assert.rejects(stat(file), { code: 'ENOENT' });
});

test('the started runner delivers added messages and retries when due', async (t) => {
  const h = await harness({ clock: Date.now, backoffBaseMs: 20 });
  t.after(() => h.close());
  let calls = 0;
  await h.reopen({
    clock: Date.now,
    remote: {
      deliver: async (msgs) => {
        calls++;
        return msgs.map(() => ({
          ok: calls > 1,
          permanent: false,
          code: calls > 1 ? 250 : 451,
          secode: '',
          error: calls > 1 ? 'ok' : 'busy',
          host: 'mx',
        }));
      },
    },
  });
  h.q.start();
  const events: string[] = [];
  const done = new Promise<void>((resolve) => {
    h.q.on('retry', (m, r) => events.push(`retry ${m.recipient.localpart} ${r.error}`));
    h.q.on('delivered', (m) => {
      events.push(`delivered ${m.recipient.localpart}`);
      if (events.length === 3) resolve();
    });
  });
  await h.submit(ORIGINAL, [msg('bob@example.com'), msg('x@remote.example')]);
  await done;
  assert.deepEqual(events.sort(), ['delivered bob', 'delivered x', 'retry x busy']);
  assert.equal(calls, 2);
  await h.q.stop();
  assert.deepEqual(h.q.list(), []);
});

test('fail() sends a failure DSN; drop() waits for an attempt in progress', async (t) => {
  let open: () => void = () => {};
  const gate = new Promise<void>((r) => (open = r));
  let entered: () => void = () => {};
  const delivering = new Promise<void>((r) => (entered = r));
  let finished = false;
  const h = await harness({
    remote: {
      deliver: async (msgs) => {
        entered();
        await gate;
        finished = true;
        return msgs.map(() => ({
          ok: false,
          permanent: false,
          code: 451,
          secode: '4.3.0',
          error: 'busy',
          host: 'mx',
        }));
      },
    },
  });
  t.after(() => h.close());
  const [a] = await h.submit(ORIGINAL, [msg('bob@example.com', { hold: true })]);
  const [b] = await h.submit(ORIGINAL, [msg('x@remote.example')]);
  assert.ok(a && b);

  assert.equal(await h.q.fail([a.id, 4242]), 1);
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.deepEqual(
    dsns.map((d) => d.dsn.recipients),
    [[{ finalRecipient: 'bob@example.com', action: 'failed', status: '5.0.0' }]],
  );
  assert.match(dsns[0]?.raw.toString() ?? '', /delivery failed by administrator/);
  assert.equal((await mailboxContents(h.store, 'bob')).length, 0);

  const run = h.q.runOnce();
  await delivering;
  const dropped = h.q.drop([b.id]).then((n) => [n, finished]);
  await new Promise((r) => setTimeout(r, 20));
  open();
  await run;
  assert.deepEqual(await dropped, [1, true]);
  assert.deepEqual(h.q.list(), []);
  assert.deepEqual(await queueFiles(h.dir), []);
});

test('the queue schema version lives in its own table, not in user_version', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const db = h.store.global.db;
  const globalVersion = GLOBAL_MIGRATIONS[GLOBAL_MIGRATIONS.length - 1]?.version;
  assert.equal(db.pragma('user_version', { simple: true }), globalVersion);
  assert.deepEqual(db.prepare('SELECT id, version FROM queue_schema').all(), [
    { id: 1, version: 3 },
  ]);
  await h.submit(ORIGINAL, [msg('x@remote.example')]);
  db.prepare('UPDATE queue_schema SET version = 99').run();
  await assert.rejects(
    h.reopen(),
    (e: unknown) =>
      e instanceof QueueError &&
      e.code === 'schema' &&
      e.message ===
        'queue schema version 99 is newer than this program supports (3); upgrade Tidings',
  );
});

test('queued message files and their directories are private under a permissive umask', async (t) => {
  const old = process.umask(0);
  t.after(() => process.umask(old));
  const h = await harness();
  t.after(() => h.close());
  const [m] = await h.submit(ORIGINAL, [msg('x@remote.example')]);
  const fileId = (m as QueueMessage).fileId;
  const mode = async (p: string) => (await stat(join(h.dir, p))).mode & 0o777;
  assert.deepEqual(
    [await mode('queue'), await mode('queue/0'), await mode(`queue/0/${fileId}`)],
    [0o700, 0o700, 0o600],
  );
});
