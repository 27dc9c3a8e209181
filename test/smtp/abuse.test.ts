// Abuse handling, server policy that makes password guessing and floods slow for the
// client and cheap for the server: slow mode (replies trickle out a byte at a time) from
// the third failed authentication and a wait of (failures - 3) units before each attempt
// from the fourth, the per-IP failed-auth, connection-rate and open-connection limiters
// (421), over-long lines (beyond 2048 bytes: 500 and a close; an AUTH response may take
// 12288, RFC 4954 §4), read timeouts (421 4.4.2), and shutdown with connections open
// (421 4.3.2, a busy connection first finishing its command).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSmtpTestServer,
  SmtpTestClient,
  PASSWORD,
  message,
  type Reply,
  type SmtpTestServer,
} from './harness.js';
import { createLogger } from '../../src/log/index.js';
import { AuthFailureLimiter, ConnectionCounter, RateLimiter } from '../../src/net/index.js';
import {
  DeliveryRateLimiter,
  startSmtpServer,
  type SmtpContext,
  type SmtpServer,
} from '../../src/smtpserver/index.js';

/** Limiter windows are clock minutes; a fixed clock keeps a test's failures in one. */
const FIXED_CLOCK = () => 0;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const plain = (user: string, pass: string) => b64(`\0${user}\0${pass}`);
const BAD = `AUTH PLAIN ${plain('mjl@example.org', 'wrong')}`;
const GOOD = `AUTH PLAIN ${plain('mjl@example.org', PASSWORD)}`;
const FAILED = '535 5.7.8 authentication failed';
/** A rate-limiter window that does not roll over while a test runs. */
const FOREVER = 1e13;

/** An error reply: one line, `expected` followed by " (<cid>)". */
function assertError(r: Reply, expected: string): void {
  assert.equal(r.lines.length, 1, r.text);
  const m = /^(.*) \(([0-9a-z]+)\)$/.exec(r.lines[0]!);
  assert.ok(m, `no connection id in ${JSON.stringify(r.text)}`);
  assert.equal(m[1], expected);
}

/** Sends a command and returns its reply, the time it took and the TCP reads it took. */
async function timed(
  c: SmtpTestClient,
  line: string,
): Promise<{ r: Reply; ms: number; reads: number }> {
  let reads = 0;
  const count = () => reads++;
  c.socket.on('data', count);
  const t0 = performance.now();
  const r = await c.cmd(line);
  const ms = performance.now() - t0;
  c.socket.off('data', count);
  return { r, ms, reads };
}

/** A connection that is refused: the 421 line, then the server closes. */
async function refused(port: number, expected: string, tls = false): Promise<void> {
  const c = await SmtpTestClient.connect(port, { tls });
  assertError(await c.reply(), expected);
  assert.equal(await c.readLine(), null);
  assert.equal(await c.closed(), true);
}

/** Polls until `f` holds (the server releases a connection after the client's close). */
async function until(f: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !f(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f(), 'condition not reached');
}

/** A listener with its own context, for settings the harness does not take. */
async function startLocal(
  s: SmtpTestServer,
  over: Partial<Omit<SmtpContext, 'isShuttingDown'>>,
): Promise<SmtpServer> {
  const ctx: Omit<SmtpContext, 'isShuttingDown'> = {
    kind: 'smtp',
    store: s.store,
    domains: () => s.domains,
    hostname: 'mail.example.org',
    tls: null,
    requireTLSForAuth: false,
    requireTLSForDelivery: false,
    requireTLSExtension: true,
    limits: {
      maxLineLength: 2048,
      maxRecipients: 1000,
      maxReceivedHeaders: 100,
      maxBadTransactions: 10,
      maxMessageSize: 10 * 1024 * 1024,
      defaultMaxMessageSize: 10 * 1024 * 1024,
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
      rate: new RateLimiter({ windowMs: FOREVER, limits: [1000, 1000, 1000] }),
      connections: new ConnectionCounter({ limits: [1000, 1000, 1000] }),
      authFailures: new AuthFailureLimiter({
        perMinute: [1000, 1000, 1000],
        perDay: [1000, 1000, 1000],
      }),
      delivery: new DeliveryRateLimiter(),
    },
    resolver: s.resolver,
    queue: s.recorded,
    log: createLogger({ level: process.env.TIDINGS_TEST_LOG ?? 'error' } as never),
    localserve: null,
    ...over,
  };
  return startSmtpServer(ctx, '127.0.0.1', 0);
}

