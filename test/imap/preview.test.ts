// PREVIEW (RFC 8970): the start of a message's readable text in FETCH, from a plain text
// part, an HTML-only message, multipart/alternative, with quoted lines and signature left
// out, cut at 256 characters, non-ASCII in rev1 and UTF-8 sessions, LAZY, and made once:
// the second FETCH reads it from the store.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { PREVIEW_MAX } from '../../src/message/index.js';

const crlf = (...l: string[]) => l.join('\r\n') + '\r\n';
const LONG = 'word '.repeat(100);
const MESSAGES = [
  crlf('Subject: plain', '', 'Hello Bob,', '', '  see   you at noon.', '-- ', 'Alice'),
  crlf(
    'Subject: html',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><head><style>p{color:red}</style></head><body><p>Caf&eacute; &amp; <b>cake</b></p><br>at 3</body></html>',
  ),
  crlf(
    'Subject: alternative',
    'Content-Type: multipart/alternative; boundary=b',
    '',
    '--b',
    'Content-Type: text/html',
    '',
    '<p>html version</p>',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'On Monday Bob wrote:',
    '> the old text',
    '> more old text',
    'Gr=C3=BC=C3=9Fe from the new text',
    '--b--',
  ),
  crlf('Subject: long', '', LONG),
  crlf(
    'Subject: attachment only',
    'Content-Type: multipart/mixed; boundary=c',
    '',
    '--c',
    'Content-Type: text/plain',
    'Content-Disposition: attachment; filename=a.txt',
    '',
    'not a preview',
    '--c--',
  ),
];

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('P');
  for (const m of MESSAGES) {
    const p = await s.store.prepareMessage(Buffer.from(m));
    await a.addMessages('P', [{ message: p }]);
    await p.cleanup();
  }
});
after(() => s.close());

test('FETCH PREVIEW: text, HTML, alternative, quotes, length, attachments, LAZY, stored', async () => {
  const a = await s.store.account('mjl');
  const mb = (await a.mailbox('P'))!;
  const rows = await a.messages(mb.id, await a.uids(mb.id));
  assert.deepEqual(
    [...(await a.previews(rows.map((r) => r.id))).values()],
    [null, null, null, null, null],
  );
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / PREVIEW( |$)/);
  await c.ok('SELECT P');
  const got = await c.ok('FETCH 1:5 (PREVIEW)');
  assert.equal(got[0], '* 1 FETCH (PREVIEW "Hello Bob, see you at noon.")');
  // Non-ASCII without UTF8=ACCEPT: a literal of the UTF-8 octets.
  const cafe = Buffer.from('Café & cake at 3', 'utf8');
  assert.equal(got[1], `* 2 FETCH (PREVIEW {${cafe.length}}\r\n${cafe.toString('latin1')})`);
  const gruss = Buffer.from('On Monday Bob wrote: Grüße from the new text', 'utf8');
  assert.equal(got[2], `* 3 FETCH (PREVIEW {${gruss.length}}\r\n${gruss.toString('latin1')})`);
  assert.equal(got[3], `* 4 FETCH (PREVIEW "${LONG.trim().slice(0, PREVIEW_MAX)}")`);
  // Only an attachment: no readable text.
  assert.equal(got[4], '* 5 FETCH (PREVIEW "")');
  // Made once, kept: the store has them now, and FETCH sets no \Seen.
  const kept = await a.previews(rows.map((r) => r.id));
  assert.equal(kept.get(rows[0]!.id), 'Hello Bob, see you at noon.');
  assert.deepEqual(await c.ok('FETCH 1 (FLAGS)'), ['* 1 FETCH (FLAGS (\\Recent))']);
  // LAZY, with UTF-8 enabled: quoted UTF-8.
  const u = await Client.login(s);
  await u.ok('ENABLE UTF8=ACCEPT');
  await u.ok('SELECT P');
  const lazy = await u.ok('UID FETCH 2 (PREVIEW (LAZY))');
  assert.equal(
    lazy[0],
    Buffer.from('* 2 FETCH (UID 2 PREVIEW "Café & cake at 3")').toString('latin1'),
  );
  assert.match((await c.cmd('FETCH 1 (PREVIEW (FAST))')).tagged, /^BAD /);
  c.close();
  u.close();
});
