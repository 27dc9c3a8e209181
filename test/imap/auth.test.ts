// AUTHENTICATE and LOGIN over the protocol (RFC 9051 §6.2, RFC 4959 SASL-IR, RFC 4616
// PLAIN, RFC 2195 CRAM-MD5, RFC 5802/7677 SCRAM, RFC 5530 codes): replies, the
// continuation flow, slow mode on failures, and the recorded login attempts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import { randomBytes } from 'node:crypto';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';
import {
  channelBindingFromSocket,
  createSaslClient,
  type SaslClient,
  type SaslClientOptions,
} from '../../src/sasl/index.js';
import type { LoginAttemptRow } from '../../src/store/index.js';

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const plain = (user: string, pass: string, authz = '') => b64(`${authz}\0${user}\0${pass}`);

/**
 * Runs AUTHENTICATE with a SASL client, answering every continuation. With `ir` the
 * initial response goes on the command line (SASL-IR). Returns the continuation lines
 * and the tagged reply without its tag.
 */
async function sasl(
  c: Client,
  client: SaslClient,
  ir = true,
): Promise<{ conts: string[]; tagged: string }> {
  const tag = c.nextTag();
  const first = ir ? client.start() : null;
  const arg = first === null ? '' : ` ${first.length === 0 ? '=' : b64(first)}`;
  c.write(`${tag} AUTHENTICATE ${client.mechanism}${arg}\r\n`);
  const conts: string[] = [];
  for (;;) {
    const line = await c.readLine();
    if (line.startsWith(`${tag} `)) return { conts, tagged: line.slice(tag.length + 1) };
    assert.match(line, /^\+ [A-Za-z0-9+/=]*$/);
    conts.push(line);
    const resp = client.step(Buffer.from(line.slice(2), 'base64'));
    c.write(`${resp.length === 0 ? '' : b64(resp)}\r\n`);
  }
}

const client = (mech: string, o: Partial<SaslClientOptions> = {}) =>
  createSaslClient(mech, { username: 'mjl@example.org', password: PASSWORD, ...o });

/** The capability list of a successful LOGIN/AUTHENTICATE, checked against CAPABILITY. */
async function assertAuthOK(c: Client, tagged: string, cmd = 'AUTHENTICATE') {
  const m = /^OK \[CAPABILITY ([^\]]*)\] (\w+) done$/.exec(tagged);
  assert.ok(m, tagged);
  assert.equal(m[2], cmd);
  const caps = m[1]!.split(' ');
  assert.equal(caps[0], 'IMAP4rev2');
  for (const cap of caps) assert.doesNotMatch(cap, /^(STARTTLS|LOGINDISABLED|AUTH=.*)$/);
  // Authenticated now: the list equals the one CAPABILITY gives, and SELECT is allowed.
  assert.deepEqual(await c.ok('CAPABILITY'), [`* CAPABILITY ${m[1]}`]);
  assert.equal((await c.cmd('SELECT INBOX')).tagged, 'OK [READ-WRITE] SELECT done');
}

