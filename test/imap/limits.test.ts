// Slow-down and rate limits around authentication and connections, server policy that
// makes password guessing and connection floods slow: slow mode (replies at a byte per
// delay) from the third failed authentication, the auth-failure backoff ((failures - 3)
// delays before each attempt from the fourth), the failed-auth limiters (per IP, and per
// account for networks the account was never logged in from), and the connection-rate
// and concurrent-connection limiters.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';
import { AuthFailureLimiter, ConnectionCounter, RateLimiter } from '../../src/net/index.js';

/** Limiter windows are clock minutes; a fixed clock keeps a test's failures in one. */
const FIXED_CLOCK = () => 0;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const plain = (user: string, pass: string) => b64(`\0${user}\0${pass}`);

/** Runs a command, timing its reply and counting the socket reads it arrived in. */
async function timed(
  c: Client,
  cmd: string,
): Promise<{ tagged: string; ms: number; chunks: number }> {
  let chunks = 0;
  const onData = () => chunks++;
  c.socket.on('data', onData);
  const t0 = performance.now();
  const r = await c.cmd(cmd);
  const ms = performance.now() - t0;
  c.socket.off('data', onData);
  return { tagged: r.tagged, ms, chunks };
}

/** The reply of `cmd` with tag `tag` and CRLF, as counted by the slow writer. */
const replyBytes = (tag: string, text: string) => `${tag} ${text}\r\n`.length;

const servers: TestServer[] = [];
async function server(opts: Parameters<typeof startTestServer>[0]): Promise<TestServer> {
  const s = await startTestServer(opts);
  servers.push(s);
  return s;
}
after(async () => {
  for (const s of servers) await s.close();
});

/** A connection that was refused: the greeting is the BYE, then the server closes. */
async function assertRefused(port: number, tls: boolean, bye: string) {
  const c = await Client.connect(port, { tls });
  assert.equal(c.greeting, `* BYE ${bye}`);
  await assert.rejects(c.readLine(2000), /connection closed/);
  c.close();
}

const DELAY = 20;

describe('imap slow mode', () => {
  test('from the third failure replies come a byte per delay; a successful login resets it', async () => {
    const s = await server({ delays: { badClient: DELAY }, noRequireSTARTTLS: true });
    const c = await Client.connect(s.imap.port);
    const fast = await timed(c, 'NOOP');
    assert.equal(fast.tagged, 'OK NOOP done');
    // At full speed a reply is one write, read at once.
    assert.equal(fast.chunks, 1);
    const failed = 'NO [AUTHENTICATIONFAILED] LOGIN login failed';
    for (let i = 0; i < 2; i++) {
      const r = await timed(c, 'LOGIN mjl@example.org wrong');
      assert.equal(r.tagged, failed);
      assert.equal(r.chunks, 1, `failure ${i + 1} came in ${r.chunks} chunks`);
    }
    // The reply to the third failure is already written slowly.
    const third = await timed(c, 'LOGIN mjl@example.org wrong');
    assert.equal(third.tagged, failed);
    const n = replyBytes('A4', failed);
    assert.ok(third.ms >= 0.9 * (n - 1) * DELAY, `third failure took ${third.ms} ms`);
    assert.ok(third.chunks >= 5, `third failure came in ${third.chunks} chunks`);
    const slow = await timed(c, 'NOOP');
    assert.equal(slow.tagged, 'OK NOOP done');
    assert.ok(slow.ms >= 0.9 * replyBytes('A5', 'OK NOOP done') * DELAY, `NOOP took ${slow.ms} ms`);
    assert.ok(slow.chunks >= 4, `NOOP came in ${slow.chunks} chunks`);
    // Success: its own long reply (capabilities) already comes at full speed.
    const ok = await timed(c, `LOGIN mjl@example.org ${PASSWORD}`);
    assert.match(ok.tagged, /^OK \[CAPABILITY IMAP4rev2 .*\] LOGIN done$/);
    const slowly = ok.tagged.length * DELAY;
    assert.ok(ok.ms < slowly / 2, `LOGIN took ${ok.ms} ms, slowly it takes ${slowly} ms`);
    const after = await timed(c, 'NOOP');
    assert.equal(after.chunks, 1);
    c.close();
  });

  test('PRIVACYREQUIRED and failed AUTHENTICATE count as failures', async () => {
    const s = await server({ delays: { badClient: DELAY } });
    const c = await Client.connect(s.imap.port);
    assert.equal(
      (await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`)).tagged,
      'NO [PRIVACYREQUIRED] LOGIN login only allowed with TLS',
    );
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${plain('mjl@example.org', PASSWORD)}`)).tagged,
      'NO [PRIVACYREQUIRED] AUTHENTICATE PLAIN only allowed with TLS',
    );
    assert.equal((await timed(c, 'NOOP')).chunks, 1);
    // The third: CRAM-MD5 with a wrong password (after STARTTLS: no mechanism before it).
    await c.startTLS();
    c.write('A4 AUTHENTICATE CRAM-MD5\r\n');
    assert.match(await c.readLine(), /^\+ /);
    c.write(`${b64(`mjl@example.org ${'0'.repeat(32)}`)}\r\n`);
    assert.equal(
      (await c.until('A4')).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
    );
    const slow = await timed(c, 'NOOP');
    assert.ok(slow.ms >= 0.9 * replyBytes('A5', 'OK NOOP done') * DELAY, `NOOP took ${slow.ms} ms`);
    c.close();
  });

  test('slow mode survives STARTTLS', async () => {
    const s = await server({ delays: { badClient: DELAY } });
    const c = await Client.connect(s.imap.port);
    for (let i = 0; i < 3; i++) await c.cmd(`LOGIN mjl@example.org ${PASSWORD}`);
    await c.startTLS();
    const slow = await timed(c, 'NOOP');
    assert.ok(slow.ms >= 0.9 * replyBytes('A5', 'OK NOOP done') * DELAY, `NOOP took ${slow.ms} ms`);
    c.close();
  });

  test('a NO counts as IMAP: a later aborted AUTHENTICATE is BAD, not a BYE', async () => {
    const s = await server({});
    const c = await Client.connect(s.imaps.port, { tls: true });
    assert.match(
      (await c.cmd('LOGIN mjl@example.org wrong')).tagged,
      /^NO \[AUTHENTICATIONFAILED\]/,
    );
    c.write('A2 AUTHENTICATE PLAIN\r\n');
    assert.equal(await c.readLine(), '+ ');
    c.write('*\r\n');
    assert.equal(
      await c.readLine(),
      'A2 BAD AUTHENTICATE unrecognized syntax/command: authentication aborted',
    );
    await c.ok('NOOP');
    c.close();
  });

  test('from the fourth failure each attempt first waits (failures - 3) × authFail', async () => {
    const authFail = 500;
    const s = await server({ delays: { authFail, badClient: 1 } });
    const c = await Client.connect(s.imaps.port, { tls: true });
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await timed(c, 'LOGIN mjl@example.org wrong');
      assert.equal(r.tagged, 'NO [AUTHENTICATIONFAILED] LOGIN login failed');
      times.push(r.ms);
    }
    const [, , , t4, t5, t6] = times as [number, number, number, number, number, number];
    assert.ok(t4 < authFail, `4th attempt took ${t4} ms`);
    assert.ok(t5 >= authFail, `5th attempt took ${t5} ms`);
    assert.ok(t6 >= 2 * authFail, `6th attempt took ${t6} ms`);
    c.close();
  });
});

