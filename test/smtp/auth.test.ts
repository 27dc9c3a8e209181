// SMTP AUTH on the submission ports (RFC 4954; port 25 takes mail from anyone and has no
// logins, so AUTH there is 503): every mechanism through the project's SASL client, SCRAM
// channel binding (RFC 5802 §6) on TLS 1.3 (tls-exporter, RFC 9266) and TLS 1.2
// (tls-unique, RFC 5929), TLS client certificates (a registered public key logs its
// account in, so no AUTH is needed), the error replies (RFC 4954 §6), and the recorded
// login attempts.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import net from 'node:net';
import { once } from 'node:events';
import { X509Certificate, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import {
  startSmtpTestServer,
  SmtpTestClient,
  PASSWORD,
  type Reply,
  type SmtpTestServer,
} from './harness.js';
import {
  channelBindingFromSocket,
  createSaslClient,
  type ChannelBindingName,
  type SaslClient,
  type SaslClientOptions,
} from '../../src/sasl/index.js';
import { AuthFailureLimiter } from '../../src/net/index.js';
import { publicKeyFingerprint, type LoginAttemptRow } from '../../src/store/index.js';

/** Limiter windows are clock minutes; a fixed clock keeps a test's failures in one. */
const FIXED_CLOCK = () => 0;

const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');
const plain = (user: string, pass: string, authz = '') => b64(`${authz}\0${user}\0${pass}`);
const OK = ['235 2.7.0 authentication successful'];
const MECHS = 'SCRAM-SHA-256-PLUS SCRAM-SHA-256 SCRAM-SHA-1-PLUS SCRAM-SHA-1 CRAM-MD5 PLAIN LOGIN';

/** An error reply: one line, `expected` followed by " (<cid>)". */
function assertError(r: Reply, expected: string): void {
  assert.equal(r.lines.length, 1, r.text);
  const m = /^(.*) \(([0-9a-z]+)\)$/.exec(r.lines[0]!);
  assert.ok(m, `no connection id in ${JSON.stringify(r.text)}`);
  assert.equal(m[1], expected);
}

/** What sasl() needs of a connection: the harness client or a Lines client. */
type Conn = { write(s: string): void; reply(): Promise<Reply> };

/**
 * A line client on any socket, for TLS connections the harness cannot make (a TLS
 * version limit, a client certificate after STARTTLS).
 */
class Lines implements Conn {
  private buf = '';
  private wake: () => void = () => {};
  private ended = false;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      this.wake();
    });
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  /** Implicit TLS with extra options; reads the greeting. */
  static async tls(port: number, opts: tls.ConnectionOptions): Promise<Lines> {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    await once(sock, 'secureConnect', { signal: AbortSignal.timeout(10_000) });
    const c = new Lines(sock);
    assert.equal((await c.reply()).code, 220);
    return c;
  }

  /** EHLO and STARTTLS on a harness client, then TLS with extra options. */
  static async starttls(c: SmtpTestClient, opts: tls.ConnectionOptions): Promise<Lines> {
    await c.ok('EHLO client.example');
    await c.ok('STARTTLS', 220);
    c.socket.removeAllListeners('data');
    c.socket.removeAllListeners('close');
    const sock = tls.connect({ socket: c.socket, rejectUnauthorized: false, ...opts });
    await once(sock, 'secureConnect', { signal: AbortSignal.timeout(10_000) });
    return new Lines(sock);
  }

  write(s: string): void {
    this.socket.write(s);
  }

  async reply(): Promise<Reply> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const lines = this.buf.split('\r\n');
      const end = lines.findIndex((l) => l.length < 4 || l[3] === ' ');
      if (end >= 0 && end < lines.length - 1) {
        this.buf = lines.slice(end + 1).join('\r\n');
        const got = lines.slice(0, end + 1);
        return { code: Number(got[0]!.slice(0, 3)), lines: got, text: got.join('\n') };
      }
      if (this.ended) throw new Error(`connection closed after ${JSON.stringify(this.buf)}`);
      if (Date.now() > deadline) throw new Error('timeout waiting for a reply');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  }

  async cmd(line: string): Promise<Reply> {
    this.write(`${line}\r\n`);
    return this.reply();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * Runs AUTH with a SASL client, answering each 334 challenge. With `ir` the initial
 * response goes on the command line ("=" when empty, RFC 4954 §4). Returns the 334 lines
 * and the final reply.
 */
async function sasl(
  c: Conn,
  client: SaslClient,
  ir = true,
): Promise<{ challenges: string[]; reply: Reply }> {
  const first = ir ? client.start() : null;
  const arg = first === null ? '' : ` ${first.length === 0 ? '=' : b64(first)}`;
  c.write(`AUTH ${client.mechanism}${arg}\r\n`);
  const challenges: string[] = [];
  for (;;) {
    const r = await c.reply();
    if (r.code !== 334) return { challenges, reply: r };
    assert.equal(r.lines.length, 1);
    assert.match(r.lines[0]!, /^334 [A-Za-z0-9+/]*={0,2}$/);
    challenges.push(r.lines[0]!);
    c.write(`${b64(client.step(Buffer.from(r.lines[0]!.slice(4), 'base64')))}\r\n`);
  }
}

const client = (mech: string, o: Partial<SaslClientOptions> = {}) =>
  createSaslClient(mech, { username: 'mjl@example.org', password: PASSWORD, ...o });

const tlsOf = (sock: net.Socket) => {
  const t = sock as tls.TLSSocket;
  return `${t.getProtocol()} ${t.getCipher().name}`;
};

function channelBinding(sock: net.Socket, type: ChannelBindingName) {
  const data = channelBindingFromSocket(sock as tls.TLSSocket, { side: 'client' }).channelBinding(
    type,
  );
  assert.ok(data, `no ${type} channel binding`);
  return { type, data };
}

/** After a successful AUTH: MAIL is accepted; a second AUTH is not. */
async function assertAuthenticated(c: Conn): Promise<void> {
  c.write('MAIL FROM:<mjl@example.org>\r\n');
  assert.deepEqual((await c.reply()).lines, ['250 2.1.0 sender ok']);
  c.write('RSET\r\n');
  assert.equal((await c.reply()).code, 250);
  c.write(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}\r\n`);
  assertError(await c.reply(), '503 5.5.1 already authenticated');
}

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
});

/** The latest recorded attempt of `account` with `mechanism`. */
async function attempt(s: SmtpTestServer, account: string, mechanism: string) {
  const r = (await s.store.global.loginAttempts(account, 1000)).find(
    (a) => a.mechanism === mechanism,
  );
  assert.ok(r, `no ${mechanism} attempt for ${account}`);
  return pick(r);
}

const generous = () =>
  new AuthFailureLimiter({ perMinute: [10_000, 10_000, 10_000], perDay: [10_000, 10_000, 10_000] });

describe('smtp AUTH mechanisms', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer({ limiters: { authFailures: generous() } });
  });
  after(() => s.close());

  /** A submission connection after STARTTLS and EHLO. */
  async function submission(): Promise<SmtpTestClient> {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.ok('EHLO client.example');
    await c.starttls();
    await c.ok('EHLO client.example');
    return c;
  }

  test('PLAIN with an initial response, recorded with protocol, mechanism and TLS', async () => {
    const c = await submission();
    assert.deepEqual(
      (await c.ok(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`, 235)).lines,
      OK,
    );
    await assertAuthenticated(c);
    assert.deepEqual(await attempt(s, 'mjl', 'plain'), {
      account: 'mjl',
      address: 'mjl@example.org',
      protocol: 'submission',
      mechanism: 'plain',
      result: 'success',
      remoteIP: '127.0.0.1',
      localIP: '127.0.0.1',
      tls: tlsOf(c.socket),
      tlsKeyFingerprint: '',
    });
    assert.match(tlsOf(c.socket), /^TLSv1\.3 TLS_/);
    c.close();
  });

  test('PLAIN through an empty 334 challenge; lowercase mechanism; two spaces', async () => {
    const c = await submission();
    const r = await c.ok('AUTH PLAIN', 334);
    assert.deepEqual(r.lines, ['334 ']);
    assert.deepEqual((await c.ok(plain('mjl@example.org', PASSWORD), 235)).lines, OK);
    c.close();
    const d = await submission();
    const x = await sasl(d, client('plain'), false);
    assert.deepEqual(x.challenges, ['334 ']);
    assert.deepEqual(x.reply.lines, OK);
    d.close();
    // Windows Mail puts two spaces before the initial response.
    const e = await submission();
    assert.deepEqual(
      (await e.ok(`auth plain  ${plain('other@example.org', PASSWORD)}`, 235)).lines,
      OK,
    );
    assert.equal((await attempt(s, 'mjl', 'plain')).address, 'other@example.org');
    e.close();
  });

  test('PLAIN: "=" is an empty response, not bad base64', async () => {
    const c = await submission();
    const bad = '501 5.5.4 PLAIN message must have exactly three NUL-separated fields';
    assertError(await c.cmd('AUTH PLAIN ='), bad);
    await c.ok('AUTH PLAIN', 334);
    assertError(await c.cmd('='), bad);
    assertError(await c.cmd(`AUTH PLAIN ${b64('mjl@example.org\0testtest')}`), bad);
    c.close();
  });

  test('LOGIN: Username: and Password: challenges', async () => {
    const c = await submission();
    const r = await sasl(c, client('LOGIN'));
    assert.deepEqual(r.challenges, ['334 VXNlcm5hbWU6', '334 UGFzc3dvcmQ6']);
    assert.deepEqual(r.reply.lines, OK);
    await assertAuthenticated(c);
    assert.equal((await attempt(s, 'mjl', 'login')).result, 'success');
    c.close();
  });

  test('CRAM-MD5: a msg-id challenge with the host name', async () => {
    const c = await submission();
    const r = await sasl(c, client('CRAM-MD5'));
    assert.equal(r.challenges.length, 1);
    const ch = Buffer.from(r.challenges[0]!.slice(4), 'base64').toString();
    assert.match(ch, /^<[^.<>@]+\.\d+@mail\.example\.org>$/);
    assert.deepEqual(r.reply.lines, OK);
    await assertAuthenticated(c);
    assert.equal((await attempt(s, 'mjl', 'cram-md5')).result, 'success');
    c.close();
  });

  test('SCRAM-SHA-1 and SCRAM-SHA-256, the server final message verified', async () => {
    for (const mech of ['SCRAM-SHA-1', 'SCRAM-SHA-256']) {
      const c = await submission();
      const r = await sasl(c, client(mech));
      // server-first, then server-final with the verifier (answered with an empty line).
      assert.equal(r.challenges.length, 2);
      assert.match(Buffer.from(r.challenges[1]!.slice(4), 'base64').toString(), /^v=/);
      assert.deepEqual(r.reply.lines, OK);
      await assertAuthenticated(c);
      assert.deepEqual(await attempt(s, 'mjl', mech.toLowerCase()), {
        ...(await attempt(s, 'mjl', mech.toLowerCase())),
        result: 'success',
        tls: tlsOf(c.socket),
      });
      c.close();
    }
  });

  test('SCRAM-*-PLUS on TLS 1.3 (tls-exporter): after STARTTLS and on submissions', async () => {
    for (const mech of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS']) {
      const c = await submission();
      assert.equal((c.socket as tls.TLSSocket).getProtocol(), 'TLSv1.3');
      const r = await sasl(
        c,
        client(mech, { channelBinding: channelBinding(c.socket, 'tls-exporter') }),
      );
      assert.deepEqual(r.reply.lines, OK);
      await assertAuthenticated(c);
      c.close();
      const d = await SmtpTestClient.open(s.submissions.port, { tls: true });
      await d.ok('EHLO client.example');
      const x = await sasl(
        d,
        client(mech, { channelBinding: channelBinding(d.socket, 'tls-exporter') }),
      );
      assert.deepEqual(x.reply.lines, OK);
      assert.deepEqual((await attempt(s, 'mjl', mech.toLowerCase())).result, 'success');
      d.close();
    }
  });

  test('SCRAM-*-PLUS on TLS 1.2 (tls-unique): after STARTTLS and on submissions', async () => {
    const opts = { maxVersion: 'TLSv1.2' as const };
    for (const mech of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS']) {
      const c = await Lines.starttls(await SmtpTestClient.open(s.submission.port), opts);
      assert.equal((c.socket as tls.TLSSocket).getProtocol(), 'TLSv1.2');
      assert.equal((await c.cmd('EHLO client.example')).code, 250);
      const r = await sasl(
        c,
        client(mech, { channelBinding: channelBinding(c.socket, 'tls-unique') }),
      );
      assert.deepEqual(r.reply.lines, OK);
      await assertAuthenticated(c);
      assert.deepEqual((await attempt(s, 'mjl', mech.toLowerCase())).tls, tlsOf(c.socket));
      assert.match(tlsOf(c.socket), /^TLSv1\.2 /);
      c.close();
      const d = await Lines.tls(s.submissions.port, opts);
      assert.equal((await d.cmd('EHLO client.example')).code, 250);
      const x = await sasl(
        d,
        client(mech, { channelBinding: channelBinding(d.socket, 'tls-unique') }),
      );
      assert.deepEqual(x.reply.lines, OK);
      d.close();
    }
  });

  test('SCRAM channel binding mismatch and downgrade: 535 5.7.7', async () => {
    const mitm = '535 5.7.7 channel bindings do not match, potential mitm';
    const c = await submission();
    const wrong = { type: 'tls-exporter' as const, data: randomBytes(32) };
    const r = await sasl(c, client('SCRAM-SHA-256-PLUS', { channelBinding: wrong }));
    assert.equal(r.challenges.length, 1);
    assertError(r.reply, mitm);
    // tls-unique does not exist on TLS 1.3.
    const u = await sasl(
      c,
      client('SCRAM-SHA-256-PLUS', {
        channelBinding: { type: 'tls-unique', data: randomBytes(12) },
      }),
    );
    assertError(u.reply, '538 5.7.11 channel binding tls-unique not available on TLSv1.3');
    // gs2 flag "y": the client could bind but thinks the server cannot, yet it can.
    const y = await sasl(c, client('SCRAM-SHA-256', { channelBinding: wrong }));
    assertError(y.reply, mitm);
    assert.equal((await attempt(s, 'mjl', 'scram-sha-256-plus')).result, 'badchannelbinding');
    // The "y" flag is refused before the user name is looked at.
    assert.equal((await attempt(s, '', 'scram-sha-256')).result, 'badchannelbinding');
    c.close();
  });

  test('bad credentials: 535 5.7.8 for every mechanism, recorded as badcredentials', async () => {
    const failed = '535 5.7.8 authentication failed';
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']) {
      const c = await submission();
      const r = await sasl(c, client(mech, { password: 'wrong' }));
      assertError(r.reply, failed);
      assert.equal((await attempt(s, 'mjl', mech.toLowerCase())).result, 'badcredentials');
      // Not authenticated.
      assertError(await c.cmd('MAIL FROM:<mjl@example.org>'), '530 5.7.0 authentication required');
      c.close();
    }
    const c = await submission();
    assertError(await c.cmd(`AUTH PLAIN ${plain('nobody@example.org', PASSWORD)}`), failed);
    // PLAIN with an authorization identity other than the user.
    assertError(
      await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD, 'limited@example.org')}`),
      failed,
    );
    c.close();
    // SCRAM for an unknown user (spec §2).
    const d = await submission();
    const r = await sasl(d, client('SCRAM-SHA-256', { username: 'nobody@example.org' }));
    assertError(r.reply, '454 4.3.0 scram not possible');
    d.close();
  });

  test('"*" aborts: 501 5.5.0', async () => {
    const aborted = '501 5.5.0 authentication aborted';
    const c = await submission();
    assert.deepEqual((await c.ok('AUTH LOGIN', 334)).lines, ['334 VXNlcm5hbWU6']);
    assertError(await c.cmd('*'), aborted);
    await c.ok('AUTH SCRAM-SHA-256 ' + b64(client('SCRAM-SHA-256').start()!), 334);
    assertError(await c.cmd('*'), aborted);
    assert.equal((await attempt(s, 'mjl', 'scram-sha-256')).result, 'aborted');
    await c.ok(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`, 235);
    c.close();
  });

  test('bad base64: 501 5.5.2, on the command line and as a response', async () => {
    const bad = '501 5.5.2 invalid base64';
    const c = await submission();
    assertError(await c.cmd('AUTH PLAIN !!!!'), bad);
    assertError(await c.cmd('AUTH PLAIN abc'), bad);
    // "*" cancels only in answer to a challenge (RFC 4954 §4).
    assertError(await c.cmd('AUTH PLAIN *'), bad);
    await c.ok('AUTH LOGIN', 334);
    assertError(await c.cmd('not base64!'), bad);
    c.close();
  });

  test('unknown mechanism: 504 5.5.4; no mechanism: 501', async () => {
    const c = await submission();
    assertError(await c.cmd('AUTH NTLM'), '504 5.5.4 mechanism NTLM not supported');
    assertError(await c.cmd('AUTH XOAUTH2 dGVzdA=='), '504 5.5.4 mechanism XOAUTH2 not supported');
    assertError(await c.cmd('AUTH'), '501 5.5.4 missing mechanism');
    await c.ok(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`, 235);
    c.close();
  });

  test('before STARTTLS no mechanism is announced or accepted, and nothing is submitted', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    const ehlo = await c.ok('EHLO client.example');
    assert.ok(!ehlo.lines.some((l) => /AUTH/.test(l)), ehlo.lines.join('\n'));
    const needTLS = '538 5.7.11 authentication requires TLS: use STARTTLS first';
    assertError(await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`), needTLS);
    assertError(await c.cmd('AUTH LOGIN'), needTLS);
    // Challenge-response mechanisms too: the mail that follows would be in cleartext.
    for (const mech of ['CRAM-MD5', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'SCRAM-SHA-256-PLUS']) {
      assertError(await c.cmd(`AUTH ${mech}`), needTLS);
    }
    assertError(await c.cmd('AUTH EXTERNAL ='), needTLS);
    assertError(
      await c.cmd('MAIL FROM:<mjl@example.org>'),
      '530 5.7.0 submission requires TLS: use STARTTLS first',
    );
    const rows = (await s.store.global.loginAttempts('', 1000)).filter(
      (a) => a.tls === '' && a.protocol === 'submission',
    );
    for (const mech of ['plain', 'cram-md5', 'scram-sha-256']) {
      assert.ok(
        rows.some((a) => a.mechanism === mech && a.result === 'badprotocol'),
        mech,
      );
    }
    // After STARTTLS the same mechanism works.
    await c.starttls();
    await c.ok('EHLO client.example');
    assert.deepEqual((await sasl(c, client('CRAM-MD5'))).reply.lines, OK);
    c.close();
  });

  test('AUTH on port 25: 503', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    const no = '503 5.5.1 authentication not allowed during smtp delivery';
    assertError(await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`), no);
    await c.starttls();
    await c.ok('EHLO client.example');
    assertError(await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`), no);
    c.close();
  });

  test('AUTH twice and AUTH during a transaction: 503', async () => {
    const c = await submission();
    await c.ok(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`, 235);
    assertError(
      await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`),
      '503 5.5.1 already authenticated',
    );
    await c.ok('MAIL FROM:<mjl@example.org>');
    assertError(
      await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`),
      '503 5.5.1 authentication not allowed during mail transaction',
    );
    c.close();
  });

  test('a login-disabled account: 525 5.7.13 with its message', async () => {
    const disabled = '525 5.7.13 login disabled: account under maintenance, try again tomorrow';
    for (const mech of ['PLAIN', 'SCRAM-SHA-256']) {
      const c = await submission();
      const r = await sasl(c, client(mech, { username: 'disabled@example.org' }));
      assertError(r.reply, disabled);
      assert.equal((await attempt(s, 'disabled', mech.toLowerCase())).result, 'logindisabled');
      assertError(
        await c.cmd('MAIL FROM:<disabled@example.org>'),
        '530 5.7.0 authentication required',
      );
      c.close();
    }
  });

  test('MAIL, RCPT and DATA before AUTH on submission: 530 5.7.0', async () => {
    const c = await submission();
    const need = '530 5.7.0 authentication required';
    assertError(await c.cmd('MAIL FROM:<mjl@example.org>'), need);
    assertError(await c.cmd('RCPT TO:<mjl@example.org>'), need);
    assertError(await c.cmd('DATA'), need);
    c.close();
  });
});

describe('smtp AUTH with missing secrets', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer({
      delays: { badClient: 20 },
      limiters: { authFailures: generous() },
    });
    await (await s.store.account('limited')).setSecrets({});
  });
  after(() => s.close());

  test('454 4.3.0, recorded as error, not counted as a failure', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await c.ok('EHLO client.example');
    const user = { username: 'limited@example.org' };
    for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'PLAIN']) {
      const r = await sasl(c, client(mech, user));
      assertError(r.reply, `454 4.3.0 ${mech.toLowerCase()} not possible for this account`);
      assert.equal((await attempt(s, 'limited', mech.toLowerCase())).result, 'error');
    }
    // Four attempts, and no slow mode: a reply comes in one piece.
    let chunks = 0;
    c.socket.on('data', () => chunks++);
    await c.ok('NOOP');
    assert.equal(chunks, 1);
    c.close();
  });
});

describe('smtp AUTH without required STARTTLS', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer({
      noRequireSTARTTLS: true,
      limiters: { authFailures: generous() },
    });
  });
  after(() => s.close());

  test('PLAIN on plaintext; -PLUS still needs TLS', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.ok('EHLO client.example');
    assertError(await c.cmd('AUTH SCRAM-SHA-1-PLUS'), '538 5.7.11 SCRAM-SHA-1-PLUS requires TLS');
    assert.deepEqual(
      (await c.ok(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`, 235)).lines,
      OK,
    );
    assert.deepEqual(await attempt(s, 'mjl', 'plain'), {
      ...(await attempt(s, 'mjl', 'plain')),
      result: 'success',
      tls: '',
    });
    await assertAuthenticated(c);
    c.close();
  });
});

