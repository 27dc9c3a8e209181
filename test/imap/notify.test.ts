// NOTIFY (RFC 5465): events pushed between commands for the selected mailbox (SELECTED,
// SELECTED-DELAYED), STATUS, LIST and METADATA for other mailboxes by filter (personal,
// inboxes, subscribed, subtree, mailboxes, NONE), SET STATUS, MessageNew with fetch
// attributes, NOTIFY NONE, changes held back without losing the session's consistency,
// NOTIFICATIONOVERFLOW, and the syntax.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { notifyLimits } from '../../src/imap/notify.js';
import type { Account } from '../../src/store/index.js';

let s: TestServer;
let account: Account;
before(async () => {
  s = await startTestServer();
  account = await s.store.account('mjl');
});
after(() => s.close());

/** An IMAP4rev2 session (no \Recent, OLDNAME in LIST). */
async function rev2(): Promise<Client> {
  const c = await Client.login(s);
  await c.ok('ENABLE IMAP4rev2');
  return c;
}

async function append(c: Client, mailbox: string, text: string, flags = ''): Promise<void> {
  const t = c.nextTag();
  c.write(`${t} APPEND ${mailbox} ${flags}{${text.length}+}\r\n${text}\r\n`);
  const r = await c.until(t);
  assert.match(r.tagged, /^OK \[APPENDUID /);
}

/** The next n lines the server sends on its own, without a command. */
async function pushed(c: Client, n: number): Promise<string[]> {
  const out: string[] = [];
  try {
    for (let i = 0; i < n; i++) out.push(await c.readLine());
  } catch (e) {
    throw new Error(`after ${JSON.stringify(out)}: ${(e as Error).message}`);
  }
  return out;
}

test('NOTIFY is announced; the syntax and the rules of RFC 5465 §5 and §6', async () => {
  const c = await rev2();
  assert.match((await c.ok('CAPABILITY'))[0]!, / NOTIFY( |$)/);
  const SUPPORTED =
    'MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange';
  const cases: [string, string][] = [
    ['NOTIFY', 'BAD NOTIFY unrecognized syntax/command: expected space'],
    ['NOTIFY BOGUS', 'BAD NOTIFY unrecognized syntax/command: expected SET or NONE'],
    [
      'NOTIFY NONE extra',
      'BAD NOTIFY unrecognized syntax/command: unexpected text at end: " extra"',
    ],
    ['NOTIFY SET', 'BAD NOTIFY unrecognized syntax/command: expected space'],
    ['NOTIFY SET STATUS', 'BAD NOTIFY unrecognized syntax/command: expected space'],
    [
      'NOTIFY SET (selected (MessageNew))',
      'BAD NOTIFY unrecognized syntax/command: MessageNew and MessageExpunge go together',
    ],
    [
      'NOTIFY SET (personal (MessageExpunge))',
      'BAD NOTIFY unrecognized syntax/command: MessageNew and MessageExpunge go together',
    ],
    [
      'NOTIFY SET (selected (FlagChange))',
      'BAD NOTIFY unrecognized syntax/command: FlagChange needs MessageNew and MessageExpunge',
    ],
    [
      'NOTIFY SET (selected (MailboxName))',
      'BAD NOTIFY unrecognized syntax/command: selected takes message events only',
    ],
    [
      'NOTIFY SET (selected (MessageNew MessageExpunge)) (selected-delayed (MessageNew MessageExpunge))',
      'BAD NOTIFY unrecognized syntax/command: more than one selected or selected-delayed group',
    ],
    [
      'NOTIFY SET (personal (MessageNew (UID) MessageExpunge))',
      'BAD NOTIFY unrecognized syntax/command: fetch attributes are for the selected mailbox',
    ],
    [
      'NOTIFY SET (personal (MailboxName MailboxName))',
      'BAD NOTIFY unrecognized syntax/command: event MailboxName given twice',
    ],
    [
      'NOTIFY SET (everything (MailboxName))',
      'BAD NOTIFY unrecognized syntax/command: unknown mailbox filter everything',
    ],
    [
      'NOTIFY SET (subtree (MailboxName))',
      'BAD NOTIFY unrecognized syntax/command: expected space',
    ],
    ['NOTIFY SET (personal ())', 'BAD NOTIFY unrecognized syntax/command: expected atom'],
    [
      'NOTIFY SET (personal (MessageNew MessageExpunge AnnotationChange))',
      `NO [BADEVENT (${SUPPORTED})] NOTIFY event AnnotationChange is not supported`,
    ],
    [
      'NOTIFY SET (personal (MailboxName Fireworks))',
      `NO [BADEVENT (${SUPPORTED})] NOTIFY event Fireworks is not supported`,
    ],
    [
      `NOTIFY SET (mailboxes (${Array.from({ length: 1001 }, (_, i) => `m${i}`).join(' ')}) (MailboxName))`,
      'NO [LIMIT] NOTIFY more than 1000 mailboxes',
    ],
  ];
  for (const [cmd, want] of cases) assert.equal((await c.cmd(cmd)).tagged, want, cmd);
  // Case does not matter; SELECTED is valid with no mailbox selected (it applies later).
  await c.ok(
    'notify set status (SELECTED-delayed (messagenew messageexpunge flagchange)) (Inboxes none)',
  );
  await c.ok('NOTIFY NONE');
  c.close();
  // Not before login.
  const pre = await Client.connect(s.imaps.port, { tls: true });
  assert.equal(
    (await pre.cmd('NOTIFY NONE')).tagged,
    'NO NOTIFY not allowed in this connection state',
  );
  pre.close();
});

test('SELECTED: new messages, flag changes and expunges are told as they happen', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('CREATE Sel1');
  await a.ok('SELECT Sel1');
  await a.ok('NOTIFY SET (selected (MessageNew MessageExpunge FlagChange))');
  await append(b, 'Sel1', 'Subject: one\r\n\r\n1\r\n');
  // No command from a: the server tells it anyway.
  assert.deepEqual(await pushed(a, 2), ['* 1 EXISTS', '* 1 FETCH (UID 1 FLAGS ())']);
  await b.ok('SELECT Sel1');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Seen)');
  assert.deepEqual(await pushed(a, 1), ['* 1 FETCH (UID 1 FLAGS (\\Seen))']);
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.ok('EXPUNGE');
  assert.deepEqual(await pushed(a, 2), [
    '* 1 FETCH (UID 1 FLAGS (\\Seen \\Deleted))',
    '* 1 EXPUNGE',
  ]);
  assert.deepEqual(await a.ok('NOOP'), []);
  // Without FlagChange, flag changes are not told; new messages still are.
  await a.ok('NOTIFY SET (selected (MessageNew MessageExpunge))');
  await append(b, 'Sel1', 'Subject: two\r\n\r\n2\r\n');
  assert.deepEqual(await pushed(a, 2), ['* 1 EXISTS', '* 1 FETCH (UID 2 FLAGS ())']);
  await b.ok('STORE 1 +FLAGS.SILENT (\\Flagged)');
  assert.deepEqual(await a.ok('NOOP'), []);
  assert.deepEqual(await a.ok('FETCH 1 FLAGS'), ['* 1 FETCH (FLAGS (\\Flagged))']);
  a.close();
  b.close();
});