describe('smtp slow mode after failed authentication', () => {
  let s: SmtpTestServer;
  const delay = 25;
  before(async () => {
    s = await startSmtpTestServer({
      delays: { badClient: delay },
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [1000, 1000, 1000] }),
      },
    });
  });
  after(() => s.close());

  test('from the third failure replies trickle out; a success ends it', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await c.ok('EHLO client.example');
    for (let i = 0; i < 2; i++) {
      const { r, reads } = await timed(c, BAD);
      assertError(r, FAILED);
      assert.equal(reads, 1);
    }
    // Third failure: slow mode, one byte per delay (spec §4).
    const third = await timed(c, BAD);
    assertError(third.r, FAILED);
    const len = third.r.lines[0]!.length + 2;
    assert.ok(third.reads >= len / 4, `${third.reads} reads for ${len} bytes`);
    assert.ok(third.ms >= (len - 1) * delay * 0.5, `${third.ms} ms`);
    // Still slow for other commands.
    const noop = await timed(c, 'NOOP');
    assert.deepEqual(noop.r.lines, ['250 2.0.0 alrighty']);
    assert.ok(noop.ms >= 20 * delay * 0.5, `${noop.ms} ms`);
    assert.ok(noop.reads >= 5, `${noop.reads} reads`);
    // A success clears slow mode: replies come in one piece again.
    assert.deepEqual((await c.ok(GOOD, 235)).lines, ['235 2.7.0 authentication successful']);
    const after = await timed(c, 'NOOP');
    assert.deepEqual(after.r.lines, ['250 2.0.0 alrighty']);
    assert.equal(after.reads, 1);
    c.close();
  });

  test('slow mode is kept across STARTTLS', async () => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.ok('EHLO client.example');
    // On plaintext, PLAIN is refused for want of TLS: that counts as a failure too.
    for (let i = 0; i < 3; i++) await c.cmd(GOOD);
    await c.starttls();
    const r = await timed(c, 'NOOP');
    assert.deepEqual(r.r.lines, ['250 2.0.0 alrighty']);
    assert.ok(r.reads >= 5, `${r.reads} reads`);
    c.close();
  });
});

describe('smtp backoff after failed authentication', () => {
  let s: SmtpTestServer;
  const unit = 300;
  before(async () => {
    s = await startSmtpTestServer({
      delays: { authFail: unit },
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [1000, 1000, 1000] }),
      },
    });
  });
  after(() => s.close());

  test('from the fourth failure each attempt waits (failures - 3) units', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await c.ok('EHLO client.example');
    for (let i = 0; i < 4; i++) assertError(await c.cmd(BAD), FAILED);
    const fifth = await timed(c, BAD);
    assertError(fifth.r, FAILED);
    assert.ok(fifth.ms >= unit * 0.9, `${fifth.ms} ms`);
    const sixth = await timed(c, GOOD);
    assert.equal(sixth.r.code, 235);
    assert.ok(sixth.ms >= 2 * unit * 0.9, `${sixth.ms} ms`);
    c.close();
  });
});

