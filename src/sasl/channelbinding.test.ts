import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import forge from 'node-forge';
import { channelBindingFromSocket } from './channelbinding.js';
import { createSaslClient, type SaslClientOptions } from './client.js';
import { deriveSecrets, type StoredSecrets } from './secrets.js';
import { createSaslServer, type SaslContext, type SaslStep } from './server.js';

/** A self-signed certificate for "localhost". */
function selfSigned(): { key: string; cert: string } {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKey);
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  const name = [{ name: 'commonName', value: 'localhost' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }]);
  cert.sign(forge.pki.privateKeyFromPem(pair.privateKey), forge.md.sha256.create());
  return { key: pair.privateKey, cert: forge.pki.certificateToPem(cert) };
}

type Version = 'TLSv1.2' | 'TLSv1.3';
interface Pair {
  server: tls.TLSSocket;
  client: tls.TLSSocket;
}

let credentials: { key: string; cert: string };
let tlsServer: tls.Server;
const waiting: ((s: tls.TLSSocket) => void)[] = [];
const sockets: tls.TLSSocket[] = [];
let secrets: StoredSecrets;

before(async () => {
  credentials = selfSigned();
  secrets = await deriveSecrets('pencil', { scrypt: { N: 1024, r: 8, p: 1 }, scramIterations: 32 });
  tlsServer = tls.createServer({ ...credentials, minVersion: 'TLSv1.2' }, (sock) => {
    sockets.push(sock);
    sock.on('error', () => {});
    waiting.shift()?.(sock);
  });
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
});

async function connect(version: Version, session?: Buffer): Promise<Pair> {
  const serverSide = new Promise<tls.TLSSocket>((resolve) => waiting.push(resolve));
  const { port } = tlsServer.address() as AddressInfo;
  const client = tls.connect({
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: credentials.cert,
    minVersion: version,
    maxVersion: version,
    ...(session ? { session } : {}),
  });
  sockets.push(client);
  await new Promise<void>((resolve, reject) => {
    client.once('secureConnect', resolve);
    client.once('error', reject);
  });
  const server = await serverSide;
  assert.equal(client.getProtocol(), version);
  assert.equal(server.getProtocol(), version);
  return { server, client };
}

function context(server: tls.TLSSocket): SaslContext {
  return {
    hostname: 'localhost',
    lookup: async (u) => (u === 'user' ? { account: 'user', secrets } : null),
    tls: channelBindingFromSocket(server),
  };
}

async function authenticate(
  mechanism: string,
  ctx: SaslContext,
  opts: Partial<SaslClientOptions>,
): Promise<SaslStep> {
  const client = createSaslClient(mechanism, { username: 'user', password: 'pencil', ...opts });
  const server = createSaslServer(mechanism, ctx);
  assert.ok(server);
  let step = await server.step(client.start());
  while (step.kind === 'challenge') step = await server.step(client.step(step.data));
  if (step.kind === 'success') client.step(step.final!);
  return step;
}

function reasonOf(step: SaslStep): string {
  return step.kind === 'failure' ? step.reason : step.kind;
}

const exporter = (sock: tls.TLSSocket): Buffer =>
  sock.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));