describe('imap failed-auth limiter', () => {
  test('after the limit of failures from an IP, new connections get BYE', async () => {
    const s = await server({
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [3, 100, 100] }),
      },
    });
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.cmd('LOGIN mjl@example.org wrong');
    await c.cmd(`AUTHENTICATE PLAIN ${plain('nobody@example.org', 'x')}`);
    // Two failures: still welcome.
    const d = await Client.connect(s.imap.port);
    assert.match(d.greeting, /^\* OK \[CAPABILITY /);
    // The third failure, a PRIVACYREQUIRED, trips the limiter for both listeners.
    assert.equal(
      (await d.cmd(`LOGIN mjl@example.org ${PASSWORD}`)).tagged,
      'NO [PRIVACYREQUIRED] LOGIN login only allowed with TLS',
    );
    await assertRefused(s.imap.port, false, 'too many auth failures');
    await assertRefused(s.imaps.port, true, 'too many auth failures');
    // Connections already open stay open.
    await c.ok('NOOP');
    c.close();
    d.close();
  });

  test('logging in to an own account between guesses clears nothing', async () => {
    const s = await server({
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [3, 100, 100] }),
      },
    });
    const own = await Client.connect(s.imaps.port, { tls: true });
    await own.cmd('LOGIN mjl@example.org wrong');
    await own.cmd('LOGIN mjl@example.org wrong');
    // The attacker's own account: a success, which once reset the count of the IP.
    await own.ok(`LOGIN limited@example.org ${PASSWORD}`);
    own.close();
    const d = await Client.connect(s.imaps.port, { tls: true });
    await d.cmd('LOGIN mjl@example.org wrong');
    // Three failures in the window: the next attempt is refused and the connection ends.
    d.write('A9 LOGIN mjl@example.org guess\r\n');
    assert.equal(
      await d.readLine(),
      '* BYE too many failed logins from your network, try again later',
    );
    await assert.rejects(d.readLine(2000), /connection closed/);
    await assertRefused(s.imaps.port, true, 'too many auth failures');
  });

  test('connections opened before the guessing are held to the limit too', async () => {
    const s = await server({
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [10, 100, 100] }),
      },
    });
    const open: Client[] = [];
    for (let i = 0; i < 30; i++) open.push(await Client.connect(s.imaps.port, { tls: true }));
    let failed = 0;
    let refused = 0;
    for (const c of open) {
      for (let k = 0; k < 3; k++) {
        c.write(`G${k} AUTHENTICATE PLAIN ${plain('mjl@example.org', `guess${k}`)}\r\n`);
        const line = await c.readLine();
        if (line.startsWith(`G${k} NO [AUTHENTICATIONFAILED]`)) failed++;
        else {
          assert.equal(line, '* BYE too many failed logins from your network, try again later');
          refused++;
          break;
        }
      }
      c.close();
    }
    // Ten guesses, then every connection is refused at its next attempt.
    assert.equal(failed, 10);
    assert.equal(refused, 30 - 3);
  });

  test('guesses against one account from many networks: stopped, but not its owner', async () => {
    const s = await server({
      limiters: {
        authFailures: new AuthFailureLimiter({
          now: FIXED_CLOCK,
          perMinute: [100, 100, 100],
          perAccount: [3, 10],
        }),
      },
    });
    // The owner logs in from 127.0.0.1 (the test's only network) before the attack...
    const owner = await Client.connect(s.imaps.port, { tls: true });
    await owner.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    owner.close();
    // ...so the account limit does not apply to it: guesses from here count per IP only.
    const c = await Client.connect(s.imaps.port, { tls: true });
    for (let i = 0; i < 5; i++) await c.cmd(`LOGIN mjl@example.org guess${i}`);
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    c.close();
    // An account never logged in to from here: after 3 failures even the right password is
    // answered like a wrong one, and recorded as rate limited.
    const d = await Client.connect(s.imaps.port, { tls: true });
    for (let i = 0; i < 3; i++) await d.cmd(`LOGIN limited@example.org guess${i}`);
    const r = await d.cmd(`LOGIN limited@example.org ${PASSWORD}`);
    assert.equal(r.tagged, 'NO [AUTHENTICATIONFAILED] LOGIN login failed');
    const r2 = await d.cmd(`AUTHENTICATE PLAIN ${plain('limited@example.org', PASSWORD)}`);
    assert.equal(r2.tagged, 'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed');
    d.close();
    const deadline = Date.now() + 5000;
    let results: string[] = [];
    while (Date.now() < deadline) {
      results = (await s.store.global.loginAttempts('limited')).map((a) => a.result);
      if (results.filter((x) => x === 'ratelimited').length >= 2) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    assert.deepEqual(results.filter((x) => x === 'ratelimited').length, 2, results.join(' '));
  });

  test('missing secrets and aborted exchanges are not counted', async () => {
    const s = await server({
      limiters: {
        authFailures: new AuthFailureLimiter({ now: FIXED_CLOCK, perMinute: [1, 100, 100] }),
      },
    });
    await (await s.store.account('limited')).setSecrets({});
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP'); // a BAD as first successful command would end the connection
    for (let i = 0; i < 3; i++) {
      assert.equal(
        (await c.cmd(`AUTHENTICATE PLAIN ${plain('limited@example.org', PASSWORD)}`)).tagged,
        'NO AUTHENTICATE PLAIN not possible for this account: set the password again',
      );
    }
    c.write('A4 AUTHENTICATE CRAM-MD5\r\n');
    assert.match(await c.readLine(), /^\+ /);
    c.write('*\r\n');
    assert.match((await c.until('A4')).tagged, /^BAD AUTHENTICATE .*authentication aborted$/);
    const d = await Client.connect(s.imaps.port, { tls: true });
    assert.match(d.greeting, /^\* OK \[CAPABILITY /);
    d.close();
    c.close();
  });
});

