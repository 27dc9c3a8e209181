// QUOTA (RFC 9208): GETQUOTAROOT and GETQUOTA for an account with a storage limit and one
// without, SETQUOTA refused, STATUS DELETED and DELETED-STORAGE, and the RFC's syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

let s: TestServer;
const BODY = 'x'.repeat(700);
before(async () => {
  s = await startTestServer();
  // "limited" has a quota of 2000 octets: 1 KiB unit, as RFC 9208 §5.1 counts.
  const a = await s.store.account('limited');
  const p = await s.store.prepare(Buffer.from(`Subject: q\r\n\r\n${BODY}\r\n`));
  await a.addMessages('Inbox', [{ message: p }]);
  await p.cleanup();
});
after(() => s.close());

test('GETQUOTAROOT and GETQUOTA report STORAGE in KiB; SETQUOTA is refused', async () => {
  const c = await Client.login(s, 'limited@example.org');
  assert.match((await c.ok('CAPABILITY'))[0]!, / QUOTA QUOTA=RES-STORAGE( |$)/);
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
