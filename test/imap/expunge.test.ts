// EXPUNGE, UID EXPUNGE (RFC 4315), CLOSE, UNSELECT (RFC 3691), CHECK.
import { test, describe, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('EXPUNGE, CLOSE, UNSELECT', () => {
  let s: TestServer;
  beforeEach(async () => {
    s = await startTestServer();
    const a = await s.store.account('mjl');
    for (let i = 0; i < 6; i++) {
      const p = await s.store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
      // Messages 2, 3 and 5 are \Deleted.
      await a.addMessages('Inbox', [{ message: p, flags: [2, 3, 5].includes(i + 1) ? 8 : 0 }]);
      await p.cleanup();
    }
  });
  afterEach(() => s.close());

  test('EXPUNGE sends one EXPUNGE per message, with sequence numbers as they shift', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    assert.deepEqual(await c.ok('EXPUNGE'), ['* 2 EXPUNGE', '* 2 EXPUNGE', '* 3 EXPUNGE']);
    assert.deepEqual(await c.ok('EXPUNGE'), []);
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES DELETED)'), [
      '* STATUS "Inbox" (MESSAGES 3 DELETED 0)',
    ]);
    c.close();
  });

  test('UID EXPUNGE removes only the named \\Deleted messages', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    assert.deepEqual(await c.ok('UID EXPUNGE 1:3'), ['* 2 EXPUNGE', '* 2 EXPUNGE']);
    assert.deepEqual(await c.ok('UID EXPUNGE 5'), ['* 3 EXPUNGE']);
    c.close();
  });

  test('CLOSE expunges silently; UNSELECT does not; EXAMINE refuses EXPUNGE', async () => {
    const c = await Client.login(s);
    await c.ok('EXAMINE INBOX');
    assert.equal(
      (await c.cmd('EXPUNGE')).tagged,
      'NO EXPUNGE mailbox selected read-only (EXAMINE)',
    );
    assert.deepEqual(await c.ok('CLOSE'), []);
    assert.deepEqual(
      await c.ok('STATUS INBOX (MESSAGES)'),
      ['* STATUS "Inbox" (MESSAGES 6)'],
      'CLOSE after EXAMINE expunges nothing',
    );
    await c.ok('SELECT INBOX');
    assert.deepEqual(await c.ok('UNSELECT'), []);
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES)'), ['* STATUS "Inbox" (MESSAGES 6)']);
    assert.equal(
      (await c.cmd('EXPUNGE')).tagged,
      'NO EXPUNGE not allowed in this connection state',
    );
    await c.ok('SELECT INBOX');
    await c.ok('CHECK');
    assert.deepEqual(await c.ok('CLOSE'), []);
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES)'), ['* STATUS "Inbox" (MESSAGES 3)']);
    c.close();
  });
});
