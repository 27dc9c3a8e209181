// METADATA (RFC 5464) and LIST-METADATA (RFC 9590): SETMETADATA and GETMETADATA of
// /private/ and /shared/ entries of a mailbox and of the server (""), DEPTH and MAXSIZE,
// literal8 values, the limits, unsolicited METADATA for a session that enabled it, and
// the syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { MAX_ANNOTATIONS } from '../../src/store/index.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s.close());

test('SETMETADATA and GETMETADATA: mailboxes and the server, private and shared', async () => {
  const c = await Client.login(s);
  const caps = (await c.ok('CAPABILITY'))[0]!;
  assert.match(caps, / METADATA /);
  assert.match(caps, / LIST-METADATA( |$)/);
  // Nothing set: no METADATA response at all.
  assert.deepEqual(await c.ok('GETMETADATA INBOX /private/comment'), []);
  // RFC 5464 §4.3 example, with an entry name in another case.
  await c.ok('SETMETADATA INBOX (/private/comment "My own comment")');
  await c.ok('SETMETADATA INBOX (/Shared/Comment {12+}\r\nShared note!)');
  assert.deepEqual(
    await c.ok('GETMETADATA INBOX (/private/comment /shared/comment /private/none)'),
    ['* METADATA "Inbox" (/private/comment "My own comment" /shared/comment "Shared note!")'],
  );
  // The server's entries: the account's own, and /shared/admin, which the server sets.
  await c.ok('SETMETADATA "" (/private/comment "account note")');
  assert.deepEqual(await c.ok('GETMETADATA "" (/shared/admin /private/comment)'), [
    '* METADATA "" (/shared/admin "mailto:postmaster@mail.example.org" /private/comment "account note")',
  ]);
  assert.equal(
    (await c.cmd('SETMETADATA "" (/shared/admin "mailto:me@example.org")')).tagged,
    'NO [NOPERM] SETMETADATA the server sets that entry',
  );
  // NIL removes; a literal8 value is binary and comes back as one.
  await c.ok('SETMETADATA INBOX (/private/comment NIL)');
  await c.ok('SETMETADATA INBOX (/private/blob ~{3+}\r\na\x00b)');
  assert.deepEqual(await c.ok('GETMETADATA INBOX (/private/comment /private/blob)'), [
    '* METADATA "Inbox" (/private/blob ~{3}\r\na\x00b)',
  ]);
  // Vendor entries need a vendor and a name below it (RFC 5464 §3.2.1.2).
  await c.ok('SETMETADATA INBOX (/private/vendor/tidings/x "1")');
  assert.match(
    (await c.cmd('SETMETADATA INBOX (/private/vendor/x "1")')).tagged,
    /^NO \[CANNOT\] /,
  );
  assert.match((await c.cmd('SETMETADATA INBOX (/other/x "1")')).tagged, /^NO \[CANNOT\] /);
  assert.equal(
    (await c.cmd('SETMETADATA Nowhere (/private/comment "x")')).tagged,
    'NO [TRYCREATE] SETMETADATA mailbox does not exist',
  );
  assert.equal(
    (await c.cmd('GETMETADATA Nowhere /private/comment')).tagged,
    'NO [NONEXISTENT] GETMETADATA mailbox does not exist',
  );
  c.close();
});

