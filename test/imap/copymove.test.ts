// COPY and MOVE with COPYUID (RFC 9051 §6.4.7, RFC 6851, RFC 4315).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('COPY and MOVE', () => {
  let s: TestServer;
  let uidv: (name: string) => Promise<number>;
  before(async () => {
    s = await startTestServer();
    const a = await s.store.account('mjl');
    for (let i = 0; i < 5; i++) {
      const p = await s.store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
      await a.addMessages('Inbox', [{ message: p, flags: i === 0 ? 1 : 0 }]);
      await p.cleanup();
    }
    uidv = async (name) => (await (await s.store.account('mjl')).mailbox(name))!.uidvalidity;
  });
  after(() => s.close());

  test('COPY and UID COPY answer COPYUID; the source is unchanged', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    assert.equal(
      (await c.cmd('COPY 1:2 Archive')).tagged,
      `OK [COPYUID ${await uidv('Archive')} 1:2 1:2] COPY done`,
    );
    assert.equal(
      (await c.cmd('UID COPY 4,5 Archive')).tagged,
      `OK [COPYUID ${await uidv('Archive')} 4:5 3:4] UID COPY done`,
    );
    const st = await c.ok('STATUS Archive (MESSAGES UNSEEN)');
    assert.deepEqual(st, ['* STATUS "Archive" (MESSAGES 4 UNSEEN 3)']);
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES)'), ['* STATUS "Inbox" (MESSAGES 5)']);
    assert.equal(
      (await c.cmd('COPY 1 Nope')).tagged,
      'NO [TRYCREATE] COPY destination mailbox does not exist',
    );
    assert.equal((await c.cmd('UID COPY 77 Archive')).tagged, 'OK UID COPY done');
    c.close();
  });

  test('COPY into the selected mailbox reports the new messages', async () => {
    const c = await Client.login(s);
    await c.ok('CREATE Self');
    await c.ok('COPY 1 Self'.replace('COPY 1 Self', 'SELECT INBOX'));
    await c.ok('COPY 1 Self');
    await c.ok('SELECT Self');
    const r = await c.cmd('COPY 1 Self');
    // Its first session: the message there and the copy are \Recent for it.
    assert.deepEqual(r.untagged, ['* 2 EXISTS', '* 2 RECENT']);
    assert.equal(r.tagged, `OK [COPYUID ${await uidv('Self')} 1 2] COPY done`);
    c.close();
  });

  test('MOVE: untagged COPYUID first, then EXPUNGE; into the selected mailbox; EXAMINE refuses', async () => {
    const c = await Client.login(s);
    await c.ok('CREATE Moved');
    await c.ok('SELECT INBOX');
    const r = await c.cmd('MOVE 2:3 Moved');
    assert.deepEqual(r.untagged, [
      `* OK [COPYUID ${await uidv('Moved')} 2:3 1:2] moved`,
      '* 2 EXPUNGE',
      '* 2 EXPUNGE',
    ]);
    assert.equal(r.tagged, 'OK MOVE done');
    const u = await c.cmd('UID MOVE 5 Moved');
    assert.deepEqual(u.untagged, [
      `* OK [COPYUID ${await uidv('Moved')} 5 3] moved`,
      '* 3 EXPUNGE',
    ]);
    // Into the selected mailbox (RFC 6851 §3.3): new UIDs at the end, the old expunged.
    const other = await Client.login(s);
    await other.ok('SELECT INBOX');
    const same = await c.cmd('MOVE 1 INBOX');
    assert.deepEqual(same.untagged, [
      `* OK [COPYUID ${await uidv('Inbox')} 1 6] moved`,
      '* 1 EXPUNGE',
      '* 2 EXISTS',
      '* 1 RECENT',
    ]);
    assert.equal(same.tagged, 'OK MOVE done');
    // The moved message is new to the mailbox: \Recent in the session that moved it.
    assert.deepEqual(await c.ok('UID FETCH 1:* (FLAGS)'), [
      '* 1 FETCH (UID 4 FLAGS ())',
      '* 2 FETCH (UID 6 FLAGS (\\Recent \\Seen))',
    ]);
    // Another session on the mailbox sees the same, with the moved message's flags.
    assert.deepEqual(await other.ok('NOOP'), [
      '* 1 EXPUNGE',
      '* 2 EXISTS',
      '* 0 RECENT',
      '* 2 FETCH (UID 6 FLAGS (\\Seen))',
    ]);
    other.close();
    await c.ok('EXAMINE INBOX');
    assert.equal(
      (await c.cmd('MOVE 1 Moved')).tagged,
      'NO MOVE mailbox selected read-only (EXAMINE)',
    );
    // COPY is allowed on a read-only mailbox.
    assert.match((await c.cmd('COPY 1 Moved')).tagged, /^OK \[COPYUID /);
    c.close();
  });

  test('COPY over quota: OVERQUOTA and nothing copied', async () => {
    const a = await s.store.account('limited');
    const p = await s.store.prepareMessage(
      Buffer.from(`Subject: big\r\n\r\n${'x'.repeat(1200)}\r\n`),
    );
    await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
    const c = await Client.login(s, 'limited@example.org');
    await c.ok('SELECT INBOX');
    assert.equal(
      (await c.cmd('COPY 1 Archive')).tagged,
      'NO [OVERQUOTA] COPY account storage quota exceeded',
    );
    assert.deepEqual(await c.ok('STATUS Archive (MESSAGES)'), ['* STATUS "Archive" (MESSAGES 0)']);
    c.close();
  });
});
