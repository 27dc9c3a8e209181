// SELECT and EXAMINE over the protocol (RFC 9051 §6.3.2, §6.3.3; RFC 3501 §6.3.1): the
// response sequence for IMAP4rev1 and IMAP4rev2 sessions, [CLOSED] when switching,
// failed selects, mailbox name encodings.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';
import { mailboxObjectId } from '../../src/imap/response.js';

const FLAGS =
  '\\Seen \\Answered \\Flagged \\Deleted \\Draft $Forwarded $Junk $NotJunk $Phishing $MDNSent';

/** A mailbox name as the harness shows it: UTF-8 octets read as latin1. */
const wire = (s: string) => Buffer.from(s, 'utf8').toString('latin1');

async function add(s: TestServer, a: Account, mailbox: string, flags: number, keywords: string[]) {
  const p = await s.store.prepareMessage(Buffer.from(`Subject: test\r\n\r\nbody\r\n`));
  await a.addMessages(mailbox, [{ message: p, flags, keywords }], { create: true });
  await p.cleanup();
}

/** The HIGHESTMODSEQ line of a mailbox (RFC 7162 §3.1.2.1: sent with every SELECT). */
async function hms(a: Account, name: string): Promise<string> {
  const mb = (await a.mailbox(name))!;
  return `* OK [HIGHESTMODSEQ ${await a.mailboxHighestModseq(mb.id)}] highest modseq`;
}

