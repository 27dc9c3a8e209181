// STATUS over the protocol (RFC 9051 §6.3.11, RFC 8438 STATUS=SIZE, RFC 7889
// APPENDLIMIT, RFC 3501 RECENT): every attribute, errors.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';

describe('imap STATUS', () => {
  let s: TestServer;
  let a: Account;
  let c: Client;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
    const flags = [Flag.Seen, Flag.Deleted, Flag.Seen | Flag.Deleted, 0, Flag.Flagged];
    for (const [i, f] of flags.entries()) {
      const p = await s.store.prepareMessage(
        Buffer.from(`Subject: s${i}\r\n\r\n${'y'.repeat(i * 7)}\r\n`),
      );
      await a.addMessages('Inbox', [{ message: p, flags: f }]);
      await p.cleanup();
    }
    await a.createMailbox('Ünïcode');
    c = await Client.login(s);
  });
  after(async () => {
    c.close();
    await s.close();
  });

  test('every attribute; SIZE is the sum of RFC822.SIZE', async () => {
    const inbox = (await a.mailbox('Inbox'))!;
    const x = await Client.login(s);
    await x.ok('EXAMINE INBOX');
    const sizes = (await x.ok('FETCH 1:* RFC822.SIZE')).map((l) =>
      Number(/RFC822\.SIZE (\d+)/.exec(l)![1]),
    );
    x.close();
    assert.equal(sizes.length, 5);
    const size = sizes.reduce((p, q) => p + q, 0);
    const r = await c.cmd(
      'STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT APPENDLIMIT)',
    );
    assert.deepEqual(r.untagged, [
      `* STATUS "Inbox" (MESSAGES 5 UIDNEXT 6 UIDVALIDITY ${inbox.uidvalidity} UNSEEN 3 DELETED 2 SIZE ${size} RECENT 5 APPENDLIMIT ${50 * 1024 * 1024})`,
    ]);
    assert.equal(r.tagged, 'OK STATUS done');
    // Attributes come back in the order asked, in any case.
    assert.deepEqual(await c.ok('STATUS inbox (deleted messages)'), [
      '* STATUS "Inbox" (DELETED 2 MESSAGES 5)',
    ]);
  });

  test('counts follow flag changes and expunges', async () => {
    const x = await Client.login(s);
    await x.ok('SELECT INBOX');
    await x.ok('STORE 4 +FLAGS (\\Seen \\Deleted)');
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES UNSEEN DELETED)'), [
      '* STATUS "Inbox" (MESSAGES 5 UNSEEN 2 DELETED 3)',
    ]);
    await x.ok('EXPUNGE');
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES UNSEEN DELETED UIDNEXT)'), [
      '* STATUS "Inbox" (MESSAGES 2 UNSEEN 1 DELETED 0 UIDNEXT 6)',
    ]);
    // STATUS on the selected mailbox works as well.
    assert.deepEqual(await x.ok('STATUS INBOX (MESSAGES)'), ['* STATUS "Inbox" (MESSAGES 2)']);
    x.close();
  });

  test('an empty mailbox; names in modified UTF-7 or UTF-8', async () => {
    const mb = (await a.mailbox('Ünïcode'))!;
    assert.deepEqual(await c.ok('STATUS "&ANw-n&AO8-code" (MESSAGES UIDNEXT UIDVALIDITY SIZE)'), [
      `* STATUS "&ANw-n&AO8-code" (MESSAGES 0 UIDNEXT 1 UIDVALIDITY ${mb.uidvalidity} SIZE 0)`,
    ]);
    const u = await Client.login(s);
    await u.ok('ENABLE UTF8=ACCEPT');
    assert.deepEqual(await u.ok('STATUS "Ünïcode" (UNSEEN)'), [
      Buffer.from('* STATUS "Ünïcode" (UNSEEN 0)').toString('latin1'),
    ]);
    u.close();
  });

  test('NONEXISTENT for a missing mailbox', async () => {
    assert.equal(
      (await c.cmd('STATUS Nope (MESSAGES)')).tagged,
      'NO [NONEXISTENT] STATUS mailbox does not exist',
    );
    assert.equal(
      (await c.cmd('STATUS "a//b" (MESSAGES)')).tagged,
      'NO [NONEXISTENT] STATUS mailbox does not exist',
    );
  });

  test('unknown attributes and bad syntax are BAD', async () => {
    const bad = 'BAD STATUS unrecognized syntax/command: ';
    const cases: [string, string][] = [
      ['INBOX (MESSAGES FOO)', 'unknown status attribute FOO'],
      ['INBOX (HIGHESTMODSEQS)', 'unknown status attribute HIGHESTMODSEQS'],
      ['INBOX ()', 'expected atom'],
      ['INBOX MESSAGES', 'expected "("'],
      ['INBOX', 'expected space'],
      ['INBOX (MESSAGES', 'expected ")"'],
      ['INBOX (MESSAGES) x', 'unexpected text at end: " x"'],
    ];
    for (const [args, why] of cases) {
      assert.equal((await c.cmd(`STATUS ${args}`)).tagged, bad + why, args);
    }
  });
});