test('SELECTED-DELAYED: expunges wait for a command that may tell them', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('CREATE Del1');
  await append(a, 'Del1', 'Subject: one\r\n\r\nfirst\r\n');
  await append(a, 'Del1', 'Subject: two\r\n\r\nsecond\r\n');
  await a.ok('SELECT Del1');
  await a.ok('NOTIFY SET (selected-delayed (MessageNew MessageExpunge))');
  await b.ok('SELECT Del1');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.ok('EXPUNGE');
  await append(b, 'Del1', 'Subject: three\r\n\r\nthird\r\n');
  // The new message is told at once; the expunged one keeps its number, and its data.
  assert.deepEqual(await pushed(a, 2), ['* 3 EXISTS', '* 3 FETCH (UID 3 FLAGS ())']);
  assert.deepEqual(await a.ok('FETCH 1 (UID BODY.PEEK[TEXT])'), [
    '* 1 FETCH (UID 1 BODY[TEXT] {7}\r\nfirst\r\n)',
  ]);
  assert.deepEqual(await a.ok('NOOP'), ['* 1 EXPUNGE']);
  assert.deepEqual(await a.ok('FETCH 1:* (UID)'), ['* 1 FETCH (UID 2)', '* 2 FETCH (UID 3)']);
  // IDLE is a command that may tell expunges.
  a.write('I1 IDLE\r\n');
  assert.equal(await a.readLine(), '+ idling');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.ok('EXPUNGE');
  assert.deepEqual(await pushed(a, 1), ['* 1 EXPUNGE']);
  a.write('DONE\r\n');
  assert.equal(await a.readLine(), 'I1 OK IDLE done');
  a.close();
  b.close();
});