/** Waits for login attempts to be written (they wait for ID, up to 1 s). */
async function attempts(
  s: TestServer,
  account: string,
  n: number,
  timeoutMs = 3000,
): Promise<LoginAttemptRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await s.store.global.loginAttempts(account);
    if (rows.length >= n || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tlsOf = (c: Client) => {
  const t = c.socket as TLSSocket;
  return `${t.getProtocol()} ${t.getCipher().name}`;
};

describe('imap AUTHENTICATE PLAIN', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('with an initial response (SASL-IR)', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    const r = await c.cmd(`AUTHENTICATE PLAIN ${plain('mjl@example.org', PASSWORD)}`);
    await assertAuthOK(c, r.tagged);
    assert.equal(
      (await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`)).tagged,
      'NO LOGIN not allowed in this connection state',
    );
    c.close();
  });

  test('without an initial response: empty "+ " continuation, then the response', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    c.write('A1 authenticate plain\r\n');
    assert.equal(await c.readLine(), '+ ');
    // An authzid equal to the user is allowed (RFC 4616 §2); the account name logs in too.
    c.write(`${plain('mjl', PASSWORD, 'mjl')}\r\n`);
    await assertAuthOK(c, (await c.until('A1')).tagged, 'authenticate');
    c.close();
  });

  test('the reply echoes the command name in the client casing', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    const r = await c.cmd(`Authenticate Plain ${plain('mjl@example.org', PASSWORD)}`);
    assert.match(r.tagged, /^OK \[CAPABILITY IMAP4rev2 [^\]]*\] Authenticate done$/);
    c.close();
  });

  test('bad password, unknown user, another authzid', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${plain('mjl@example.org', 'wrong')}`)).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
    );
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${plain('nobody@example.org', PASSWORD)}`)).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
    );
    const other = plain('mjl@example.org', PASSWORD, 'limited@example.org');
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${other}`)).tagged,
      'NO [AUTHORIZATIONFAILED] AUTHENTICATE authorization failed',
    );
    // Still not authenticated.
    assert.equal(
      (await c.cmd('SELECT INBOX')).tagged,
      'NO SELECT not allowed in this connection state',
    );
    c.close();
  });

  test('"*" aborts with BAD; invalid base64 is BAD; "=" is an empty response', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP'); // a first command that is not IMAP would end the connection
    c.write('A1 AUTHENTICATE PLAIN\r\n');
    assert.equal(await c.readLine(), '+ ');
    c.write('*\r\n');
    assert.equal(
      (await c.until('A1')).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: authentication aborted',
    );
    // Two fields only ("\0ex").
    assert.equal(
      (await c.cmd('AUTHENTICATE PLAIN AGV4')).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: PLAIN message must have exactly three NUL-separated fields',
    );
    assert.equal(
      (await c.cmd('AUTHENTICATE PLAIN abc')).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: invalid base64',
    );
    const tag = c.nextTag();
    c.write(`${tag} AUTHENTICATE PLAIN\r\n`);
    assert.equal(await c.readLine(), '+ ');
    c.write('AG1qbA=x\r\n');
    assert.equal(
      (await c.until(tag)).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: invalid base64',
    );
    // "=": an empty initial response, which PLAIN cannot use.
    assert.equal(
      (await c.cmd('AUTHENTICATE PLAIN =')).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: PLAIN message must have exactly three NUL-separated fields',
    );
    // The connection is still usable.
    await assertAuthOK(
      c,
      (await c.cmd(`AUTHENTICATE PLAIN ${plain('mjl@example.org', PASSWORD)}`)).tagged,
    );
    c.close();
  });

  test('SASL LOGIN and unknown mechanisms are refused', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.equal(
      (await c.cmd('AUTHENTICATE LOGIN')).tagged,
      'NO AUTHENTICATE method not supported',
    );
    assert.equal(
      (await c.cmd(`AUTHENTICATE LOGIN ${b64('mjl@example.org')}`)).tagged,
      'NO AUTHENTICATE method not supported',
    );
    assert.equal(
      (await c.cmd('AUTHENTICATE GSSAPI')).tagged,
      'NO AUTHENTICATE method not supported',
    );
    assert.equal(await c.pending(), '');
    c.close();
  });

  test('before STARTTLS: PRIVACYREQUIRED; after STARTTLS it works', async () => {
    const c = await Client.connect(s.imap.port);
    assert.doesNotMatch(c.greeting, /AUTH=PLAIN/);
    const ir = plain('mjl@example.org', PASSWORD);
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${ir}`)).tagged,
      'NO [PRIVACYREQUIRED] AUTHENTICATE PLAIN only allowed with TLS',
    );
    // Without an initial response the server refuses before asking for one.
    assert.equal(
      (await c.cmd('AUTHENTICATE PLAIN')).tagged,
      'NO [PRIVACYREQUIRED] AUTHENTICATE PLAIN only allowed with TLS',
    );
    await c.startTLS();
    await assertAuthOK(c, (await c.cmd(`AUTHENTICATE PLAIN ${ir}`)).tagged);
    c.close();
  });

  test('login disabled: the admin message, no code', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${plain('disabled@example.org', PASSWORD)}`)).tagged,
      'NO AUTHENTICATE login disabled: account under maintenance, try again tomorrow',
    );
    const r = await sasl(c, client('SCRAM-SHA-256', { username: 'disabled@example.org' }));
    assert.equal(r.conts.length, 2);
    assert.equal(
      r.tagged,
      'NO AUTHENTICATE login disabled: account under maintenance, try again tomorrow',
    );
    c.close();
    const rows = await attempts(s, 'disabled', 2);
    assert.deepEqual(rows.map((a) => [a.mechanism, a.result, a.address]).sort(), [
      ['plain', 'logindisabled', 'disabled@example.org'],
      ['scram-sha-256', 'logindisabled', 'disabled@example.org'],
    ]);
  });
});

