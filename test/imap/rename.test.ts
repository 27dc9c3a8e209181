// RENAME over the protocol (RFC 9051 §6.3.6, RFC 5530 codes): children move, new
// parents are created and subscribed, subscriptions keep their names, INBOX's messages
// move out, and other sessions are told (OLDNAME for IMAP4rev2 only).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, addMessages as add, type TestServer } from './harness.js';
import type { Account } from '../../src/store/index.js';

describe('imap RENAME', () => {
  let s: TestServer;
  let a: Account;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
  });
  after(() => s.close());

  test('children move with the parent; subscriptions keep their old names', async () => {
    const c = await Client.login(s);
    await c.ok('CREATE r1/c1/c2');
    const uidvalidity = (await a.mailbox('r1/c1'))!.uidvalidity;
    const r = await c.cmd('RENAME r1 r2');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'OK RENAME done');
    assert.deepEqual(await c.ok('LIST "" "r*"'), [
      '* LIST (\\HasChildren) "/" "r2"',
      '* LIST (\\HasChildren) "/" "r2/c1"',
      '* LIST (\\HasNoChildren) "/" "r2/c1/c2"',
    ]);
    // A renamed mailbox keeps its UIDVALIDITY (same mailbox, new name).
    assert.equal((await a.mailbox('r2/c1'))!.uidvalidity, uidvalidity);
    assert.deepEqual(await c.ok('LIST (SUBSCRIBED) "" "r*"'), [
      '* LIST (\\NonExistent \\Subscribed) "/" "r1"',
      '* LIST (\\NonExistent \\Subscribed) "/" "r1/c1"',
      '* LIST (\\NonExistent \\Subscribed) "/" "r1/c1/c2"',
    ]);
    c.close();
  });

  test('new parents of the destination are created and subscribed', async () => {
    const c = await Client.login(s);
    await c.ok('CREATE leaf');
    await c.ok('UNSUBSCRIBE leaf');
    await c.ok('RENAME leaf n1/n2/');
    assert.deepEqual(await c.ok('LIST "" "n1*" RETURN (SUBSCRIBED)'), [
      '* LIST (\\HasChildren \\Subscribed) "/" "n1"',
      '* LIST (\\HasNoChildren) "/" "n1/n2"',
    ]);
    c.close();
  });

  test('errors: NONEXISTENT, ALREADYEXISTS, CANNOT', async () => {
    const c = await Client.login(s);
    await c.ok('CREATE x1/x2');
    const cases: [string, string][] = [
      ['RENAME Nope Other', 'NO [NONEXISTENT] RENAME mailbox does not exist'],
      ['RENAME Archive Drafts', 'NO [ALREADYEXISTS] RENAME destination mailbox already exists'],
      ['RENAME Archive inbox', 'NO [ALREADYEXISTS] RENAME destination mailbox already exists'],
      ['RENAME Archive Archive', 'NO [ALREADYEXISTS] RENAME mailbox already exists'],
      ['RENAME x1 x1/x3', 'NO [CANNOT] RENAME cannot rename mailbox to a child of itself'],
      ['RENAME Archive "a//b"', 'NO [CANNOT] RENAME invalid mailbox name "a//b": contains "//"'],
      ['RENAME Archive', 'BAD RENAME unrecognized syntax/command: expected space'],
    ];
    for (const [cmd, want] of cases) assert.equal((await c.cmd(cmd)).tagged, want, cmd);
    // Nothing changed.
    assert.deepEqual(await c.ok('LIST "" "x1*"'), [
      '* LIST (\\HasChildren) "/" "x1"',
      '* LIST (\\HasNoChildren) "/" "x1/x2"',
    ]);
    c.close();
  });

  test('invalid UTF-8 or control characters in either name are BAD', async () => {
    const c = await Client.login(s);
    await c.ok('ENABLE UTF8=ACCEPT');
    await c.ok('CREATE u8from');
    await c.ok('CREATE "\u{fffd}(x"');
    const BAD = 'BAD RENAME unrecognized syntax/command: ';
    for (const [args, why] of [
      ['u8from {3+}\r\n\xc3(x', 'invalid UTF-8 in mailbox name'],
      ['u8from \xe9t\xe9', 'invalid UTF-8 in mailbox name'],
      ['{3+}\r\n\xc3(x u8to', 'invalid UTF-8 in mailbox name'],
      ['u8from {3+}\r\na\x1bb', 'control characters in mailbox name'],
    ]) {
      assert.equal((await c.cmdOctets(`RENAME ${args}`)).tagged, BAD + why, args);
    }
    const u7 = await Client.login(s);
    for (const [args, why] of [
      ['u8from {2+}\r\n\xc3\xa9', '8-bit mailbox name without UTF8=ACCEPT, use modified UTF-7'],
      ['u8from a&AB8-b', 'control characters in mailbox name'],
    ]) {
      assert.equal((await u7.cmdOctets(`RENAME ${args}`)).tagged, BAD + why, args);
    }
    assert.ok(await a.mailbox('u8from'));
    assert.ok(await a.mailbox('\u{fffd}(x'));
    assert.equal(await a.mailbox('u8to'), null);
    c.close();
    u7.close();
  });

  test('other sessions get LIST responses, OLDNAME only under IMAP4rev2', async () => {
    const c = await Client.login(s);
    const rev1 = await Client.login(s);
    const rev2 = await Client.login(s);
    await rev2.ok('ENABLE IMAP4rev2');
    await c.ok('CREATE o1/o2');
    await rev1.ok('NOOP');
    await rev2.ok('NOOP');
    await c.ok('RENAME o1 p1');
    assert.deepEqual(await rev1.ok('NOOP'), ['* LIST () "/" "p1"', '* LIST () "/" "p1/o2"']);
    assert.deepEqual(await rev2.ok('NOOP'), [
      '* LIST () "/" "p1" ("OLDNAME" ("o1"))',
      '* LIST () "/" "p1/o2" ("OLDNAME" ("o1/o2"))',
    ]);
    c.close();
    rev1.close();
    rev2.close();
  });

  test('a selected mailbox that is renamed stays selected', async () => {
    await add(s, a, 'Sel', 2);
    const c = await Client.login(s);
    await c.ok('SELECT Sel');
    await c.ok('RENAME Sel Sel2');
    assert.equal((await c.cmd('UID STORE 1 +FLAGS (\\Seen)')).tagged, 'OK UID STORE done');
    assert.deepEqual(await c.ok('STATUS Sel2 (MESSAGES UNSEEN)'), [
      '* STATUS "Sel2" (MESSAGES 2 UNSEEN 1)',
    ]);
    c.close();
  });

  test('renaming INBOX moves its messages into the new mailbox and leaves Inbox empty', async () => {
    await add(s, a, 'Inbox', 3);
    await a.createMailbox('Inbox/child');
    const c = await Client.login(s);
    const watcher = await Client.login(s);
    await watcher.ok('SELECT INBOX');
    const r = await c.cmd('RENAME inbox OldInbox');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'OK RENAME done');
    assert.deepEqual(await c.ok('STATUS INBOX (MESSAGES UIDNEXT)'), [
      '* STATUS "Inbox" (MESSAGES 0 UIDNEXT 4)',
    ]);
    assert.deepEqual(await c.ok('STATUS OldInbox (MESSAGES UIDNEXT)'), [
      '* STATUS "OldInbox" (MESSAGES 3 UIDNEXT 4)',
    ]);
    // Children of INBOX stay where they are; the new mailbox is subscribed.
    assert.deepEqual(await c.ok('LIST "" "*Inbox*" RETURN (SUBSCRIBED)'), [
      '* LIST (\\HasChildren \\Subscribed) "/" "Inbox"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "Inbox/child"',
      '* LIST (\\HasNoChildren \\Subscribed) "/" "OldInbox"',
    ]);
    // A session with INBOX selected sees the messages leave.
    assert.deepEqual(await watcher.ok('NOOP'), [
      '* LIST () "/" "OldInbox"',
      '* LIST (\\Subscribed) "/" "OldInbox"',
      '* 1 EXPUNGE',
      '* 1 EXPUNGE',
      '* 1 EXPUNGE',
    ]);
    c.close();
    watcher.close();
  });

  test('renaming INBOX while this session has it selected expunges in this session', async () => {
    await add(s, a, 'Inbox', 2);
    const c = await Client.login(s);
    const sel = await c.cmd('SELECT INBOX');
    assert.ok(sel.untagged.includes('* 2 EXISTS'));
    assert.ok(sel.untagged.includes('* OK [UIDNEXT 6] predicted next UID'));
    // A message delivered after SELECT is still a pending change when RENAME starts.
    await add(s, a, 'Inbox', 1);
    const r = await c.cmd('RENAME INBOX Moved');
    // This session opened INBOX first: its messages, and the new one, are \Recent for it.
    assert.deepEqual(r.untagged, [
      '* 3 EXISTS',
      '* 3 RECENT',
      '* 3 FETCH (UID 6 FLAGS (\\Recent))',
      '* 1 EXPUNGE',
      '* 1 EXPUNGE',
      '* 1 EXPUNGE',
    ]);
    assert.equal(r.tagged, 'OK RENAME done');
    assert.equal((await c.cmd('UID FETCH 1:* UID')).tagged, 'OK UID FETCH done');
    assert.deepEqual(await c.ok('UID SEARCH ALL'), ['* SEARCH']);
    assert.deepEqual(await c.ok('STATUS Moved (MESSAGES)'), ['* STATUS "Moved" (MESSAGES 3)']);
    // New messages in INBOX arrive as usual.
    await add(s, a, 'Inbox', 1);
    assert.deepEqual(await c.ok('NOOP'), [
      '* 1 EXISTS',
      '* 1 RECENT',
      '* 1 FETCH (UID 7 FLAGS (\\Recent))',
    ]);
    c.close();
  });
});
