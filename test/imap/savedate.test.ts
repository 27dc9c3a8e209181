// SAVEDATE (RFC 8514): FETCH SAVEDATE is when a message was saved into the mailbox (an
// APPEND, COPY or MOVE there), not its internal date; SEARCH SAVEDBEFORE, SAVEDON,
// SAVEDSINCE and SAVEDATESUPPORTED.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { imapDateTime } from '../../src/imap/commands/fetch.js';

const DAY = 86_400_000;
let s: TestServer;

before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('Saved');
  // An old internal date: the save date is today all the same.
  const p = await s.store.prepareMessage(Buffer.from('Subject: old\r\n\r\nbody\r\n'));
  await a.addMessages('Saved', [{ message: p, internalDate: Date.parse('2020-05-01T10:00:00Z') }]);
  await p.cleanup();
});
after(() => s.close());

/** IMAP's date (RFC 9051 §9 "date-text") of a day offset from today, UTC. */
function imapDay(offset: number): string {
  return imapDateTime(Date.now() + offset * DAY).slice(0, 11);
}

test('FETCH SAVEDATE, and after COPY and MOVE; SEARCH by save date', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / SAVEDATE( |$)/);
  await c.ok('SELECT Saved');
  const [line] = await c.ok('FETCH 1 (INTERNALDATE SAVEDATE)');
  const m = /^\* 1 FETCH \(INTERNALDATE "01-May-2020 10:00:00 \+0000" SAVEDATE "([^"]+)"\)$/.exec(
    line!,
  );
  assert.ok(m, line);
  const saved = Date.parse(m[1]!.replace(/^(\d+)-(\w+)-(\d+) /, '$2 $1 $3 '));
  assert.ok(Math.abs(saved - Date.now()) < DAY, m[1]);
  // SEARCH: a UTC-day comparison (like BEFORE/ON/SINCE on the internal date). Whatever
  // day "today" is in UTC when this runs, yesterday and tomorrow bracket it.
  const table: [string, string][] = [
    ['SAVEDATESUPPORTED', '* SEARCH 1'],
    [`SAVEDSINCE ${imapDay(-1)}`, '* SEARCH 1'],
    [`SAVEDBEFORE ${imapDay(2)}`, '* SEARCH 1'],
    [`SAVEDBEFORE ${imapDay(-1)}`, '* SEARCH'],
    [`SAVEDSINCE ${imapDay(2)}`, '* SEARCH'],
    ['SAVEDON 01-May-2020', '* SEARCH'],
    ['ON 01-May-2020', '* SEARCH 1'],
    [`NOT SAVEDSINCE ${imapDay(2)} FLAGGED`, '* SEARCH'],
    [`OR SAVEDON 01-May-2020 SAVEDSINCE ${imapDay(-1)}`, '* SEARCH 1'],
  ];
  for (const [keys, want] of table) assert.deepEqual(await c.ok(`SEARCH ${keys}`), [want], keys);
  // A copy is saved into its mailbox now; FETCH through UID FETCH too.
  await c.ok('COPY 1 Archive');
  await c.ok('SELECT Archive');
  const [copy] = await c.ok('UID FETCH 1:* (SAVEDATE)');
  assert.match(
    copy!,
    /^\* \d+ FETCH \(UID \d+ SAVEDATE "\d\d-\w{3}-\d{4} \d\d:\d\d:\d\d \+0000"\)$/,
  );
  assert.match((await c.cmd('SEARCH SAVEDON 32-Jan-2020')).tagged, /^BAD /);
  c.close();
});
