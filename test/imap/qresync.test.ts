// QRESYNC (RFC 7162 §3.2) over the protocol: ENABLE QRESYNC, SELECT with the QRESYNC
// parameter (known UIDs, sequence match data, a client out of step, another
// UIDVALIDITY), VANISHED in place of EXPUNGE (EXPUNGE, MOVE, other sessions), UID FETCH
// CHANGEDSINCE with VANISHED, and long VANISHED lists cut into lines.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, addMessages, Client, noneRecent, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';

describe('imap QRESYNC', () => {
  let s: TestServer;
  let a: Account;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
  });
  after(() => s.close());

  /**
   * A mailbox of 10 messages the client knew at modseq `known`; since then 3 and 5 were
   * expunged, 7 was flagged and 11 added.
   */
  async function changed(name: string) {
    await addMessages(s, a, name, 10);
    const mb = (await a.mailbox(name))!;
    const known = await a.mailboxHighestModseq(mb.id);
    await a.storeFlags(mb.id, [3], { mode: 'add', flags: Flag.Deleted }, null);
    await a.expunge(mb.id, [3], null);
    const afterFirst = await a.mailboxHighestModseq(mb.id);
    await a.storeFlags(mb.id, [5], { mode: 'add', flags: Flag.Deleted }, null);
    await a.expunge(mb.id, [5], null);
    await a.storeFlags(mb.id, [7], { mode: 'add', flags: Flag.Flagged }, null);
    await addMessages(s, a, name, 1);
    // \Recent is tested on its own (recent.test.ts); here none is.
    await noneRecent(a, name);
    const ms = new Map((await a.flagsOf(mb.id)).map((m) => [m.uid, m.modseq]));
    return { id: mb.id, uv: mb.uidvalidity, known, afterFirst, ms };
  }

  async function qresyncClient(): Promise<Client> {
    const c = await Client.login(s);
    assert.deepEqual(await c.ok('ENABLE QRESYNC'), ['* ENABLED QRESYNC']);
    return c;
  }

  /** The untagged lines after the mailbox description (after its LIST line). */
  const resyncLines = (untagged: string[]) =>
    untagged.slice(untagged.findIndex((l) => l.startsWith('* LIST ')) + 1);

  test('SELECT (QRESYNC): VANISHED (EARLIER) then the changed flags, with MODSEQ', async () => {
    const m = await changed('Qr1');
    const c = await qresyncClient();
    const r = await c.cmd(`SELECT Qr1 (QRESYNC (${m.uv} ${m.known}))`);
    assert.equal(r.tagged, 'OK [READ-WRITE] SELECT done');
    const h = await a.mailboxHighestModseq(m.id);
    assert.ok(r.untagged.includes(`* OK [HIGHESTMODSEQ ${h}] highest modseq`));
    assert.deepEqual(resyncLines(r.untagged), [
      '* VANISHED (EARLIER) 3,5',
      `* 5 FETCH (UID 7 FLAGS (\\Flagged) MODSEQ (${m.ms.get(7)}))`,
      `* 9 FETCH (UID 11 FLAGS () MODSEQ (${m.ms.get(11)}))`,
    ]);
    // Up to date: nothing. EXAMINE takes the parameter too.
    const again = await c.cmd(`EXAMINE Qr1 (QRESYNC (${m.uv} ${h}))`);
    assert.deepEqual(resyncLines(again.untagged), []);
    assert.equal(again.tagged, 'OK [READ-ONLY] EXAMINE done');
    // Another UIDVALIDITY: the client must start over, and gets no changes.
    const other = await c.cmd(`SELECT Qr1 (QRESYNC (${m.uv + 1} ${m.known}))`);
    assert.deepEqual(resyncLines(other.untagged), []);
    c.close();
  });

  test('known UIDs and sequence match data narrow VANISHED', async () => {
    const m = await changed('Qr2');
    const c = await qresyncClient();
    const sel = async (params: string) =>
      resyncLines(
        (await c.ok(`SELECT Qr2 (QRESYNC (${m.uv} ${m.known} ${params}))`)).filter((l) =>
          l.startsWith('* VANISHED'),
        ),
      );
    // RFC 7162 §3.2.5.1: only UIDs the client says it knows.
    assert.deepEqual(await sel('1:4'), ['* VANISHED (EARLIER) 3']);
    assert.deepEqual(await sel('6:*'), []);
    // §3.2.5.2: message 2 is still UID 2 (nothing below 3 can be gone); message 4 is not
    // UID 4 any more: the search for expunges starts above UID 2.
    assert.deepEqual(await sel('1:10 (2,4 2,4)'), ['* VANISHED (EARLIER) 3,5']);
    // A client already without UID 3 (message 3 was UID 4 for it) learns of 5 only.
    assert.deepEqual(await sel('1:10 (1:3 1:2,4)'), ['* VANISHED (EARLIER) 5']);
    // Sequence match data without known UIDs.
    assert.deepEqual(await sel('(1:3 1:2,4)'), ['* VANISHED (EARLIER) 5']);
    c.close();
  });

  test('a client that still has a message expunged before its modseq gets everything', async () => {
    const m = await changed('Qr3');
    const c = await qresyncClient();
    // It claims to be up to date after the expunge of UID 3, yet has UID 3 as message 3.
    const r = await c.cmd(`SELECT Qr3 (QRESYNC (${m.uv} ${m.afterFirst} 1:10 (3 3)))`);
    const lines = resyncLines(r.untagged);
    assert.match(lines[0]!, /^\* OK \[ALERT\] /);
    assert.equal(lines[1], '* VANISHED (EARLIER) 3,5');
    // Every live message's flags, from scratch.
    assert.equal(lines.filter((l) => / FETCH \(UID \d+ FLAGS /.test(l)).length, 9);
    c.close();
  });

  test('bad QRESYNC parameters are BAD', async () => {
    const m = await changed('Qr4');
    const c = await qresyncClient();
    const bad = 'BAD SELECT unrecognized syntax/command: ';
    for (const [params, why] of [
      [`(${m.uv})`, 'expected space'],
      [`(0 1)`, 'expected non-zero number'],
      [`(${m.uv} x)`, 'expected mod-sequence value'],
      [`(${m.uv} 1 1:5 (1:2 1))`, 'sequence match data: message numbers and UIDs differ in count'],
      [`(${m.uv} 1 1:5 (2,1 1,2))`, 'sequence match data: message numbers not strictly increasing'],
      [`(${m.uv} 1 1:5 (1:* 1:2))`, 'sequence match data: "*" in message numbers'],
      [`(${m.uv} 1 1:5 (1:20000 1:20000))`, 'sequence match data: too many message numbers'],
      [`(${m.uv} 1 $)`, '$ not allowed here'],
    ]) {
      const r = await c.cmd(`SELECT Qr4 (QRESYNC ${params})`);
      assert.equal(r.tagged, bad + why, params);
    }
    assert.equal(
      (await c.cmd(`SELECT Qr4 (QRESYNC (${m.uv} 1) QRESYNC (${m.uv} 1))`)).tagged,
      bad + 'select parameter QRESYNC given twice',
    );
    c.close();
  });

  test('VANISHED replaces EXPUNGE: own EXPUNGE, MOVE, and other sessions', async () => {
    await addMessages(s, a, 'Qr5', 6);
    await noneRecent(a, 'Qr5');
    const id = (await a.mailbox('Qr5'))!.id;
    const c = await qresyncClient();
    await c.ok('SELECT Qr5');
    await c.ok('STORE 2,4 +FLAGS.SILENT (\\Deleted)');
    const e = await c.cmd('EXPUNGE');
    assert.deepEqual(e.untagged, ['* VANISHED 2,4']);
    assert.equal(e.tagged, `OK [HIGHESTMODSEQ ${await a.mailboxHighestModseq(id)}] EXPUNGE done`);
    // MOVE: COPYUID first, then VANISHED; the tagged OK has the new HIGHESTMODSEQ.
    const mv = await c.cmd('UID MOVE 5:6 Archive');
    assert.match(mv.untagged[0]!, /^\* OK \[COPYUID \d+ 5:6 \d+(:\d+)?\] moved$/);
    assert.deepEqual(mv.untagged.slice(1), ['* VANISHED 5:6']);
    assert.equal(mv.tagged, `OK [HIGHESTMODSEQ ${await a.mailboxHighestModseq(id)}] UID MOVE done`);
    // Another session's expunge, and its flag change with MODSEQ (QRESYNC implies CONDSTORE).
    await a.storeFlags(id, [1], { mode: 'add', flags: Flag.Deleted }, null);
    await a.expunge(id, [1], null);
    await a.storeFlags(id, [3], { mode: 'add', flags: Flag.Seen }, null);
    const ms = (await a.flagsOf(id)).find((x) => x.uid === 3)!.modseq;
    assert.deepEqual(await c.ok('NOOP'), [
      `* 1 FETCH (UID 1 FLAGS (\\Deleted) MODSEQ (${ms - 2}))`,
      '* VANISHED 1',
      `* 1 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (${ms}))`,
    ]);
    c.close();
  });

  test('UID FETCH CHANGEDSINCE with VANISHED', async () => {
    const m = await changed('Qr6');
    const c = await qresyncClient();
    await c.ok('SELECT Qr6');
    assert.deepEqual(await c.ok(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${m.known} VANISHED)`), [
      '* VANISHED (EARLIER) 3,5',
      `* 5 FETCH (UID 7 FLAGS (\\Flagged) MODSEQ (${m.ms.get(7)}))`,
      `* 9 FETCH (UID 11 FLAGS () MODSEQ (${m.ms.get(11)}))`,
    ]);
    // The set limits both lists.
    assert.deepEqual(await c.ok(`UID FETCH 4:8 (FLAGS) (CHANGEDSINCE ${m.known} VANISHED)`), [
      '* VANISHED (EARLIER) 5',
      `* 5 FETCH (UID 7 FLAGS (\\Flagged) MODSEQ (${m.ms.get(7)}))`,
    ]);
    // Under QRESYNC every UID FETCH response carries MODSEQ.
    assert.deepEqual(await c.ok('UID FETCH 1 (FLAGS)'), [
      `* 1 FETCH (UID 1 FLAGS () MODSEQ (${m.ms.get(1)}))`,
    ]);
    const bad = 'BAD FETCH unrecognized syntax/command: ';
    assert.equal(
      (await c.cmd(`FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)`)).tagged,
      bad + 'VANISHED is a UID FETCH modifier',
    );
    assert.equal(
      (await c.cmd('UID FETCH 1 (FLAGS) (VANISHED)')).tagged,
      'BAD UID FETCH unrecognized syntax/command: VANISHED without CHANGEDSINCE',
    );
    const plain = await Client.login(s);
    await plain.ok('SELECT Qr6');
    assert.equal(
      (await plain.cmd('UID FETCH 1 (FLAGS) (CHANGEDSINCE 1 VANISHED)')).tagged,
      'BAD UID FETCH unrecognized syntax/command: VANISHED without ENABLE QRESYNC',
    );
    plain.close();
    c.close();
  });

  test('a long VANISHED list is cut into lines of at most 4000 octets of UIDs', async () => {
    const p = await s.store.prepareMessage(Buffer.from('Subject: x\r\n\r\nx\r\n'));
    await a.addMessages(
      'Qr7',
      Array.from({ length: 2400 }, () => ({ message: p })),
      {
        create: true,
      },
    );
    await p.cleanup();
    const mb = (await a.mailbox('Qr7'))!;
    const known = await a.mailboxHighestModseq(mb.id);
    const odd = Array.from({ length: 1200 }, (_, i) => 2 * i + 1);
    await a.storeFlags(mb.id, odd, { mode: 'add', flags: Flag.Deleted }, null);
    await a.expunge(mb.id, odd, null);
    const c = await qresyncClient();
    const r = await c.ok(`SELECT Qr7 (QRESYNC (${mb.uidvalidity} ${known}))`);
    const lines = r.filter((l) => l.startsWith('* VANISHED (EARLIER) '));
    assert.ok(lines.length >= 2, `${lines.length} lines`);
    const uids: number[] = [];
    for (const l of lines) {
      const set = l.slice('* VANISHED (EARLIER) '.length);
      assert.ok(set.length <= 4000, `${set.length}`);
      uids.push(...set.split(',').map(Number));
    }
    assert.deepEqual(uids, odd);
    c.close();
  });
});
