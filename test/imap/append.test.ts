// APPEND (RFC 9051 §6.3.12), MULTIAPPEND (RFC 3502), LITERAL+ (RFC 7888), APPENDUID
// (RFC 4315), and the literal limits: the client picks literal sizes, so a command's
// literals are capped in size, total and number (BAD [TOOBIG]; BYE and a close for a
// non-synchronizing literal, whose data is already on its way), APPEND's messages only
// by the message size limit and quota.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';

const msg = (n: number, extra = '') =>
  `From: a@example.org\r\nSubject: test ${n}\r\nMessage-ID: <t${n}@example.org>\r\n\r\nHello ${n}.${extra}\r\n`;

/** Sends a command with one synchronizing literal; returns the tagged response. */
async function appendSync(c: Client, head: string, data: string) {
  const tag = c.nextTag();
  c.write(`${tag} ${head} {${Buffer.byteLength(data)}}\r\n`);
  const cont = await c.readLine();
  if (!cont.startsWith('+ ')) {
    // Refused before the data (TRYCREATE, OVERQUOTA, TOOBIG).
    assert.ok(cont.startsWith(tag + ' '), cont);
    return { untagged: [] as string[], tagged: cont.slice(tag.length + 1), cont: false };
  }
  c.write(data + '\r\n');
  return { ...(await c.until(tag)), cont: true };
}

describe('APPEND', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ limits: { maxMessageSize: 4000 } });
  });
  after(() => s.close());

  test('synchronizing literal with flags and date; APPENDUID; stored exactly', async () => {
    const c = await Client.login(s);
    const data = msg(1);
    const r = await appendSync(
      c,
      'APPEND INBOX (\\Seen $Forwarded Custom) "07-Feb-1994 21:52:25 -0800"',
      data,
    );
    assert.equal(r.cont, true);
    const inbox = (await (await s.store.account('mjl')).mailbox('Inbox'))!;
    assert.equal(r.tagged, `OK [APPENDUID ${inbox.uidvalidity} 1] APPEND done`);
    const a = await s.store.account('mjl');
    const m = (await a.message(inbox.id, 1))!;
    assert.equal((await a.readMessage(m)).toString(), data);
    assert.equal(m.internalDate, Date.UTC(1994, 1, 8, 5, 52, 25));
    assert.deepEqual(m.keywords, ['Custom']);
    assert.equal(m.flags, 1 | 32); // \Seen, $Forwarded
    c.close();
  });

  test('non-synchronizing literal; MULTIAPPEND in one transaction; EXISTS for the selected mailbox', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    const before = (await (await s.store.account('mjl')).mailbox('Inbox'))!;
    const d1 = msg(2);
    const d2 = msg(3);
    const tag = c.nextTag();
    c.write(
      `${tag} APPEND INBOX {${d1.length}+}\r\n${d1} (\\Flagged) {${d2.length}+}\r\n${d2}\r\n`,
    );
    const r = await c.until(tag);
    // This IMAP4rev1 session is the first to open the Inbox: what was there and what it
    // appended are \Recent for it.
    assert.deepEqual(r.untagged, [
      `* ${before.counts.total + 2} EXISTS`,
      `* ${before.counts.total + 2} RECENT`,
    ]);
    assert.equal(
      r.tagged,
      `OK [APPENDUID ${before.uidvalidity} ${before.uidnext}:${before.uidnext + 1}] APPEND done`,
    );
    const a = await s.store.account('mjl');
    const rows = await a.messages(before.id, [before.uidnext, before.uidnext + 1]);
    assert.equal(rows[0]!.modseq, rows[1]!.modseq, 'one transaction');
    assert.equal(rows[1]!.flags, 4);
    c.close();
  });

  test('NUL only in a literal8: BAD for a normal literal, stored from ~{n}', async () => {
    // RFC 9051 §9: literal = "{" number64 ["+"] "}" CRLF *CHAR8, and CHAR8 excludes NUL;
    // literal8 (RFC 3516 §4.3) may hold it.
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    const a = await s.store.account('mjl');
    const inbox = async () => (await a.mailbox('Inbox'))!;
    const before = await inbox();
    const bad = msg(30, ' nul \0 here');
    const BAD =
      'BAD APPEND unrecognized syntax/command: NUL in message, allowed only in a literal8 ~{n}';
    assert.equal((await appendSync(c, 'APPEND INBOX', bad)).tagged, BAD);
    // Also when another message in the same MULTIAPPEND is fine: nothing is stored.
    const good = msg(31);
    let t = c.nextTag();
    c.write(`${t} APPEND INBOX {${good.length}+}\r\n${good} {${bad.length}+}\r\n${bad}\r\n`);
    assert.deepEqual(await c.until(t), { untagged: [], tagged: BAD, tag: t });
    assert.equal((await inbox()).counts.total, before.counts.total);
    await c.ok('NOOP');

    t = c.nextTag();
    c.write(`${t} APPEND INBOX ~{${bad.length}+}\r\n${bad}\r\n`);
    const r = await c.until(t);
    assert.equal(r.tagged, `OK [APPENDUID ${before.uidvalidity} ${before.uidnext}] APPEND done`);
    const m = (await a.message(before.id, before.uidnext))!;
    assert.equal((await a.readMessage(m)).toString('latin1'), bad);
    c.close();
  });

  test('TRYCREATE before the continuation; empty message refused', async () => {
    const c = await Client.login(s);
    const r = await appendSync(c, 'APPEND Nope', msg(4));
    assert.equal(r.cont, false);
    assert.equal(r.tagged, 'NO [TRYCREATE] APPEND mailbox does not exist');
    const t = c.nextTag();
    c.write(`${t} APPEND INBOX {0+}\r\n\r\n`);
    assert.equal((await c.until(t)).tagged, 'NO APPEND empty message, cancelling append');
    // Non-synchronizing data for a missing mailbox is read and then refused.
    const t2 = c.nextTag();
    c.write(`${t2} APPEND Nope {5+}\r\nhello\r\n`);
    assert.equal((await c.until(t2)).tagged, 'NO [TRYCREATE] APPEND mailbox does not exist');
    await c.ok('NOOP');
    c.close();
  });

  test('OVERQUOTA: MULTIAPPEND stores all or nothing', async () => {
    const c = await Client.login(s, 'limited@example.org');
    const big = msg(5, 'x'.repeat(1200));
    const t = c.nextTag();
    c.write(`${t} APPEND INBOX {${big.length}+}\r\n${big} {${big.length}+}\r\n${big}\r\n`);
    assert.equal((await c.until(t)).tagged, 'NO [OVERQUOTA] APPEND account storage quota exceeded');
    const a = await s.store.account('limited');
    assert.equal((await a.mailbox('Inbox'))!.counts.total, 0);
    // A synchronizing literal over quota is refused before the data is sent.
    const r = await appendSync(c, 'APPEND INBOX', 'y'.repeat(2500));
    assert.equal(r.cont, false);
    assert.equal(r.tagged, 'NO [OVERQUOTA] APPEND account storage quota exceeded');
    await c.ok('NOOP');
    c.close();
  });

  test('TOOBIG: a message over the APPENDLIMIT', async () => {
    const c = await Client.login(s);
    const r = await appendSync(c, 'APPEND INBOX', 'z'.repeat(5000));
    assert.equal(r.tagged, 'NO [TOOBIG] APPEND message larger than 4000 bytes');
    // Non-synchronizing: the data is already on its way; the connection ends.
    c.write(`A99 APPEND INBOX {5000+}\r\n${'z'.repeat(5000)}\r\n`);
    assert.equal(await c.readLine(), '* BYE [ALERT] message larger than 4000 bytes');
    await assert.rejects(c.readLine(2000), /closed/);
  });
});

