// Three sessions on one account: one changes things, the others see exactly the right
// untagged responses (EXISTS, FETCH, EXPUNGE; RFC 9051 §5.2, §7) at the right moments
// (no EXPUNGE during a non-UID FETCH, STORE or SEARCH, RFC 9051 §7.5.1, as it would shift
// sequence numbers), including IDLE (RFC 9051 §6.3.13).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

async function append(c: Client, text: string) {
  const t = c.nextTag();
  c.write(`${t} APPEND INBOX {${text.length}+}\r\n${text}\r\n`);
  const r = await c.until(t);
  assert.match(r.tagged, /^OK \[APPENDUID /);
  return r;
}

describe('multiple sessions', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('append, store, move and expunge reach the other sessions, in order', async () => {
    const a = await Client.login(s);
    const b = await Client.login(s);
    const c = await Client.login(s);
    for (const x of [a, b, c]) await x.ok('SELECT INBOX');

    await append(a, 'Subject: one\r\n\r\n1\r\n');
    await append(a, 'Subject: two\r\n\r\n2\r\n');
    // Nothing is pushed to b and c until they issue a command.
    assert.equal(await b.pending(), '');
    // The appending session claimed \Recent for them (RFC 3501 §2.3.2).
    assert.deepEqual(await b.ok('NOOP'), [
      '* 2 EXISTS',
      '* 0 RECENT',
      '* 1 FETCH (UID 1 FLAGS ())',
      '* 2 FETCH (UID 2 FLAGS ())',
    ]);

    await a.ok('STORE 1 +FLAGS (\\Seen)');
    assert.deepEqual(await b.ok('NOOP'), ['* 1 FETCH (UID 1 FLAGS (\\Seen))']);

    await a.ok('MOVE 2 Archive');
    assert.deepEqual(await b.ok('NOOP'), ['* 2 EXPUNGE']);

    await a.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await a.ok('EXPUNGE');
    assert.deepEqual(await b.ok('NOOP'), [
      '* 1 FETCH (UID 1 FLAGS (\\Seen \\Deleted))',
      '* 1 EXPUNGE',
    ]);

    // c saw nothing yet and gets everything, in commit order, with consistent numbers.
    assert.deepEqual(await c.ok('NOOP'), [
      '* 2 EXISTS',
      '* 0 RECENT',
      '* 1 FETCH (UID 1 FLAGS ())',
      '* 2 FETCH (UID 2 FLAGS ())',
      '* 1 FETCH (UID 1 FLAGS (\\Seen))',
      '* 2 EXPUNGE',
      '* 1 FETCH (UID 1 FLAGS (\\Seen \\Deleted))',
      '* 1 EXPUNGE',
    ]);
    // The writer is never told of its own changes again.
    assert.deepEqual(await a.ok('NOOP'), []);
    for (const x of [a, b, c]) x.close();
  });

  test('no EXPUNGE during non-UID STORE or SEARCH; UID STORE does apply them', async () => {
    const a = await Client.login(s);
    const b = await Client.login(s);
    await a.ok('CREATE Quiet');
    for (let i = 0; i < 3; i++) {
      const t = a.nextTag();
      const m = `Subject: q${i}\r\n\r\nq\r\n`;
      a.write(`${t} APPEND Quiet (\\Deleted) {${m.length}+}\r\n${m}\r\n`);
      await a.until(t);
    }
    await a.ok('SELECT Quiet');
    await b.ok('SELECT Quiet');
    await a.ok('UID EXPUNGE 1');
    // Non-UID STORE: the pending EXPUNGE is held back; message 1 is still UID 1 for b.
    assert.deepEqual(await b.ok('STORE 2 +FLAGS (\\Seen)'), [
      '* 2 FETCH (UID 2 FLAGS (\\Seen \\Deleted))',
    ]);
    // SEARCH skips the message that is gone, but its numbering is unchanged.
    const sr = await b.cmd('SEARCH ALL');
    assert.deepEqual(sr.untagged, ['* SEARCH 2 3']);
    // A UID command applies it before its tagged reply.
    assert.deepEqual(await b.ok('UID STORE 3 +FLAGS (\\Seen)'), [
      '* 3 FETCH (UID 3 FLAGS (\\Seen \\Deleted))',
      '* 1 EXPUNGE',
    ]);
    assert.deepEqual(await b.ok('NOOP'), []);
    a.close();
    b.close();
  });

  test('IDLE: changes are pushed as they happen; DONE ends it', async () => {
    const a = await Client.login(s);
    const b = await Client.login(s);
    await a.ok('CREATE Idle');
    await b.ok('SELECT Idle');
    const t = b.nextTag();
    b.write(`${t} IDLE\r\n`);
    assert.equal(await b.readLine(), '+ idling');
    const m = 'Subject: idle\r\n\r\nhi\r\n';
    const at = a.nextTag();
    a.write(`${at} APPEND Idle {${m.length}+}\r\n${m}\r\n`);
    await a.until(at);
    assert.equal(await b.readLine(), '* 1 EXISTS');
    // b is the first session told of it: \Recent for b.
    assert.equal(await b.readLine(), '* 1 RECENT');
    assert.equal(await b.readLine(), '* 1 FETCH (UID 1 FLAGS (\\Recent))');
    await a.ok('CREATE Idle/Child');
    assert.equal(
      await b.readLine(),
      '* LIST () "/" Idle/Child'.replace('Idle/Child', '"Idle/Child"'),
    );
    assert.equal(await b.readLine(), '* LIST (\\Subscribed) "/" "Idle/Child"');
    b.write('DONE\r\n');
    assert.equal((await b.until(t)).tagged, 'OK IDLE done');
    await b.ok('NOOP');
    a.close();
    b.close();
  });

  test('IDLE: a line other than DONE ends the connection', async () => {
    const b = await Client.login(s);
    const t = b.nextTag();
    b.write(`${t} IDLE\r\n`);
    assert.equal(await b.readLine(), '+ idling');
    b.write('NOOP\r\n');
    assert.equal(await b.readLine(), `${t} BAD IDLE expected DONE`);
    await assert.rejects(b.readLine(2000), /closed/);
  });

  test('a mailbox deleted by another session: the selected session gets NONEXISTENT', async () => {
    const a = await Client.login(s);
    const b = await Client.login(s);
    await a.ok('CREATE Doomed');
    await b.ok('SELECT Doomed');
    await a.ok('DELETE Doomed');
    assert.equal(
      (await b.cmd('EXPUNGE')).tagged,
      'NO [NONEXISTENT] EXPUNGE selected mailbox no longer exists',
    );
    a.close();
    b.close();
  });
});