describe('imap AUTHENTICATE CRAM-MD5 and SCRAM', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('no mechanism before TLS, not even CRAM-MD5 or SCRAM; all of them after STARTTLS', async () => {
    const c = await Client.connect(s.imap.port);
    // RFC 9051 §6.2.3: LOGINDISABLED, and nothing to AUTHENTICATE with.
    assert.match(c.greeting, / STARTTLS LOGINDISABLED\]/);
    assert.doesNotMatch(c.greeting, /AUTH=/);
    for (const mech of [
      'CRAM-MD5',
      'SCRAM-SHA-256',
      'SCRAM-SHA-1',
      'SCRAM-SHA-256-PLUS',
      'PLAIN',
    ]) {
      const cb = { type: 'tls-exporter' as const, data: randomBytes(32) };
      const r = await sasl(c, client(mech, mech.endsWith('-PLUS') ? { channelBinding: cb } : {}));
      assert.deepEqual(r, {
        conts: [],
        tagged: `NO [PRIVACYREQUIRED] AUTHENTICATE ${mech} only allowed with TLS`,
      });
    }
    // Still not authenticated: mail cannot be read over this connection.
    assert.equal(
      (await c.cmd('SELECT INBOX')).tagged,
      'NO SELECT not allowed in this connection state',
    );
    await c.startTLS();
    assert.match(
      (await c.ok('CAPABILITY'))[0]!,
      / AUTH=SCRAM-SHA-256-PLUS .* AUTH=CRAM-MD5 AUTH=PLAIN$/,
    );
    await assertAuthOK(c, (await sasl(c, client('CRAM-MD5'))).tagged);
    c.close();
  });

  test('CRAM-MD5 over TLS', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.match(c.greeting, / AUTH=CRAM-MD5[ \]]/);
    const r = await sasl(c, client('CRAM-MD5'));
    assert.equal(r.conts.length, 1);
    const challenge = Buffer.from(r.conts[0]!.slice(2), 'base64').toString();
    assert.match(challenge, /^<\d+\.\d+@mail\.example\.org>$/);
    await assertAuthOK(c, r.tagged);
    c.close();
  });

  test('CRAM-MD5 failures: bad password, unknown user, bad response syntax', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    assert.equal(
      (await sasl(c, client('CRAM-MD5', { password: 'wrong' }))).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
    );
    assert.equal(
      (await sasl(c, client('CRAM-MD5', { username: 'nobody@example.org' }))).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
    );
    // RFC 4959 §3: an initial response for a server-first mechanism is a BAD.
    assert.equal(
      (await c.cmd(`AUTHENTICATE CRAM-MD5 ${b64('mjl@example.org')}`)).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: CRAM-MD5 does not take an initial response',
    );
    c.write('A9 AUTHENTICATE CRAM-MD5\r\n');
    assert.match(await c.readLine(), /^\+ [A-Za-z0-9+/]+=*$/);
    c.write(`${b64('mjl@example.org 1234')}\r\n`);
    assert.equal(
      (await c.until('A9')).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: CRAM-MD5 response must be "user <32 lowercase hex>"',
    );
    c.close();
  });

  for (const mech of ['SCRAM-SHA-1', 'SCRAM-SHA-256']) {
    test(`${mech} with and without an initial response, over TLS and after STARTTLS`, async () => {
      for (const [port, tls] of [
        [s.imap.port, false],
        [s.imaps.port, true],
      ] as const) {
        for (const ir of [true, false]) {
          const c = await Client.connect(port, { tls });
          if (!tls) await c.startTLS();
          assert.match((await c.ok('CAPABILITY'))[0]!, new RegExp(` AUTH=${mech} `));
          const r = await sasl(c, client(mech), ir);
          // Without SASL-IR the server first asks with an empty challenge.
          assert.equal(r.conts.length, ir ? 2 : 3);
          if (!ir) assert.equal(r.conts[0], '+ ');
          const serverFirst = Buffer.from(r.conts.at(-2)!.slice(2), 'base64').toString();
          assert.match(serverFirst, /^r=[^,]+,s=[A-Za-z0-9+/]+=*,i=4096$/);
          // The server-final message in a continuation; the client answered with "".
          const serverFinal = Buffer.from(r.conts.at(-1)!.slice(2), 'base64').toString();
          assert.match(serverFinal, /^v=[A-Za-z0-9+/]+=*$/);
          await assertAuthOK(c, r.tagged);
          c.close();
        }
      }
    });
  }

  test('SCRAM failures: bad password, unknown user, malformed messages, abort', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    const bad = await sasl(c, client('SCRAM-SHA-256', { password: 'wrong' }));
    assert.equal(bad.conts.length, 1); // no server-final after a bad proof
    assert.equal(bad.tagged, 'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed');
    // Unknown user: no code, the same for SCRAM-SHA-1.
    const nobody = { username: 'nobody@example.org' };
    assert.equal(
      (await sasl(c, client('SCRAM-SHA-1', nobody))).tagged,
      'NO AUTHENTICATE scram not possible',
    );
    // A malformed client-first message: a plain NO.
    assert.equal(
      (await c.cmd(`AUTHENTICATE SCRAM-SHA-256 ${b64('x,,n=mjl,r=abc')}`)).tagged,
      'NO AUTHENTICATE bad scram protocol message: invalid gs2 channel binding flag',
    );
    // A nonce that differs in the client-final message: a plain NO.
    c.write(`A20 AUTHENTICATE SCRAM-SHA-256 ${b64('n,,n=mjl@example.org,r=abcdef')}\r\n`);
    const first = await c.readLine();
    assert.match(first, /^\+ /);
    c.write(`${b64(`c=biws,r=other,p=${b64(randomBytes(32))}`)}\r\n`);
    assert.equal((await c.until('A20')).tagged, 'NO AUTHENTICATE nonce does not match');
    // "*" after the server-first message aborts.
    c.write(`A21 AUTHENTICATE SCRAM-SHA-256 ${b64('n,,n=mjl@example.org,r=abcdef')}\r\n`);
    assert.match(await c.readLine(), /^\+ /);
    c.write('*\r\n');
    assert.equal(
      (await c.until('A21')).tagged,
      'BAD AUTHENTICATE unrecognized syntax/command: authentication aborted',
    );
    c.close();
  });

  test('SCRAM: the client must answer the server-final message with an empty line', async () => {
    for (const answer of ['*', b64('v=x')]) {
      const c = await Client.connect(s.imaps.port, { tls: true });
      await c.ok('NOOP');
      const sc = client('SCRAM-SHA-256');
      c.write(`A1 AUTHENTICATE SCRAM-SHA-256 ${b64(sc.start()!)}\r\n`);
      const serverFirst = await c.readLine();
      c.write(`${b64(sc.step(Buffer.from(serverFirst.slice(2), 'base64')))}\r\n`);
      const final = await c.readLine();
      assert.equal(sc.step(Buffer.from(final.slice(2), 'base64')).length, 0);
      c.write(`${answer}\r\n`);
      const msg =
        answer === '*'
          ? 'authentication aborted'
          : 'expected empty response after final server data';
      assert.equal(
        (await c.until('A1')).tagged,
        `BAD AUTHENTICATE unrecognized syntax/command: ${msg}`,
      );
      assert.equal(
        (await c.cmd('SELECT INBOX')).tagged,
        'NO SELECT not allowed in this connection state',
      );
      c.close();
    }
  });

  test('SCRAM-*-PLUS over IMAPS: tls-exporter on TLS 1.3, tls-unique on TLS 1.2', async () => {
    for (const [version, type] of [
      ['TLSv1.3', 'tls-exporter'],
      ['TLSv1.2', 'tls-unique'],
    ] as const) {
      for (const mech of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS']) {
        const c = await Client.connect(s.imaps.port, {
          tls: true,
          tlsOptions: { maxVersion: version },
        });
        const sock = c.socket as TLSSocket;
        assert.equal(sock.getProtocol(), version);
        const data = channelBindingFromSocket(sock, { side: 'client' }).channelBinding(type);
        assert.ok(data);
        const r = await sasl(c, client(mech, { channelBinding: { type, data } }));
        assert.equal(r.conts.length, 2);
        await assertAuthOK(c, r.tagged);
        c.close();
      }
    }
  });

  test('SCRAM-SHA-256-PLUS after STARTTLS', async () => {
    const c = await Client.connect(s.imap.port);
    await c.startTLS();
    const caps = (await c.ok('CAPABILITY'))[0]!;
    assert.match(caps, / AUTH=SCRAM-SHA-256-PLUS /);
    const data = channelBindingFromSocket(c.socket as TLSSocket, { side: 'client' });
    const type = 'tls-exporter';
    const r = await sasl(
      c,
      client('SCRAM-SHA-256-PLUS', { channelBinding: { type, data: data.channelBinding(type)! } }),
    );
    await assertAuthOK(c, r.tagged);
    c.close();
  });

  test('channel binding mismatch and downgrade: AUTHENTICATIONFAILED ... mitm', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    const wrong = { type: 'tls-exporter' as const, data: randomBytes(32) };
    const r = await sasl(c, client('SCRAM-SHA-256-PLUS', { channelBinding: wrong }));
    assert.equal(r.conts.length, 1);
    assert.equal(
      r.tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE channel binding mismatch, potential mitm',
    );
    // gs2 flag "y" (client can bind, thinks the server cannot) on a connection that can.
    const y = await sasl(c, client('SCRAM-SHA-256', { channelBinding: wrong }));
    assert.equal(
      y.tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE channel binding mismatch, potential mitm',
    );
    c.close();
  });

  test('no_require_starttls: CRAM-MD5 and SCRAM in cleartext, but never -PLUS', async () => {
    const lax = await startTestServer({ noRequireSTARTTLS: true });
    try {
      const c = await Client.connect(lax.imap.port);
      assert.match(c.greeting, / AUTH=SCRAM-SHA-256 /);
      assert.doesNotMatch(c.greeting, /-PLUS|LOGINDISABLED/);
      for (const mech of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS']) {
        assert.equal(
          (await c.cmd(`AUTHENTICATE ${mech}`)).tagged,
          `NO [PRIVACYREQUIRED] AUTHENTICATE ${mech} only allowed with TLS`,
        );
      }
      const cb = { type: 'tls-exporter' as const, data: randomBytes(32) };
      const r = await sasl(c, client('SCRAM-SHA-256-PLUS', { channelBinding: cb }));
      assert.deepEqual(r, {
        conts: [],
        tagged: 'NO [PRIVACYREQUIRED] AUTHENTICATE SCRAM-SHA-256-PLUS only allowed with TLS',
      });
      await assertAuthOK(c, (await sasl(c, client('CRAM-MD5'))).tagged);
      c.close();
    } finally {
      await lax.close();
    }
  });
});

