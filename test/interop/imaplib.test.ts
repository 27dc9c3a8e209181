// Interoperability with Python's imaplib: STARTTLS with certificate verification, LOGIN,
// LIST, STATUS, SELECT, APPEND, SEARCH (also CHARSET UTF-8 with a literal), UID SEARCH,
// SORT, THREAD, FETCH, UID FETCH, STORE, EXPUNGE, CLOSE and LOGOUT, then CRAM-MD5 over
// IMAPS, then SORT, THREAD and FETCH through COMPRESS=DEFLATE, all checked against the
// exact (status, data) pairs imaplib returns.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestServer, PASSWORD, type TestServer } from '../imap/harness.js';
import { Flag } from '../../src/store/index.js';
import { crlf, run } from './util.js';

const SCRIPT = fileURLToPath(new URL('./imaplib_session.py', import.meta.url));

// Placed in the Inbox through the store before the session starts.
const STORED = crlf(
  'From: Stored <stored@example.net>',
  'To: mjl@example.org',
  'Subject: already here',
  'Date: Mon, 31 Mar 2025 10:00:00 +0000',
  '',
  'Delivered before the session.',
);
// Appended by the script.
const FIRST = crlf(
  'From: Py Sender <py@example.net>',
  'To: mjl@example.org',
  'Subject: hello from python',
  'Date: Tue, 01 Apr 2025 09:33:20 +0000',
  'Message-ID: <py-1@example.net>',
  '',
  'First appended message.',
);
const SECOND = crlf(
  'From: Other <other@example.net>',
  'To: mjl@example.org',
  'Subject: =?utf-8?q?second_one_Gr=C3=BCsse?=',
  'Date: Tue, 01 Apr 2025 09:34:00 +0000',
  '',
  'Second appended message.',
);
const SECOND_HEADER = SECOND.subarray(0, SECOND.indexOf('\r\n\r\n') + 4).toString();

// Announced after authentication (harness limits: APPENDLIMIT is the maximum message size).
const CAPS =
  'IMAP4rev2 IMAP4rev1 ENABLE LITERAL+ IDLE SASL-IR BINARY UNSELECT UIDPLUS ESEARCH ' +
  'SEARCHRES MOVE UTF8=ACCEPT LIST-EXTENDED SPECIAL-USE CREATE-SPECIAL-USE LIST-STATUS ID ' +
  'NAMESPACE MULTIAPPEND APPENDLIMIT=52428800 STATUS=SIZE WITHIN SAVEDATE OBJECTID QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE COMPRESS=DEFLATE SORT SORT=DISPLAY ESORT THREAD=ORDEREDSUBJECT THREAD=REFERENCES REPLACE PREVIEW CONDSTORE QRESYNC MULTISEARCH INPROGRESS METADATA LIST-METADATA UIDONLY NOTIFY';

