// SUBSCRIBE over the protocol (RFC 9051 §6.3.7): nonexistent mailboxes may be subscribed
// (checking is optional there, and a subscription may outlive its mailbox anyway), other
// sessions are told with an untagged LIST (\Subscribed), names are validated.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('imap SUBSCRIBE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('a nonexistent mailbox can be subscribed', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('SUBSCRIBE ghost/child');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'OK SUBSCRIBE done');
    assert.deepEqual(await c.ok('LSUB "" "ghost*"'), ['* LSUB (\\NoSelect) "/" "ghost/child"']);
    assert.deepEqual(await c.ok('LIST (SUBSCRIBED) "" "ghost*"'), [
      '* LIST (\\NonExistent \\Subscribed) "/" "ghost/child"',
    ]);
    // A plain LIST only lists mailboxes that exist.
    assert.deepEqual(await c.ok('LIST "" "ghost*"'), []);
    // Creating it later makes it a normal subscribed mailbox.
    await c.ok('CREATE ghost/child');
    assert.deepEqual(await c.ok('LIST (SUBSCRIBED) "" "ghost*"'), [
      '* LIST (\\HasChildren \\Subscribed) "/" "ghost"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "ghost/child"',
    ]);
    c.close();
  });

  test('subscribing twice is fine; INBOX in any case is Inbox', async () => {
    const c = await Client.login(s);
    await c.ok('UNSUBSCRIBE Inbox');
    await c.ok('SUBSCRIBE inbox');
    await c.ok('SUBSCRIBE INBOX');
    assert.deepEqual(await c.ok('LSUB "" INBOX'), ['* LSUB () "/" "Inbox"']);
    c.close();
  });

  test('other sessions are told about new subscriptions only', async () => {
    const c = await Client.login(s);
    const other = await Client.login(s);
    await c.ok('SUBSCRIBE Archive'); // Already subscribed: no change to announce.
    await c.ok('SUBSCRIBE news');
    assert.deepEqual(await other.ok('NOOP'), ['* LIST (\\Subscribed) "/" "news"']);
    assert.deepEqual(await c.ok('NOOP'), []);
    c.close();
    other.close();
  });

  test('names are validated and decoded', async () => {
    const c = await Client.login(s);
    assert.equal(
      (await c.cmd('SUBSCRIBE "a//b"')).tagged,
      'NO [CANNOT] SUBSCRIBE invalid mailbox name "a//b": contains "//"',
    );
    assert.equal(
      (await c.cmd('SUBSCRIBE "&Jjo"')).tagged,
      'NO [CANNOT] SUBSCRIBE invalid modified UTF-7 mailbox name: unterminated shift sequence',
    );
    assert.equal(
      (await c.cmd('SUBSCRIBE')).tagged,
      'BAD SUBSCRIBE unrecognized syntax/command: expected space',
    );
    await c.ok('SUBSCRIBE "Caf&AOk-"');
    assert.deepEqual(await c.ok('LSUB "" "Caf*"'), ['* LSUB (\\NoSelect) "/" "Caf&AOk-"']);
    const u = await Client.login(s);
    await u.ok('ENABLE UTF8=ACCEPT');
    assert.deepEqual(await u.ok('LIST (SUBSCRIBED) "" "Caf*"'), [
      Buffer.from('* LIST (\\NonExistent \\Subscribed) "/" "Café"').toString('latin1'),
    ]);
    c.close();
    u.close();
  });
});