// ---- TLS client certificates ----

const generateKeyPairAsync = promisify(generateKeyPair);

type ClientCert = { cert: string; key: string; fingerprint: string; der: Buffer };

/** A self-signed client certificate and its public-key fingerprint. */
async function makeClientCert(cn: string): Promise<ClientCert> {
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = `01${randomBytes(8).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer([{ name: 'commonName', value: cn }]);
  cert.setExtensions([{ name: 'extKeyUsage', clientAuth: true }]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  const x509 = new X509Certificate(pem);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return { cert: pem, key: privateKey, fingerprint: publicKeyFingerprint(spki), der: x509.raw };
}

async function register(
  s: SmtpTestServer,
  c: ClientCert,
  account: string,
  loginAddress: string,
): Promise<void> {
  await s.store.global.addTLSPublicKey({
    fingerprint: c.fingerprint,
    created: Date.now(),
    name: `${loginAddress} key`,
    type: 'rsa-2048',
    certDER: c.der,
    account,
    loginAddress,
    noIMAPPreauth: false,
  });
}

describe('smtp TLS client certificates', () => {
  let s: SmtpTestServer;
  let mjl: ClientCert;
  let disabled: ClientCert;
  let unknown: ClientCert;
  before(async () => {
    s = await startSmtpTestServer({ limiters: { authFailures: generous() } });
    [mjl, disabled, unknown] = await Promise.all([
      makeClientCert('mjl'),
      makeClientCert('disabled'),
      makeClientCert('unknown'),
    ]);
    await register(s, mjl, 'mjl', 'mjl@example.org');
    await register(s, disabled, 'disabled', 'disabled@example.org');
  });
  after(() => s.close());

  const withCert = (c: ClientCert) => ({ cert: { certPem: c.cert, keyPem: c.key } });

  test('submissions: a registered key authenticates, no AUTH needed', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true, ...withCert(mjl) });
    const r = await c.ok('EHLO client.example');
    assert.ok(r.lines.includes(`250-AUTH EXTERNAL ${MECHS}`), r.text);
    assert.deepEqual((await c.ok('MAIL FROM:<mjl@example.org>')).lines, ['250 2.1.0 sender ok']);
    assert.deepEqual(await attempt(s, 'mjl', 'tlsclientauth'), {
      account: 'mjl',
      address: 'mjl@example.org',
      protocol: 'submission',
      mechanism: 'tlsclientauth',
      result: 'success',
      remoteIP: '127.0.0.1',
      localIP: '127.0.0.1',
      tls: tlsOf(c.socket),
      tlsKeyFingerprint: mjl.fingerprint,
    });
    c.close();
  });

  test('AUTH EXTERNAL with "=" confirms the certificate; then no more AUTH', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true, ...withCert(mjl) });
    await c.ok('EHLO client.example');
    assert.deepEqual((await c.ok('AUTH EXTERNAL =', 235)).lines, OK);
    assert.equal((await attempt(s, 'mjl', 'external')).tlsKeyFingerprint, mjl.fingerprint);
    await assertAuthenticated(c);
    c.close();
    // Without an initial response: an empty challenge, answered with an empty line.
    const d = await SmtpTestClient.open(s.submissions.port, { tls: true, ...withCert(mjl) });
    await d.ok('EHLO client.example');
    assert.deepEqual((await d.ok('AUTH EXTERNAL', 334)).lines, ['334 ']);
    assert.deepEqual((await d.ok('', 235)).lines, OK);
    d.close();
  });

  test('after a certificate, SASL for the same account works, for another it fails', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true, ...withCert(mjl) });
    await c.ok('EHLO client.example');
    const failed = '535 5.7.8 authentication failed';
    assertError(await c.cmd(`AUTH PLAIN ${plain('limited@example.org', PASSWORD)}`), failed);
    assertError(await c.cmd(`AUTH EXTERNAL ${b64('limited@example.org')}`), failed);
    // Another address of the same account: allowed, and that name wins.
    assert.deepEqual(
      (await c.ok(`AUTH PLAIN ${plain('other@example.org', PASSWORD)}`, 235)).lines,
      OK,
    );
    assert.deepEqual(await attempt(s, 'mjl', 'plain'), {
      ...(await attempt(s, 'mjl', 'plain')),
      address: 'other@example.org',
      result: 'success',
      tlsKeyFingerprint: mjl.fingerprint,
    });
    await assertAuthenticated(c);
    c.close();
  });

  test('after STARTTLS on submission, with the certificate given in the handshake', async () => {
    const c = await Lines.starttls(await SmtpTestClient.open(s.submission.port), {
      cert: mjl.cert,
      key: mjl.key,
    });
    const r = await c.cmd('EHLO client.example');
    assert.ok(r.lines.includes(`250-AUTH EXTERNAL ${MECHS}`), r.text);
    assert.deepEqual((await c.cmd('MAIL FROM:<mjl@example.org>')).lines, ['250 2.1.0 sender ok']);
    c.close();
  });

  test('an unregistered key: not authenticated, EXTERNAL fails', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true, ...withCert(unknown) });
    const r = await c.ok('EHLO client.example');
    assert.ok(r.lines.includes(`250-AUTH ${MECHS}`), r.text);
    assertError(await c.cmd('MAIL FROM:<mjl@example.org>'), '530 5.7.0 authentication required');
    assertError(await c.cmd('AUTH EXTERNAL ='), '535 5.7.8 no tls client certificate');
    await c.ok(`AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`, 235);
    c.close();
  });

  test('a key of a login-disabled account: recorded, not authenticated, EXTERNAL 525', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true, ...withCert(disabled) });
    await c.ok('EHLO client.example');
    assert.equal((await attempt(s, 'disabled', 'tlsclientauth')).result, 'logindisabled');
    assertError(
      await c.cmd('MAIL FROM:<disabled@example.org>'),
      '530 5.7.0 authentication required',
    );
    assertError(
      await c.cmd('AUTH EXTERNAL ='),
      '525 5.7.13 login disabled: account under maintenance, try again tomorrow',
    );
    c.close();
  });
});

describe('smtp TLS client certificates over the failed-auth limit', () => {
  let s: SmtpTestServer;
  let mjl: ClientCert;
  before(async () => {
    s = await startSmtpTestServer({
      noRequireSTARTTLS: true,
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [2, 100, 100] }),
      },
    });
    mjl = await makeClientCert('mjl');
    await register(s, mjl, 'mjl', 'mjl@example.org');
  });
  after(() => s.close());

  test('the certificate is not looked at', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.ok('EHLO client.example');
    for (let i = 0; i < 2; i++) {
      assertError(
        await c.cmd(`AUTH PLAIN ${plain('mjl@example.org', 'wrong')}`),
        '535 5.7.8 authentication failed',
      );
    }
    const t = await Lines.starttls(c, { cert: mjl.cert, key: mjl.key });
    const r = await t.cmd('EHLO client.example');
    assert.ok(r.lines.includes(`250-AUTH ${MECHS}`), r.text);
    assertError(await t.cmd('MAIL FROM:<mjl@example.org>'), '530 5.7.0 authentication required');
    t.close();
  });
});
