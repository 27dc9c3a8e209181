// TLS client certificates, matched by their public key alone: a registered key gives
// PREAUTH on implicit TLS (PREAUTH is a greeting, RFC 9051 §7.1.4, so never after
// STARTTLS), or AUTHENTICATE EXTERNAL (RFC 4422 Appendix A) with NoIMAPPreauth, for
// clients that ignore PREAUTH; the certificate's account is the only one that may log in
// on that connection.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';
import { publicKeyFingerprint } from '../../src/store/index.js';

const generateKeyPairAsync = promisify(generateKeyPair);
const b64 = (s: string) => Buffer.from(s).toString('base64');

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
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  const pem = forge.pki.certificateToPem(cert);
  const x509 = new X509Certificate(pem);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return { cert: pem, key: privateKey, fingerprint: publicKeyFingerprint(spki), der: x509.raw };
}

async function register(
  s: TestServer,
  c: ClientCert,
  account: string,
  loginAddress: string,
  noIMAPPreauth: boolean,
) {
  await s.store.global.addTLSPublicKey({
    fingerprint: c.fingerprint,
    created: Date.now(),
    name: `${loginAddress} key`,
    type: 'rsa-2048',
    certDER: c.der,
    account,
    loginAddress,
    noIMAPPreauth,
  });
}

const connect = (s: TestServer, cert?: ClientCert) =>
  Client.connect(s.imaps.port, { tls: true, cert: cert && { cert: cert.cert, key: cert.key } });

