// UNSUBSCRIBE over the protocol (RFC 9051 §6.3.8): OK for a name that is not subscribed,
// as §6.3.8 asks, unless it is no existing mailbox either: a name that refers to nothing
// gets NO [NONEXISTENT], so the client hears of the mistake. No notification to other
// sessions; they see the change at their next LIST.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('imap UNSUBSCRIBE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('a subscribed name that does not exist', async () => {
    const c = await Client.login(s);
    await c.ok('SUBSCRIBE ghost');
    const r = await c.cmd('UNSUBSCRIBE ghost');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'OK UNSUBSCRIBE done');
    assert.deepEqual(await c.ok('LSUB "" ghost'), []);
    // Neither subscribed nor existing: NO.
    assert.equal(
      (await c.cmd('UNSUBSCRIBE ghost')).tagged,
      'NO [NONEXISTENT] UNSUBSCRIBE not subscribed and mailbox does not exist',
    );
    c.close();
  });

  test('an existing mailbox, subscribed or not', async () => {
    const c = await Client.login(s);
    await c.ok('UNSUBSCRIBE Archive');
    assert.deepEqual(await c.ok('LIST "" Archive RETURN (SUBSCRIBED)'), [
      '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
    ]);
    // Not subscribed any more, but the mailbox exists: OK.
    assert.equal((await c.cmd('UNSUBSCRIBE Archive')).tagged, 'OK UNSUBSCRIBE done');
    assert.equal((await c.cmd('UNSUBSCRIBE inbox')).tagged, 'OK UNSUBSCRIBE done');
    assert.deepEqual(await c.ok('LSUB "" "*"'), [
      '* LSUB () "/" "Drafts"',
      '* LSUB () "/" "Junk"',
      '* LSUB () "/" "Sent"',
      '* LSUB () "/" "Trash"',
    ]);
    await c.ok('SUBSCRIBE Archive');
    await c.ok('SUBSCRIBE INBOX');
    c.close();
  });

  test('other sessions get no notification', async () => {
    const c = await Client.login(s);
    const other = await Client.login(s);
    await c.ok('UNSUBSCRIBE Junk');
    assert.deepEqual(await other.ok('NOOP'), []);
    assert.deepEqual(await other.ok('LSUB "" Junk'), []);
    await c.ok('SUBSCRIBE Junk');
    c.close();
    other.close();
  });

  test('invalid names', async () => {
    const c = await Client.login(s);
    assert.equal(
      (await c.cmd('UNSUBSCRIBE "#x"')).tagged,
      'NO [CANNOT] UNSUBSCRIBE invalid mailbox name "#x": starts with "#"',
    );
    assert.equal(
      (await c.cmd('UNSUBSCRIBE a b')).tagged,
      'BAD UNSUBSCRIBE unrecognized syntax/command: unexpected text at end: " b"',
    );
    c.close();
  });
});