describe('imap connection limiters', () => {
  test('connection rate: BYE once the rate per IP is reached', async () => {
    const s = await server({
      // An hour window: the test never straddles a window boundary in practice.
      limiters: { rate: new RateLimiter({ windowMs: 1e13, limits: [3, 100, 100] }) },
    });
    const open: Client[] = [];
    open.push(await Client.connect(s.imap.port));
    open.push(await Client.connect(s.imaps.port, { tls: true }));
    open[0]!.close();
    open.push(await Client.connect(s.imap.port));
    for (const c of open) assert.match(c.greeting, /^\* OK \[CAPABILITY /);
    const bye = 'connection rate from your ip or network too high, slow down please';
    await assertRefused(s.imap.port, false, bye);
    await assertRefused(s.imaps.port, true, bye);
    for (const c of open) c.close();
  });

  test('concurrent connections: BYE while too many are open, welcome after one closes', async () => {
    const s = await server({
      limiters: { connections: new ConnectionCounter({ limits: [2, 100, 100] }) },
    });
    const a = await Client.connect(s.imap.port);
    const b = await Client.connect(s.imaps.port, { tls: true });
    const bye = 'too many open connections from your ip or network';
    await assertRefused(s.imap.port, false, bye);
    await assertRefused(s.imaps.port, true, bye);
    // Refused connections hold no slot; a closed one frees its slot.
    await b.cmd('LOGOUT');
    await assert.rejects(b.readLine(2000), /connection closed/);
    let c: Client | null = null;
    for (let i = 0; i < 50 && !c; i++) {
      const t = await Client.connect(s.imap.port);
      if (t.greeting.startsWith('* OK ')) c = t;
      else {
        assert.equal(t.greeting, `* BYE ${bye}`);
        t.close();
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    assert.ok(c, 'no slot after a connection closed');
    assert.match(c.greeting, /^\* OK \[CAPABILITY /);
    await assertRefused(s.imaps.port, true, bye);
    a.close();
    c.close();
  });
});
