import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { LineReader, Writer } from './linereader.js';
import { ensureSelfSigned, generateSelfSigned, type SelfSigned } from './selfsigned.js';
import { socketPair } from './testutil.js';
import {
  TlsHandshakeError,
  TlsHandshakeTimeoutError,
  acceptImplicitTLS,
  upgradeToTLS,
} from './starttls.js';
import { TlsConfigError, loadTlsContext, selectCertificate, type TlsServerOptions } from './tls.js';

let dir = '';
let certA: SelfSigned;
let certB: SelfSigned;
let opts: TlsServerOptions;
const files = { a: { cert_file: '', key_file: '' }, b: { cert_file: '', key_file: '' } };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidings-tls-'));
  [certA, certB] = await Promise.all([
    generateSelfSigned({ hostnames: ['a.test'], ips: ['127.0.0.1', '::1'] }),
    generateSelfSigned({ hostnames: ['*.b.test', 'mail.c.test'], days: 10 }),
  ]);
  for (const [name, c] of [
    ['a', certA],
    ['b', certB],
  ] as const) {
    files[name] = { cert_file: join(dir, `${name}.crt`), key_file: join(dir, `${name}.key`) };
    await writeFile(files[name].cert_file, c.certPem);
    await writeFile(files[name].key_file, c.keyPem);
  }
  opts = loadTlsContext([files.a, files.b]);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('self-signed certificate fields', () => {
  const x = new X509Certificate(certA.certPem);
  assert.equal(x.subject, 'CN=a.test');
  assert.equal(x.issuer, 'CN=a.test');
  assert.equal(x.subjectAltName, 'DNS:a.test, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
  const from = Date.parse(x.validFrom);
  assert.ok(from <= Date.now() - 59 * 60_000 && from >= Date.now() - 62 * 60_000, x.validFrom);
  const days = (Date.parse(x.validTo) - from) / 86_400_000;
  assert.ok(days > 365 && days < 365.1, String(days));
  assert.equal(x.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  assert.ok(x.verify(x.publicKey));
  const y = new X509Certificate(certB.certPem);
  assert.notEqual(x.serialNumber, y.serialNumber);
  assert.equal(y.subject, 'CN=*.b.test');
  assert.equal(y.subjectAltName, 'DNS:*.b.test, DNS:mail.c.test');
});

async function presented(
  servername: string | undefined,
  clientOpts: tls.ConnectionOptions = {},
): Promise<{ cn: string; authorized: boolean; protocol: string | null }> {
  const server = tls.createServer(opts, (s) => s.end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const c = tls.connect({
      host: '127.0.0.1',
      port,
      servername,
      rejectUnauthorized: false,
      ...clientOpts,
    });
    await once(c, 'secureConnect');
    const cert = c.getPeerCertificate();
    const out = {
      cn: String(cert.subject.CN),
      authorized: c.authorized,
      protocol: c.getProtocol(),
    };
    c.destroy();
    return out;
  } finally {
    server.close();
  }
}

test('SNI picks the certificate by name, wildcard, or the first', async () => {
  assert.equal((await presented('a.test')).cn, 'a.test');
  assert.equal((await presented('mx.b.test')).cn, '*.b.test');
  assert.equal((await presented('MX.B.TEST.')).cn, '*.b.test');
  assert.equal((await presented('mail.c.test')).cn, '*.b.test');
  assert.equal((await presented('b.test')).cn, 'a.test'); // wildcard needs a label
  assert.equal((await presented('x.mx.b.test')).cn, 'a.test'); // one label only
  assert.equal((await presented('other.test')).cn, 'a.test');
  assert.equal((await presented(undefined)).cn, 'a.test');
});

test('clients trusting the certificate verify its names', async () => {
  const a = await presented('a.test', { ca: certA.certPem, rejectUnauthorized: true });
  assert.deepEqual(a, { cn: 'a.test', authorized: true, protocol: 'TLSv1.3' });
  const b = await presented('imap.b.test', { ca: certB.certPem, rejectUnauthorized: true });
  assert.deepEqual(b, { cn: '*.b.test', authorized: true, protocol: 'TLSv1.3' });
});

test('TLS 1.2 is accepted, older versions are not', async () => {
  const v12 = await presented('a.test', { maxVersion: 'TLSv1.2' });
  assert.equal(v12.protocol, 'TLSv1.2');
  assert.equal(opts.minVersion, 'TLSv1.2');
  await assert.rejects(
    presented('a.test', {
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    }),
    /protocol|version/i,
  );
});

test('selectCertificate prefers an exact name over a wildcard', () => {
  const certs = [{ names: ['x.test'] }, { names: ['*.d.test'] }, { names: ['mail.d.test'] }];
  assert.equal(selectCertificate(certs, 'mail.d.test'), certs[2]);
  assert.equal(selectCertificate(certs, 'imap.d.test'), certs[1]);
  assert.equal(selectCertificate(certs, ''), certs[0]);
});

test('configuration errors name the file', async () => {
  const missing = join(dir, 'missing.crt');
  assert.throws(
    () => loadTlsContext([{ cert_file: missing, key_file: files.a.key_file }]),
    (err: unknown) => {
      assert.ok(err instanceof TlsConfigError);
      assert.equal(err.file, missing);
      assert.match(err.message, new RegExp(`^${missing}: reading certificate: ENOENT`));
      return true;
    },
  );
  assert.throws(
    () => loadTlsContext([{ cert_file: files.a.cert_file, key_file: join(dir, 'nokey') }]),
    new RegExp(`^TlsConfigError: ${join(dir, 'nokey')}: reading private key: ENOENT`),
  );
  assert.throws(
    () => loadTlsContext([{ cert_file: files.a.cert_file, key_file: files.b.key_file }]),
    new RegExp(`${files.b.key_file}: private key does not match certificate ${files.a.cert_file}`),
  );
  const junk = join(dir, 'junk.crt');
  await writeFile(junk, 'not a certificate\n');
  assert.throws(
    () => loadTlsContext([{ cert_file: junk, key_file: files.a.key_file }]),
    new RegExp(`^TlsConfigError: ${junk}: not a valid certificate`),
  );
  assert.throws(() => loadTlsContext([]), /no TLS certificates configured/);
});

test('ensureSelfSigned creates files once, key private', async () => {
  const d = join(dir, 'keys');
  const f = await ensureSelfSigned(d, ['localhost', '127.0.0.1']);
  assert.deepEqual(f, { cert_file: join(d, 'localhost.crt'), key_file: join(d, 'localhost.key') });
  assert.equal((await stat(f.key_file)).mode & 0o777, 0o600);
  const pem = await readFile(f.cert_file, 'utf8');
  const x = new X509Certificate(pem);
  assert.equal(x.subject, 'CN=localhost');
  assert.equal(x.subjectAltName, 'DNS:localhost, IP Address:127.0.0.1');
  const again = await ensureSelfSigned(d, ['localhost']);
  assert.deepEqual(again, f);
  assert.equal(await readFile(f.cert_file, 'utf8'), pem);
  await unlink(f.cert_file);
  await ensureSelfSigned(d, ['localhost']);
  assert.notEqual(await readFile(f.cert_file, 'utf8'), pem);
  assert.doesNotThrow(() => loadTlsContext([f]));
});

/** A client that starts TLS on its plain socket right after sending `line`. */
function startTlsClient(client: Socket, line: string): Promise<tls.TLSSocket> {
  client.write(line);
  const c = tls.connect({ socket: client, servername: 'a.test', ca: certA.certPem });
  return once(c, 'secureConnect').then(() => c);
}

test('STARTTLS: bytes buffered after the command go into the handshake', async () => {
  const p = await socketPair();
  try {
    const r = new LineReader(p.server);
    const clientTls = startTlsClient(p.client, 'a STARTTLS\r\n');
    assert.equal((await r.readLine(100)).line.toString(), 'a STARTTLS');
    // Wait until part of the ClientHello sits in the reader's buffer.
    for (let i = 0; i < 400 && r.bufferedBytes === 0; i++)
      await new Promise((res) => setTimeout(res, 5));
    const buffered = r.detach();
    assert.equal(buffered[0], 0x16); // TLS handshake record
    const s = await upgradeToTLS(p.server, opts, { buffered });
    const c = await clientTls;
    assert.equal(c.authorized, true);
    assert.equal(s.servername, 'a.test');

    const sr = new LineReader(s);
    const sw = new Writer(s);
    c.write('b NOOP\r\n');
    assert.equal((await sr.readLine(100)).line.toString(), 'b NOOP');
    sw.write('b OK done\r\n');
    await sw.flush();
    const cr = new LineReader(c);
    assert.equal((await cr.readLine(100)).line.toString(), 'b OK done');
    c.destroy();
  } finally {
    p.close();
  }
});

test('STARTTLS: plaintext injected after the command fails the handshake', async () => {
  const p = await socketPair();
  try {
    const r = new LineReader(p.server);
    p.client.write('a STARTTLS\r\nb DELETE INBOX\r\n');
    assert.equal((await r.readLine(100)).line.toString(), 'a STARTTLS');
    for (let i = 0; i < 400 && r.bufferedBytes < 16; i++)
      await new Promise((res) => setTimeout(res, 5));
    const buffered = r.detach();
    assert.equal(buffered.toString(), 'b DELETE INBOX\r\n');
    const closed = once(p.client, 'close');
    await assert.rejects(upgradeToTLS(p.server, opts, { buffered }), TlsHandshakeError);
    await closed;
  } finally {
    p.close();
  }
});

test('TLS handshake timeout closes the connection', async () => {
  const p = await socketPair();
  try {
    const closed = once(p.client, 'close');
    await assert.rejects(
      upgradeToTLS(p.server, opts, { handshakeTimeoutMs: 40 }),
      (err: unknown) => {
        assert.ok(err instanceof TlsHandshakeTimeoutError);
        assert.equal(err.message, 'TLS handshake not completed within 40 ms');
        return true;
      },
    );
    await closed;
    assert.equal(p.server.destroyed, true);
  } finally {
    p.close();
  }
});

test('implicit TLS accept on a plain listener', async () => {
  const accepted: Promise<tls.TLSSocket>[] = [];
  const server = createServer((s) => {
    accepted.push(acceptImplicitTLS(s, opts));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'x.b.test', ca: certB.certPem });
    await once(c, 'secureConnect');
    assert.equal(c.authorized, true);
    assert.equal(accepted.length, 1);
    const s = await (accepted[0] as Promise<tls.TLSSocket>);
    assert.equal(s.servername, 'x.b.test');
    s.end('* OK hello\r\n');
    const r = new LineReader(c);
    assert.equal((await r.readLine(100)).line.toString(), '* OK hello');
    c.destroy();
  } finally {
    server.close();
  }
});

test('implicit TLS accept: a client that never starts the handshake is dropped at the deadline', async () => {
  const accepted: Promise<tls.TLSSocket>[] = [];
  const server = createServer((s) => {
    accepted.push(acceptImplicitTLS(s, opts, { handshakeTimeoutMs: 100 }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  try {
    const { connect } = await import('node:net');
    const silent = connect({ host: '127.0.0.1', port });
    await once(silent, 'connect');
    const closed = once(silent, 'close');
    await assert.rejects(accepted[0] as Promise<tls.TLSSocket>, TlsHandshakeTimeoutError);
    await closed;
    // A client whose first bytes come late, but within the deadline, gets its handshake.
    const late = connect({ host: '127.0.0.1', port });
    await once(late, 'connect');
    await new Promise((r) => setTimeout(r, 20));
    const c = tls.connect({ socket: late, servername: 'x.b.test', ca: certB.certPem });
    await once(c, 'secureConnect');
    assert.equal((await (accepted[1] as Promise<tls.TLSSocket>)).servername, 'x.b.test');
    c.destroy();
  } finally {
    server.close();
  }
});