describe('python imaplib', () => {
  let server: TestServer;

  before(async () => {
    server = await startTestServer();
    const a = await server.store.account('mjl');
    const p = await server.store.prepareMessage(STORED);
    await a.addMessages('Inbox', [
      { message: p, flags: Flag.Seen, internalDate: Date.UTC(2025, 2, 31, 10) },
    ]);
    await p.cleanup();
  });
  after(async () => {
    await server.close();
  });

  test('STARTTLS session: select, append, search, fetch, store, expunge; CRAM-MD5 on IMAPS', async () => {
    const inbox = await (await server.store.account('mjl')).mailbox('Inbox');
    assert.ok(inbox);
    const v = inbox.uidvalidity;

    const r = await run('python3', [SCRIPT], {
      timeoutMs: 30_000,
      env: {
        ...process.env,
        IMAP_HOST: '127.0.0.1',
        IMAP_PORT: String(server.imap.port),
        IMAPS_PORT: String(server.imaps.port),
        IMAP_USER: 'mjl@example.org',
        IMAP_PASSWORD: PASSWORD,
        IMAP_CAFILE: join(server.dir, 'cert.pem'),
        IMAP_MESSAGES: JSON.stringify([FIRST.toString(), SECOND.toString()]),
      },
    });
    assert.equal(r.code, 0, `python3 exited ${r.code} ${r.signal}\n${r.stderr}\n${r.stdout}`);
    const got = JSON.parse(r.stdout) as Record<string, unknown>;

    const expected: Record<string, unknown> = {
      capabilities_plain: ['LOGINDISABLED', 'STARTTLS'],
      capabilities_tls: ['AUTH=PLAIN'],
      // imaplib reports no text for STARTTLS.
      starttls: ['OK', [null]],
      login: ['OK', [`[CAPABILITY ${CAPS}] LOGIN done`]],
      // A plain LIST, without RETURN options: special-use attributes, no \\Subscribed.
      list: [
        'OK',
        [
          '(\\HasNoChildren \\Archive) "/" "Archive"',
          '(\\HasNoChildren \\Drafts) "/" "Drafts"',
          '(\\HasNoChildren) "/" "Inbox"',
          '(\\HasNoChildren \\Junk) "/" "Junk"',
          '(\\HasNoChildren \\Sent) "/" "Sent"',
          '(\\HasNoChildren \\Trash) "/" "Trash"',
        ],
      ],
      status: ['OK', ['"Inbox" (MESSAGES 1 UNSEEN 0 UIDNEXT 2)']],
      select: ['OK', ['1']],
      select_uidvalidity: [String(v)],
      select_uidnext: ['2'],
      append_plain: ['OK', [`[APPENDUID ${v} 2] APPEND done`]],
      append_flagged: ['OK', [`[APPENDUID ${v} 3] APPEND done`]],
      search_all: ['OK', ['1 2 3']],
      search_unseen: ['OK', ['2 3']],
      search_subject: ['OK', ['2']],
      search_subject_none: ['OK', ['']],
      search_utf8_literal: ['OK', ['3']],
      uid_search: ['OK', ['2 3']],
      // The two appended messages share an internal date, later than the first one's;
      // ties go by number whatever REVERSE says (RFC 5256 §3).
      sort_arrival: ['OK', ['2 3 1']],
      uid_sort: ['OK', [FIRST.length <= SECOND.length ? '2 3' : '3 2']],
      // Three subjects, in the order of their Date fields (RFC 5256 ORDEREDSUBJECT).
      thread: ['OK', ['(1)(2)(3)']],
      uid_fetch: [
        'OK',
        [`3 (UID 3 RFC822.SIZE ${SECOND.length} INTERNALDATE "01-Apr-2025 09:33:20 +0000")`],
      ],
      fetch_rfc822: [
        'OK',
        [['2 (RFC822 {' + FIRST.length + '}', FIRST.toString()], ' FLAGS (\\Recent \\Seen))'],
      ],
      // imaplib is an IMAP4rev1 client, the first to open the Inbox: \Recent for it.
      fetch_flags: [
        'OK',
        [
          '1 (FLAGS (\\Recent \\Seen))',
          '2 (FLAGS (\\Recent \\Seen))',
          '3 (FLAGS (\\Recent \\Flagged))',
        ],
      ],
      fetch_header: [
        'OK',
        [['3 (BODY[HEADER] {' + Buffer.byteLength(SECOND_HEADER) + '}', SECOND_HEADER], ')'],
      ],
      fetch_flags_after_peek: ['OK', ['3 (FLAGS (\\Recent \\Flagged))']],
      search_unseen_after_fetch: ['OK', ['3']],
      // STORE's FETCH replies include UID, which RFC 9051 §6.4.9 requires only for UID
      // STORE: it spares the client a sequence-number lookup.
      store_deleted: ['OK', ['1 (UID 1 FLAGS (\\Recent \\Seen \\Deleted))']],
      expunge: ['OK', ['1']],
      search_all_after_expunge: ['OK', ['1 2']],
      fetch_subjects: [
        'OK',
        [
          ['1 (BODY[HEADER.FIELDS (SUBJECT)] {30}', 'Subject: hello from python\r\n\r\n'],
          ')',
          [
            '2 (BODY[HEADER.FIELDS (SUBJECT)] {47}',
            'Subject: =?utf-8?q?second_one_Gr=C3=BCsse?=\r\n\r\n',
          ],
          ')',
        ],
      ],
      close: ['OK', ['CLOSE done']],
      logout: ['BYE', ['thanks']],
      cram_md5: ['OK', [`[CAPABILITY ${CAPS}] AUTHENTICATE done`]],
      imaps_examine: ['OK', ['2']],
      imaps_logout: ['BYE', ['thanks']],
      // The third session, through COMPRESS=DEFLATE: the same answers, deflated.
      z_login: ['OK', [`[CAPABILITY ${CAPS}] LOGIN done`]],
      z_compress: ['OK', ['DEFLATE active']],
      z_examine: ['OK', ['2']],
      z_sort: ['OK', ['1 2']],
      z_thread: ['OK', ['(1)(2)']],
      z_fetch: [
        'OK',
        [
          [
            '1 (FLAGS (\\Seen) BODY[HEADER.FIELDS (SUBJECT)] {30}',
            'Subject: hello from python\r\n\r\n',
          ],
          ')',
          [
            '2 (FLAGS (\\Flagged) BODY[HEADER.FIELDS (SUBJECT)] {47}',
            'Subject: =?utf-8?q?second_one_Gr=C3=BCsse?=\r\n\r\n',
          ],
          ')',
        ],
      ],
      z_logout: ['BYE', ['thanks']],
    };
    assert.deepEqual(got, expected);
  });
});
