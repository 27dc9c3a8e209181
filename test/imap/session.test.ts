// Connection-level behaviour: greeting, capabilities, STARTTLS, LOGIN, state checks,
// first-command rule, LOGOUT.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';
import { Flag } from '../../src/store/index.js';

describe('imap session', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('greeting carries capabilities; plaintext login is refused before STARTTLS', async () => {
    const c = await Client.connect(s.imap.port);
    assert.match(
      c.greeting,
      /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .* STARTTLS LOGINDISABLED\] Tidings IMAP ready$/,
    );
    assert.doesNotMatch(c.greeting, /AUTH=/);
    const r = await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`);
    assert.equal(r.tagged, 'NO [PRIVACYREQUIRED] LOGIN login only allowed with TLS');
    await c.startTLS();
    const caps = await c.ok('CAPABILITY');
    assert.match(caps[0]!, /AUTH=PLAIN/);
    assert.doesNotMatch(caps[0]!, /STARTTLS|LOGINDISABLED/);
    const ok = await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`);
    assert.match(ok.tagged, /^OK \[CAPABILITY IMAP4rev2 .*\] LOGIN done$/);
    c.close();
  });

  test('STARTTLS: plaintext pipelined after it is not executed', async () => {
    const c = await Client.connect(s.imap.port);
    // The client sends STARTTLS and, in the same packet, a command in plaintext.
    c.write('A1 STARTTLS\r\nA2 LOGIN mjl@example.org testtest\r\n');
    const r = await c.until('A1');
    assert.match(r.tagged, /^OK STARTTLS \(\w+\) done$/);
    // The plaintext bytes go to the TLS handshake, which fails: never a LOGIN reply.
    await assert.rejects(c.readLine(2000), /closed|timeout/);
    c.close();
  });

  test('wrong password, unknown user, login disabled', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.equal(
      (await c.cmd('LOGIN mjl@example.org wrong')).tagged,
      'NO [AUTHENTICATIONFAILED] LOGIN login failed',
    );
    assert.equal(
      (await c.cmd('LOGIN nobody@example.org wrong')).tagged,
      'NO [AUTHENTICATIONFAILED] LOGIN login failed',
    );
    assert.equal(
      (await c.cmd(`LOGIN disabled@example.org ${PASSWORD}`)).tagged,
      'NO LOGIN login disabled: account under maintenance, try again tomorrow',
    );
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    c.close();
  });

  test('state checks: commands in the wrong state get NO, unknown ones BAD', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    assert.equal(
      (await c.cmd('SELECT INBOX')).tagged,
      'NO SELECT not allowed in this connection state',
    );
    assert.match(
      (await c.cmd('FROBNICATE')).tagged,
      /^BAD FROBNICATE unrecognized syntax\/command: unknown command$/,
    );
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    assert.equal(
      (await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`)).tagged,
      'NO LOGIN not allowed in this connection state',
    );
    assert.equal((await c.cmd('CHECK')).tagged, 'NO CHECK not allowed in this connection state');
    await c.ok('SELECT INBOX');
    await c.ok('CHECK');
    assert.equal(
      (await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`)).tagged,
      'NO LOGIN not allowed in this connection state',
    );
    assert.equal(
      (await c.cmd('STARTTLS')).tagged,
      'NO STARTTLS not allowed in this connection state',
    );
    c.close();
  });

  test('a first command that is not IMAP gets BYE and the connection closes', async () => {
    const c = await Client.connect(s.imap.port);
    c.write('GET / HTTP/1.1\r\n');
    assert.equal(await c.readLine(), '* BYE please try again speaking imap');
    await assert.rejects(c.readLine(2000), /closed/);
  });

  test('LOGOUT says BYE, OK, and closes', async () => {
    const c = await Client.connect(s.imap.port);
    const r = await c.cmd('LOGOUT');
    assert.deepEqual(r.untagged, ['* BYE thanks']);
    assert.equal(r.tagged, 'OK LOGOUT done');
    await assert.rejects(c.readLine(2000), /closed/);
  });

  test('LOGOUT sends no mailbox updates, only BYE', async () => {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    // Another session adds and removes messages meanwhile.
    const a = await s.store.account('mjl');
    const p = await s.store.prepareMessage(Buffer.from('Subject: x\r\n\r\nx\r\n'));
    const added = await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
    const inbox = (await a.mailbox('Inbox'))!.id;
    await a.storeFlags(inbox, [added.messages[0]!.uid], { mode: 'add', flags: Flag.Deleted }, null);
    const r = await c.cmd('LOGOUT');
    assert.deepEqual(r.untagged, ['* BYE thanks']);
    assert.equal(r.tagged, 'OK LOGOUT done');
  });

  test('ID at the maxima of RFC 2971 §3.3: 30 fields, values of 1024 octets', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    const fields = Array.from(
      { length: 30 },
      (_, i) => `"field-${String(i).padStart(2, '0')}" "${'v'.repeat(1024)}"`,
    );
    const r = await c.cmd(`ID (${fields.join(' ')})`);
    assert.deepEqual(r.untagged, ['* ID ("name" "Tidings")']);
    assert.equal(r.tagged, 'OK ID done');
    assert.equal((await c.cmd('NOOP')).tagged, 'OK NOOP done');
    c.close();
  });

  test('ID', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.deepEqual(await c.ok('ID ("name" "test" "version" "1.0")'), ['* ID ("name" "Tidings")']);
    assert.match((await c.cmd('ID ("name" "a" "name" "b")')).tagged, /^BAD .*duplicate/);
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    assert.match(
      (await c.ok('ID NIL'))[0]!,
      /^\* ID \("name" "Tidings" "version" "\d+\.\d+\.\d+"\)$/,
    );
    c.close();
  });
});
