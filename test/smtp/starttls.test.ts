// STARTTLS (RFC 3207) over loopback: the go-ahead reply, bytes pipelined after the
// command belong to the handshake and are never run as commands, the session starts over
// after TLS (RFC 3207 §4.2), and misuse gets 503 5.5.1, a bad sequence of commands:
// STARTTLS when TLS is already on or none is configured, or after AUTH, whose login the
// reset of RFC 3207 §4.2 would have to throw away.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { once } from 'node:events';
import { Duplex } from 'node:stream';
import {
  startSmtpTestServer,
  SmtpTestClient,
  PASSWORD,
  type Reply,
  type SmtpTestServer,
} from './harness.js';
import { createLogger } from '../../src/log/index.js';
import { AuthFailureLimiter, ConnectionCounter, RateLimiter } from '../../src/net/index.js';
import {
  DeliveryRateLimiter,
  startSmtpServer,
  type SmtpContext,
} from '../../src/smtpserver/index.js';
import { registry } from '../../src/metrics/index.js';

const GO = /^220 2\.0\.0 ready to start TLS \([0-9a-z]+\)$/;

/** An error reply: one line, `expected` followed by " (<cid>)". */
function assertError(r: Reply, expected: string): void {
  assert.equal(r.lines.length, 1, r.text);
  const m = /^(.*) \(([0-9a-z]+)\)$/.exec(r.lines[0]!);
  assert.ok(m, `no connection id in ${JSON.stringify(r.text)}`);
  assert.equal(m[1], expected);
}

async function starttlsCount(kind: string, result: string): Promise<number> {
  const text = await registry.getSingleMetricAsString('tidings_smtpserver_starttls_total');
  const re = new RegExp(
    `^tidings_smtpserver_starttls_total\\{kind="${kind}",result="${result}"\\} (\\d+)$`,
    'm',
  );
  return Number(re.exec(text)?.[1] ?? 0);
}

/**
 * Connects, says EHLO, then sends STARTTLS and the TLS ClientHello in a single TCP write,
 * before the server's 220 is read. Returns the 220 line and the TLS socket.
 */
async function starttlsInOneWrite(port: number): Promise<{ go: string; sock: tls.TLSSocket }> {
  const c = await SmtpTestClient.open(port);
  await c.ok('EHLO client.example');
  const raw = c.socket;
  raw.removeAllListeners('data');
  raw.removeAllListeners('close');
  let first = true;
  let pending = Buffer.alloc(0);
  let go = '';
  // The TLS client's transport: its first write goes out glued to STARTTLS, and the
  // plaintext 220 reply is taken off the front of what the server sends back.
  const transport = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      raw.write(first ? Buffer.concat([Buffer.from('STARTTLS\r\n'), chunk]) : chunk, cb);
      first = false;
    },
    read() {},
  });
  raw.on('data', (d: Buffer) => {
    if (go !== '') {
      transport.push(d);
      return;
    }
    pending = Buffer.concat([pending, d]);
    const i = pending.indexOf('\r\n');
    if (i < 0) return;
    go = pending.subarray(0, i).toString();
    if (pending.length > i + 2) transport.push(pending.subarray(i + 2));
  });
  raw.on('end', () => transport.push(null));
  const sock = tls.connect({ socket: transport, rejectUnauthorized: false });
  await once(sock, 'secureConnect', { signal: AbortSignal.timeout(10_000) });
  return { go, sock };
}