/** Checks the session is authenticated: SELECT works, LOGIN is no longer allowed. */
async function assertAuthenticated(c: Client) {
  assert.equal((await c.cmd('SELECT INBOX')).tagged, 'OK [READ-WRITE] SELECT done');
  assert.equal(
    (await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`)).tagged,
    'NO LOGIN not allowed in this connection state',
  );
}

async function assertNotAuthenticated(c: Client) {
  assert.equal(
    (await c.cmd('SELECT INBOX')).tagged,
    'NO SELECT not allowed in this connection state',
  );
}

/** Waits for the login attempt of `account` (written on ID, after 1 s, or at close). */
async function lastAttempt(s: TestServer, account: string, mechanism: string) {
  for (let i = 0; i < 60; i++) {
    const r = (await s.store.global.loginAttempts(account)).find((a) => a.mechanism === mechanism);
    if (r) return r;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`no ${mechanism} login attempt for ${account}`);
}

describe('imap TLS client certificates', () => {
  let s: TestServer;
  let preauth: ClientCert;
  let preauthOther: ClientCert;
  let external: ClientCert;
  let unregistered: ClientCert;
  before(async () => {
    s = await startTestServer();
    [preauth, preauthOther, external, unregistered] = await Promise.all([
      makeClientCert('mjl'),
      makeClientCert('other'),
      makeClientCert('mjl external'),
      makeClientCert('nobody'),
    ]);
    await register(s, preauth, 'mjl', 'mjl@example.org', false);
    await register(s, preauthOther, 'mjl', 'other@example.org', false);
    await register(s, external, 'mjl', 'mjl@example.org', true);
  });
  after(() => s.close());

  test('a registered key on IMAPS: PREAUTH greeting, authenticated session', async () => {
    const c = await connect(s, preauth);
    const m = /^\* PREAUTH \[CAPABILITY ([^\]]*)\] Tidings IMAP welcomes mjl@example\.org$/.exec(
      c.greeting,
    );
    assert.ok(m, c.greeting);
    const caps = m[1]!.split(' ');
    assert.equal(caps[0], 'IMAP4rev2');
    for (const cap of caps) assert.doesNotMatch(cap, /^(STARTTLS|LOGINDISABLED|AUTH=.*)$/);
    assert.deepEqual(await c.ok('CAPABILITY'), [`* CAPABILITY ${m[1]}`]);
    await assertAuthenticated(c);
    await c.ok('ID ("name" "certclient")');
    const a = await lastAttempt(s, 'mjl', 'tlsclientauth');
    assert.equal(a.result, 'success');
    assert.equal(a.address, 'mjl@example.org');
    assert.equal(a.tlsKeyFingerprint, preauth.fingerprint);
    assert.equal(a.userAgent, 'certclient');
    assert.match(a.tls, /^TLSv1\.3 TLS_/);
    c.close();
  });

  test('PREAUTH welcomes the login address registered with the key', async () => {
    const c = await connect(s, preauthOther);
    assert.match(
      c.greeting,
      /^\* PREAUTH \[CAPABILITY IMAP4rev2 .*\] Tidings IMAP welcomes other@example\.org$/,
    );
    await assertAuthenticated(c);
    c.close();
  });

  test('NoIMAPPreauth: OK greeting with AUTH=EXTERNAL; EXTERNAL with an empty authzid', async () => {
    for (const withIR of [true, false]) {
      const c = await connect(s, external);
      assert.match(
        c.greeting,
        /^\* OK \[CAPABILITY IMAP4rev2 .* AUTH=EXTERNAL AUTH=SCRAM-SHA-256-PLUS .* AUTH=PLAIN\] Tidings IMAP ready$/,
      );
      await assertNotAuthenticated(c);
      let tagged: string;
      if (withIR) {
        tagged = (await c.cmd('AUTHENTICATE EXTERNAL =')).tagged;
      } else {
        c.write('A9 AUTHENTICATE EXTERNAL\r\n');
        assert.equal(await c.readLine(), '+ ');
        c.write('\r\n');
        tagged = (await c.until('A9')).tagged;
      }
      assert.match(tagged, /^OK \[CAPABILITY IMAP4rev2 [^\]]*\] AUTHENTICATE done$/);
      assert.doesNotMatch(tagged, /AUTH=|STARTTLS/);
      await assertAuthenticated(c);
      c.close();
    }
    const a = await lastAttempt(s, 'mjl', 'external');
    assert.equal(a.result, 'success');
    assert.equal(a.address, 'mjl@example.org');
    assert.equal(a.tlsKeyFingerprint, external.fingerprint);
  });

  test('EXTERNAL with an address of the same account; another account is refused', async () => {
    const c = await connect(s, external);
    await c.ok('NOOP');
    assert.equal(
      (await c.cmd(`AUTHENTICATE EXTERNAL ${b64('limited@example.org')}`)).tagged,
      'NO [AUTHORIZATIONFAILED] AUTHENTICATE authorization failed',
    );
    assert.equal(
      (await c.cmd(`AUTHENTICATE EXTERNAL ${b64('nobody@example.org')}`)).tagged,
      'NO [AUTHORIZATIONFAILED] AUTHENTICATE authorization failed',
    );
    await assertNotAuthenticated(c);
    const r = await c.cmd(`AUTHENTICATE EXTERNAL ${b64('other@example.org')}`);
    assert.match(r.tagged, /^OK \[CAPABILITY IMAP4rev2 [^\]]*\] AUTHENTICATE done$/);
    await assertAuthenticated(c);
    c.close();
  });

  test('with a key, only its account may log in by password', async () => {
    const c = await connect(s, external);
    assert.equal(
      (await c.cmd(`LOGIN limited@example.org ${PASSWORD}`)).tagged,
      'NO [AUTHENTICATIONFAILED] LOGIN login failed',
    );
    const plain = b64(`\0limited@example.org\0${PASSWORD}`);
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${plain}`)).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
    );
    await assertNotAuthenticated(c);
    const ok = await c.cmd(`LOGIN other@example.org ${PASSWORD}`);
    assert.match(ok.tagged, /^OK \[CAPABILITY IMAP4rev2 [^\]]*\] LOGIN done$/);
    c.close();
  });

  test('an unregistered certificate, or none: normal greeting without AUTH=EXTERNAL', async () => {
    for (const cert of [unregistered, undefined]) {
      const c = await connect(s, cert);
      assert.match(
        c.greeting,
        /^\* OK \[CAPABILITY IMAP4rev2 .* AUTH=CRAM-MD5 AUTH=PLAIN\] Tidings IMAP ready$/,
      );
      assert.doesNotMatch(c.greeting, /AUTH=EXTERNAL/);
      await c.ok('NOOP');
      assert.equal(
        (await c.cmd('AUTHENTICATE EXTERNAL =')).tagged,
        'NO AUTHENTICATE no client certificate',
      );
      // Any account may log in.
      await c.ok(`LOGIN limited@example.org ${PASSWORD}`);
      c.close();
    }
  });

  test('the plain port: no PREAUTH, before or after STARTTLS with a certificate', async () => {
    const c = await Client.connect(s.imap.port);
    assert.match(c.greeting, /^\* OK \[CAPABILITY /);
    await c.startTLS({ cert: preauth.cert, key: preauth.key });
    await assertNotAuthenticated(c);
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    c.close();
  });

  test('after STARTTLS a registered certificate allows AUTHENTICATE EXTERNAL', async () => {
    const c = await Client.connect(s.imap.port);
    await c.startTLS({ cert: preauth.cert, key: preauth.key });
    const caps = await c.ok('CAPABILITY');
    assert.match(caps[0]!, / AUTH=EXTERNAL( |$)/);
    const r = await c.cmd('AUTHENTICATE EXTERNAL =');
    assert.match(r.tagged, /^OK \[CAPABILITY .*\] AUTHENTICATE done$/);
    await assertAuthenticated(c);
    c.close();
  });

  test('a PREAUTH key of a login-disabled account: normal greeting, EXTERNAL gives the reason', async () => {
    const disabled = await makeClientCert('disabled');
    await register(s, disabled, 'disabled', 'disabled@example.org', false);
    const c = await Client.connect(s.imaps.port, {
      tls: true,
      cert: { cert: disabled.cert, key: disabled.key },
    });
    assert.match(c.greeting, /^\* OK \[CAPABILITY .*AUTH=EXTERNAL.*\] Tidings IMAP ready$/);
    const r = await c.cmd('AUTHENTICATE EXTERNAL =');
    assert.equal(
      r.tagged,
      'NO AUTHENTICATE login disabled: account under maintenance, try again tomorrow',
    );
    c.close();
  });

  test('TLS sessions resume, also with a client certificate requested', async () => {
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const) {
      const tls = await import('node:tls');
      const session = await new Promise<Buffer>((resolve, reject) => {
        const sock = tls.connect({
          host: '127.0.0.1',
          port: s.imaps.port,
          rejectUnauthorized: false,
          maxVersion,
        });
        sock.once('session', (sess: Buffer) => {
          resolve(sess);
          sock.destroy();
        });
        sock.on('data', () => {}); // TLS 1.3 tickets arrive after the handshake, with data
        sock.once('error', reject);
      });
      const again = tls.connect({
        host: '127.0.0.1',
        port: s.imaps.port,
        rejectUnauthorized: false,
        maxVersion,
        session,
      });
      await new Promise<void>((resolve, reject) => {
        again.once('secureConnect', () => resolve());
        again.once('error', reject);
      });
      assert.equal(again.isSessionReused(), true, maxVersion);
      const greeting = await new Promise<string>((resolve) =>
        again.once('data', (d) => resolve(d.toString())),
      );
      assert.match(greeting, /^\* OK \[CAPABILITY /);
      again.destroy();
    }
  });
});
