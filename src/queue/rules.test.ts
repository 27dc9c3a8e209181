import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { ORIGINAL, T0, harness, inboxDSNs, msg } from './testutil.js';
import { queueAdmin } from './admin.js';
import { suppressingFailure } from './rules.js';
import type { DeliveryOutcome, QueueMessage, RemoteDeliverer } from './types.js';

function remoteAnswering(answer: (rcpt: string) => DeliveryOutcome): {
  remote: RemoteDeliverer;
  seen: string[];
} {
  const seen: string[] = [];
  return {
    seen,
    remote: {
      async deliver(msgs: QueueMessage[], data: () => Readable) {
        for await (const _ of data()) void _;
        return msgs.map((m) => {
          const rcpt = `${m.recipient.localpart}@${m.recipient.domain}`;
          seen.push(rcpt);
          return answer(rcpt);
        });
      },
    },
  };
}

const userUnknown: DeliveryOutcome = {
  ok: false,
  permanent: true,
  code: 550,
  secode: '5.1.1',
  error: 'no such user',
  host: 'mx.remote.example',
};
const delivered: DeliveryOutcome = {
  ok: true,
  permanent: false,
  code: 250,
  secode: '2.0.0',
  error: 'ok',
  host: 'mx.remote.example',
};

test('suppressing failures: gone mailboxes and domains only', () => {
  assert.equal(suppressingFailure(550, '5.1.1'), true);
  assert.equal(suppressingFailure(550, '1.1'), true);
  assert.equal(suppressingFailure(556, '5.1.10'), true);
  assert.equal(suppressingFailure(0, '5.1.10'), true);
  assert.equal(suppressingFailure(552, '5.2.2'), false); // mailbox full: may clear up
  assert.equal(suppressingFailure(450, '4.1.1'), false);
  assert.equal(suppressingFailure(554, '5.7.1'), false); // policy, not the address
});

test('a 5.1.1 failure suppresses the address; the next message to it fails at once', async (t) => {
  const { remote, seen } = remoteAnswering((r) =>
    r === 'gone@remote.example' ? userUnknown : delivered,
  );
  const h = await harness({ remote });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('gone@remote.example'), msg('ok@remote.example')]);
  await h.q.runOnce();
  assert.deepEqual(seen.sort(), ['gone@remote.example', 'ok@remote.example']);
  const list = h.q.rules.suppressions('alice');
  assert.equal(list.length, 1);
  assert.equal(list[0]?.address, 'gone@remote.example');
  assert.equal(list[0]?.manual, false);
  assert.match(list[0]?.reason ?? '', /^550 5\.1\.1 no such user/);
  assert.equal((await inboxDSNs(h.store, 'alice')).length, 1);

  // Case differs; still suppressed. Another account is not affected.
  seen.length = 0;
  await h.submit(ORIGINAL, [msg('Gone@Remote.Example')]);
  await h.submit(ORIGINAL, [
    msg('gone@remote.example', { account: 'bob', from: 'bob@example.com' }),
  ]);
  await h.q.runOnce();
  assert.deepEqual(seen, ['gone@remote.example']);
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.equal(dsns.length, 2);
  const last = dsns.find((d) => d.dsn.recipients[0]?.finalRecipient.includes('Gone'));
  assert.ok(last);
  assert.equal(last.dsn.recipients[0]?.status, '5.1.0');
  assert.match(last.raw.toString(), /recipient is on the suppression list/);
  assert.equal(h.q.list().length, 0);

  // Removed by the administrator: delivered again.
  await queueAdmin(h.q, 'suppression.remove', { account: 'alice', address: 'GONE@remote.example' });
  assert.equal(h.q.rules.suppressions('alice').length, 0);
});