test('DEPTH and MAXSIZE', async () => {
  const c = await Client.login(s);
  await c.ok('CREATE Deep');
  await c.ok(
    'SETMETADATA Deep (/private/a "x" /private/a/b "x" /private/a/b/c "xyz" /private/ab "no")',
  );
  assert.deepEqual(await c.ok('GETMETADATA (DEPTH 0) Deep /private/a'), [
    '* METADATA "Deep" (/private/a "x")',
  ]);
  assert.deepEqual(await c.ok('GETMETADATA (DEPTH 1) Deep /private/a'), [
    '* METADATA "Deep" (/private/a "x" /private/a/b "x")',
  ]);
  assert.deepEqual(await c.ok('GETMETADATA (DEPTH infinity) Deep (/private/a)'), [
    '* METADATA "Deep" (/private/a "x" /private/a/b "x" /private/a/b/c "xyz")',
  ]);
  // RFC 5464 §4.2.1: longer values are left out and LONGENTRIES says how long.
  const r = await c.cmd('GETMETADATA (MAXSIZE 2 DEPTH infinity) Deep /private/a');
  assert.deepEqual(r.untagged, ['* METADATA "Deep" (/private/a "x" /private/a/b "x")']);
  assert.equal(r.tagged, 'OK [METADATA LONGENTRIES 3] GETMETADATA done');
  // LIST-METADATA (RFC 9590): the entries asked for, NIL where there is none.
  assert.deepEqual(await c.ok('LIST "" Deep RETURN (METADATA (/private/a /shared/comment))'), [
    '* LIST (\\HasNoChildren) "/" "Deep"',
    '* METADATA "Deep" (/private/a "x" /shared/comment NIL)',
  ]);
  c.close();
});

test('limits: too many entries', async () => {
  const c = await Client.login(s);
  await c.ok('CREATE Many');
  const batch = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => `/private/e${from + i} "v"`).join(' ');
  for (let i = 0; i < MAX_ANNOTATIONS - 20; i += 200) {
    await c.ok(`SETMETADATA Many (${batch(i, Math.min(200, MAX_ANNOTATIONS - 20 - i))})`);
  }
  const r = await c.cmd(`SETMETADATA Many (${batch(5000, 40)})`);
  assert.match(r.tagged, /^NO \[METADATA TOOMANY\] /);
  // Nothing of the refused command was stored.
  assert.deepEqual(await c.ok('GETMETADATA Many /private/e5000'), []);
  c.close();
});

test('a session that enabled METADATA hears of changes made elsewhere', async () => {
  const watcher = await Client.login(s);
  await watcher.ok('ENABLE METADATA');
  await watcher.ok('SELECT INBOX');
  const other = await Client.login(s);
  await other.ok('SETMETADATA INBOX (/shared/comment "changed")');
  await other.ok('SETMETADATA "" (/private/comment "changed too")');
  assert.deepEqual(await watcher.ok('NOOP'), [
    '* METADATA "Inbox" /shared/comment',
    '* METADATA "" /private/comment',
  ]);
  // Without ENABLE, nothing unsolicited.
  await watcher.ok('NOOP');
  await other.ok('SETMETADATA INBOX (/shared/comment "again")');
  assert.deepEqual(await other.ok('NOOP'), []);
  watcher.close();
  other.close();
});

test('syntax errors are BAD', async () => {
  const c = await Client.login(s);
  const cases: [string, string][] = [
    ['GETMETADATA (DEPTH 0 DEPTH 0) INBOX /private/a', 'GETMETADATA option DEPTH given twice'],
    ['GETMETADATA (DEPTH 2) INBOX /private/a', 'invalid DEPTH 2'],
    ['GETMETADATA (MAXSIZE x) INBOX /private/a', 'expected number'],
    ['GETMETADATA (FOO 1) INBOX /private/a', 'unknown GETMETADATA option FOO'],
    ['GETMETADATA INBOX "/private/a*"', 'invalid entry name "/private/a*"'],
    ['GETMETADATA INBOX /private/a*', 'unexpected text at end: "*"'],
    ['SETMETADATA INBOX (/private//a "x")', 'invalid entry name "/private//a"'],
    ['SETMETADATA INBOX (/private/a/ "x")', 'invalid entry name "/private/a/"'],
    ['SETMETADATA INBOX (private/a "x")', 'invalid entry name "private/a"'],
    ['SETMETADATA INBOX (/private/a)', 'expected space'],
    ['SETMETADATA INBOX /private/a "x"', 'expected "("'],
  ];
  for (const [cmd, why] of cases) {
    const name = cmd.split(' ')[0];
    assert.equal((await c.cmd(cmd)).tagged, `BAD ${name} unrecognized syntax/command: ${why}`, cmd);
  }
  c.close();
});