describe('smtp per-IP failed-auth limiter', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer({
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [2, 100, 100] }),
      },
    });
  });
  after(() => s.close());

  test('refuses new submission connections, not port 25, and the next attempt on open ones', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await c.ok('EHLO client.example');
    const pre = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await pre.ok('EHLO client.example');
    assertError(await c.cmd(BAD), FAILED);
    assertError(await c.cmd(BAD), FAILED);
    const too = '421 4.7.0 too many auth failures';
    await refused(s.submission.port, too);
    await refused(s.submissions.port, too, true);
    const d = await SmtpTestClient.open(s.smtp.port);
    await d.ok('EHLO client.example');
    d.close();
    // A connection opened before, and the one that failed: refused at the next attempt,
    // even with the right password, and closed.
    const limit = '421 4.7.0 too many failed logins from your network, try again later';
    for (const x of [pre, c]) {
      assertError(await x.cmd(GOOD), limit);
      assert.equal(await x.closed(), true);
    }
  });

  test('logging in to an own account between guesses clears nothing', async () => {
    const t = await startSmtpTestServer({
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [3, 100, 100] }),
      },
    });
    try {
      const c = await SmtpTestClient.open(t.submissions.port, { tls: true });
      await c.ok('EHLO client.example');
      assertError(await c.cmd(BAD), FAILED);
      assertError(await c.cmd(BAD), FAILED);
      await c.ok(`AUTH PLAIN ${plain('limited@example.org', PASSWORD)}`, 235);
      c.close();
      const e = await SmtpTestClient.open(t.submissions.port, { tls: true });
      await e.ok('EHLO client.example');
      assertError(await e.cmd(BAD), FAILED);
      assertError(
        await e.cmd(BAD),
        '421 4.7.0 too many failed logins from your network, try again later',
      );
      e.close();
    } finally {
      await t.close();
    }
  });
});

describe('smtp line length', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer();
  });
  after(() => s.close());

  const tooLong = '500 5.5.0 line too long, smtp max is 512, we reached 2048';

  test('2048 bytes are fine, more gives 500 and a close', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    await c.ok('EHLO client.example');
    const max = `NOOP ${'x'.repeat(2048 - 5)}`;
    assert.equal(max.length, 2048);
    assert.deepEqual((await c.ok(max)).lines, ['250 2.0.0 alrighty']);
    c.write(`${max}y\r\nNOOP\r\n`);
    assertError(await c.reply(), tooLong);
    assert.equal(await c.readLine(), null);
    assert.equal(await c.closed(), true);
  });

  test('no need to wait for the end of the line', async () => {
    const c = await SmtpTestClient.open(s.smtp.port);
    c.write('x'.repeat(5000));
    assertError(await c.reply(), tooLong);
    assert.equal(await c.closed(), true);
  });

  test('an AUTH response may be 12288 bytes, longer ones end the connection', async () => {
    const c = await SmtpTestClient.open(s.submissions.port, { tls: true });
    await c.ok('EHLO client.example');
    await c.ok('AUTH LOGIN', 334);
    // RFC 4954 §4: at least 12288 octets must be accepted.
    await c.ok(b64('u'.repeat(9216)), 334);
    assertError(await c.cmd('*'), '501 5.5.0 authentication aborted');
    await c.ok('AUTH LOGIN', 334);
    c.write(`${'A'.repeat(20000)}\r\nNOOP\r\n`);
    assertError(await c.reply(), '500 5.5.0 line too long, auth max is 12288');
    assert.equal(await c.readLine(), null);
    assert.equal(await c.closed(), true);
  });
});

describe('smtp connection limiters', () => {
  test('connection rate: 421 slow down please', async () => {
    const s = await startSmtpTestServer({
      limiters: { rate: new RateLimiter({ windowMs: FOREVER, limits: [3, 100, 100] }) },
    });
    try {
      // One limiter for the three listeners, as for the whole server.
      const a = await SmtpTestClient.open(s.smtp.port);
      a.close();
      const b = await SmtpTestClient.open(s.submission.port);
      b.close();
      const c = await SmtpTestClient.open(s.smtp.port);
      const slow = '421 4.7.0 connection rate from your ip or network too high, slow down please';
      await refused(s.smtp.port, slow);
      await refused(s.submission.port, slow);
      await refused(s.submissions.port, slow, true);
      // An open connection is not affected.
      await c.ok('EHLO client.example');
      c.close();
    } finally {
      await s.close();
    }
  });

  test('open connections: 421 too many, until one closes', async () => {
    const s = await startSmtpTestServer({
      limiters: { connections: new ConnectionCounter({ limits: [2, 100, 100] }) },
    });
    try {
      const a = await SmtpTestClient.open(s.smtp.port);
      const b = await SmtpTestClient.open(s.submission.port);
      const many = '421 4.7.0 too many open connections from your ip or network';
      await refused(s.smtp.port, many);
      await refused(s.submissions.port, many, true);
      await a.ok('QUIT', 221);
      await until(() => s.smtp.connections === 0);
      const c = await SmtpTestClient.open(s.smtp.port);
      await c.ok('EHLO client.example');
      await refused(s.smtp.port, many);
      b.close();
      c.close();
    } finally {
      await s.close();
    }
  });
});