test('the selected mailbox in no filter: its changes are held, numbering and files kept', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('CREATE Held1');
  await append(a, 'Held1', 'Subject: one\r\n\r\nfirst\r\n');
  await append(a, 'Held1', 'Subject: two\r\n\r\nsecond\r\n');
  await a.ok('SELECT Held1');
  await a.ok('NOTIFY SET (personal (MailboxName))');
  await append(b, 'Held1', 'Subject: three\r\n\r\nthird\r\n');
  await b.ok('SELECT Held1');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.ok('EXPUNGE');
  // Nothing told, not even at a command's end; the session's view is as the client knows it.
  assert.deepEqual(await a.ok('NOOP'), []);
  assert.deepEqual(await a.ok('FETCH 1:* (UID)'), ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 2)']);
  assert.deepEqual(await a.ok('FETCH 1 BODY.PEEK[TEXT]'), [
    '* 1 FETCH (BODY[TEXT] {7}\r\nfirst\r\n)',
  ]);
  assert.ok(account.switchboard.referenced > 0, 'the expunged message file is kept');
  // Asking for the selected mailbox's events tells what was held, in order.
  assert.deepEqual(await a.ok('NOTIFY SET (selected (MessageNew MessageExpunge))'), [
    '* 3 EXISTS',
    '* 3 FETCH (UID 3 FLAGS ())',
    '* 1 EXPUNGE',
  ]);
  assert.equal(account.switchboard.referenced, 0);
  assert.deepEqual(await a.ok('FETCH 1:* (UID)'), ['* 1 FETCH (UID 2)', '* 2 FETCH (UID 3)']);
  // Held changes end with the selection; the files they kept are released.
  await a.ok('NOTIFY NONE');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.ok('EXPUNGE');
  assert.deepEqual(await a.ok('NOOP'), []);
  assert.ok(account.switchboard.referenced > 0);
  await a.ok('UNSELECT');
  assert.equal(account.switchboard.referenced, 0);
  // Also when the connection ends while holding.
  await a.ok('SELECT Held1');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await b.ok('EXPUNGE');
  assert.deepEqual(await a.ok('NOOP'), []);
  assert.ok(account.switchboard.referenced > 0);
  await a.ok('LOGOUT').catch(() => {});
  for (let i = 0; i < 200 && account.switchboard.referenced > 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(account.switchboard.referenced, 0);
  b.close();
});

test('own APPEND to the selected mailbox tells what was held before it', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('CREATE Own1');
  await a.ok('SELECT Own1');
  await a.ok('NOTIFY NONE');
  await append(b, 'Own1', 'Subject: theirs\r\n\r\nx\r\n');
  assert.deepEqual(await a.ok('NOOP'), []);
  const t = a.nextTag();
  a.write(`${t} APPEND Own1 {18+}\r\nSubject: mine\r\n\r\ny\r\n`);
  const r = await a.until(t);
  assert.deepEqual(r.untagged, ['* 1 EXISTS', '* 1 FETCH (UID 1 FLAGS ())', '* 2 EXISTS']);
  a.close();
  b.close();
});