describe('channel binding over real TLS connections', () => {
  test('TLS 1.3: tls-exporter matches the client end', async () => {
    const { server, client } = await connect('TLSv1.3');
    const info = channelBindingFromSocket(server);
    assert.equal(info.version, 'TLSv1.3');
    const data = exporter(client);
    assert.equal(data.length, 32);
    assert.deepEqual(info.channelBinding('tls-exporter'), data);
    assert.equal(info.channelBinding('tls-unique'), null);
    assert.deepEqual(
      channelBindingFromSocket(client, { side: 'client' }).channelBinding('tls-exporter'),
      data,
    );

    const ctx = context(server);
    for (const mech of ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-1-PLUS']) {
      const ok = await authenticate(mech, ctx, { channelBinding: { type: 'tls-exporter', data } });
      assert.deepEqual(
        { ...ok, final: undefined },
        { kind: 'success', username: 'user', account: 'user', final: undefined },
      );
    }
  });

  test("TLS 1.3: another connection's binding, a downgrade or tls-unique fail", async () => {
    const first = await connect('TLSv1.3');
    const second = await connect('TLSv1.3');
    const foreign = exporter(second.client);
    assert.notDeepEqual(foreign, exporter(first.client));
    const ctx = context(first.server);
    const mismatch = await authenticate('SCRAM-SHA-256-PLUS', ctx, {
      channelBinding: { type: 'tls-exporter', data: foreign },
    });
    assert.equal(reasonOf(mismatch), 'badChannelBinding');
    // The client can bind but uses plain SCRAM: "y" while -PLUS was available.
    const downgrade = await authenticate('SCRAM-SHA-256', ctx, {
      channelBinding: { type: 'tls-exporter', data: exporter(first.client) },
    });
    assert.equal(reasonOf(downgrade), 'badChannelBinding');
    const unique = await authenticate('SCRAM-SHA-256-PLUS', ctx, {
      channelBinding: { type: 'tls-unique', data: Buffer.alloc(12) },
    });
    assert.equal(reasonOf(unique), 'channelBindingUnavailable');
    assert.equal(reasonOf(await authenticate('SCRAM-SHA-256', ctx, {})), 'success');
  });

  test('TLS 1.2 full handshake: tls-unique is the client Finished', async () => {
    const { server, client } = await connect('TLSv1.2');
    assert.equal(server.isSessionReused(), false);
    const info = channelBindingFromSocket(server);
    const data = client.getFinished()!;
    assert.equal(data.length, 12);
    assert.deepEqual(info.channelBinding('tls-unique'), data);
    assert.deepEqual(server.getPeerFinished(), data);
    assert.equal(info.channelBinding('tls-exporter'), null);
    assert.deepEqual(
      channelBindingFromSocket(client, { side: 'client' }).channelBinding('tls-unique'),
      data,
    );

    const ctx = context(server);
    const ok = await authenticate('SCRAM-SHA-1-PLUS', ctx, {
      channelBinding: { type: 'tls-unique', data },
    });
    assert.equal(reasonOf(ok), 'success');
    // The server's Finished is the wrong value on a full handshake.
    const wrong = await authenticate('SCRAM-SHA-1-PLUS', ctx, {
      channelBinding: { type: 'tls-unique', data: client.getPeerFinished()! },
    });
    assert.equal(reasonOf(wrong), 'badChannelBinding');
    const exporterAsked = await authenticate('SCRAM-SHA-256-PLUS', ctx, {
      channelBinding: { type: 'tls-exporter', data: Buffer.alloc(32) },
    });
    assert.equal(reasonOf(exporterAsked), 'channelBindingUnavailable');
    const downgrade = await authenticate('SCRAM-SHA-1', ctx, {
      channelBinding: { type: 'tls-unique', data },
    });
    assert.equal(reasonOf(downgrade), 'badChannelBinding');
  });

  test('TLS 1.2 resumed session: tls-unique is the server Finished', async () => {
    const first = await connect('TLSv1.2');
    const session = first.client.getSession();
    assert.ok(session);
    const { server, client } = await connect('TLSv1.2', session);
    assert.equal(client.isSessionReused(), true);
    assert.equal(server.isSessionReused(), true);
    const data = client.getPeerFinished()!;
    assert.deepEqual(channelBindingFromSocket(server).channelBinding('tls-unique'), data);
    assert.deepEqual(server.getFinished(), data);
    assert.deepEqual(
      channelBindingFromSocket(client, { side: 'client' }).channelBinding('tls-unique'),
      data,
    );
    const ok = await authenticate('SCRAM-SHA-256-PLUS', context(server), {
      channelBinding: { type: 'tls-unique', data },
    });
    assert.equal(reasonOf(ok), 'success');
    const wrong = await authenticate('SCRAM-SHA-256-PLUS', context(server), {
      channelBinding: { type: 'tls-unique', data: client.getFinished()! },
    });
    assert.equal(reasonOf(wrong), 'badChannelBinding');
  });
});
