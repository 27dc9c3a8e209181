// UIDONLY (RFC 9586): after ENABLE UIDONLY, FETCH responses are "* uid UIDFETCH (...)",
// solicited and unsolicited; expunges are VANISHED; every command or search key that
// names messages by number is BAD [UIDREQUIRED], and UID commands work as before.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, addMessages, Client, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';

let s: TestServer;
let a: Account;
before(async () => {
  s = await startTestServer();
  a = await s.store.account('mjl');
  await addMessages(s, a, 'Uo', 4);
});
after(() => s.close());

const required = (cmd: string, what: string) =>
  `BAD [UIDREQUIRED] ${cmd} unrecognized syntax/command: ${what} uses message numbers; use UIDs`;

test('UIDFETCH responses, VANISHED, and UID commands as before', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / UIDONLY( |$)/);
  assert.deepEqual(await c.ok('ENABLE IMAP4rev2 UIDONLY'), ['* ENABLED IMAP4rev2 UIDONLY']);
  const sel = await c.ok('SELECT Uo');
  assert.ok(sel.includes('* 4 EXISTS'), sel.join('\n'));
  assert.deepEqual(await c.ok('UID FETCH 1:2 (FLAGS)'), [
    '* 1 UIDFETCH (FLAGS ())',
    '* 2 UIDFETCH (FLAGS ())',
  ]);
  // UID only when asked for.
  assert.deepEqual(await c.ok('UID FETCH 3 (UID RFC822.SIZE)'), [
    `* 3 UIDFETCH (UID 3 RFC822.SIZE ${(await a.messages((await a.mailbox('Uo'))!.id, [3]))[0]!.size})`,
  ]);
  assert.deepEqual(await c.ok('UID STORE 2 +FLAGS (\\Seen)'), ['* 2 UIDFETCH (FLAGS (\\Seen))']);
  assert.deepEqual(await c.ok('UID SEARCH SEEN'), [
    '* ESEARCH (TAG "' + c.lastTag + '") UID ALL 2',
  ]);
  // Expunges are VANISHED, even without QRESYNC.
  await c.ok('UID STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await c.ok('EXPUNGE'), ['* VANISHED 1']);
  // What other sessions do arrives the same way.
  const id = (await a.mailbox('Uo'))!.id;
  await a.storeFlags(id, [3], { mode: 'add', flags: Flag.Flagged }, null);
  await a.storeFlags(id, [4], { mode: 'add', flags: Flag.Deleted }, null);
  await a.expunge(id, [4], null);
  await addMessages(s, a, 'Uo', 1);
  assert.deepEqual(await c.ok('NOOP'), [
    '* 3 UIDFETCH (FLAGS (\\Flagged))',
    '* 4 UIDFETCH (FLAGS (\\Deleted))',
    '* VANISHED 4',
    '* 3 EXISTS',
    '* 5 UIDFETCH (FLAGS ())',
  ]);
  // With CONDSTORE, a silent store still says the new MODSEQ, by UID.
  const r = await c.cmd('UID STORE 5 (UNCHANGEDSINCE 1000000) +FLAGS.SILENT (\\Answered)');
  assert.match(r.untagged.at(-1)!, /^\* 5 UIDFETCH \(MODSEQ \(\d+\)\)$/);
  assert.deepEqual(await c.ok('UID COPY 2 Archive'), []);
  assert.deepEqual(await c.ok('UID SORT (ARRIVAL) UTF-8 ALL'), ['* SORT 2 3 5']);
  c.close();
});

test('anything with message numbers is BAD [UIDREQUIRED]', async () => {
  const c = await Client.login(s);
  await c.ok('ENABLE QRESYNC UIDONLY');
  const mb = (await a.mailbox('Uo'))!;
  assert.equal(
    (await c.cmd(`SELECT Uo (QRESYNC (${mb.uidvalidity} 1 1:5 (1 2)))`)).tagged,
    required('SELECT', 'sequence match data'),
  );
  await c.ok('SELECT Uo');
  const cases: [string, string, string][] = [
    ['FETCH 1 (FLAGS)', 'FETCH', 'a message sequence set'],
    ['STORE 1 +FLAGS (\\Seen)', 'STORE', 'a message sequence set'],
    ['COPY 1 Archive', 'COPY', 'a message sequence set'],
    ['MOVE 1 Archive', 'MOVE', 'a message sequence set'],
    ['SEARCH ALL', 'SEARCH', 'SEARCH'],
    ['UID SEARCH 1:2', 'UID SEARCH', 'a search key'],
    ['UID SEARCH NOT 1', 'UID SEARCH', 'a search key'],
    ['SORT (ARRIVAL) UTF-8 ALL', 'SORT', 'SORT'],
    ['UID SORT (ARRIVAL) UTF-8 1', 'UID SORT', 'a search key'],
    ['THREAD REFERENCES UTF-8 ALL', 'THREAD', 'THREAD'],
    ['ESEARCH 1:*', 'ESEARCH', 'a search key'],
    ['REPLACE 1 Uo {1+}\r\nx', 'REPLACE', 'REPLACE'],
  ];
  for (const [cmd, name, what] of cases) {
    assert.equal((await c.cmd(cmd)).tagged, required(name, what), cmd);
  }
  // The same keys by UID are fine.
  assert.deepEqual(await c.ok('UID SEARCH UID 2'), ['* SEARCH 2']);
  c.close();
});