test('other mailboxes: STATUS for message events, LIST for names and subscriptions', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('SELECT INBOX');
  await a.ok(
    'NOTIFY SET (selected (MessageNew MessageExpunge)) (personal (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange))',
  );
  await b.ok('CREATE Oth1');
  assert.deepEqual(await pushed(a, 2), [
    '* LIST () "/" "Oth1"',
    '* LIST (\\Subscribed) "/" "Oth1"',
  ]);
  await append(b, 'Oth1', 'Subject: x\r\n\r\nx\r\n');
  assert.deepEqual(await pushed(a, 1), ['* STATUS "Oth1" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)']);
  await b.ok('SELECT Oth1');
  await b.ok('STORE 1 +FLAGS.SILENT (\\Seen)');
  const mb = (await account.mailbox('Oth1'))!;
  assert.deepEqual(await pushed(a, 1), [
    `* STATUS "Oth1" (UIDVALIDITY ${mb.uidvalidity} UNSEEN 0)`,
  ]);
  await b.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual(await pushed(a, 1), [
    `* STATUS "Oth1" (UIDVALIDITY ${mb.uidvalidity} UNSEEN 0)`,
  ]);
  await b.ok('EXPUNGE');
  assert.deepEqual(await pushed(a, 1), ['* STATUS "Oth1" (MESSAGES 0 UIDNEXT 2 UNSEEN 0)']);
  await b.ok('UNSELECT');
  await b.ok('RENAME Oth1 Oth2');
  const renamed = await a.ok('NOOP');
  assert.ok(renamed.includes('* LIST () "/" "Oth2" ("OLDNAME" ("Oth1"))'), renamed.join('\n'));
  // RENAME leaves subscriptions as they were (RFC 9051 §6.3.6).
  await b.ok('SUBSCRIBE Oth2');
  assert.deepEqual(await pushed(a, 1), ['* LIST (\\Subscribed) "/" "Oth2"']);
  await b.ok('UNSUBSCRIBE Oth2');
  assert.deepEqual(await pushed(a, 1), ['* LIST () "/" "Oth2"']);
  await b.ok('DELETE Oth2');
  const deleted = await a.ok('NOOP');
  assert.ok(deleted.includes('* LIST (\\NonExistent) "/" "Oth2"'), deleted.join('\n'));
  // With CONDSTORE on, STATUS carries HIGHESTMODSEQ (RFC 5465 §5.2).
  await a.ok('ENABLE CONDSTORE');
  await b.ok('CREATE Oth3');
  await a.ok('NOOP');
  await append(b, 'Oth3', 'Subject: y\r\n\r\ny\r\n');
  const [line] = await pushed(a, 1);
  assert.match(line!, /^\* STATUS "Oth3" \(MESSAGES 1 UIDNEXT 2 UNSEEN 1 HIGHESTMODSEQ \d+\)$/);
  a.close();
  b.close();
});

test('filters: the first group naming a mailbox decides; NONE excludes', async () => {
  const a = await rev2();
  const b = await rev2();
  for (const m of ['Fil', 'Fil/one', 'Fil/two', 'Fil2', 'Inbox/sub', 'Unsub'])
    await a.ok(`CREATE ${m}`);
  await a.ok('UNSUBSCRIBE Unsub');
  await a.ok(
    'NOTIFY SET (mailboxes Fil/one NONE) (subtree Fil (MessageNew MessageExpunge)) (inboxes (MessageNew MessageExpunge))',
  );
  for (const m of ['Fil/one', 'Fil/two', 'Fil', 'Fil2', 'Inbox/sub'])
    await append(b, m, 'Subject: f\r\n\r\nf\r\n');
  assert.deepEqual(await a.ok('NOOP'), [
    '* STATUS "Fil/two" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)',
    '* STATUS "Fil" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)',
    '* STATUS "Inbox/sub" (MESSAGES 1 UIDNEXT 2 UNSEEN 1)',
  ]);
  await a.ok('NOTIFY SET (subscribed (MessageNew MessageExpunge))');
  await append(b, 'Unsub', 'Subject: f\r\n\r\nf\r\n');
  await append(b, 'Fil2', 'Subject: f\r\n\r\nf\r\n');
  assert.deepEqual(await a.ok('NOOP'), ['* STATUS "Fil2" (MESSAGES 2 UIDNEXT 3 UNSEEN 2)']);
  // SET STATUS: the status of each mailbox the filters cover, before the OK (§3.1).
  const r = await a.ok(
    'NOTIFY SET STATUS (mailboxes (Fil Fil2 Nowhere) (MessageNew MessageExpunge))',
  );
  const fil = (await account.mailbox('Fil'))!;
  const fil2 = (await account.mailbox('Fil2'))!;
  assert.deepEqual(r, [
    `* STATUS "Fil" (MESSAGES 1 UIDNEXT 2 UIDVALIDITY ${fil.uidvalidity} UNSEEN 1)`,
    `* STATUS "Fil2" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY ${fil2.uidvalidity} UNSEEN 2)`,
  ]);
  a.close();
  b.close();
});

