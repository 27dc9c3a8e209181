// STORE and UID STORE (RFC 9051 §6.4.6).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

async function fill(s: TestServer, account: string, n: number) {
  const a = await s.store.account(account);
  for (let i = 0; i < n; i++) {
    const p = await s.store.prepare(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
  }
}

describe('STORE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    await fill(s, 'mjl', 4);
    // UIDs 2..5 after expunging 1, so sequence numbers and UIDs differ.
    const a = await s.store.account('mjl');
    const inbox = (await a.mailbox('Inbox'))!;
    const p = await s.store.prepare(Buffer.from('Subject: x\r\n\r\nx\r\n'));
    await a.addMessages('Inbox', [{ message: p, flags: 8 }]);
    await p.cleanup();
    await a.expunge(inbox.id, [5]);
  });
  after(() => s.close());

  test('FLAGS, +FLAGS, -FLAGS with keywords; responses carry UID and FLAGS', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    assert.deepEqual(await c.ok('STORE 1:2 +FLAGS (\\Seen Work)'), [
      '* 1 FETCH (UID 1 FLAGS (\\Seen Work))',
      '* 2 FETCH (UID 2 FLAGS (\\Seen Work))',
    ]);
    assert.deepEqual(await c.ok('STORE 2 -FLAGS (work)'), ['* 2 FETCH (UID 2 FLAGS (\\Seen))']);
    assert.deepEqual(await c.ok('STORE 3 FLAGS (\\Flagged \\Answered $Forwarded)'), [
      '* 3 FETCH (UID 3 FLAGS (\\Answered \\Flagged $Forwarded))',
    ]);
    assert.deepEqual(await c.ok('STORE 4 +FLAGS.SILENT (\\Deleted)'), []);
    assert.deepEqual(await c.ok('UID STORE 4 FLAGS \\Draft'), [
      '* 4 FETCH (UID 4 FLAGS (\\Draft))',
    ]);
    // The mailbox's keyword list grows; a new SELECT shows it in FLAGS.
    const sel = await c.ok('SELECT INBOX');
    assert.ok(
      sel.some((l) => /^\* FLAGS \(.* Work\)$/.test(l)),
      sel.join('\n'),
    );
    c.close();
  });

  test('a message listed twice is changed once; UIDs that do not exist are ignored', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    const a = await s.store.account('mjl');
    const before = await a.highestModseq();
    assert.deepEqual(await c.ok('STORE 1,1:1 +FLAGS (\\Flagged)'), [
      '* 1 FETCH (UID 1 FLAGS (\\Seen \\Flagged Work))',
    ]);
    assert.equal(await a.highestModseq(), before + 1);
    assert.deepEqual(await c.ok('UID STORE 99:100 +FLAGS (\\Flagged)'), []);
    c.close();
  });

  test('invalid flags are BAD; EXAMINE refuses changes; * on an empty mailbox is BAD', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    assert.match(
      (await c.cmd('STORE 1 +FLAGS (\\Recent)')).tagged,
      /^BAD STORE unrecognized syntax\/command: cannot store flag \\Recent$/,
    );
    assert.match((await c.cmd('STORE 1 +FLAGS (\\Bogus)')).tagged, /^BAD /);
    assert.match(
      (await c.cmd('STORE 9 +FLAGS (\\Seen)')).tagged,
      /^BAD .*above number of messages 4$/,
    );
    await c.ok('EXAMINE INBOX');
    assert.equal(
      (await c.cmd('STORE 1 +FLAGS (\\Seen)')).tagged,
      'NO STORE mailbox selected read-only (EXAMINE)',
    );
    await c.ok('CREATE Empty');
    await c.ok('SELECT Empty');
    assert.match(
      (await c.cmd('STORE * +FLAGS (\\Seen)')).tagged,
      /^BAD STORE unrecognized syntax\/command: \* used on empty mailbox$/,
    );
    assert.deepEqual(await c.ok('UID STORE 1:* +FLAGS (\\Seen)'), []);
    c.close();
  });
});
