// CONDSTORE (RFC 7162 §3.1) over the protocol: HIGHESTMODSEQ in SELECT and STATUS, the
// enabling commands, MODSEQ in FETCH (asked, after CHANGEDSINCE, and in every unsolicited
// FETCH once on), STORE UNCHANGEDSINCE with MODIFIED, SEARCH and SORT MODSEQ, and the
// HIGHESTMODSEQ an EXPUNGE reaches.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, addMessages, Client, noneRecent, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';

describe('imap CONDSTORE', () => {
  let s: TestServer;
  let a: Account;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
  });
  after(() => s.close());

  /** A fresh mailbox with n messages; returns its id. */
  async function box(name: string, n: number): Promise<number> {
    await addMessages(s, a, name, n);
    // \Recent is tested on its own (recent.test.ts); here none is.
    await noneRecent(a, name);
    return (await a.mailbox(name))!.id;
  }
  const highest = (id: number) => a.mailboxHighestModseq(id);
  const modseqs = async (id: number) =>
    new Map((await a.flagsOf(id)).map((m) => [m.uid, m.modseq]));

  test('announced; HIGHESTMODSEQ in SELECT and STATUS; STATUS enables CONDSTORE', async () => {
    const other = await box('Cs1b', 1);
    const id = await box('Cs1', 3);
    const c = await Client.login(s);
    assert.match((await c.ok('CAPABILITY'))[0]!, / CONDSTORE QRESYNC( |$)/);
    const h = await highest(id);
    assert.equal((await modseqs(id)).get(3), h, 'the last message added holds the highest');
    const sel = await c.ok('SELECT Cs1');
    assert.ok(sel.includes(`* OK [HIGHESTMODSEQ ${h}] highest modseq`), sel.join('\n'));
    // Not enabled yet: a flag change from elsewhere comes without MODSEQ.
    await a.storeFlags(id, [1], { mode: 'add', flags: Flag.Flagged }, null);
    assert.deepEqual(await c.ok('NOOP'), ['* 1 FETCH (UID 1 FLAGS (\\Flagged))']);
    // STATUS HIGHESTMODSEQ is an enabling command: with a mailbox selected, its
    // HIGHESTMODSEQ comes first, once.
    assert.deepEqual(await c.ok('STATUS Cs1 (HIGHESTMODSEQ MESSAGES)'), [
      `* OK [HIGHESTMODSEQ ${h + 1}] CONDSTORE enabled`,
      `* STATUS "Cs1" (HIGHESTMODSEQ ${h + 1} MESSAGES 3)`,
    ]);
    assert.deepEqual(await c.ok('STATUS Cs1 (HIGHESTMODSEQ)'), [
      `* STATUS "Cs1" (HIGHESTMODSEQ ${h + 1})`,
    ]);
    // From now on every unsolicited FETCH carries MODSEQ.
    await a.storeFlags(id, [2], { mode: 'add', flags: Flag.Seen }, null);
    assert.deepEqual(await c.ok('NOOP'), [`* 2 FETCH (UID 2 FLAGS (\\Seen) MODSEQ (${h + 2}))`]);
    await addMessages(s, a, 'Cs1', 1);
    assert.deepEqual(await c.ok('NOOP'), [
      '* 4 EXISTS',
      '* 1 RECENT',
      `* 4 FETCH (UID 4 FLAGS (\\Recent) MODSEQ (${h + 3}))`,
    ]);
    // LIST-STATUS with HIGHESTMODSEQ, for a mailbox not selected.
    assert.deepEqual(await c.ok('LIST "" Cs1b RETURN (STATUS (HIGHESTMODSEQ))'), [
      '* LIST (\\HasNoChildren) "/" "Cs1b"',
      `* STATUS "Cs1b" (HIGHESTMODSEQ ${await highest(other)})`,
    ]);
    c.close();
  });

  test('FETCH MODSEQ enables CONDSTORE; CHANGEDSINCE; implicit \\Seen carries MODSEQ', async () => {
    const id = await box('Cs2', 4);
    const before = await modseqs(id);
    const c = await Client.login(s);
    await c.ok('SELECT Cs2');
    const h = await highest(id);
    assert.deepEqual(await c.ok('FETCH 1:2 (MODSEQ)'), [
      `* OK [HIGHESTMODSEQ ${h}] CONDSTORE enabled`,
      `* 1 FETCH (MODSEQ (${before.get(1)}))`,
      `* 2 FETCH (MODSEQ (${before.get(2)}))`,
    ]);
    // RFC 7162 §3.1.4.1: only messages changed after the modseq, MODSEQ implied.
    await a.storeFlags(id, [3], { mode: 'add', flags: Flag.Answered }, null);
    assert.deepEqual(await c.ok('NOOP'), [
      `* 3 FETCH (UID 3 FLAGS (\\Answered) MODSEQ (${h + 1}))`,
    ]);
    assert.deepEqual(await c.ok(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${h})`), [
      `* 3 FETCH (FLAGS (\\Answered) MODSEQ (${h + 1}))`,
    ]);
    assert.deepEqual(await c.ok(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h + 1})`), []);
    // Clients have been seen sending CHANGEDSINCE 0 for "everything".
    assert.equal((await c.ok('FETCH 1:* (UID) (CHANGEDSINCE 0)')).length, 4);
    // A FETCH that sets \Seen reports the flags and the new modseq.
    const r = await c.ok('FETCH 4 (BODY[HEADER.FIELDS (SUBJECT)])');
    assert.deepEqual(r, [
      `* 4 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {15}\r\nSubject: m3\r\n\r\n FLAGS (\\Seen) MODSEQ (${h + 2}))`,
    ]);
    c.close();
  });

  test('STORE UNCHANGEDSINCE: the RFC 7162 example, MODIFIED by number and by UID', async () => {
    const id = await box('Cs3', 9);
    const c = await Client.login(s);
    await c.ok('SELECT Cs3 (CONDSTORE)');
    const h = await highest(id);
    // Messages 7 and 9 change after the client read h.
    await a.storeFlags(id, [7, 9], { mode: 'add', flags: Flag.Flagged }, null);
    await c.ok('NOOP');
    // RFC 7162 §3.1.3 example: .SILENT still gives the new MODSEQ of what changed.
    const r = await c.cmd(`STORE 7,5,9 (UNCHANGEDSINCE ${h}) +FLAGS.SILENT (\\Deleted)`);
    assert.deepEqual(r.untagged, [`* 5 FETCH (UID 5 MODSEQ (${h + 2}))`]);
    assert.equal(r.tagged, 'OK [MODIFIED 7,9] STORE done');
    // UID STORE names UIDs; without .SILENT the flags come too.
    await a.expunge(id, [5], null);
    await c.ok('NOOP');
    const u = await c.cmd(`UID STORE 6:9 (UNCHANGEDSINCE ${h + 1}) +FLAGS (\\Seen)`);
    assert.deepEqual(u.untagged, [
      `* 5 FETCH (UID 6 FLAGS (\\Seen) MODSEQ (${h + 4}))`,
      `* 6 FETCH (UID 7 FLAGS (\\Seen \\Flagged) MODSEQ (${h + 4}))`,
      `* 7 FETCH (UID 8 FLAGS (\\Seen) MODSEQ (${h + 4}))`,
      `* 8 FETCH (UID 9 FLAGS (\\Seen \\Flagged) MODSEQ (${h + 4}))`,
    ]);
    assert.equal(u.tagged, 'OK UID STORE done');
    const v = await c.cmd(`UID STORE 1,6 (UNCHANGEDSINCE ${h + 1}) -FLAGS (\\Seen)`);
    assert.deepEqual(v.untagged, [
      '* 1 FETCH (UID 1 FLAGS () MODSEQ (' + (await modseqs(id)).get(1) + '))',
    ]);
    assert.equal(v.tagged, 'OK [MODIFIED 6] UID STORE done');
    // UNCHANGEDSINCE 0 always fails (every modseq here is at least 1).
    assert.equal(
      (await c.cmd('STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)')).tagged,
      'OK [MODIFIED 1] STORE done',
    );
    // A store that changes nothing keeps the modseq.
    const m1 = (await modseqs(id)).get(2);
    assert.deepEqual(await c.ok('STORE 2 -FLAGS (\\Seen)'), [
      `* 2 FETCH (UID 2 FLAGS () MODSEQ (${m1}))`,
    ]);
    c.close();
  });

  test('STORE UNCHANGEDSINCE enables CONDSTORE; bad modifiers are BAD', async () => {
    const id = await box('Cs4', 2);
    const c = await Client.login(s);
    await c.ok('SELECT Cs4');
    const h = await highest(id);
    const r = await c.cmd(`STORE 1 (UNCHANGEDSINCE ${h}) +FLAGS (\\Seen)`);
    assert.deepEqual(r.untagged, [
      `* OK [HIGHESTMODSEQ ${h}] CONDSTORE enabled`,
      `* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (${h + 1}))`,
    ]);
    const bad = 'BAD STORE unrecognized syntax/command: ';
    for (const [args, why] of [
      ['1 (UNCHANGEDSINCE) +FLAGS (\\Seen)', 'expected space'],
      ['1 (UNCHANGEDSINCE x) +FLAGS (\\Seen)', 'expected mod-sequence value'],
      ['1 (UNCHANGEDSINCE 1 UNCHANGEDSINCE 2) +FLAGS (\\Seen)', 'UNCHANGEDSINCE given twice'],
      ['1 (FOO 1) +FLAGS (\\Seen)', 'unknown STORE modifier FOO'],
      ['1 (UNCHANGEDSINCE 9223372036854775808) +FLAGS (\\Seen)', 'mod-sequence value too large'],
    ]) {
      assert.equal((await c.cmd(`STORE ${args}`)).tagged, bad + why, args);
    }
    // The largest mod-sequence value is accepted: nothing changed after it.
    assert.equal(
      (await c.cmd('STORE 2 (UNCHANGEDSINCE 9223372036854775807) +FLAGS.SILENT (\\Seen)')).tagged,
      'OK STORE done',
    );
    c.close();
  });

  test('SEARCH, ESEARCH and SORT with MODSEQ give the highest modseq found', async () => {
    const id = await box('Cs5', 5);
    const c = await Client.login(s);
    await c.ok('SELECT Cs5');
    const h = await highest(id);
    await a.storeFlags(id, [2], { mode: 'add', flags: Flag.Draft }, null);
    await a.storeFlags(id, [4], { mode: 'add', flags: Flag.Flagged }, null);
    await c.ok('NOOP');
    const ms = await modseqs(id);
    assert.deepEqual(await c.ok(`SEARCH MODSEQ ${h + 1}`), [
      `* OK [HIGHESTMODSEQ ${h + 2}] CONDSTORE enabled`,
      `* SEARCH 2 4 (MODSEQ ${h + 2})`,
    ]);
    // RFC 7162 §3.1.5 example form: a flag's entry name and type (one modseq per message here).
    assert.deepEqual(await c.ok(`SEARCH MODSEQ "/flags/\\\\draft" all ${h + 1}`), [
      `* SEARCH 2 4 (MODSEQ ${h + 2})`,
    ]);
    assert.deepEqual(await c.ok(`UID SEARCH MODSEQ ${h + 1} DRAFT`), [
      `* SEARCH 2 (MODSEQ ${h + 1})`,
    ]);
    // Nothing found: no MODSEQ.
    assert.deepEqual(await c.ok(`SEARCH MODSEQ ${h + 3}`), ['* SEARCH']);
    assert.deepEqual(await c.ok(`SEARCH RETURN (MIN COUNT) MODSEQ ${h + 1}`), [
      `* ESEARCH (TAG "${c.lastTag}") MIN 2 COUNT 2 MODSEQ ${h + 2}`,
    ]);
    // MIN alone: the modseq of that message.
    assert.deepEqual(await c.ok(`SEARCH RETURN (MIN) MODSEQ ${h + 1}`), [
      `* ESEARCH (TAG "${c.lastTag}") MIN 2 MODSEQ ${ms.get(2)}`,
    ]);
    assert.deepEqual(await c.ok(`SORT (REVERSE ARRIVAL) UTF-8 MODSEQ ${h + 1}`), [
      `* SORT 4 2 (MODSEQ ${h + 2})`,
    ]);
    assert.deepEqual(await c.ok(`SORT RETURN (ALL) (ARRIVAL) UTF-8 MODSEQ ${h + 1}`), [
      `* ESEARCH (TAG "${c.lastTag}") ALL 2,4 MODSEQ ${h + 2}`,
    ]);
    const bad = 'BAD SEARCH unrecognized syntax/command: ';
    for (const [keys, why] of [
      ['MODSEQ', 'expected space'],
      ['MODSEQ x', 'expected mod-sequence value'],
      ['MODSEQ "/flags/\\\\seen" bogus 1', 'invalid MODSEQ entry type bogus'],
      ['MODSEQ "/other/x" all 1', 'invalid MODSEQ entry name /other/x'],
    ]) {
      assert.equal((await c.cmd(`SEARCH ${keys}`)).tagged, bad + why, keys);
    }
    c.close();
  });

  test('EXPUNGE ends with the HIGHESTMODSEQ it reached', async () => {
    const id = await box('Cs6', 3);
    const c = await Client.login(s);
    await c.ok('SELECT Cs6');
    await c.ok('STORE 2 +FLAGS.SILENT (\\Deleted)');
    // Not enabled: a plain OK.
    assert.equal((await c.cmd('EXPUNGE')).tagged, 'OK EXPUNGE done');
    await c.ok('ENABLE CONDSTORE');
    await c.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    const r = await c.cmd('UID EXPUNGE 1:*');
    assert.deepEqual(r.untagged, ['* 1 EXPUNGE']);
    assert.equal(r.tagged, `OK [HIGHESTMODSEQ ${await highest(id)}] UID EXPUNGE done`);
    c.close();
  });
});
