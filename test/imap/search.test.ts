// SEARCH and UID SEARCH over the protocol: search keys, ESEARCH (RFC 4731), SEARCHRES
// (RFC 5182), IMAP4rev2 defaults, charsets and syntax errors.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { unlink, writeFile } from 'node:fs/promises';
import { startTestServer, Client, noneRecent, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';
import { messagePath } from '../../src/store/testing.js';

const crlf = (...lines: string[]) => lines.join('\r\n');

// Four messages; two throwaway messages are expunged first, so UIDs are 3..6 while
// sequence numbers are 1..4.
const M1 = crlf(
  'From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>',
  'To: Bob <bob@example.org>',
  'Subject: =?iso-8859-1?q?Caf=E9_meeting?=',
  'Date: Thu, 1 Feb 2024 10:00:00 +0000',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  "Let's meet at the caf=C3=A9 to-=",
  'morrow.',
  '',
);
const M2 = crlf(
  'From: Ann <ann@example.org>',
  'Cc: carol@example.org',
  'Subject: Quarterly',
  '  REPORT',
  'Content-Type: multipart/mixed; boundary=xx',
  '',
  '--xx',
  'Content-Type: text/plain; charset=us-ascii',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('The secret word is Xylophone.').toString('base64'),
  '--xx',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('hiddenword in an attachment').toString('base64'),
  '--xx--',
  '',
);
const M3 = crlf(
  'From: Dave <dave@example.org>',
  'Bcc: dave@example.org',
  'Subject: hello',
  'X-Priority: 1',
  'Date: Sat, 9 Mar 2024 23:00:00 -0800',
  '',
  'x'.repeat(5000),
  '',
);
const M4 = crlf(
  'From: bob@example.org',
  'To: ann@example.org',
  'Subject: Re: lunch',
  'Date: Mon, 15 Jan 2024 12:00:00 +0100',
  '',
  'See you at noon.',
  '',
);
const SIZES = [M1, M2, M3, M4].map((m) => Buffer.byteLength(m));

async function add(
  a: Account,
  mailbox: string,
  msgs: { data: string; flags?: number; keywords?: string[]; date?: string }[],
  store: TestServer['store'],
): Promise<void> {
  for (const m of msgs) {
    const p = await store.prepareMessage(Buffer.from(m.data));
    await a.addMessages(
      mailbox,
      [
        {
          message: p,
          flags: m.flags ?? 0,
          keywords: m.keywords ?? [],
          internalDate: m.date ? Date.parse(m.date) : Date.now(),
        },
      ],
      { create: true },
    );
    await p.cleanup();
  }
}

describe('imap search', () => {
  let s: TestServer;
  let a: Account;
  let c: Client;

  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
    const junk = crlf('Subject: junk', '', 'junk', '');
    await add(
      a,
      'Inbox',
      [
        { data: junk, flags: Flag.Deleted },
        { data: junk, flags: Flag.Deleted },
      ],
      s.store,
    );
    await a.expunge((await a.mailbox('Inbox'))!.id, null);
    await add(
      a,
      'Inbox',
      [
        { data: M1, flags: Flag.Seen, keywords: ['Work'], date: '2024-02-01T10:00:00Z' },
        {
          data: M2,
          flags: Flag.Flagged | Flag.Answered | Flag.Forwarded,
          date: '2024-02-05T08:00:00Z',
        },
        { data: M3, flags: Flag.Deleted | Flag.Draft, date: '2024-03-10T23:59:00Z' },
        { data: M4, keywords: ['Personal'], date: '2024-01-15T12:00:00Z' },
      ],
      s.store,
    );
    // \Recent is tested on its own (recent.test.ts); here none is.
    await noneRecent(a, 'Inbox');
    c = await Client.login(s);
    await c.ok('SELECT INBOX');
  });
  after(async () => {
    c.close();
    await s.close();
  });

  /** Runs a command that must succeed and returns its untagged lines. */
  const ok = async (cmd: string, client = c) => {
    const r = await client.cmd(cmd);
    assert.match(r.tagged, /^OK /, `${cmd}: ${r.tagged}`);
    return r.untagged;
  };
  const search = async (keys: string, client = c) => ok(`SEARCH ${keys}`, client);

  test('flag keys', async () => {
    const cases: [string, string][] = [
      ['ALL', '* SEARCH 1 2 3 4'],
      ['SEEN', '* SEARCH 1'],
      ['UNSEEN', '* SEARCH 2 3 4'],
      ['FLAGGED', '* SEARCH 2'],
      ['UNFLAGGED', '* SEARCH 1 3 4'],
      ['ANSWERED', '* SEARCH 2'],
      ['UNANSWERED', '* SEARCH 1 3 4'],
      ['DELETED', '* SEARCH 3'],
      ['UNDELETED', '* SEARCH 1 2 4'],
      ['DRAFT', '* SEARCH 3'],
      ['UNDRAFT', '* SEARCH 1 2 4'],
      ['KEYWORD work', '* SEARCH 1'],
      ['UNKEYWORD Work', '* SEARCH 2 3 4'],
      ['KEYWORD $Forwarded', '* SEARCH 2'],
      ['KEYWORD Personal', '* SEARCH 4'],
      ['KEYWORD nothing', '* SEARCH'],
      ['NEW', '* SEARCH'],
      ['RECENT', '* SEARCH'],
      ['OLD', '* SEARCH 1 2 3 4'],
      ['seen unseen', '* SEARCH'],
    ];
    for (const [keys, want] of cases) assert.deepEqual(await search(keys), [want], keys);
  });

  test('OR and NOT, nested', async () => {
    assert.deepEqual(await search('OR SEEN FLAGGED'), ['* SEARCH 1 2']);
    assert.deepEqual(await search('NOT (OR SEEN FLAGGED)'), ['* SEARCH 3 4']);
    assert.deepEqual(await search('OR (SEEN KEYWORD work) NOT OR DELETED FLAGGED'), [
      '* SEARCH 1 4',
    ]);
    assert.deepEqual(await search('NOT NOT NOT NOT SEEN'), ['* SEARCH 1']);
    assert.deepEqual(await search('OR OR OR SEEN FLAGGED DRAFT KEYWORD personal'), [
      '* SEARCH 1 2 3 4',
    ]);
    assert.deepEqual(await search('(((((UNSEEN))))) NOT DELETED'), ['* SEARCH 2 4']);
    // Numbers end where the digits end (a past bug read past them).
    assert.deepEqual(await search(`or larger ${SIZES[2]! - 1} smaller ${SIZES[3]! + 1}`), [
      '* SEARCH 3 4',
    ]);
    // Message 4 is exactly 123 octets: neither larger nor smaller.
    assert.equal(SIZES[3], 123);
    assert.deepEqual(await search('or larger 123 smaller 123'), ['* SEARCH 1 2 3']);
    assert.deepEqual(await search('or larger 122 smaller 123'), ['* SEARCH 1 2 3 4']);
  });

  test('header keys: encoded words, folding, case-insensitivity', async () => {
    assert.deepEqual(await search('SUBJECT cafe'), ['* SEARCH'], 'no accent folding');
    // A UTF-8 search string in a literal (non-synchronizing: LITERAL+).
    assert.deepEqual(await search('CHARSET UTF-8 SUBJECT {5+}\r\nCAFÉ'), ['* SEARCH 1']);
    assert.deepEqual(await search('CHARSET UTF-8 FROM {5+}\r\njÖrg'), ['* SEARCH 1']);
    assert.deepEqual(await search('SUBJECT MEETING'), ['* SEARCH 1']);
    assert.deepEqual(await search('SUBJECT "quarterly  report"'), ['* SEARCH 2']);
    assert.deepEqual(await search('FROM ANN@EXAMPLE.ORG'), ['* SEARCH 2']);
    assert.deepEqual(await search('FROM example.org'), ['* SEARCH 1 2 3 4']);
    assert.deepEqual(await search('TO bob'), ['* SEARCH 1']);
    assert.deepEqual(await search('TO ann'), ['* SEARCH 4']);
    assert.deepEqual(await search('CC Carol'), ['* SEARCH 2']);
    assert.deepEqual(await search('BCC dave'), ['* SEARCH 3']);
    assert.deepEqual(await search('HEADER subject "RE: LUNCH"'), ['* SEARCH 4']);
    assert.deepEqual(await search('HEADER X-Priority ""'), ['* SEARCH 3']);
    assert.deepEqual(await search('HEADER Cc ""'), ['* SEARCH 2']);
    assert.deepEqual(await search('HEADER X-Missing ""'), ['* SEARCH']);
    assert.deepEqual(await search('HEADER "x-priority" 1'), ['* SEARCH 3']);
    assert.deepEqual(await search('OR FROM dave SUBJECT lunch'), ['* SEARCH 3 4']);
  });

  test('BODY and TEXT on quoted-printable and base64 text parts', async () => {
    assert.deepEqual(await search('CHARSET UTF-8 BODY {5+}\r\nCAFÉ'), ['* SEARCH 1']);
    assert.deepEqual(await search('BODY to-morrow'), ['* SEARCH 1'], 'soft line break removed');
    assert.deepEqual(await search('BODY xylophone'), ['* SEARCH 2'], 'base64 text decoded');
    assert.deepEqual(await search('BODY hiddenword'), ['* SEARCH'], 'attachments are not text');
    assert.deepEqual(await search('BODY quarterly'), ['* SEARCH'], 'the header is not the body');
    assert.deepEqual(await search('TEXT quarterly'), ['* SEARCH 2']);
    assert.deepEqual(await search('TEXT XYLOPHONE'), ['* SEARCH 2']);
    assert.deepEqual(await search('TEXT noon'), ['* SEARCH 4']);
    assert.deepEqual(await search('NOT BODY noon'), ['* SEARCH 1 2 3']);
    assert.deepEqual(await search('OR SEEN BODY noon'), ['* SEARCH 1 4']);
  });

  test('internal date and sent date keys', async () => {
    assert.deepEqual(await search('ON 1-Feb-2024'), ['* SEARCH 1']);
    assert.deepEqual(await search('ON 10-Mar-2024'), ['* SEARCH 3'], 'internal dates by UTC day');
    assert.deepEqual(await search('SINCE 5-Feb-2024'), ['* SEARCH 2 3']);
    assert.deepEqual(await search('BEFORE 1-Feb-2024'), ['* SEARCH 4']);
    assert.deepEqual(await search('SINCE 1-Feb-2024 BEFORE 10-Mar-2024'), ['* SEARCH 1 2']);
    assert.deepEqual(
      await search('SENTON 9-Mar-2024'),
      ['* SEARCH 3'],
      'the day written in the Date header',
    );
    assert.deepEqual(
      await search('SENTON 5-Feb-2024'),
      ['* SEARCH 2'],
      'no Date header: internal date',
    );
    assert.deepEqual(await search('SENTBEFORE 2-Feb-2024'), ['* SEARCH 1 4']);
    assert.deepEqual(await search('SENTSINCE "15-Jan-2024"'), ['* SEARCH 1 2 3 4']);
    assert.deepEqual(await search('SENTSINCE 16-Jan-2024'), ['* SEARCH 1 2 3']);
  });

  test('LARGER and SMALLER', async () => {
    const [s1, s2, s3, s4] = SIZES as [number, number, number, number];
    assert.deepEqual(await search(`LARGER ${s3 - 1}`), ['* SEARCH 3']);
    assert.deepEqual(await search(`LARGER ${s3}`), ['* SEARCH']);
    assert.deepEqual(await search(`SMALLER ${s4}`), [
      `* SEARCH${s1 < s4 ? ' 1' : ''}${s2 < s4 ? ' 2' : ''}`,
    ]);
    assert.deepEqual(await search(`SMALLER ${s4 + 1} LARGER ${s4 - 1}`), ['* SEARCH 4']);
  });

  test('sequence sets and UID sets', async () => {
    assert.deepEqual(await search('1,4'), ['* SEARCH 1 4']);
    assert.deepEqual(await search('3:*'), ['* SEARCH 3 4']);
    assert.deepEqual(await search('*:2'), ['* SEARCH 2 3 4']);
    assert.deepEqual(await search('10:20'), ['* SEARCH'], 'out of range numbers are no error');
    assert.deepEqual(await search('UID 4:5'), ['* SEARCH 2 3']);
    assert.deepEqual(await search('UID 100:*'), ['* SEARCH 4']);
    assert.deepEqual(await search('UID 1:2'), ['* SEARCH']);
    assert.deepEqual(await search('NOT UID 3,6'), ['* SEARCH 2 3']);
    assert.deepEqual(await ok('UID SEARCH SEEN'), ['* SEARCH 3']);
    assert.deepEqual(
      await ok('UID SEARCH 2:3'),
      ['* SEARCH 4 5'],
      'sequence numbers in UID SEARCH',
    );
    assert.deepEqual(await ok('UID SEARCH UID 5:*'), ['* SEARCH 5 6']);
    assert.deepEqual(await ok('UID SEARCH UNSEEN UNDELETED'), ['* SEARCH 4 6']);
  });

  test('ESEARCH: MIN, MAX, COUNT, ALL, and UID', async () => {
    let r = await c.cmd('SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 1 MAX 4 COUNT 3 ALL 1:2,4`]);
    assert.equal(r.tagged, 'OK SEARCH done');
    r = await c.cmd('UID SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID MIN 3 MAX 6 COUNT 3 ALL 3:4,6`]);
    assert.equal(r.tagged, 'OK UID SEARCH done');
    r = await c.cmd('SEARCH RETURN (COUNT) NEW');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") COUNT 0`]);
    r = await c.cmd('SEARCH RETURN (MIN MAX ALL) NEW');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}")`]);
    r = await c.cmd('SEARCH RETURN () SEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") ALL 1`]);
    r = await c.cmd('UID SEARCH RETURN (max) ALL');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID MAX 6`]);
    r = await c.cmd('SEARCH RETURN (COUNT MIN) 2:*');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 2 COUNT 3`]);
  });

  test('SAVE and $ (SEARCHRES)', async () => {
    let r = await c.cmd('SEARCH RETURN (SAVE) FLAGGED');
    assert.deepEqual(r.untagged, [], 'SAVE alone sends no result');
    assert.equal(r.tagged, 'OK SEARCH done');
    assert.deepEqual(await search('$'), ['* SEARCH 2']);
    assert.deepEqual(await ok('UID SEARCH UID $'), ['* SEARCH 4']);
    assert.deepEqual(await search('OR $ SEEN'), ['* SEARCH 1 2']);
    // The saved result is replaced; "$" in the same command is the previous one.
    r = await c.cmd('UID SEARCH RETURN (SAVE ALL) OR $ DRAFT');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID ALL 4:5`]);
    assert.deepEqual(await search('$'), ['* SEARCH 2 3']);
    // With MIN or MAX alone only those are saved (RFC 5182 §2.1).
    r = await c.cmd('SEARCH RETURN (SAVE MIN) UNSEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 2`]);
    assert.deepEqual(await search('$'), ['* SEARCH 2']);
    r = await c.cmd('SEARCH RETURN (SAVE MIN MAX) UNSEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 2 MAX 4`]);
    assert.deepEqual(await search('$'), ['* SEARCH 2 4']);
    r = await c.cmd('SEARCH RETURN (SAVE MIN COUNT) UNSEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 2 COUNT 3`]);
    assert.deepEqual(await search('$'), ['* SEARCH 2 3 4']);
    // Nothing found: an empty saved result.
    await ok('SEARCH RETURN (SAVE) NEW');
    assert.deepEqual(await search('$'), ['* SEARCH']);
    // A failed SEARCH with SAVE empties the saved result.
    await ok('SEARCH RETURN (SAVE) ALL');
    r = await c.cmd('SEARCH RETURN (SAVE) CHARSET KOI8-R ALL');
    assert.equal(
      r.tagged,
      'NO [BADCHARSET (UTF-8 US-ASCII)] SEARCH charset "KOI8-R" not supported',
    );
    assert.deepEqual(await search('$'), ['* SEARCH']);
    // SELECT starts without a saved result.
    await ok('SEARCH RETURN (SAVE) ALL');
    await ok('SELECT INBOX');
    assert.deepEqual(await search('$'), ['* SEARCH']);
  });

  test('IMAP4rev2: ESEARCH by default, UTF-8 strings, only CHARSET UTF-8', async () => {
    const c2 = await Client.login(s);
    await ok('ENABLE IMAP4rev2', c2);
    await ok('SELECT INBOX', c2);
    let r = await c2.cmd('SEARCH SEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") ALL 1`]);
    r = await c2.cmd('UID SEARCH UNDELETED');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID ALL 3:4,6`]);
    r = await c2.cmd('UID SEARCH NEW');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID`]);
    r = await c2.cmd('SEARCH SUBJECT "CAFÉ"');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") ALL 1`]);
    r = await c2.cmd('SEARCH CHARSET UTF-8 SUBJECT "café"');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") ALL 1`]);
    r = await c2.cmd('SEARCH RETURN (COUNT) ALL');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") COUNT 4`]);
    // RFC 9051 §6.4.4: US-ASCII stays supported in IMAP4rev2 sessions.
    r = await c2.cmd('SEARCH CHARSET US-ASCII ALL');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") ALL 1:4`]);
    r = await c2.cmd('SEARCH CHARSET ISO-8859-1 ALL');
    assert.equal(
      r.tagged,
      'NO [BADCHARSET (UTF-8 US-ASCII)] SEARCH charset "ISO-8859-1" not supported',
    );
    c2.close();
  });

  test('BADCHARSET', async () => {
    const r = await c.cmd('SEARCH CHARSET ISO-8859-1 SUBJECT x');
    assert.deepEqual(r.untagged, []);
    assert.equal(
      r.tagged,
      'NO [BADCHARSET (UTF-8 US-ASCII)] SEARCH charset "ISO-8859-1" not supported',
    );
    assert.deepEqual(await search('CHARSET us-ascii SEEN'), ['* SEARCH 1']);
    // The literal of a refused command is still read, not taken as a command.
    const r2 = await c.cmd('SEARCH CHARSET X-BOGUS SUBJECT {4+}\r\nNOOP');
    assert.match(r2.tagged, /^NO \[BADCHARSET/);
    assert.deepEqual(await search('SEEN'), ['* SEARCH 1']);
  });

  test('BAD for garbage', async () => {
    const bad = [
      'SEARCH',
      'SEARCH ',
      'SEARCH BOGUS',
      'SEARCH LARGER 12a',
      'SEARCH LARGER',
      'SEARCH SEEN  FLAGGED',
      'SEARCH (SEEN',
      'SEARCH SEEN)',
      'SEARCH UID 0',
      'SEARCH SINCE 2024-01-01',
      'SEARCH RETURN (BOGUS) ALL',
      'SEARCH OR SEEN',
      'UID SEARCH',
      'UID SEARCH UID',
      `SEARCH ${'('.repeat(150)}SEEN${')'.repeat(150)}`,
      `SEARCH ${'NOT '.repeat(150)}SEEN`,
    ];
    for (const cmd of bad) {
      const r = await c.cmd(cmd);
      assert.deepEqual(r.untagged, [], cmd);
      assert.match(r.tagged, /^BAD (UID )?SEARCH unrecognized syntax\/command: /, cmd);
    }
    const r = await c.cmd('SEARCH FOO');
    assert.equal(r.tagged, 'BAD SEARCH unrecognized syntax/command: unknown search key "FOO"');
    // The connection is still usable.
    assert.deepEqual(await search('SEEN'), ['* SEARCH 1']);
  });
});