describe('smtp shutdown', () => {
  test('an idle connection gets 421 4.3.2, a busy one finishes first', async () => {
    const s = await startSmtpTestServer();
    try {
      const idle = await SmtpTestClient.open(s.smtp.port);
      await idle.ok('EHLO client.example');
      const fresh = await SmtpTestClient.open(s.smtp.port);
      const busy = await SmtpTestClient.open(s.smtp.port);
      await busy.ok('EHLO client.example');
      await busy.ok('MAIL FROM:<sender@sender.example>');
      await busy.ok('RCPT TO:<mjl@example.org>');
      await busy.ok('DATA', 354);
      const closing = s.smtp.close();
      const down = '421 4.3.2 shutting down';
      for (const c of [idle, fresh]) {
        assertError(await c.reply(), down);
        assert.equal(await c.closed(), true);
      }
      // The message being received is accepted, then the connection is closed.
      busy.write(`${message()}.\r\n`);
      assert.equal((await busy.reply()).code, 250);
      assertError(await busy.reply(), down);
      assert.equal(await busy.closed(), true);
      await closing;
      await assert.rejects(SmtpTestClient.connect(s.smtp.port), /ECONNREFUSED/);
      // The other listeners are still there.
      const sub = await SmtpTestClient.open(s.submission.port);
      sub.close();
    } finally {
      await s.close();
    }
  });
});

describe('smtp timeouts', () => {
  let s: SmtpTestServer;
  before(async () => {
    s = await startSmtpTestServer();
  });
  after(() => s.close());

  const timeout = '421 4.4.2 timeout, closing connection';

  test('an idle client gets 421 4.4.2 and is disconnected', async () => {
    const srv = await startLocal(s, { timeouts: { io: 200 } });
    try {
      const c = await SmtpTestClient.open(srv.port);
      const t0 = Date.now();
      assertError(await c.reply(), timeout);
      assert.ok(Date.now() - t0 >= 150);
      assert.equal(await c.closed(), true);
      // Each command gives a new period.
      const d = await SmtpTestClient.open(srv.port);
      for (let i = 0; i < 3; i++) {
        await new Promise((r) => setTimeout(r, 100));
        await d.ok('NOOP');
      }
      assertError(await d.reply(), timeout);
      assert.equal(await d.closed(), true);
    } finally {
      await srv.close();
    }
  });

  test('a client that stops answering during AUTH gets the same', async () => {
    const srv = await startLocal(s, { kind: 'submission', timeouts: { io: 200 } });
    try {
      const c = await SmtpTestClient.open(srv.port);
      await c.ok('EHLO client.example');
      await c.ok('AUTH LOGIN', 334);
      assertError(await c.reply(), timeout);
      assert.equal(await c.closed(), true);
    } finally {
      await srv.close();
    }
  });

  test('slow mode sends the rest at once before the write deadline', async () => {
    // One byte per 100 ms would take seconds; with 1 s for each write, the reply must
    // be complete once fewer than five delays remain (spec §4).
    const srv = await startLocal(s, {
      kind: 'submission',
      timeouts: { io: 1000 },
      delays: {
        authFail: 0,
        badClient: 100,
        firstTimeSender: 0,
        unknownRecipients: 0,
        localserveTimeout: 0,
      },
    });
    try {
      const c = await SmtpTestClient.open(srv.port);
      await c.ok('EHLO client.example');
      for (let i = 0; i < 2; i++) assertError(await c.cmd(BAD), FAILED);
      const third = await timed(c, BAD);
      assertError(third.r, FAILED);
      assert.ok(third.reads >= 2, `${third.reads} reads`);
      assert.ok(third.ms < 3000, `${third.ms} ms`);
      c.close();
    } finally {
      await srv.close();
    }
  });
});
