// INPROGRESS (RFC 9585): long SEARCH, ESEARCH, FETCH and SORT commands report how far they
// got, with their tag (NIL for a tag holding "]"), what is done and the goal. The delay
// before the first report is 0 here, so every batch reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, noneRecent, type TestServer } from './harness.js';

let s: TestServer;
const N = 450;

before(async () => {
  s = await startTestServer({ delays: { inProgress: 0 } });
  const a = await s.store.account('mjl');
  const p = await s.store.prepareMessage(Buffer.from('Subject: p\r\n\r\nneedle\r\n'));
  await a.addMessages(
    'Progress',
    Array.from({ length: N }, () => ({ message: p })),
    {
      create: true,
    },
  );
  await p.cleanup();
  await noneRecent(a, 'Progress');
});
after(() => s.close());

const progress = (lines: string[]) => lines.filter((l) => l.includes('[INPROGRESS'));

test('SEARCH, FETCH and SORT report progress per batch, with their tag', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / INPROGRESS( |$)/);
  await c.ok('SELECT Progress');
  let r = await c.cmd('SEARCH BODY needle');
  assert.deepEqual(progress(r.untagged), [
    `* OK [INPROGRESS ("${r.tag}" 0 ${N})] searching`,
    `* OK [INPROGRESS ("${r.tag}" 200 ${N})] searching`,
    `* OK [INPROGRESS ("${r.tag}" 400 ${N})] searching`,
  ]);
  assert.match(r.untagged.at(-1)!, /^\* SEARCH 1 2 3 .* 450$/);
  r = await c.cmd('FETCH 1:* (UID)');
  assert.deepEqual(progress(r.untagged), [
    `* OK [INPROGRESS ("${r.tag}" 0 ${N})] fetching`,
    `* OK [INPROGRESS ("${r.tag}" 200 ${N})] fetching`,
    `* OK [INPROGRESS ("${r.tag}" 400 ${N})] fetching`,
  ]);
  // Each report comes before the batch it announces.
  assert.equal(r.untagged[201], `* OK [INPROGRESS ("${r.tag}" 200 ${N})] fetching`);
  assert.equal(r.untagged.filter((l) => / FETCH /.test(l)).length, N);
  r = await c.cmd('SORT (ARRIVAL) UTF-8 ALL');
  assert.deepEqual(progress(r.untagged), [`* OK [INPROGRESS ("${r.tag}" 0 ${N})] sorting`]);
  r = await c.cmd('ESEARCH IN (personal) RETURN (COUNT) BODY needle');
  assert.equal(progress(r.untagged).length, 3);
  assert.match(r.untagged.at(-1)!, /MAILBOX "Progress" UIDVALIDITY \d+\) UID COUNT 450$/);
  c.close();
});

test('a tag with "]" is reported as NIL', async () => {
  const c = await Client.login(s);
  await c.ok('SELECT Progress');
  c.write('a]1 FETCH 1:250 (UID)\r\n');
  const r = await c.until('a]1');
  assert.deepEqual(progress(r.untagged), [
    `* OK [INPROGRESS (NIL 0 250)] fetching`,
    `* OK [INPROGRESS (NIL 200 250)] fetching`,
  ]);
  assert.equal(r.tagged, 'OK FETCH done');
  c.close();
});