describe('imap search: mailbox states', () => {
  let s: TestServer;
  let a: Account;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
  });
  after(() => s.close());

  test('an empty mailbox: "*" matches nothing', async () => {
    await a.createMailbox('Empty');
    const c = await Client.login(s);
    await c.ok('SELECT Empty');
    for (const keys of ['*', '1:*', 'UID *', 'UID 1:*', 'ALL', '$']) {
      const r = await c.cmd(`SEARCH ${keys}`);
      assert.deepEqual(r.untagged, ['* SEARCH'], keys);
      assert.equal(r.tagged, 'OK SEARCH done');
    }
    const r = await c.cmd('UID SEARCH RETURN (MIN COUNT) *');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID COUNT 0`]);
    c.close();
  });

  test('messages expunged in the database are skipped until the session learns of it', async () => {
    const data = (n: number) => crlf(`Subject: message ${n}`, '', `body ${n}`, '');
    await add(
      a,
      'Gone',
      [1, 2, 3].map((n) => ({ data: data(n), flags: n === 2 ? Flag.Deleted : 0 })),
      s.store,
    );
    const c = await Client.login(s);
    await c.ok('SELECT Gone');
    await a.expunge((await a.mailbox('Gone'))!.id, null);
    let r = await c.cmd('SEARCH SUBJECT message');
    assert.deepEqual(r.untagged, ['* SEARCH 1 3'], 'no EXPUNGE during SEARCH');
    r = await c.cmd('UID SEARCH ALL');
    assert.deepEqual(r.untagged, ['* SEARCH 1 3', '* 2 EXPUNGE']);
    r = await c.cmd('SEARCH ALL');
    assert.deepEqual(r.untagged, ['* SEARCH 1 2']);
    c.close();
  });

  test('message files are read only when a key needs them', async () => {
    const data = (body: string) =>
      crlf('Subject: kept', 'Date: 2 Jan 2020 10:00 +0000', '', body, '');
    await add(a, 'Files', [{ data: data('text'), flags: Flag.Seen }], s.store);
    const mb = (await a.mailbox('Files'))!;
    const [m] = await a.messages(mb.id, await a.uids(mb.id));
    const path = messagePath(a, m!.fileId);
    await unlink(path);
    const c = await Client.login(s);
    await c.ok('SELECT Files');
    // Database columns and the stored structure suffice for these: no file needed.
    for (const [keys, want] of [
      ['SEEN', '* SEARCH 1'],
      ['OR SEEN BODY text', '* SEARCH 1'],
      ['UNSEEN BODY text', '* SEARCH'],
      ['SENTON 2-Jan-2020', '* SEARCH 1'],
    ]) {
      const r = await c.cmd(`SEARCH ${keys}`);
      assert.deepEqual(r.untagged, [want], keys);
      assert.equal(r.tagged, 'OK SEARCH done', keys);
    }
    // BODY reads the file: put different text in place.
    await writeFile(path, data('tent'));
    assert.deepEqual((await c.cmd('SEARCH BODY text')).untagged, ['* SEARCH']);
    assert.deepEqual((await c.cmd('SEARCH BODY tent')).untagged, ['* SEARCH 1']);
    c.close();
  });

  test('many messages are searched in batches', async () => {
    const n = 450;
    const msgs = Array.from({ length: n }, (_, i) => ({
      data: crlf(`Subject: number ${i + 1}`, '', i % 7 === 0 ? 'lucky seven' : 'plain', ''),
      flags: i % 2 === 0 ? Flag.Seen : 0,
    }));
    const items = [];
    for (const m of msgs)
      items.push({ message: await s.store.prepareMessage(Buffer.from(m.data)), flags: m.flags });
    await a.addMessages('Many', items, { create: true });
    for (const it of items) await it.message.cleanup();
    const c = await Client.login(s);
    await c.ok('SELECT Many');
    let r = await c.cmd('SEARCH ALL');
    assert.deepEqual(r.untagged, [
      `* SEARCH ${Array.from({ length: n }, (_, i) => i + 1).join(' ')}`,
    ]);
    r = await c.cmd('SEARCH RETURN (COUNT MIN MAX) SEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") MIN 1 MAX 449 COUNT 225`]);
    r = await c.cmd('SEARCH SUBJECT "number 420"');
    assert.deepEqual(r.untagged, ['* SEARCH 420']);
    const lucky = Array.from({ length: n }, (_, i) => i + 1).filter((x) => (x - 1) % 7 === 0);
    r = await c.cmd('SEARCH BODY LUCKY');
    assert.deepEqual(r.untagged, [`* SEARCH ${lucky.join(' ')}`]);
    r = await c.cmd('SEARCH RETURN (COUNT) 201:400 UNSEEN');
    assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") COUNT 100`]);
    c.close();
  });
});