describe('literal limits and syntax errors', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({
      limits: { maxLiteralSize: 1000, maxLiteralTotal: 1500, maxLiterals: 3 },
    });
  });
  after(() => s.close());

  test('a synchronizing literal over the limit gets BAD [TOOBIG] and no continuation', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    const t = c.nextTag();
    c.write(`${t} LOGIN {2000}\r\n`);
    assert.equal(
      await c.readLine(),
      `${t} BAD [TOOBIG] LOGIN unrecognized syntax/command: literal larger than 1000 bytes`,
    );
    await c.ok('NOOP');
    c.close();
  });

  test('total literal size and literal count per command', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    const t = c.nextTag();
    const a = 'a'.repeat(900);
    c.write(`${t} ID ("k1" {900}\r\n`);
    assert.equal(await c.readLine(), '+ ');
    c.write(`${a} "k2" {900}\r\n`);
    assert.equal(
      await c.readLine(),
      `${t} BAD [TOOBIG] ID unrecognized syntax/command: literals in command larger than 1500 bytes in total`,
    );
    const t2 = c.nextTag();
    c.write(`${t2} ID ("a" {1+}\r\nx "b" {1+}\r\ny {1+}\r\nz {1}\r\n`);
    // The fourth literal is synchronizing: refused without a continuation.
    assert.equal(
      await c.readLine(),
      `${t2} BAD [TOOBIG] ID unrecognized syntax/command: more than 3 literals in command`,
    );
    await c.ok('NOOP');
    c.close();
  });

  test('a non-synchronizing literal over the limit closes the connection with BYE', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    c.write(`A5 LOGIN {2000+}\r\n${'x'.repeat(2000)} pass\r\n`);
    assert.equal(await c.readLine(), '* BYE [ALERT] literal larger than 1000 bytes');
    await assert.rejects(c.readLine(2000), /closed/);
  });

  test('a syntax error on a line ending in a non-synchronizing literal skips the literal', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    c.write('A7 STATUS INBOX (BOGUS) {9+}\r\nA8 LOGOUT\r\n');
    assert.match(
      await c.readLine(),
      /^A7 BAD STATUS unrecognized syntax\/command: unknown status attribute BOGUS$/,
    );
    // "A8 LOGOUT" was the literal's data: it did not run.
    await c.ok('NOOP');
    c.close();
  });

  test('a line longer than the limit ends the connection', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    c.write('A1 NOOP ' + 'x'.repeat(70_000) + '\r\n');
    assert.equal(await c.readLine(), '* BYE [TOOBIG] line longer than 65536 bytes');
    await assert.rejects(c.readLine(2000), /closed/);
  });
});
