// QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA for an account with a storage limit, one
// with a message limit and one without, APPEND, COPY and delivery refused beyond the
// message limit, SETQUOTA refused, STATUS DELETED and DELETED-STORAGE, and the syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

let s: TestServer;
const BODY = 'x'.repeat(700);
before(async () => {
  s = await startTestServer();
  // "limited" has a quota of 2000 octets: 1 KiB unit, as RFC 9208 §5.1 counts.
  const a = await s.store.account('limited');
  const p = await s.store.prepareMessage(Buffer.from(`Subject: q\r\n\r\n${BODY}\r\n`));
  await a.addMessages('Inbox', [{ message: p }]);
  await p.cleanup();
});
after(() => s.close());

test('GETQUOTAROOT and GETQUOTA report STORAGE in KiB; SETQUOTA is refused', async () => {
  const c = await Client.login(s, 'limited@example.org');
  assert.match((await c.ok('CAPABILITY'))[0]!, / QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE( |$)/);
  assert.doesNotMatch((await c.ok('CAPABILITY'))[0]!, /QUOTASET/);
  const used = Math.ceil((await (await s.store.account('limited')).diskUsage()) / 1024);
  assert.deepEqual(await c.ok('GETQUOTAROOT INBOX'), [
    '* QUOTAROOT "Inbox" ""',
    `* QUOTA "" (STORAGE ${used} 1)`,
  ]);
  // The mailbox need not exist (RFC 9208 §4.1.2).
  assert.deepEqual((await c.ok('GETQUOTAROOT Nowhere'))[0], '* QUOTAROOT "Nowhere" ""');
  assert.deepEqual(await c.ok('GETQUOTA ""'), [`* QUOTA "" (STORAGE ${used} 1)`]);
  assert.equal(
    (await c.cmd('GETQUOTA "other"')).tagged,
    'NO [NONEXISTENT] GETQUOTA no quota root "other"',
  );
  assert.equal(
    (await c.cmd('SETQUOTA "" (STORAGE 512)')).tagged,
    'NO [NOPERM] SETQUOTA quotas are set by the administrator in domains.toml',
  );
  assert.match((await c.cmd('SETQUOTA "" (STORAGE)')).tagged, /^BAD /);
  assert.match((await c.cmd('GETQUOTA')).tagged, /^BAD /);
  c.close();
});

test('without a limit there is no quota root', async () => {
  const c = await Client.login(s);
  assert.deepEqual(await c.ok('GETQUOTAROOT INBOX'), ['* QUOTAROOT "Inbox"']);
  assert.equal((await c.cmd('GETQUOTA ""')).tagged, 'NO [NONEXISTENT] GETQUOTA no quota root ""');
  c.close();
});

test('STATUS DELETED and DELETED-STORAGE count messages flagged \\Deleted', async () => {
  const c = await Client.login(s, 'limited@example.org');
  assert.deepEqual(await c.ok('STATUS INBOX (DELETED DELETED-STORAGE)'), [
    '* STATUS "Inbox" (DELETED 0 DELETED-STORAGE 0)',
  ]);
  await c.ok('SELECT INBOX');
  await c.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await c.ok('STATUS INBOX (DELETED DELETED-STORAGE)'), [
    '* STATUS "Inbox" (DELETED 1 DELETED-STORAGE 1)',
  ]);
  assert.deepEqual(await c.ok('LIST "" "Inbox" RETURN (STATUS (DELETED-STORAGE))'), [
    '* LIST (\\HasNoChildren) "/" "Inbox"',
    '* STATUS "Inbox" (DELETED-STORAGE 1)',
  ]);
  c.close();
});

test('MESSAGE: the number of messages in all mailboxes, and nothing beyond it', async () => {
  // "counted" may hold 3 messages, whatever their size.
  const a = await s.store.account('counted');
  const c = await Client.login(s, 'counted@example.org');
  assert.deepEqual(await c.ok('GETQUOTAROOT INBOX'), [
    '* QUOTAROOT "Inbox" ""',
    '* QUOTA "" (MESSAGE 0 3)',
  ]);
  const m = 'Subject: m\r\n\r\nm\r\n';
  await c.ok(`APPEND INBOX {${m.length}+}\r\n${m}`);
  await c.ok(`APPEND Archive {${m.length}+}\r\n${m}`);
  assert.deepEqual(await c.ok('GETQUOTA ""'), ['* QUOTA "" (MESSAGE 2 3)']);
  // Two more in one MULTIAPPEND: refused whole, before the second literal is read.
  const two = await c.cmd(`APPEND INBOX {${m.length}+}\r\n${m} {${m.length}+}\r\n${m}`);
  assert.equal(two.tagged, 'NO [OVERQUOTA] APPEND account message quota exceeded');
  await c.ok(`APPEND INBOX {${m.length}+}\r\n${m}`);
  assert.deepEqual(await c.ok('GETQUOTA ""'), ['* QUOTA "" (MESSAGE 3 3)']);
  // Full: APPEND, COPY and delivery are refused; nothing is stored.
  assert.equal(
    (await c.cmd(`APPEND INBOX {${m.length}+}\r\n${m}`)).tagged,
    'NO [OVERQUOTA] APPEND account message quota exceeded',
  );
  await c.ok('SELECT INBOX');
  assert.equal(
    (await c.cmd('COPY 1 Archive')).tagged,
    'NO [OVERQUOTA] COPY account message quota exceeded',
  );
  const p = await s.store.prepareMessage(Buffer.from(m));
  await assert.rejects(a.addMessages('Inbox', [{ message: p }]), /message quota exceeded/);
  await p.cleanup();
  // MOVE changes no count; an expunge makes room.
  await c.ok('MOVE 1 Archive');
  await c.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await c.ok('GETQUOTA ""'), ['* QUOTA "" (MESSAGE 3 3)']);
  await c.ok('EXPUNGE');
  assert.deepEqual(await c.ok('GETQUOTA ""'), ['* QUOTA "" (MESSAGE 2 3)']);
  await c.ok(`APPEND INBOX {${m.length}+}\r\n${m}`);
  c.close();
});
