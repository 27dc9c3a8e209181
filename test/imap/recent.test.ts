// \Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2): a new message is recent in exactly
// one session, the first read-write one told of it; RECENT counts in SELECT, after
// EXISTS and in STATUS; SEARCH RECENT, NEW and OLD; EXAMINE looks without claiming;
// IMAP4rev2 sessions have no \Recent at all.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, addMessages, Client, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';

describe('imap \\Recent', () => {
  let s: TestServer;
  let a: Account;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
  });
  after(() => s.close());

  const recentLine = (lines: string[]) => lines.find((l) => / RECENT$/.test(l));

  test('the first read-write session gets them; the next one sees none', async () => {
    await addMessages(s, a, 'R1', 3);
    const id = (await a.mailbox('R1'))!.id;
    await a.storeFlags(id, [2], { mode: 'add', flags: Flag.Seen }, null);
    const first = await Client.login(s);
    assert.equal(recentLine(await first.ok('SELECT R1')), '* 3 RECENT');
    assert.deepEqual(await first.ok('FETCH 1:3 (FLAGS)'), [
      '* 1 FETCH (FLAGS (\\Recent))',
      '* 2 FETCH (FLAGS (\\Recent \\Seen))',
      '* 3 FETCH (FLAGS (\\Recent))',
    ]);
    assert.deepEqual(await first.ok('SEARCH RECENT'), ['* SEARCH 1 2 3']);
    assert.deepEqual(await first.ok('SEARCH NEW'), ['* SEARCH 1 3']);
    assert.deepEqual(await first.ok('SEARCH OLD'), ['* SEARCH']);
    assert.deepEqual(await first.ok('UID SEARCH NOT RECENT'), ['* SEARCH']);

    const second = await Client.login(s);
    assert.equal(recentLine(await second.ok('SELECT R1')), '* 0 RECENT');
    assert.deepEqual(await second.ok('FETCH 1 (FLAGS)'), ['* 1 FETCH (FLAGS ())']);
    assert.deepEqual(await second.ok('SEARCH OLD'), ['* SEARCH 1 2 3']);
    assert.deepEqual(await second.ok('SEARCH RECENT'), ['* SEARCH']);

    // A new message: both are told of it; the first to hear claims it.
    await addMessages(s, a, 'R1', 1);
    assert.deepEqual(await first.ok('NOOP'), [
      '* 4 EXISTS',
      '* 4 RECENT',
      '* 4 FETCH (UID 4 FLAGS (\\Recent))',
    ]);
    assert.deepEqual(await second.ok('NOOP'), [
      '* 4 EXISTS',
      '* 0 RECENT',
      '* 4 FETCH (UID 4 FLAGS ())',
    ]);
    // \Recent cannot be stored.
    assert.match((await first.cmd('STORE 1 +FLAGS (\\Recent)')).tagged, /^BAD /);
    // Expunged recent messages leave the count.
    await first.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await first.ok('EXPUNGE');
    await addMessages(s, a, 'R1', 1);
    assert.deepEqual((await first.ok('NOOP')).slice(0, 2), ['* 4 EXISTS', '* 4 RECENT']);
    first.close();
    second.close();
  });

  test('STATUS counts what no session has claimed; EXAMINE looks without claiming', async () => {
    await addMessages(s, a, 'R2', 2);
    const c = await Client.login(s);
    assert.deepEqual(await c.ok('STATUS R2 (RECENT MESSAGES)'), [
      '* STATUS "R2" (RECENT 2 MESSAGES 2)',
    ]);
    const ro = await Client.login(s);
    assert.equal(recentLine(await ro.ok('EXAMINE R2')), '* 2 RECENT');
    assert.deepEqual(await ro.ok('FETCH 2 (FLAGS)'), ['* 2 FETCH (FLAGS (\\Recent))']);
    assert.deepEqual(await c.ok('STATUS R2 (RECENT)'), ['* STATUS "R2" (RECENT 2)']);
    // A message arriving while only a read-only session has it open stays unclaimed.
    await addMessages(s, a, 'R2', 1);
    assert.deepEqual(await ro.ok('NOOP'), [
      '* 3 EXISTS',
      '* 3 RECENT',
      '* 3 FETCH (UID 3 FLAGS (\\Recent))',
    ]);
    assert.equal(recentLine(await c.ok('SELECT R2')), '* 3 RECENT');
    assert.deepEqual(await c.ok('STATUS R2 (RECENT)'), ['* STATUS "R2" (RECENT 0)']);
    const later = await Client.login(s);
    assert.equal(recentLine(await later.ok('EXAMINE R2')), '* 0 RECENT');
    c.close();
    ro.close();
    later.close();
  });

  test('IMAP4rev2 sessions have no \\Recent and claim nothing', async () => {
    await addMessages(s, a, 'R3', 1);
    const rev2 = await Client.login(s);
    await rev2.ok('ENABLE IMAP4rev2');
    const sel = await rev2.ok('SELECT R3');
    assert.equal(recentLine(sel), undefined);
    assert.deepEqual(await rev2.ok('FETCH 1 (FLAGS)'), ['* 1 FETCH (FLAGS ())']);
    assert.deepEqual(await rev2.ok('SEARCH RETURN (ALL) RECENT'), [
      `* ESEARCH (TAG "${rev2.lastTag}")`,
    ]);
    const rev1 = await Client.login(s);
    assert.equal(recentLine(await rev1.ok('SELECT R3')), '* 1 RECENT');
    rev2.close();
    rev1.close();
  });

  test('what a session appends or copies into its own mailbox is recent for it', async () => {
    await addMessages(s, a, 'R4', 1);
    const c = await Client.login(s);
    assert.equal(recentLine(await c.ok('SELECT R4')), '* 1 RECENT');
    const r = await c.cmd('APPEND R4 {12+}\r\nSubject: x\r\n');
    assert.deepEqual(r.untagged, ['* 2 EXISTS', '* 2 RECENT']);
    assert.match(r.tagged, /^OK \[APPENDUID \d+ 2\] APPEND done$/);
    assert.deepEqual(await c.ok('COPY 1 R4'), ['* 3 EXISTS', '* 3 RECENT']);
    assert.deepEqual(await c.ok('FETCH 3 (FLAGS)'), ['* 3 FETCH (FLAGS (\\Recent))']);
    c.close();
  });
});