describe('imap SELECT/EXAMINE', () => {
  let s: TestServer;
  let a: Account;
  let uidvalidity: number;
  let workId: string;
  before(async () => {
    s = await startTestServer();
    a = await s.store.account('mjl');
    // Message 1 is seen, 2 is the first unseen (with a keyword), 3 is seen.
    await add(s, a, 'Work', Flag.Seen, []);
    await add(s, a, 'Work', Flag.Flagged, ['Project']);
    await add(s, a, 'Work', Flag.Seen, []);
    uidvalidity = (await a.mailbox('Work'))!.uidvalidity;
    workId = mailboxObjectId((await a.mailbox('Work'))!);
    await a.createMailbox('Føø');
  });
  after(() => s.close());

  test('IMAP4rev1: the full response sequence, keywords in FLAGS and PERMANENTFLAGS', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('SELECT Work');
    assert.deepEqual(r.untagged, [
      `* FLAGS (${FLAGS} Project)`,
      `* OK [PERMANENTFLAGS (${FLAGS} Project \\*)] flags permitted`,
      // The first IMAP4rev1 session to open the mailbox: all three are \\Recent for it.
      '* 3 RECENT',
      '* 3 EXISTS',
      '* OK [UNSEEN 2] first unseen',
      `* OK [UIDVALIDITY ${uidvalidity}] UIDs valid`,
      '* OK [UIDNEXT 4] predicted next UID',
      await hms(a, 'Work'),
      `* OK [MAILBOXID (${workId})] mailbox id`,
      '* LIST () "/" "Work"',
    ]);
    assert.equal(r.tagged, 'OK [READ-WRITE] SELECT done');
    c.close();
  });

  test('IMAP4rev2: no RECENT and no UNSEEN', async () => {
    const c = await Client.login(s);
    await c.ok('ENABLE IMAP4rev2');
    const r = await c.cmd('SELECT Work');
    assert.deepEqual(r.untagged, [
      `* FLAGS (${FLAGS} Project)`,
      `* OK [PERMANENTFLAGS (${FLAGS} Project \\*)] flags permitted`,
      '* 3 EXISTS',
      `* OK [UIDVALIDITY ${uidvalidity}] UIDs valid`,
      '* OK [UIDNEXT 4] predicted next UID',
      await hms(a, 'Work'),
      `* OK [MAILBOXID (${workId})] mailbox id`,
      '* LIST () "/" "Work"',
    ]);
    assert.equal(r.tagged, 'OK [READ-WRITE] SELECT done');
    c.close();
  });

  test('no UNSEEN when every message is seen; special use in the LIST line', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('SELECT Sent');
    const sent = (await a.mailbox('Sent'))!;
    assert.deepEqual(r.untagged, [
      `* FLAGS (${FLAGS})`,
      `* OK [PERMANENTFLAGS (${FLAGS} \\*)] flags permitted`,
      '* 0 RECENT',
      '* 0 EXISTS',
      `* OK [UIDVALIDITY ${sent.uidvalidity}] UIDs valid`,
      '* OK [UIDNEXT 1] predicted next UID',
      await hms(a, 'Sent'),
      `* OK [MAILBOXID (${mailboxObjectId(sent)})] mailbox id`,
      '* LIST (\\Sent) "/" "Sent"',
    ]);
    c.close();
  });

  test('EXAMINE is read-only: no permanent flags, STORE refused', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('EXAMINE Work');
    assert.deepEqual(r.untagged, [
      `* FLAGS (${FLAGS} Project)`,
      '* OK [PERMANENTFLAGS ()] read-only',
      '* 0 RECENT',
      '* 3 EXISTS',
      '* OK [UNSEEN 2] first unseen',
      `* OK [UIDVALIDITY ${uidvalidity}] UIDs valid`,
      '* OK [UIDNEXT 4] predicted next UID',
      await hms(a, 'Work'),
      `* OK [MAILBOXID (${workId})] mailbox id`,
      '* LIST () "/" "Work"',
    ]);
    assert.equal(r.tagged, 'OK [READ-ONLY] EXAMINE done');
    assert.equal(
      (await c.cmd('STORE 1 +FLAGS (\\Seen)')).tagged,
      'NO STORE mailbox selected read-only (EXAMINE)',
    );
    c.close();
  });

  test('switching mailboxes sends [CLOSED] first', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT Work');
    const r = await c.cmd('EXAMINE INBOX');
    const inbox = (await a.mailbox('Inbox'))!;
    assert.deepEqual(r.untagged, [
      '* OK [CLOSED] previous mailbox closed',
      `* FLAGS (${FLAGS})`,
      '* OK [PERMANENTFLAGS ()] read-only',
      '* 0 RECENT',
      '* 0 EXISTS',
      `* OK [UIDVALIDITY ${inbox.uidvalidity}] UIDs valid`,
      '* OK [UIDNEXT 1] predicted next UID',
      await hms(a, 'Inbox'),
      `* OK [MAILBOXID (${mailboxObjectId(inbox)})] mailbox id`,
      '* LIST () "/" "Inbox"',
    ]);
    assert.equal(r.tagged, 'OK [READ-ONLY] EXAMINE done');
    const again = await c.cmd('SELECT Work');
    assert.equal(again.untagged[0], '* OK [CLOSED] previous mailbox closed');
    assert.equal(again.tagged, 'OK [READ-WRITE] SELECT done');
    c.close();
  });

  test('a failed SELECT leaves the session unselected', async () => {
    const c = await Client.login(s);
    // Without a selected mailbox there is nothing to close.
    const none = await c.cmd('SELECT Nope');
    assert.deepEqual(none.untagged, []);
    assert.equal(none.tagged, 'NO SELECT mailbox does not exist');
    await c.ok('SELECT Work');
    const r = await c.cmd('SELECT Nope');
    assert.deepEqual(r.untagged, ['* OK [CLOSED] previous mailbox closed']);
    assert.equal(r.tagged, 'NO SELECT mailbox does not exist');
    assert.equal(
      (await c.cmd('FETCH 1 FLAGS')).tagged,
      'NO FETCH not allowed in this connection state',
    );
    assert.equal((await c.cmd('EXAMINE "a//b"')).tagged, 'NO EXAMINE mailbox does not exist');
    c.close();
  });

  test('INBOX in any case', async () => {
    const c = await Client.login(s);
    for (const name of ['INBOX', 'inbox', 'iNbOx', '"Inbox"']) {
      const r = await c.cmd(`SELECT ${name}`);
      assert.equal(r.untagged.at(-1), '* LIST () "/" "Inbox"');
      assert.equal(r.tagged, 'OK [READ-WRITE] SELECT done');
    }
    c.close();
  });

  test('modified UTF-7 names without UTF8=ACCEPT, raw UTF-8 with it', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('SELECT "F&APgA+A-"');
    assert.equal(r.untagged.at(-1), '* LIST () "/" "F&APgA+A-"');
    assert.equal(r.tagged, 'OK [READ-WRITE] SELECT done');
    // 8-bit names need UTF8=ACCEPT (a syntax error); invalid modified UTF-7 names no mailbox.
    assert.equal(
      (await c.cmd('SELECT "Føø"')).tagged,
      'BAD SELECT unrecognized syntax/command: 8-bit character in quoted string without UTF8=ACCEPT',
    );
    assert.equal(
      (await c.cmd('SELECT "&Jjo"')).tagged,
      'NO [CANNOT] SELECT invalid modified UTF-7 mailbox name: unterminated shift sequence',
    );
    // A syntax error does not unselect.
    assert.equal((await c.cmd('UID FETCH 1 FLAGS')).tagged, 'OK UID FETCH done');

    await c.ok('ENABLE UTF8=ACCEPT');
    const u = await c.cmd('SELECT "Føø"');
    assert.equal(u.untagged.at(0), '* OK [CLOSED] previous mailbox closed');
    assert.equal(u.untagged.at(-1), wire('* LIST () "/" "Føø"'));
    assert.equal(u.tagged, 'OK [READ-WRITE] SELECT done');
    // With UTF-8 enabled, "&" is just a character.
    const amp = await c.cmd('SELECT "F&APgA+A-"');
    assert.deepEqual(amp.untagged, ['* OK [CLOSED] previous mailbox closed']);
    assert.equal(amp.tagged, 'NO SELECT mailbox does not exist');
    c.close();
  });

  test('invalid UTF-8 or control characters in the name are BAD, with or without UTF-8', async () => {
    const c = await Client.login(s);
    await c.ok('ENABLE UTF8=ACCEPT');
    // A name holding U+FFFD exists; octets that are not UTF-8 must not reach it.
    await c.ok('CREATE "\u{fffd}x"');
    const BAD = 'BAD SELECT unrecognized syntax/command: ';
    for (const [name, why] of [
      ['{2+}\r\n\xffx', 'invalid UTF-8 in mailbox name'],
      ['\xffx', 'invalid UTF-8 in mailbox name'],
      ['{3+}\r\n\xc3\xa9\xc3', 'invalid UTF-8 in mailbox name'],
      ['{3+}\r\nx\x00y', 'control characters in mailbox name'],
      ['"x\xc2\x9by"', 'control characters in mailbox name'],
    ]) {
      const r = await c.cmdOctets(`SELECT ${name}`);
      assert.equal(r.tagged, BAD + why, name);
      assert.deepEqual(r.untagged, []);
    }
    const r = await c.cmdOctets('EXAMINE {2+}\r\n\xffx');
    assert.equal(
      r.tagged,
      'BAD EXAMINE unrecognized syntax/command: invalid UTF-8 in mailbox name',
    );
    const u7 = await Client.login(s);
    for (const [name, why] of [
      ['{2+}\r\n\xffx', '8-bit mailbox name without UTF8=ACCEPT, use modified UTF-7'],
      ['x&AAA-y', 'control characters in mailbox name'],
    ]) {
      assert.equal((await u7.cmdOctets(`SELECT ${name}`)).tagged, BAD + why, name);
    }
    c.close();
    u7.close();
  });

  test('select parameters: CONDSTORE and QRESYNC only, each once', async () => {
    const c = await Client.login(s);
    const bad = 'BAD SELECT unrecognized syntax/command: ';
    for (const [params, why] of [
      ['(FOO)', 'unknown select parameter FOO'],
      ['()', 'expected atom'],
      ['(CONDSTORE CONDSTORE)', 'select parameter CONDSTORE given twice'],
      ['(QRESYNC (1 1))', 'QRESYNC parameter without ENABLE QRESYNC'],
    ]) {
      assert.equal((await c.cmd(`SELECT Work ${params}`)).tagged, bad + why, params);
    }
    assert.equal(
      (await c.cmd('SELECT')).tagged,
      'BAD SELECT unrecognized syntax/command: expected space',
    );
    c.close();
  });

  test('selected state is kept per session; a new message is counted at the next SELECT', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT Work');
    await add(s, a, 'Work', 0, []);
    // The new message arrives as a pending change and is announced.
    assert.deepEqual(await c.ok('NOOP'), [
      '* 4 EXISTS',
      '* 1 RECENT',
      '* 4 FETCH (UID 4 FLAGS (\\Recent))',
    ]);
    const r = await c.cmd('SELECT Work');
    assert.deepEqual(r.untagged.slice(0, 6), [
      '* OK [CLOSED] previous mailbox closed',
      `* FLAGS (${FLAGS} Project)`,
      `* OK [PERMANENTFLAGS (${FLAGS} Project \\*)] flags permitted`,
      '* 0 RECENT',
      '* 4 EXISTS',
      '* OK [UNSEEN 2] first unseen',
    ]);
    assert.equal(r.untagged[7], '* OK [UIDNEXT 5] predicted next UID');
    c.close();
  });
});
