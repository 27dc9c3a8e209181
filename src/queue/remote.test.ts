import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { MIN, ORIGINAL, T0, harness, inboxDSNs, msg } from './testutil.js';
import type { DeliveryOutcome, QueueMessage, RemoteDeliverer } from './types.js';

type Call = { ids: number[]; rcpts: string[]; data: Buffer };

/** A remote deliverer that records calls and answers per recipient localpart. */
function fakeRemote(answer: (rcpt: string) => DeliveryOutcome): {
  remote: RemoteDeliverer;
  calls: Call[];
} {
  const calls: Call[] = [];
  const remote: RemoteDeliverer = {
    async deliver(msgs: QueueMessage[], data: () => Readable) {
      const rcpts = msgs.map((m) => `${m.recipient.localpart}@${m.recipient.domain}`);
      const call: Call = { ids: msgs.map((m) => m.id), rcpts, data: Buffer.alloc(0) };
      calls.push(call);
      const chunks: Buffer[] = [];
      for await (const c of data()) chunks.push(c as Buffer);
      call.data = Buffer.concat(chunks);
      return rcpts.map(answer);
    },
  };
  return { remote, calls };
}

const ok = (host: string): DeliveryOutcome => ({
  ok: true,
  permanent: false,
  code: 250,
  secode: '2.0.0',
  error: 'queued as 123',
  host,
});

test('remote delivery groups by file, sender and account; outcomes drive DSNs and retries', async (t) => {
  const { remote, calls } = fakeRemote((rcpt) => {
    if (rcpt === 'gone@remote.example') {
      return {
        ok: false,
        permanent: true,
        code: 550,
        secode: '5.1.1',
        error: 'mailbox unavailable',
        host: 'mx1.remote.example',
      };
    }
    if (rcpt.endsWith('@other.example')) {
      return {
        ok: false,
        permanent: false,
        code: 421,
        secode: '4.7.0',
        error: 'try later',
        host: 'mx.other.example',
      };
    }
    return ok('mx1.remote.example');
  });
  const h = await harness({ remote });
  t.after(() => h.close());
  const prefixA = Buffer.from('Received: A\r\n');
  const a = await h.submit(ORIGINAL, [
    msg('x@remote.example', { prefix: prefixA, dsn: { notify: ['SUCCESS', 'FAILURE'] } }),
    msg('gone@remote.example', { prefix: prefixA }),
    msg('y@other.example', { prefix: prefixA }),
    msg('bob@example.com', { prefix: prefixA }),
  ]);
  const b = await h.submit(Buffer.from('Subject: B\r\n\r\nB\r\n'), [
    msg('z@remote.example', { prefix: Buffer.alloc(0) }),
  ]);
  const [ax, agone, ay] = a;
  assert.ok(ax && agone && ay && b[0]);
  await h.q.runOnce();

  assert.deepEqual(
    calls.map((c) => [c.ids, c.rcpts]),
    [
      [
        [ax.id, agone.id, ay.id],
        ['x@remote.example', 'gone@remote.example', 'y@other.example'],
      ],
      [[b[0].id], ['z@remote.example']],
    ],
  );
  assert.deepEqual(calls[0]?.data, Buffer.concat([prefixA, ORIGINAL]));
  assert.deepEqual(calls[1]?.data, Buffer.from('Subject: B\r\n\r\nB\r\n'));

  // Left: the temporary failure, due again after the first backoff.
  const left = h.q.list();
  assert.deepEqual(
    left.map((m) => [m.id, m.attempts, m.lastError, m.nextAttempt.getTime() - T0]),
    [[ay.id, 1, 'try later', 7.5 * MIN]],
  );
  assert.deepEqual(left[0]?.results[0], {
    start: new Date(T0),
    duration: 0,
    success: false,
    code: 421,
    secode: '4.7.0',
    error: 'try later',
    host: 'mx.other.example',
  });

  // A "relayed" DSN for NOTIFY=SUCCESS, a failure DSN for the permanent failure.
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.deepEqual(
    dsns.map((d) => d.dsn.recipients),
    [
      [
        {
          finalRecipient: 'x@remote.example',
          action: 'relayed',
          status: '2.0.0',
          diagnostic: '250 2.0.0 queued as 123',
          remoteMTA: 'mx1.remote.example',
        },
      ],
      [
        {
          finalRecipient: 'gone@remote.example',
          action: 'failed',
          status: '5.1.1',
          diagnostic: '550 5.1.1 mailbox unavailable',
          remoteMTA: 'mx1.remote.example',
        },
      ],
    ],
  );
});

