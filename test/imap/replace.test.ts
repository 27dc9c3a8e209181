// REPLACE (RFC 8508): a draft saved again in the selected mailbox, UID REPLACE into
// another mailbox, and the refusals that leave the old message in place.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, noneRecent, type TestServer } from './harness.js';

const draft = (n: number) => `Subject: draft ${n}\r\n\r\nversion ${n}\r\n`;
let s: TestServer;
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  for (const n of [1, 2]) {
    const p = await s.store.prepareMessage(Buffer.from(draft(n)));
    await a.addMessages('Drafts', [{ message: p }]);
    await p.cleanup();
  }
  await noneRecent(a, 'Drafts');
});
after(() => s.close());

/** A command ending in a synchronizing literal: waits for "+ ", then sends the data. */
async function withLiteral(c: Client, command: string, data: string) {
  const tag = c.nextTag();
  c.write(`${tag} ${command} {${data.length}}\r\n`);
  const cont = await c.readLine();
  // Refused before the data: the tagged reply came instead of "+ ".
  if (cont.startsWith(`${tag} `)) return { cont, untagged: [], tagged: cont };
  c.write(`${data}\r\n`);
  return { cont, ...(await c.until(tag)) };
}

test('REPLACE in the selected mailbox and UID REPLACE into another', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / REPLACE( |$)/);
  await c.ok('SELECT Drafts');
  const a = await s.store.account('mjl');
  const drafts = (await a.mailbox('Drafts'))!;
  let r = await withLiteral(c, 'REPLACE 1 Drafts (\\Draft)', draft(3));
  assert.deepEqual(r.untagged, [
    `* OK [APPENDUID ${drafts.uidvalidity} 3] replacement`,
    '* 3 EXISTS',
    '* 1 RECENT',
    '* 1 EXPUNGE',
  ]);
  assert.equal(r.tagged, 'OK REPLACE done');
  // The replacement is new to the mailbox: \Recent for the session that made it.
  assert.deepEqual(await c.ok('UID FETCH 1:* (FLAGS)'), [
    '* 1 FETCH (UID 2 FLAGS ())',
    '* 2 FETCH (UID 3 FLAGS (\\Recent \\Draft))',
  ]);
  const sent = (await a.mailbox('Sent'))!;
  r = await withLiteral(c, 'UID REPLACE 3 Sent', draft(4));
  assert.deepEqual(r.untagged, [
    `* OK [APPENDUID ${sent.uidvalidity} 1] replacement`,
    '* 2 EXPUNGE',
  ]);
  assert.equal(r.tagged, 'OK UID REPLACE done');
  const [m] = await a.messages(sent.id, [1]);
  assert.equal((await a.readMessage(m!)).toString(), draft(4));
  c.close();
});

test('refusals leave the old message: no such message, no mailbox, read-only', async () => {
  const c = await Client.login(s);
  await c.ok('SELECT Drafts');
  // No message 9: refused before the literal is invited.
  let r = await withLiteral(c, 'REPLACE 9 Drafts', draft(5));
  assert.match(r.cont, /^A\d+ NO .*no message 9 to replace/);
  r = await withLiteral(c, 'REPLACE 1 Nowhere', draft(5));
  assert.match(r.cont, /^A\d+ NO \[TRYCREATE\] /);
  assert.deepEqual(await c.ok('UID SEARCH ALL'), ['* SEARCH 2']);
  await c.ok('EXAMINE Drafts');
  r = await withLiteral(c, 'REPLACE 1 Drafts', draft(5));
  assert.match(r.cont, /^A\d+ NO .*read-only/);
  c.close();
});
