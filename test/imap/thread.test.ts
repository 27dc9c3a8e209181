// THREAD (RFC 5256): ORDEREDSUBJECT and REFERENCES over messages with References,
// In-Reply-To, a missing parent (a dummy), a message without Message-ID, and threads
// joined by base subject; UID THREAD, a search program, and bad syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

const msg = (headers: string[], day: number) =>
  [
    ...headers,
    `Date: Mon, ${String(day).padStart(2, '0')} Jan 2024 12:00:00 +0000`,
    '',
    'x',
    '',
  ].join('\r\n');

// Sequence numbers 1..8; sent dates: 4 first (day 1), then 1, 2, 3, 5, 6, 7, 8.
const MESSAGES = [
  msg(['Message-ID: <a@x>', 'Subject: Party'], 2),
  msg(['Message-ID: <b@x>', 'In-Reply-To: <a@x>', 'Subject: Re: Party'], 3),
  msg(['Message-ID: <c@x>', 'References: <a@x> <b@x>', 'Subject: Re: Party'], 4),
  msg(['Message-ID: <d@x>', 'Subject: Lunch'], 1),
  msg(['Message-ID: <e@x>', 'References: <a@x>', 'Subject: Re: Party'], 5),
  msg(['Message-ID: <f@x>', 'References: <missing@x>', 'Subject: Soup'], 6),
  msg(['Message-ID: <g@x>', 'References: <missing@x>', 'Subject: Re: Soup'], 7),
  msg(['Subject: Lunch'], 8),
];

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('T');
  for (const m of MESSAGES) {
    const p = await s.store.prepareMessage(Buffer.from(m));
    await a.addMessages('T', [{ message: p }]);
    await p.cleanup();
  }
});
after(() => s.close());

test('ORDEREDSUBJECT and REFERENCES, UID THREAD, search programs, errors', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / THREAD=ORDEREDSUBJECT THREAD=REFERENCES( |$)/);
  await c.ok('SELECT T');
  // By base subject; each thread's first message is the parent of the others.
  assert.deepEqual(await c.ok('THREAD ORDEREDSUBJECT UTF-8 ALL'), [
    '* THREAD (4 8)(1 (2)(3)(5))(6 7)',
  ]);
  // By references: 2 and 5 reply to 1, 3 to 2; 6 and 7 share a parent that is not here
  // (a dummy); 4 and 8 share a subject only, and are joined under a dummy.
  assert.deepEqual(await c.ok('THREAD REFERENCES UTF-8 ALL'), [
    '* THREAD ((4)(8))(1 (2 3)(5))((6)(7))',
  ]);
  assert.deepEqual(await c.ok('THREAD REFERENCES US-ASCII SUBJECT party NOT UID 2'), [
    '* THREAD (1 (3)(5))',
  ]);
  await c.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await c.ok('EXPUNGE');
  // Without its root, the party thread's replies are threads of their own, joined by
  // subject; UIDs are one more than the sequence numbers now.
  assert.deepEqual(await c.ok('UID THREAD REFERENCES UTF-8 ALL'), [
    '* THREAD ((4)(8))((2 3)(5))((6)(7))',
  ]);
  assert.deepEqual(await c.ok('THREAD ORDEREDSUBJECT UTF-8 NOT ALL'), ['* THREAD']);
  for (const bad of ['THREAD JWZ UTF-8 ALL', 'THREAD REFERENCES ALL', 'THREAD REFERENCES UTF-8']) {
    assert.match((await c.cmd(bad)).tagged, /^BAD /, bad);
  }
  c.close();
});
