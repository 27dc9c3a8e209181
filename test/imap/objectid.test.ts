// OBJECTID (RFC 8474): MAILBOXID in CREATE, SELECT and STATUS, stable across RENAME and
// new for a mailbox created again; EMAILID in FETCH, kept by MOVE, new for a COPY;
// THREADID shared by a thread's messages and their copies, a reply stored before its
// parent in a thread of its own; SEARCH EMAILID and THREADID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s.close());

const idOf = (line: string, what: string): string => {
  const m = new RegExp(`${what} \\(([A-Za-z0-9_-]+)\\)`).exec(line);
  assert.ok(m, line);
  return m[1]!;
};

test('MAILBOXID: CREATE, SELECT, STATUS, RENAME, DELETE and CREATE again', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / OBJECTID( |$)/);
  const created = await c.cmd('CREATE Obj');
  assert.match(created.tagged, /^OK \[MAILBOXID \([A-Za-z0-9_-]+\)\] CREATE done$/);
  const id = idOf(created.tagged, 'MAILBOXID');
  assert.deepEqual(await c.ok('STATUS Obj (MAILBOXID MESSAGES)'), [
    `* STATUS "Obj" (MAILBOXID (${id}) MESSAGES 0)`,
  ]);
  assert.ok((await c.ok('SELECT Obj')).includes(`* OK [MAILBOXID (${id})] mailbox id`));
  await c.ok('UNSELECT');
  await c.ok('RENAME Obj Obj2');
  assert.deepEqual(await c.ok('STATUS Obj2 (MAILBOXID)'), [`* STATUS "Obj2" (MAILBOXID (${id}))`]);
  await c.ok('DELETE Obj2');
  const again = idOf((await c.cmd('CREATE Obj2')).tagged, 'MAILBOXID');
  assert.notEqual(again, id);
  // Another mailbox has another id.
  const inbox = idOf((await c.ok('STATUS INBOX (MAILBOXID)'))[0]!, 'MAILBOXID');
  assert.notEqual(inbox, again);
  c.close();
});

test('EMAILID: kept by MOVE, new for COPY; SEARCH by it', async () => {
  const a = await s.store.account('mjl');
  await a.createMailbox('Ids');
  await a.createMailbox('Ids2');
  const p = await s.store.prepareMessage(Buffer.from('Subject: ids\r\n\r\nbody\r\n'));
  await a.addMessages('Ids', [{ message: p }]);
  await p.cleanup();
  const c = await Client.login(s);
  await c.ok('SELECT Ids');
  const [f] = await c.ok('FETCH 1 (EMAILID THREADID)');
  assert.match(f!, /^\* 1 FETCH \(EMAILID \([A-Za-z0-9_-]+\) THREADID \([A-Za-z0-9_-]+\)\)$/);
  const email = idOf(f!, 'EMAILID');
  assert.deepEqual(await c.ok(`SEARCH EMAILID ${email}`), ['* SEARCH 1']);
  assert.deepEqual(await c.ok('SEARCH EMAILID Mzzzzzz'), ['* SEARCH']);
  assert.deepEqual(await c.ok('SEARCH EMAILID other-id'), ['* SEARCH']);
  assert.deepEqual(await c.ok('SEARCH THREADID Tzzzzzz'), ['* SEARCH']);
  assert.deepEqual(await c.ok(`SEARCH NOT EMAILID ${email}`), ['* SEARCH']);
  assert.match((await c.cmd('SEARCH EMAILID "a b"')).tagged, /^BAD /);
  await c.ok('COPY 1 Ids2');
  await c.ok('MOVE 1 Ids2');
  await c.ok('SELECT Ids2');
  const ids = (await c.ok('UID FETCH 1:* (EMAILID)')).map((l) => idOf(l, 'EMAILID'));
  assert.equal(ids.length, 2);
  assert.notEqual(ids[0], email, 'a copy is another message');
  assert.equal(ids[1], email, 'a moved message keeps its id');
  c.close();
});

/** Stores a message in a mailbox through the store. */
async function store(mailbox: string, text: string): Promise<void> {
  const a = await s.store.account('mjl');
  const p = await s.store.prepareMessage(Buffer.from(text));
  await a.addMessages(mailbox, [{ message: p }], { create: true });
  await p.cleanup();
}

test('THREADID: replies join the thread of their parent, copies keep it, SEARCH finds it', async () => {
  await store('Thr', 'Message-ID: <root@x>\r\nSubject: plan\r\n\r\nroot\r\n');
  await store('Thr', 'Message-ID: <other@x>\r\nSubject: other\r\n\r\nother\r\n');
  // By In-Reply-To; by References (the nearest known one); without a Message-ID.
  await store(
    'Thr',
    'Message-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\nSubject: Re: plan\r\n\r\nr1\r\n',
  );
  await store(
    'Thr',
    'Message-ID: <r2@x>\r\nReferences: <root@x> <unknown@x>\r\nSubject: Re: plan\r\n\r\nr2\r\n',
  );
  await store('Thr', 'In-Reply-To: <r2@x>\r\nSubject: Re: plan\r\n\r\nr3\r\n');
  // A reply stored before its parent starts a thread; the parent then has its own.
  await store('Thr', 'Message-ID: <late-r@x>\r\nIn-Reply-To: <late@x>\r\n\r\nearly reply\r\n');
  await store('Thr', 'Message-ID: <late@x>\r\n\r\nlate parent\r\n');
  const c = await Client.login(s);
  await c.ok('SELECT Thr');
  const ids = (await c.ok('FETCH 1:* (THREADID)')).map((l) => idOf(l, 'THREADID'));
  const [root, other, r1, r2, r3, early, late] = ids;
  assert.deepEqual([r1, r2, r3], [root, root, root]);
  assert.notEqual(other, root);
  assert.notEqual(early, late);
  assert.equal(new Set([root, other, early, late]).size, 4);
  assert.deepEqual(await c.ok(`SEARCH THREADID ${root}`), ['* SEARCH 1 3 4 5']);
  assert.deepEqual(await c.ok(`UID SEARCH NOT THREADID ${root}`), ['* SEARCH 2 6 7']);
  assert.deepEqual(await c.ok(`SEARCH THREADID ${root} SUBJECT other`), ['* SEARCH']);
  // A copy stays in its thread, and a message delivered again (the same Message-ID) too.
  await c.ok('CREATE Thr2');
  await c.ok('COPY 1 Thr2');
  await store('Thr2', 'Message-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\n\r\nr1 again\r\n');
  await c.ok('SELECT Thr2');
  assert.deepEqual(
    (await c.ok('FETCH 1:* (THREADID)')).map((l) => idOf(l, 'THREADID')),
    [root, root],
  );
  assert.deepEqual(await c.ok(`SEARCH THREADID ${root}`), ['* SEARCH 1 2']);
  c.close();
});
