// SEARCH FROM, TO, CC and BCC against the address forms RFC 5322 allows (§3.4, §4.4):
// quoted local parts, comments, groups, encoded display names and obsolete folding
// around "@" and ".", each found by the address as a user writes it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

const crlf = (...lines: string[]) => lines.join('\r\n') + '\r\n';
const MESSAGES = [
  crlf('From: "John Smith"@example.com', 'Subject: quoted', '', 'x'),
  crlf('From: john(home)@(work)example.com', 'Subject: comments', '', 'x'),
  crlf('From: Team: alice@example.com, "Bob B." <bob@example.com>;', 'Subject: group', '', 'x'),
  crlf('From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.net>', 'Subject: encoded', '', 'x'),
  crlf('From: mary @ example . org', 'Subject: obsolete', '', 'x'),
  crlf(
    'From: x@example.org',
    'To: undisclosed-recipients:;',
    'Cc: "a\\"q"@x.org, Zed <zed@x.org>',
    'Bcc: hidden@x.org (secret)',
    'Subject: tocc',
    '',
    'x',
  ),
];

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('Addr');
  for (const m of MESSAGES) {
    const p = await s.store.prepareMessage(Buffer.from(m));
    await a.addMessages('Addr', [{ message: p }]);
    await p.cleanup();
  }
});
after(() => s.close());

test('address forms are found by the address as written', async () => {
  const c = await Client.login(s);
  await c.ok('SELECT Addr');
  const table: [string, string][] = [
    ['FROM "john smith@example.com"', '* SEARCH 1'],
    ['FROM "\\"John Smith\\"@example.com"', '* SEARCH 1'],
    ['FROM john@example.com', '* SEARCH 2'],
    ['FROM home', '* SEARCH 2'],
    ['FROM alice@example.com', '* SEARCH 3'],
    ['FROM bob@example.com', '* SEARCH 3'],
    ['FROM "Bob B."', '* SEARCH 3'],
    ['FROM team', '* SEARCH 3'],
    ['FROM jurgen@example.net', '* SEARCH 4'],
    ['FROM mary@example.org', '* SEARCH 5'],
    ['FROM MARY@EXAMPLE.ORG', '* SEARCH 5'],
    ['FROM example.org', '* SEARCH 5 6'],
    ['TO undisclosed-recipients', '* SEARCH 6'],
    ['CC "a\\"q@x.org"', '* SEARCH 6'],
    ['CC zed@x.org', '* SEARCH 6'],
    ['BCC hidden@x.org', '* SEARCH 6'],
    ['FROM nobody@example.com', '* SEARCH'],
    ['TO john@example.com', '* SEARCH'],
  ];
  for (const [keys, want] of table) {
    const r = await c.cmd(`SEARCH ${keys}`);
    assert.equal(r.tagged, 'OK SEARCH done', keys);
    assert.deepEqual(r.untagged, [want], keys);
  }
  c.close();
});
