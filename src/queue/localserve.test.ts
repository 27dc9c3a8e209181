import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ORIGINAL, harness, inboxDSNs, mailboxContents, msg } from './testutil.js';

test('localserve: every recipient is delivered to the localserve account', async (t) => {
  const h = await harness({ localserve: { account: 'bob' } });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [
    msg('someone@elsewhere.example', { prefix: Buffer.alloc(0) }),
    msg('carol@example.com', { prefix: Buffer.alloc(0) }),
  ]);
  await h.q.runOnce();
  const bob = await mailboxContents(h.store, 'bob');
  assert.deepEqual(bob, [
    Buffer.concat([
      Buffer.from(
        'Delivered-To: someone@elsewhere.example\r\nReturn-Path: <alice@example.com>\r\n',
      ),
      ORIGINAL,
    ]),
  ]);
  // A configured local address still goes to its own account.
  assert.equal((await mailboxContents(h.store, 'carol')).length, 1);
  assert.deepEqual(h.q.list(), []);
});

test('localserve: "queue<code>" localparts simulate delivery failures', async (t) => {
  const h = await harness({ localserve: { account: 'bob' } });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [
    msg('queue550@elsewhere.example', { prefix: Buffer.alloc(0) }),
    msg('queue451@elsewhere.example', { prefix: Buffer.alloc(0) }),
  ]);
  await h.q.runOnce();
  assert.equal((await mailboxContents(h.store, 'bob')).length, 0);
  // The permanent failure is reported to the sender at once; the temporary one waits.
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.equal(dsns.length, 1);
  assert.deepEqual(
    dsns[0]?.dsn.recipients.map((r) => [r.finalRecipient, r.action, r.status]),
    [['queue550@elsewhere.example', 'failed', '5.0.0']],
  );
  const left = h.q.list();
  assert.deepEqual(
    left.map((m) => [m.recipient.localpart, m.attempts, m.lastError]),
    [['queue451', 1, 'simulated failure with code 451 due to special localpart']],
  );
});
