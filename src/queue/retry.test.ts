import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HOUR, MIN, ORIGINAL, T0, harness, inboxDSNs, mailboxContents, msg } from './testutil.js';
import { MAX_BACKOFF_MS, backoffDelay, wantsDSN } from './policy.js';
import type { QueueMessage } from './types.js';

test('backoff doubles from the base up to 16 hours', () => {
  const base = 7.5 * MIN;
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 30, 2000].map((n) => backoffDelay(n, base) / MIN),
    [7.5, 15, 30, 60, 120, 240, 480, 960, 960, 960, 960],
  );
  assert.equal(MAX_BACKOFF_MS, 16 * HOUR);
  assert.equal(backoffDelay(3, 1000), 4000);
});

test('which DSNs a sender gets', () => {
  const base = { sender: { localpart: 'a', domain: 'b' }, isDSN: false } as QueueMessage;
  const kinds = ['failed', 'delayed', 'delivered', 'relayed'] as const;
  const wants = (m: Partial<QueueMessage>) => kinds.filter((k) => wantsDSN({ ...base, ...m }, k));
  assert.deepEqual(wants({}), ['failed', 'delayed']);
  assert.deepEqual(wants({ dsn: { ret: 'FULL' } }), ['failed', 'delayed']);
  assert.deepEqual(wants({ dsn: { notify: 'NEVER' } }), []);
  assert.deepEqual(wants({ dsn: { notify: ['SUCCESS'] } }), ['delivered', 'relayed']);
  assert.deepEqual(wants({ dsn: { notify: ['FAILURE'] } }), ['failed']);
  assert.deepEqual(wants({ dsn: { notify: ['DELAY', 'FAILURE', 'SUCCESS'] } }), [...kinds]);
  assert.deepEqual(wants({ sender: null }), []);
  assert.deepEqual(wants({ isDSN: true, dsn: { notify: ['SUCCESS'] } }), []);
});

test('over quota: retried with exact backoff, one delay DSN after 4 h, failure after 5 days', async (t) => {
  const h = await harness({ quota: (a) => (a === 'bob' ? 10 : 0) });
  t.after(() => h.close());
  const retries: QueueMessage[] = [];
  const failed: QueueMessage[] = [];
  h.q.on('retry', (m) => retries.push(m));
  h.q.on('failed', (m) => failed.push(m));
  const [m] = await h.submit(ORIGINAL, [msg('bob@example.com')]);
  assert.ok(m);

  const attemptTimes: number[] = [];
  for (let i = 0; i < 100 && h.q.get(m.id); i++) {
    const cur = h.q.get(m.id) as QueueMessage;
    h.setNow(cur.nextAttempt.getTime());
    attemptTimes.push(h.now());
    await h.q.runOnce();
  }
  // Attempts at 0, 7.5, 22.5, 52.5 ... minutes; waits capped at 16 h; the first attempt
  // at or after 5 days (7200 minutes) gives up.
  assert.deepEqual(
    attemptTimes.map((x) => (x - T0) / MIN),
    [
      0, 7.5, 22.5, 52.5, 112.5, 232.5, 472.5, 952.5, 1912.5, 2872.5, 3832.5, 4792.5, 5752.5,
      6712.5, 7672.5,
    ],
  );
  assert.deepEqual(
    retries.map((r) => (r.nextAttempt.getTime() - (r.lastAttempt?.getTime() ?? 0)) / MIN),
    [7.5, 15, 30, 60, 120, 240, 480, 960, 960, 960, 960, 960, 960, 960],
  );
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.attempts, 15);
  assert.equal(failed[0]?.results.length, 15);
  assert.deepEqual(failed[0]?.results[14], {
    start: new Date(T0 + 7672.5 * MIN),
    duration: 0,
    success: false,
    code: 452,
    secode: '4.2.2',
    error: 'account storage full',
    host: '',
  });
  assert.deepEqual(await mailboxContents(h.store, 'bob'), []);

  const dsns = await inboxDSNs(h.store, 'alice');
  assert.deepEqual(
    dsns.map((d) => d.dsn.recipients),
    [
      [
        {
          finalRecipient: 'bob@example.com',
          action: 'delayed',
          status: '4.2.2',
          diagnostic: '452 4.2.2 account storage full',
        },
      ],
      [
        {
          finalRecipient: 'bob@example.com',
          action: 'failed',
          status: '4.2.2',
          diagnostic: '452 4.2.2 account storage full',
        },
      ],
    ],
  );
  const delayed = dsns[0]?.raw.toString() ?? '';
  // Sent after the attempt at 472.5 minutes (the first one 4 h after queueing).
  assert.match(delayed, /Subject: mail delivery delayed/);
  assert.match(delayed, /Last-Attempt-Date: Mon, 15 Jan 2024 19:52:30 \+0000/);
  assert.match(delayed, /Will-Retry-Until: Sat, 20 Jan 2024 12:00:00 \+0000/);
  assert.match(dsns[1]?.raw.toString() ?? '', /Transient delivery failure to: bob@example\.com/);
});

test('delay DSNs only when asked for, and no DSN at all for NOTIFY=NEVER', async (t) => {
  const h = await harness({ quota: (a) => (a === 'bob' ? 10 : 0), maxAgeMs: 6 * HOUR });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [
    msg('bob@example.com', { dsn: { notify: ['FAILURE'] } }),
    msg('bob@example.com', { dsn: { notify: 'NEVER' } }),
  ]);
  for (let i = 0; i < 50 && h.q.list().length > 0; i++) {
    h.setNow(Math.min(...h.q.list().map((m) => m.nextAttempt.getTime())));
    await h.q.runOnce();
  }
  assert.deepEqual(h.q.list(), []);
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.deepEqual(
    dsns.map((d) => d.dsn.recipients.map((r) => r.action)),
    [['failed']],
  );
});

test('the expiry counts from the FUTURERELEASE time, not from queueing', async (t) => {
  const h = await harness({ maxAgeMs: HOUR, backoffBaseMs: 20 * MIN });
  t.after(() => h.close());
  const [m] = await h.submit(ORIGINAL, [
    msg('x@remote.example', { nextAttempt: new Date(T0 + 10 * HOUR), dsn: { notify: 'NEVER' } }),
  ]);
  assert.ok(m);
  const times: number[] = [];
  for (let i = 0; i < 20 && h.q.get(m.id); i++) {
    h.setNow((h.q.get(m.id) as QueueMessage).nextAttempt.getTime());
    times.push((h.now() - T0) / MIN);
    await h.q.runOnce();
  }
  assert.deepEqual(times, [600, 620, 660]);
});
