// The connection server's gate for implicit TLS: connections still in their handshake
// count per network, and one over the limit is closed at once and logged with its
// address (it cannot be told why before TLS).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { startConnectionServer, type ServedConnection } from './serve.js';
import { ConnectionCounter } from './ratelimit.js';
import { generateSelfSigned } from './selfsigned.js';
import { createLogger } from '../log/index.js';

test('over the limit of handshakes in progress: closed at once, and logged', async () => {
  const cert = await generateSelfSigned({ hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const lines: string[] = [];
  const log = createLogger({ level: 'info', destination: { write: (l: string) => lines.push(l) } });
  const served: ServedConnection[] = [];
  const srv = await startConnectionServer({
    host: '127.0.0.1',
    port: 0,
    name: 'imaps listener',
    implicitTLS: { key: cert.keyPem, cert: cert.certPem },
    connection: (socket) => {
      const c: ServedConnection = {
        socket,
        serve: async () => {
          socket.end('hello\r\n');
        },
        shutdown: () => undefined,
      };
      served.push(c);
      return c;
    },
    pendingHandshakes: new ConnectionCounter({ limits: [1, 1, 1] }),
    log,
  });
  try {
    // Holds a handshake open: connects and sends nothing.
    const holder = net.connect({ host: '127.0.0.1', port: srv.port });
    await new Promise((r) => holder.once('connect', r));
    const second = net.connect({ host: '127.0.0.1', port: srv.port });
    const closed = await new Promise<boolean>((resolve) => {
      second.once('close', () => resolve(true));
      second.on('error', () => undefined);
    });
    assert.equal(closed, true);
    assert.ok(
      lines.some(
        (l) =>
          l.includes('too many TLS handshakes in progress') &&
          l.includes('"remote":"127.0.0.1"') &&
          l.includes('"listener":"imaps listener"'),
      ),
      lines.join(''),
    );
    holder.destroy();
    // Once the holder is gone (the server notices its close), a real client gets through.
    let data = '';
    for (let i = 0; i < 200 && data === ''; i++) {
      const ok = tls.connect({ host: '127.0.0.1', port: srv.port, rejectUnauthorized: false });
      ok.on('error', () => undefined);
      data = await new Promise<string>((resolve) => {
        ok.once('data', (d) => resolve(String(d)));
        ok.once('close', () => resolve(''));
      });
      ok.destroy();
      if (data === '') await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(data, 'hello\r\n');
  } finally {
    await srv.close();
  }
});
