// Quick ACKs: the native addon is built at install on Linux and sets TCP_QUICKACK on the
// TCP socket under a plain or a TLS connection, and on nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import { quickAck, quickAckAvailable } from './quickack.js';
import { generateSelfSigned } from './index.js';

test('the addon is built and sets quick ACKs on plain and TLS sockets only', async (t) => {
  if (process.platform !== 'linux') return t.skip('TCP_QUICKACK is a Linux socket option');
  assert.ok(quickAckAvailable(), 'native/build/quickack.node: run npm install with a C compiler');
  const addon = createRequire(import.meta.url)('../../native/build/quickack.node') as {
    quickack(fd: unknown): boolean;
  };
  // Not a socket, not a descriptor, not a number.
  assert.equal(addon.quickack(0), false);
  assert.equal(addon.quickack(-1), false);
  assert.equal(addon.quickack('7'), false);

  const cert = await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const seen: boolean[] = [];
  const server = net.createServer((s) => {
    seen.push(quickAck(s));
    const secure = new tls.TLSSocket(s, { isServer: true, cert: cert.certPem, key: cert.keyPem });
    secure.on('secure', () => {
      seen.push(quickAck(secure));
      secure.end();
    });
    secure.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const client = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await new Promise<void>((r) => client.on('close', () => r()).on('error', () => r()));
  server.close();
  assert.deepEqual(seen, [true, true]);
});
