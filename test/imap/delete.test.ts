// DELETE over the protocol (RFC 9051 §6.3.5, RFC 5530 codes): leaf mailboxes only,
// Inbox refused, subscriptions kept, and sessions that had the mailbox selected.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, addMessages as add, type TestServer } from './harness.js';
import type { Account } from '../../src/store/index.js';

describe('imap DELETE', () => {
  let s: TestServer;
  let a: Account;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
  });
  after(() => s.close());

  test('NONEXISTENT, HASCHILDREN, Inbox refused', async () => {
    const c = await Client.login(s);
    assert.equal(
      (await c.cmd('DELETE Nope')).tagged,
      'NO [NONEXISTENT] DELETE mailbox does not exist',
    );
    await c.ok('CREATE d1/d2');
    assert.equal(
      (await c.cmd('DELETE d1')).tagged,
      'NO [HASCHILDREN] DELETE mailbox has children, delete them first',
    );
    for (const name of ['INBOX', 'inbox', 'Inbox']) {
      assert.equal(
        (await c.cmd(`DELETE ${name}`)).tagged,
        'NO [CANNOT] DELETE cannot delete Inbox',
      );
    }
    assert.equal(
      (await c.cmd('DELETE')).tagged,
      'BAD DELETE unrecognized syntax/command: expected space',
    );
    c.close();
  });

  test('a leaf is deleted; its subscription stays', async () => {
    const c = await Client.login(s);
    await c.ok('CREATE e1/e2');
    const r = await c.cmd('DELETE e1/e2');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'OK DELETE done');
    assert.deepEqual(await c.ok('LIST "" "e1*"'), ['* LIST (\\HasNoChildren) "/" "e1"']);
    assert.deepEqual(await c.ok('LIST (SUBSCRIBED) "" "e1*"'), [
      '* LIST (\\HasNoChildren \\Subscribed) "/" "e1"',
      '* LIST (\\NonExistent \\Subscribed) "/" "e1/e2"',
    ]);
    // Now that it has no children, the parent can go too.
    await c.ok('DELETE e1');
    assert.deepEqual(await c.ok('LIST "" "e1*"'), []);
    assert.equal(
      (await c.cmd('DELETE e1')).tagged,
      'NO [NONEXISTENT] DELETE mailbox does not exist',
    );
    c.close();
  });

  test('messages go with the mailbox; a new mailbox of that name starts empty', async () => {
    await add(s, a, 'Full', 3);
    const c = await Client.login(s);
    const before = (await a.mailbox('Full'))!;
    assert.deepEqual(await c.ok('STATUS Full (MESSAGES UIDNEXT)'), [
      '* STATUS "Full" (MESSAGES 3 UIDNEXT 4)',
    ]);
    await c.ok('DELETE Full');
    await c.ok('CREATE Full');
    const after = (await a.mailbox('Full'))!;
    assert.notEqual(after.uidvalidity, before.uidvalidity);
    assert.deepEqual(await c.ok('STATUS Full (MESSAGES UIDNEXT UIDVALIDITY)'), [
      `* STATUS "Full" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ${after.uidvalidity})`,
    ]);
    c.close();
  });

  test('a session that had it selected: expunges, then NONEXISTENT on a write', async () => {
    const c = await Client.login(s);
    const rev1 = await Client.login(s);
    const rev2 = await Client.login(s);
    await rev2.ok('ENABLE IMAP4rev2');
    await add(s, a, 'Victim', 2);
    await rev1.ok('SELECT Victim');
    await rev2.ok('SELECT Victim');
    await c.ok('DELETE Victim');

    // The connection re-validates the selected mailbox for commands that change it.
    const r1 = await rev1.cmd('UID STORE 1 +FLAGS (\\Seen)');
    assert.deepEqual(r1.untagged, ['* 1 EXPUNGE', '* 1 EXPUNGE']);
    assert.equal(r1.tagged, 'NO [NONEXISTENT] UID STORE selected mailbox no longer exists');
    assert.equal(
      (await rev1.cmd('EXPUNGE')).tagged,
      'NO [NONEXISTENT] EXPUNGE selected mailbox no longer exists',
    );

    // IMAP4rev2 sessions also learn that the mailbox is gone.
    const r2 = await rev2.cmd('STORE 1 +FLAGS (\\Seen)');
    assert.deepEqual(r2.untagged, []);
    assert.equal(r2.tagged, 'NO [NONEXISTENT] STORE selected mailbox no longer exists');
    assert.deepEqual(await rev2.ok('NOOP'), [
      '* 1 EXPUNGE',
      '* 1 EXPUNGE',
      '* LIST (\\NonExistent) "/" "Victim"',
    ]);
    // Selecting something else still works.
    const sel = await rev2.cmd('SELECT INBOX');
    assert.equal(sel.untagged[0], '* OK [CLOSED] previous mailbox closed');
    assert.equal(sel.tagged, 'OK [READ-WRITE] SELECT done');
    c.close();
    rev1.close();
    rev2.close();
  });
});