/** Commands over a bare TLS socket: writes a line, returns the lines of the reply. */
function lineClient(sock: tls.TLSSocket): (line: string) => Promise<string[]> {
  let buf = '';
  let wake = () => {};
  sock.on('data', (d: Buffer) => {
    buf += d.toString();
    wake();
  });
  return async (line) => {
    sock.write(`${line}\r\n`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const lines = buf.split('\r\n');
      const end = lines.findIndex((l) => l[3] === ' ');
      if (end >= 0 && end < lines.length - 1) {
        buf = lines.slice(end + 1).join('\r\n');
        return lines.slice(0, end + 1);
      }
      if (Date.now() > deadline) throw new Error(`timeout waiting for a reply to ${line}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  };
}

describe('smtp STARTTLS', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer();
  });
  after(() => s.close());

  test('220 2.0.0 ready to start TLS with the connection id, then a TLS session', async () => {
    for (const port of [s.smtp.port, s.submission.port]) {
      const ok = await starttlsCount(port === s.smtp.port ? 'smtp' : 'submission', 'ok');
      const c = await SmtpTestClient.open(port);
      await c.ok('EHLO client.example');
      c.write('STARTTLS\r\n');
      const r = await c.reply();
      assert.equal(r.lines.length, 1);
      assert.match(r.lines[0]!, GO);
      const sock = tls.connect({ socket: c.socket, rejectUnauthorized: false });
      await once(sock, 'secureConnect', { signal: AbortSignal.timeout(10_000) });
      assert.equal(sock.getProtocol(), 'TLSv1.3');
      const ehlo = await lineClient(sock)('EHLO client.example');
      assert.equal(ehlo[0], '250-mail.example.org');
      assert.ok(ehlo.includes('250-REQUIRETLS'));
      assert.ok(!ehlo.some((l) => l.includes('STARTTLS')));
      assert.equal(await starttlsCount(port === s.smtp.port ? 'smtp' : 'submission', 'ok'), ok + 1);
      sock.destroy();
    }
  });

  test('STARTTLS needs no EHLO first', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.starttls();
    await c.ok('EHLO client.example');
    c.close();
  });

  test('plaintext pipelined after STARTTLS is not executed', async () => {
    const failed = await starttlsCount('smtp', 'error');
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    // An attacker in the path appends a command to the client's STARTTLS.
    c.write('STARTTLS\r\nMAIL FROM:<sender@sender.example>\r\n');
    assert.match((await c.reply()).lines[0]!, GO);
    // The bytes are the start of the handshake, which fails: no reply to MAIL, ever.
    assert.equal(await c.readLine(), null);
    assert.equal(await c.closed(), true);
    assert.equal(await starttlsCount('smtp', 'error'), failed + 1);
  });

  test('a ClientHello in the same packet as STARTTLS is used for the handshake', async () => {
    for (const port of [s.smtp.port, s.submission.port]) {
      const { go, sock } = await starttlsInOneWrite(port);
      assert.match(go, GO);
      assert.equal(sock.getProtocol(), 'TLSv1.3');
      // The session starts over: no EHLO yet.
      const command = lineClient(sock);
      assert.match(
        (await command('MAIL FROM:<sender@sender.example>'))[0]!,
        /^503 5\.5\.1 no ehlo\/helo yet \([0-9a-z]+\)$/,
      );
      assert.equal((await command('EHLO client.example')).at(-1), '250 SMTPUTF8');
      sock.destroy();
    }
  });

  test('after STARTTLS the hello and the transaction are forgotten', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.starttls();
    assertError(await c.cmd('MAIL FROM:<sender@sender.example>'), '503 5.5.1 no ehlo/helo yet');
    assertError(await c.cmd('RCPT TO:<mjl@example.org>'), '503 5.5.1 no ehlo/helo yet');
    await c.ok('EHLO client.example');
    assertError(await c.cmd('RCPT TO:<mjl@example.org>'), '503 5.5.1 missing MAIL FROM');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    c.close();
  });

  test('STARTTLS twice, or on implicit TLS: 503', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    await c.starttls();
    await c.ok('EHLO client.example');
    assertError(await c.cmd('STARTTLS'), '503 5.5.1 already speaking tls');
    // The connection is still usable.
    await c.ok('NOOP');
    c.close();
    const d = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await d.ok('EHLO client.example');
    assertError(await d.cmd('STARTTLS'), '503 5.5.1 already speaking tls');
    d.close();
  });

  test('STARTTLS with an argument: 501', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    assertError(await c.cmd('STARTTLS now'), '501 5.5.4 no parameters allowed');
    await c.starttls();
    c.close();
  });
});

describe('smtp STARTTLS after AUTH', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer({ noRequireSTARTTLS: true });
  });
  after(() => s.close());

  test('503 once authenticated on plaintext', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.login('mjl@example.org', PASSWORD, false);
    assertError(await c.cmd('STARTTLS'), '503 5.5.1 cannot starttls after authentication');
    await c.ok('MAIL FROM:<mjl@example.org>');
    c.close();
  });
});

describe('smtp STARTTLS without a TLS configuration', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer();
  });
  after(() => s.close());

  test('not announced, 503 when tried, and no REQUIRETLS on plaintext', async () => {
    const ctx: Omit<SmtpContext, 'isShuttingDown'> = {
      kind: 'smtp',
      store: s.store,
      domains: () => s.domains,
      hostname: 'mail.example.org',
      tls: null,
      requireTLSForAuth: true,
      requireTLSForDelivery: false,
      requireTLSExtension: true,
      limits: {
        maxLineLength: 2048,
        maxRecipients: 1000,
        maxReceivedHeaders: 100,
        maxBadTransactions: 10,
        maxMessageSize: 1000,
        defaultMaxMessageSize: 1000,
        maxOutgoingPerDay: 1000,
        maxFirstTimeRecipientsPerDay: 200,
      },
      delays: {
        authFail: 0,
        badClient: 0,
        firstTimeSender: 0,
        unknownRecipients: 0,
        localserveTimeout: 0,
      },
      limiters: {
        rate: new RateLimiter({ windowMs: 60_000, limits: [1000, 1000, 1000] }),
        connections: new ConnectionCounter({ limits: [1000, 1000, 1000] }),
        authFailures: new AuthFailureLimiter(),
        delivery: new DeliveryRateLimiter(),
      },
      resolver: s.resolver,
      queue: s.recorded,
      log: createLogger({ level: process.env.TIDINGS_TEST_LOG ?? 'error' } as never),
      localserve: null,
    };
    const srv = await startSmtpServer(ctx, '127.0.0.1', 0);
    try {
      const c = await SmtpTestClient.open(srv.port);
      const r = await c.ok('EHLO client.example');
      assert.deepEqual(r.lines, [
        '250-mail.example.org',
        '250-PIPELINING',
        '250-SIZE 1000',
        '250-ENHANCEDSTATUSCODES',
        '250-8BITMIME',
        '250-BINARYMIME',
        '250-CHUNKING',
        '250-DSN',
        '250-LIMITS RCPTMAX=1000',
        '250 SMTPUTF8',
      ]);
      assertError(await c.cmd('STARTTLS'), '503 5.5.1 starttls not offered');
      await c.ok('NOOP');
      c.close();
    } finally {
      await srv.close();
    }
  });
});