test('admin: manual suppressions, hold rules, list/hold/release/schedule/fail/drop', async (t) => {
  const { remote, seen } = remoteAnswering(() => delivered);
  const h = await harness({ remote });
  t.after(() => h.close());

  assert.deepEqual(
    await queueAdmin(h.q, 'suppression.add', { account: 'alice', address: 'x@y.example' }),
    { added: true },
  );
  assert.deepEqual(
    await queueAdmin(h.q, 'suppression.add', { account: 'alice', address: 'X@Y.example' }),
    { added: false },
  );
  await assert.rejects(
    queueAdmin(h.q, 'suppression.add', { account: 'alice', address: 'nope' }),
    /not an email address/,
  );
  await assert.rejects(
    queueAdmin(h.q, 'suppression.remove', { account: 'bob', address: 'x@y.example' }),
    /not on the suppression list of bob/,
  );
  const sl = (await queueAdmin(h.q, 'suppression.list', {})) as Array<{
    manual: boolean;
    address: string;
  }>;
  assert.deepEqual(
    sl.map((s) => [s.address, s.manual]),
    [['x@y.example', true]],
  );

  // Hold rule by recipient domain: matching messages are queued on hold.
  const rule = (await queueAdmin(h.q, 'holdrule.add', { recipientDomain: 'Held.Example' })) as {
    id: number;
  };
  const [a, b] = await h.submit(ORIGINAL, [msg('one@held.example'), msg('two@free.example')]);
  assert.ok(a && b);
  const listed = (await queueAdmin(h.q, 'queue.list', {})) as Array<{
    id: number;
    hold: boolean;
    to: string;
  }>;
  assert.deepEqual(
    listed.map((m) => [m.to, m.hold]),
    [
      ['one@held.example', true],
      ['two@free.example', false],
    ],
  );
  await h.q.runOnce();
  assert.deepEqual(seen, ['two@free.example']);
  assert.deepEqual(await queueAdmin(h.q, 'holdrule.remove', { id: rule.id }), { removed: rule.id });
  await assert.rejects(queueAdmin(h.q, 'holdrule.remove', { id: rule.id }), /no hold rule/);

  // Changing operations refuse an empty selection; filters select.
  await assert.rejects(queueAdmin(h.q, 'queue.release', {}), /name message ids or a filter/);
  assert.deepEqual(await queueAdmin(h.q, 'queue.release', { hold: true }), { count: 1 });
  h.setNow(T0 + 1000);
  const [c] = await h.submit(ORIGINAL, [msg('three@later.example')]);
  assert.ok(c);
  assert.deepEqual(await queueAdmin(h.q, 'queue.hold', { ids: [c.id] }), { count: 1 });
  assert.deepEqual(
    await queueAdmin(h.q, 'queue.schedule', {
      toDomain: 'held.example',
      at: '2030-01-01T00:00:00Z',
    }),
    { count: 1 },
  );
  assert.equal(h.q.get(a.id)?.nextAttempt.toISOString(), '2030-01-01T00:00:00.000Z');
  await assert.rejects(
    queueAdmin(h.q, 'queue.schedule', { ids: [a.id], at: 'tomorrow-ish' }),
    /not a time/,
  );

  const shown = (await queueAdmin(h.q, 'queue.show', { id: c.id })) as {
    header: string;
    hold: boolean;
  };
  assert.equal(shown.hold, true);
  assert.match(shown.header, /^Received: from client by mail\.example\.com\r\nFrom: Alice/);
  await assert.rejects(queueAdmin(h.q, 'queue.show', { id: 99999 }), /no message 99999/);

  assert.deepEqual(await queueAdmin(h.q, 'queue.fail', { ids: [a.id] }), { count: 1 });
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.equal(dsns.length, 1);
  assert.equal(dsns[0]?.dsn.recipients[0]?.action, 'failed');
  assert.deepEqual(await queueAdmin(h.q, 'queue.drop', { all: true }), { count: 1 });
  assert.equal(h.q.list().length, 0);
  assert.equal((await inboxDSNs(h.store, 'alice')).length, 1);
  await assert.rejects(queueAdmin(h.q, 'queue.nosuch', {}), /unknown operation/);
});