describe('imap authentication: missing secrets', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ delays: { badClient: 20 } });
    // An account whose password was never set.
    await (await s.store.account('limited')).setSecrets({});
  });
  after(() => s.close());

  test('every mechanism says NO, and it is not counted as a failure', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    const user = { username: 'limited@example.org' };
    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5']) {
      assert.equal(
        (await sasl(c, client(mech, user))).tagged,
        `NO AUTHENTICATE ${mech} not possible for this account: set the password again`,
      );
    }
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${plain('limited@example.org', PASSWORD)}`)).tagged,
      'NO AUTHENTICATE PLAIN not possible for this account: set the password again',
    );
    assert.equal(
      (await c.cmd(`LOGIN limited@example.org ${PASSWORD}`)).tagged,
      'NO [AUTHENTICATIONFAILED] LOGIN login failed',
    );
    // Five such attempts, and no slow mode: a reply comes in one piece, not a byte at a time.
    let chunks = 0;
    c.socket.on('data', () => chunks++);
    assert.deepEqual(await c.ok('NOOP'), []);
    assert.equal(chunks, 1);
    const rows = await attempts(s, 'limited', 5);
    assert.deepEqual(rows.map((r) => [r.mechanism, r.result, r.address]).sort(), [
      ['cram-md5', 'error', 'limited@example.org'],
      ['login', 'error', 'limited@example.org'],
      ['plain', 'error', 'limited@example.org'],
      ['scram-sha-1', 'error', 'limited@example.org'],
      ['scram-sha-256', 'error', 'limited@example.org'],
    ]);
    c.close();
  });
});

describe('imap login attempts', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('success over TLS with ID after login; failures; plaintext', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.cmd(`AUTHENTICATE PLAIN ${plain('mjl@example.org', 'wrong')}`);
    await c.ok(`AUTHENTICATE PLAIN ${plain('other@example.org', PASSWORD)}`);
    await c.ok('ID ("name" "testclient" "version" "1.2")');
    const tls = tlsOf(c);
    assert.match(tls, /^TLSv1\.3 TLS_/);
    const rows = await attempts(s, 'mjl', 2);
    const base = {
      account: 'mjl',
      protocol: 'imap',
      mechanism: 'plain',
      remoteIP: '127.0.0.1',
      localIP: '127.0.0.1',
      tls,
      tlsKeyFingerprint: '',
      count: 1,
    };
    const pick = (r: LoginAttemptRow) => ({
      account: r.account,
      address: r.address,
      protocol: r.protocol,
      mechanism: r.mechanism,
      result: r.result,
      remoteIP: r.remoteIP,
      localIP: r.localIP,
      tls: r.tls,
      tlsKeyFingerprint: r.tlsKeyFingerprint,
      userAgent: r.userAgent,
      count: r.count,
    });
    assert.deepEqual(rows.map(pick), [
      // Written when ID arrived, with its user agent.
      { ...base, address: 'other@example.org', result: 'success', userAgent: 'testclient 1.2' },
      // The failure before was written when the next attempt began.
      { ...base, address: 'mjl@example.org', result: 'badcredentials', userAgent: '' },
    ]);
    c.close();

    // Plaintext, where the listener allows it: no TLS details; no ID, so written after a
    // second.
    const lax = await startTestServer({ noRequireSTARTTLS: true });
    try {
      const p = await Client.connect(lax.imap.port);
      const r = await sasl(p, client('SCRAM-SHA-1'));
      assert.match(r.tagged, /^OK /);
      const t0 = Date.now();
      const rows2 = await attempts(lax, 'mjl', 1);
      assert.ok(Date.now() - t0 >= 800, 'attempt written before ID had a chance');
      assert.deepEqual(pick(rows2[0]!), {
        ...base,
        address: 'mjl@example.org',
        mechanism: 'scram-sha-1',
        result: 'success',
        tls: '',
        userAgent: '',
      });
      p.close();
    } finally {
      await lax.close();
    }
  });

  test('each mechanism and result is recorded, with the ID of before the login', async () => {
    const c = await Client.connect(s.imap.port);
    await c.ok('ID ("name" "early")');
    await c.cmd(`LOGIN limited@example.org ${PASSWORD}`); // PRIVACYREQUIRED
    await c.cmd(`AUTHENTICATE PLAIN ${plain('limited@example.org', PASSWORD)}`); // idem
    await sasl(c, client('CRAM-MD5', { username: 'limited' })); // idem, before any user name
    await c.startTLS();
    await sasl(c, client('CRAM-MD5', { username: 'limited', password: 'x' }));
    await sasl(c, client('SCRAM-SHA-256', { username: 'nobody@example.org' }));
    const wrong = { type: 'tls-exporter' as const, data: randomBytes(32) };
    await sasl(c, client('SCRAM-SHA-256-PLUS', { username: 'limited', channelBinding: wrong }));
    await c.cmd(`AUTHENTICATE PLAIN ${plain('limited@example.org', PASSWORD, 'mjl@example.org')}`);
    await sasl(c, client('SCRAM-SHA-1', { username: 'limited@example.org' }));
    const tls = tlsOf(c);
    c.close();
    const rows = await attempts(s, 'limited', 4);
    const got = rows.map((r) => [r.mechanism, r.result, r.address, r.tls, r.userAgent]);
    assert.deepEqual(got.sort(), [
      ['cram-md5', 'badcredentials', 'limited', tls, 'early'],
      ['login', 'badprotocol', 'limited@example.org', '', 'early'],
      ['scram-sha-1', 'success', 'limited@example.org', tls, 'early'],
      ['scram-sha-256-plus', 'badchannelbinding', 'limited', tls, 'early'],
    ]);
    // Attempts that name no known account are recorded without one.
    const anon = (await s.store.global.loginAttempts('')).map((r) => [
      r.mechanism,
      r.result,
      r.address,
    ]);
    assert.deepEqual(anon.sort(), [
      ['cram-md5', 'badprotocol', ''],
      ['plain', 'badcredentials', ''],
      ['plain', 'badprotocol', ''],
      ['scram-sha-256', 'badcredentials', 'nobody@example.org'],
    ]);
  });
});
