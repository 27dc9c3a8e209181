// MULTISEARCH (RFC 7377): ESEARCH over the mailboxes the RFC 5465 filters name, each
// mailbox with matches answered in UIDs with its name and UIDVALIDITY, none selected;
// message numbers and $ only for the selected mailbox alone; the syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import type { Account } from '../../src/store/index.js';

let s: TestServer;
let a: Account;

async function put(mailbox: string, subjects: string[]) {
  for (const subject of subjects) {
    const p = await s.store.prepareMessage(Buffer.from(`Subject: ${subject}\r\n\r\nbody\r\n`));
    await a.addMessages(mailbox, [{ message: p }], { create: true });
    await p.cleanup();
  }
}

before(async () => {
  s = await startTestServer();
  a = await s.store.account('mjl');
  await put('Inbox', ['alpha one', 'beta one', 'alpha two']);
  await put('Work', ['alpha work']);
  await put('Work/Sub', ['alpha sub', 'gamma']);
  await put('Work/Sub/Deep', ['alpha deep']);
  await put('Lists', ['beta list']);
});
after(() => s.close());

/** "MAILBOX name UIDVALIDITY n" of a mailbox, as ESEARCH responses carry it. */
async function corr(tag: string, name: string): Promise<string> {
  const mb = (await a.mailbox(name))!;
  return `* ESEARCH (TAG "${tag}" MAILBOX "${name}" UIDVALIDITY ${mb.uidvalidity}) UID`;
}

test('ESEARCH IN (...) searches the filtered mailboxes, in UIDs, only those with matches', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / MULTISEARCH( |$)/);
  // Nothing selected, and none is selected afterwards.
  let r = await c.cmd('ESEARCH IN (personal) SUBJECT alpha');
  assert.deepEqual(r.untagged, [
    `${await corr(r.tag, 'Inbox')} ALL 1,3`,
    `${await corr(r.tag, 'Work')} ALL 1`,
    `${await corr(r.tag, 'Work/Sub')} ALL 1`,
    `${await corr(r.tag, 'Work/Sub/Deep')} ALL 1`,
  ]);
  assert.equal(r.tagged, 'OK ESEARCH done');
  assert.equal(
    (await c.cmd('FETCH 1 FLAGS')).tagged,
    'NO FETCH not allowed in this connection state',
  );
  r = await c.cmd('ESEARCH IN (subtree-one Work) RETURN (COUNT MIN) SUBJECT alpha');
  assert.deepEqual(r.untagged, [
    `${await corr(r.tag, 'Work')} MIN 1 COUNT 1`,
    `${await corr(r.tag, 'Work/Sub')} MIN 1 COUNT 1`,
  ]);
  r = await c.cmd('ESEARCH IN (subtree "Work/Sub" mailboxes (Lists Nowhere inbox)) ALL');
  assert.deepEqual(r.untagged, [
    `${await corr(r.tag, 'Inbox')} ALL 1:3`,
    `${await corr(r.tag, 'Lists')} ALL 1`,
    `${await corr(r.tag, 'Work/Sub')} ALL 1:2`,
    `${await corr(r.tag, 'Work/Sub/Deep')} ALL 1`,
  ]);
  r = await c.cmd('ESEARCH IN (inboxes) SUBJECT beta');
  assert.deepEqual(r.untagged, [`${await corr(r.tag, 'Inbox')} ALL 2`]);
  // Duplicates are searched once; mailboxes without matches answer nothing.
  await c.ok('UNSUBSCRIBE Lists');
  r = await c.cmd('ESEARCH IN (subscribed personal mailboxes Lists) SUBJECT gamma');
  assert.deepEqual(r.untagged, [`${await corr(r.tag, 'Work/Sub')} ALL 2`]);
  r = await c.cmd('ESEARCH IN (subscribed) SUBJECT beta');
  assert.deepEqual(r.untagged, [`${await corr(r.tag, 'Inbox')} ALL 2`]);
  // MODSEQ across mailboxes (nothing selected: no HIGHESTMODSEQ to tell first).
  r = await c.cmd('ESEARCH IN (mailboxes Lists) MODSEQ 1');
  const ms = await a.mailboxHighestModseq((await a.mailbox('Lists'))!.id);
  assert.deepEqual(r.untagged, [`${await corr(r.tag, 'Lists')} ALL 1 MODSEQ ${ms}`]);
  c.close();
});

test('without IN: the selected mailbox; message numbers and $ for it alone', async () => {
  const c = await Client.login(s);
  assert.equal(
    (await c.cmd('ESEARCH SUBJECT alpha')).tagged,
    'BAD ESEARCH unrecognized syntax/command: "selected" without a selected mailbox',
  );
  await c.ok('SELECT INBOX');
  let r = await c.cmd('ESEARCH SUBJECT alpha');
  assert.deepEqual(r.untagged, [`${await corr(r.tag, 'Inbox')} ALL 1,3`]);
  r = await c.cmd('ESEARCH IN (selected) RETURN (MAX) 1:2');
  assert.deepEqual(r.untagged, [`${await corr(r.tag, 'Inbox')} MAX 2`]);
  // SAVE, then $ in a search of the selected mailbox.
  assert.deepEqual(await c.ok('ESEARCH RETURN (SAVE) SUBJECT beta'), []);
  assert.deepEqual(await c.ok('UID SEARCH UID $'), ['* SEARCH 2']);
  const bad = 'BAD ESEARCH unrecognized syntax/command: ';
  for (const [args, why] of [
    ['IN (personal) 1:*', 'message numbers and $ only search the selected mailbox'],
    ['IN (personal) UID $', 'message numbers and $ only search the selected mailbox'],
    ['IN (personal) RETURN (SAVE) ALL', 'SAVE only with the selected mailbox alone'],
    ['IN (everything) ALL', 'unknown mailbox filter everything'],
    ['IN (personal (depth 1)) ALL', 'scope options are not supported'],
    ['IN personal ALL', 'expected "("'],
    ['IN (subtree) ALL', 'expected space'],
    ['IN (personal)', 'expected space'],
  ]) {
    assert.equal((await c.cmd(`ESEARCH ${args}`)).tagged, bad + why, args);
  }
  c.close();
});
