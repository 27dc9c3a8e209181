// SORT (RFC 5256), ESORT (RFC 5267) and SORT=DISPLAY (RFC 5957): every sort key, REVERSE,
// ties by sequence number, UID SORT, a search program, RETURN options and bad syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

const crlf = (...l: string[]) => l.join('\r\n') + '\r\n';
// Sequence numbers 1..5 (UIDs 1..5). Internal dates in the order 3, 1, 5, 2, 4.
const MESSAGES: { data: string; date: string }[] = [
  {
    data: crlf(
      'From: "Zed Zulu" <alice@x.org>',
      'To: bob@y.org',
      'Cc: carol@z.org',
      'Subject: Re: Lunch',
      'Date: Tue, 02 Jan 2024 10:00:00 +0000',
      '',
      'a',
    ),
    date: '2024-01-05T00:00:00Z',
  },
  {
    data: crlf(
      'From: bob@y.org',
      'To: =?utf-8?q?=C3=84rger?= <zoe@y.org>',
      'Subject: [list] apples',
      'Date: Mon, 01 Jan 2024 23:00:00 -0300',
      '',
      'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    ),
    date: '2024-01-09T00:00:00Z',
  },
  {
    data: crlf('From: Carol <carol@z.org>', 'To: alice@x.org', 'Subject: lunch', '', 'cc'),
    date: '2024-01-01T00:00:00Z',
  },
  {
    data: crlf(
      'From: Alice <alice@x.org>',
      'To: "Alpha" <yves@y.org>',
      'Cc: adam@z.org',
      'Subject: Fwd: Apples (fwd)',
      'Date: Wed, 03 Jan 2024 09:00:00 +0100',
      '',
      'dddd',
    ),
    date: '2024-01-10T00:00:00Z',
  },
  {
    data: crlf('From: dave@w.org', 'Subject: zebra', 'Date: not a date', '', 'eeeeeeeeeee'),
    date: '2024-01-07T00:00:00Z',
  },
];

/** Sequence numbers (1-based) of `idx` ordered by message size, ties by number. */
const bySize = (idx: number[]) =>
  [...idx].sort((a, b) => MESSAGES[a - 1]!.data.length - MESSAGES[b - 1]!.data.length || a - b);

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('Sort');
  for (const m of MESSAGES) {
    const p = await s.store.prepareMessage(Buffer.from(m.data));
    await a.addMessages('Sort', [{ message: p, internalDate: Date.parse(m.date) }]);
    await p.cleanup();
  }
});
after(() => s.close());

test('every sort key, REVERSE, ties by sequence number', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / SORT SORT=DISPLAY ESORT( |$)/);
  await c.ok('SELECT Sort');
  const table: [string, string][] = [
    ['(ARRIVAL) UTF-8 ALL', '* SORT 3 1 5 2 4'],
    ['(REVERSE ARRIVAL) UTF-8 ALL', '* SORT 4 2 5 1 3'],
    // Sent dates in UTC: 2 (02:00 on the 2nd), 1 (10:00), 4 (08:00 on the 3rd); without
    // a Date (3) or with an invalid one (5), the internal date.
    ['(DATE) UTF-8 ALL', '* SORT 3 2 1 4 5'],
    ['(SIZE) UTF-8 ALL', `* SORT ${bySize([1, 2, 3, 4, 5]).join(' ')}`],
    // Base subjects: lunch, apples, lunch, apples, zebra; ties by sequence number.
    ['(SUBJECT) UTF-8 ALL', '* SORT 2 4 1 3 5'],
    ['(REVERSE SUBJECT) UTF-8 ALL', '* SORT 5 1 3 2 4'],
    ['(SUBJECT ARRIVAL) UTF-8 ALL', '* SORT 2 4 3 1 5'],
    // addr-mailbox: alice, bob, carol, alice, dave.
    ['(FROM) UTF-8 ALL', '* SORT 1 4 2 3 5'],
    // To: bob, zoe, alice, yves, none (empty first).
    ['(TO) UTF-8 ALL', '* SORT 5 3 1 4 2'],
    ['(CC) UTF-8 ALL', '* SORT 2 3 5 4 1'],
    // Display names: Zed Zulu, bob@y.org, Carol, Alice, dave@w.org.
    ['(DISPLAYFROM) UTF-8 ALL', '* SORT 4 2 3 5 1'],
    // Display To: bob@y.org, Ärger (after ASCII), alice@x.org, Alpha, none.
    ['(DISPLAYTO) UTF-8 ALL', '* SORT 5 3 4 1 2'],
    ['(FROM) US-ASCII TEXT lunch', '* SORT 1 3'],
    ['(ARRIVAL) UTF-8 OR FROM bob SUBJECT zebra', '* SORT 5 2'],
    ['(ARRIVAL) UTF-8 NOT ALL', '* SORT'],
  ];
  for (const [args, want] of table) assert.deepEqual(await c.ok(`SORT ${args}`), [want], args);
  c.close();
});

test('UID SORT, ESORT RETURN options, errors', async () => {
  const c = await Client.login(s);
  await c.ok('SELECT Sort');
  await c.ok('STORE 3 +FLAGS.SILENT (\\Deleted)');
  await c.ok('EXPUNGE');
  // UIDs 1, 2, 4, 5 are sequence numbers 1..4 now.
  assert.deepEqual(await c.ok('UID SORT (ARRIVAL) UTF-8 ALL'), ['* SORT 1 5 2 4']);
  assert.deepEqual(await c.ok('SORT (ARRIVAL) UTF-8 ALL'), ['* SORT 1 4 2 3']);
  let r = await c.cmd('SORT RETURN (MIN MAX COUNT ALL) (REVERSE ARRIVAL) UTF-8 ALL');
  assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 3 MAX 1 COUNT 4 ALL 3,2,4,1`]);
  r = await c.cmd('UID SORT RETURN () (SIZE) UTF-8 ALL');
  assert.deepEqual(r.untagged, [
    `* ESEARCH (TAG "${r.tag}") UID ALL ${bySize([1, 2, 4, 5]).join(',')}`,
  ]);
  // Ascending runs in the sort order are ranges (RFC 5267 §3.2).
  r = await c.cmd('UID SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 ALL');
  assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID ALL 5,1:2,4`]);
  r = await c.cmd('UID SORT RETURN (ALL) (DISPLAYFROM) UTF-8 NOT FROM zed');
  assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID ALL 4,2,5`]);
  r = await c.cmd('SORT RETURN (COUNT) (SIZE) UTF-8 FROM nobody');
  assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") COUNT 0`]);
  const bad = [
    'SORT (ARRIVAL) ALL',
    'SORT (NAME) UTF-8 ALL',
    'SORT () UTF-8 ALL',
    'SORT ARRIVAL UTF-8 ALL',
    'SORT (REVERSE) UTF-8 ALL',
    'SORT (ARRIVAL) UTF-8',
  ];
  for (const cmd of bad) assert.match((await c.cmd(cmd)).tagged, /^BAD /, cmd);
  assert.match((await c.cmd('SORT (ARRIVAL) KOI8-R ALL')).tagged, /^NO \[BADCHARSET/);
  c.close();
});
