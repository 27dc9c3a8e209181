// STORE and UID STORE (RFC 9051 §6.4.6).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, noneRecent, type TestServer } from './harness.js';

/** The system flags and well-known keywords every mailbox lists. */
const SYSTEM =
  '\\Seen \\Answered \\Flagged \\Deleted \\Draft $Forwarded $Junk $NotJunk $Phishing $MDNSent';

async function fill(s: TestServer, account: string, n: number) {
  const a = await s.store.account(account);
  for (let i = 0; i < n; i++) {
    const p = await s.store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
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
    const p = await s.store.prepareMessage(Buffer.from('Subject: x\r\n\r\nx\r\n'));
    await a.addMessages('Inbox', [{ message: p, flags: 8 }]);
    await p.cleanup();
    await a.expunge(inbox.id, [5]);
    await noneRecent(a, 'Inbox');
  });
  after(() => s.close());

  test('FLAGS, +FLAGS, -FLAGS with keywords; responses carry UID and FLAGS', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    // A keyword new to the mailbox: FLAGS lists it before any FETCH shows it.
    assert.deepEqual(await c.ok('STORE 1:2 +FLAGS (\\Seen Work)'), [
      `* FLAGS (${SYSTEM} Work)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} Work \\*)] flags permitted`,
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

  test('keywords set by another session are announced in FLAGS before FETCH shows them', async () => {
    const a = await s.store.account('mjl');
    await a.createMailbox('Kw');
    for (let i = 0; i < 2; i++) {
      const p = await s.store.prepareMessage(Buffer.from(`Subject: k${i}\r\n\r\nk\r\n`));
      await a.addMessages('Kw', [{ message: p }]);
      await p.cleanup();
    }
    const kw = (await a.mailbox('Kw'))!.id;
    const [u1, u2] = await a.uids(kw);
    await noneRecent(a, 'Kw');
    const c = await Client.login(s);
    await c.ok('SELECT Kw');
    await a.storeFlags(kw, [u1!], { mode: 'add', flags: 0, keywords: ['Later'] }, null);
    // FETCH applies no changes (RFC 9051 §7.5.1) but still shows current flags.
    assert.deepEqual(await c.ok('FETCH 1 (FLAGS)'), [
      `* FLAGS (${SYSTEM} Later)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} Later \\*)] flags permitted`,
      '* 1 FETCH (FLAGS (Later))',
    ]);
    await a.storeFlags(kw, [u2!], { mode: 'add', flags: 0, keywords: ['Soon'] }, null);
    assert.deepEqual((await c.ok('NOOP')).slice(-3), [
      `* FLAGS (${SYSTEM} Later Soon)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} Later Soon \\*)] flags permitted`,
      '* 2 FETCH (UID 2 FLAGS (Soon))',
    ]);
    // A read-only session is told there are no permanent flags.
    const e = await Client.login(s);
    await e.ok('EXAMINE Kw');
    await a.storeFlags(kw, [u2!], { mode: 'add', flags: 0, keywords: ['Again'] }, null);
    assert.deepEqual(await e.ok('NOOP'), [
      `* FLAGS (${SYSTEM} Later Soon Again)`,
      '* OK [PERMANENTFLAGS ()] read-only',
      '* 2 FETCH (UID 2 FLAGS (Again Soon))',
    ]);
    c.close();
    e.close();
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