test('failed recipients of one group share one DSN; a passed-on DSN request gives none', async (t) => {
  const { remote, calls } = fakeRemote((rcpt) =>
    rcpt.startsWith('ok')
      ? { ...ok('mx'), dsnPassedOn: true }
      : { ok: false, permanent: true, code: 550, secode: '1.1', error: 'no', host: 'mx' },
  );
  const h = await harness({ remote });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [
    msg('a@remote.example'),
    msg('b@remote.example'),
    msg('ok@remote.example', { dsn: { notify: ['SUCCESS'] } }),
  ]);
  await h.q.runOnce();
  assert.equal(calls.length, 1);
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.deepEqual(
    dsns.map((d) => d.dsn.recipients.map((r) => [r.finalRecipient, r.status])),
    [
      [
        ['a@remote.example', '5.1.1'],
        ['b@remote.example', '5.1.1'],
      ],
    ],
  );
  assert.deepEqual(h.q.list(), []);
});

test('a throwing or short-answering deliverer gives temporary failures', async (t) => {
  let mode: 'throw' | 'short' = 'throw';
  const h = await harness({
    remote: {
      deliver: async (msgs) => {
        if (mode === 'throw') throw new Error('connection refused');
        return msgs.slice(1).map(() => ok('mx'));
      },
    },
  });
  t.after(() => h.close());
  const added = await h.submit(ORIGINAL, [msg('a@remote.example'), msg('b@remote.example')]);
  await h.q.runOnce();
  assert.deepEqual(
    h.q.list().map((m) => [m.attempts, m.lastError]),
    [
      [1, 'connection refused'],
      [1, 'connection refused'],
    ],
  );
  mode = 'short';
  h.setNow(T0 + 7.5 * MIN);
  await h.q.runOnce();
  // The first message got the second answer (ok) ... the second had none: retried.
  assert.deepEqual(
    h.q.list().map((m) => [m.id, m.attempts, m.lastError]),
    [[added[1]?.id, 2, 'no result from remote delivery']],
  );
});

test('without a remote deliverer, remote messages stay queued with a temporary failure', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('x@remote.example')]);
  await h.q.runOnce();
  const [m] = h.q.list();
  assert.deepEqual(
    [m?.attempts, m?.lastError, m?.nextAttempt.getTime()],
    [1, 'no remote delivery configured', T0 + 7.5 * MIN],
  );
});

test('localDelivery false sends local domains to the remote deliverer too', async (t) => {
  const { remote, calls } = fakeRemote(() => ok('smarthost'));
  const h = await harness({ remote, localDelivery: false });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('bob@example.com'), msg('carol@example.com')]);
  await h.q.runOnce();
  assert.deepEqual(
    calls.map((c) => c.rcpts),
    [['bob@example.com', 'carol@example.com']],
  );
  assert.deepEqual(h.q.list(), []);
});

test('at most maxConcurrent deliveries run at once', async (t) => {
  let running = 0;
  let peak = 0;
  const h = await harness({
    maxConcurrent: 2,
    remote: {
      deliver: async (msgs) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return msgs.map(() => ok('mx'));
      },
    },
  });
  t.after(() => h.close());
  for (let i = 0; i < 6; i++) await h.submit(ORIGINAL, [msg(`r${i}@d${i}.example`)]);
  await h.q.runOnce();
  assert.equal(peak, 2);
  assert.deepEqual(h.q.list(), []);
});