test('MessageNew with fetch attributes; without PEEK it sets \\Seen', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('CREATE Fet1');
  await a.ok('SELECT Fet1');
  await a.ok(
    'NOTIFY SET (selected (MessageNew (BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge))',
  );
  await append(b, 'Fet1', 'Subject: hello\r\nFrom: x@example.org\r\n\r\nbody\r\n');
  assert.deepEqual(await pushed(a, 2), [
    '* 1 EXISTS',
    '* 1 FETCH (UID 1 BODY[HEADER.FIELDS (Subject)] {18}\r\nSubject: hello\r\n\r\n)',
  ]);
  await a.ok('NOTIFY SET (selected (MessageNew (FLAGS BODY[TEXT]) MessageExpunge FlagChange))');
  await append(b, 'Fet1', 'Subject: again\r\n\r\nmore\r\n');
  assert.deepEqual(await pushed(a, 2), [
    '* 2 EXISTS',
    '* 2 FETCH (UID 2 FLAGS (\\Seen) BODY[TEXT] {6}\r\nmore\r\n)',
  ]);
  await b.ok('SELECT Fet1');
  assert.deepEqual(await b.ok('FETCH 2 FLAGS'), ['* 2 FETCH (FLAGS (\\Seen))']);
  a.close();
  b.close();
});

test('metadata events; NOTIFY NONE silences what would be told without NOTIFY', async () => {
  const a = await rev2();
  const b = await rev2();
  await a.ok('NOTIFY SET (personal (MailboxMetadataChange ServerMetadataChange))');
  await b.ok('SETMETADATA INBOX (/private/comment "x")');
  assert.deepEqual(await pushed(a, 1), ['* METADATA "Inbox" /private/comment']);
  await b.ok('SETMETADATA "" (/private/comment "y")');
  assert.deepEqual(await pushed(a, 1), ['* METADATA "" /private/comment']);
  // Without NOTIFY a session that enabled METADATA hears of these at its next command,
  // and of new mailboxes; after NOTIFY NONE it hears of nothing.
  await a.ok('ENABLE METADATA');
  await a.ok('NOTIFY NONE');
  await b.ok('SETMETADATA INBOX (/private/comment "z")');
  await b.ok('CREATE Quiet1');
  assert.deepEqual(await a.ok('NOOP'), []);
  a.close();
  b.close();
});

test('NOTIFICATIONOVERFLOW: too much held back ends NOTIFY; the session catches up', async () => {
  const saved = notifyLimits.heldMax;
  notifyLimits.heldMax = 3;
  try {
    const a = await rev2();
    const b = await rev2();
    await a.ok('CREATE Over1');
    await a.ok('SELECT Over1');
    await a.ok('NOTIFY NONE');
    for (let i = 0; i < 3; i++) await append(b, 'Over1', `Subject: o${i}\r\n\r\no\r\n`);
    assert.deepEqual(await a.ok('NOOP'), []);
    await append(b, 'Over1', 'Subject: o3\r\n\r\no\r\n');
    assert.deepEqual(await a.ok('NOOP'), [
      '* OK [NOTIFICATIONOVERFLOW] too many changes held back, NOTIFY is off',
    ]);
    // NOTIFY is off: the held changes are told as without NOTIFY.
    assert.deepEqual(await a.ok('NOOP'), [
      '* 4 EXISTS',
      '* 1 FETCH (UID 1 FLAGS ())',
      '* 2 FETCH (UID 2 FLAGS ())',
      '* 3 FETCH (UID 3 FLAGS ())',
      '* 4 FETCH (UID 4 FLAGS ())',
    ]);
    a.close();
    b.close();
  } finally {
    notifyLimits.heldMax = saved;
  }
});
