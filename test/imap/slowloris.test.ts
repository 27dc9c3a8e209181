// Slowloris on the implicit-TLS ports (993, 465): connections that never start their TLS
// handshake are held to the per-network connection limit and dropped at a deadline, so
// that one network cannot exhaust the server's file descriptors or memory while other
// clients wait. Bounded: 2,000 connections per listener, closed at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestServer, Client, PASSWORD } from './harness.js';
import { SmtpTestClient, startSmtpTestServer } from '../smtp/harness.js';
import { ConnectionCounter } from '../../src/net/index.js';

const HELD = 2000;
const LIMITS: [number, number, number] = [30, 90, 270];

/** Opens `n` TCP connections that send nothing; counts the ones the server closes. */
async function holdConnections(port: number, n: number) {
  const sockets: net.Socket[] = [];
  let closed = 0;
  for (let i = 0; i < n; i += 100) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(n, i + 100); j++) {
      const s = net.connect({ host: '127.0.0.1', port });
      s.on('error', () => {});
      s.on('close', () => closed++);
      sockets.push(s);
      batch.push(new Promise<void>((resolve) => s.once('connect', resolve).once('close', resolve)));
    }
    await Promise.all(batch);
  }
  return {
    open: () => n - closed,
    close: () => sockets.forEach((s) => s.destroy()),
  };
}

async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 30 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('imaps: 2,000 silent connections from one network; another client is served', async () => {
  const s = await startTestServer({
    limiters: { connections: new ConnectionCounter({ limits: LIMITS }) },
  });
  const held = await holdConnections(s.imaps.port, HELD);
  try {
    // All but the network's share of pending handshakes are closed at once.
    await waitFor('server closes the excess', () => held.open() <= LIMITS[0]);
    assert.ok(held.open() > 0, 'the first connections wait for their handshake');
    // A client from another address is served while they are held.
    const c = await Client.connect(s.imaps.port, { tls: true, localAddress: '127.0.0.2' });
    assert.match(c.greeting, /^\* OK /);
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    await c.ok('SELECT INBOX');
    c.close();
    assert.ok(held.open() > 0, 'the held connections were still open');
  } finally {
    held.close();
    await s.close();
  }
});

test('submissions: 2,000 silent connections from one network; another client is served', async () => {
  const s = await startSmtpTestServer({
    limiters: { connections: new ConnectionCounter({ limits: LIMITS }) },
  });
  const held = await holdConnections(s.submissions.port, HELD);
  try {
    await waitFor('server closes the excess', () => held.open() <= LIMITS[0]);
    const c = await SmtpTestClient.open(s.submissions.port, {
      tls: true,
      localAddress: '127.0.0.2',
    });
    await c.login('mjl@example.org', PASSWORD, false);
    c.close();
    assert.ok(held.open() > 0, 'the held connections were still open');
  } finally {
    held.close();
    await s.close();
  }
});
