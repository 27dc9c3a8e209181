// localserve, the development mode, over the real listeners: every recipient goes to one
// account, and special localparts make a stage fail or hang, so that developers can test
// how their software handles SMTP errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startSmtpTestServer,
  SmtpTestClient,
  message,
  send,
  type SmtpTestServer,
  textOf,
  expectReply,
  smtp,
  submission,
} from './harness.js';
import { panicTotal } from '../../src/metrics/index.js';

/** Recovered unexpected errors of the SMTP server so far. */
async function smtpPanics(): Promise<number> {
  const m = await panicTotal.get();
  return m.values.find((v) => v.labels.origin === 'smtp')?.value ?? 0;
}

async function withLocalserve(fn: (s: SmtpTestServer) => Promise<void>): Promise<void> {
  const s = await startSmtpTestServer({ localserve: true });
  try {
    await fn(s);
  } finally {
    await s.close();
  }
}

async function inbox(s: SmtpTestServer): Promise<string[]> {
  const a = await s.store.account('mjl');
  const mb = (await a.mailbox('Inbox'))!;
  const out: string[] = [];
  for (const m of await a.messages(mb.id, await a.uids(mb.id)))
    out.push((await a.readMessage(m)).toString());
  return out;
}

const DONE = ['250 2.0.0 message accepted'];

/** Expects no reply for `quietMs`, then the reply, not before `minMs` in all. */
async function slowReply(
  c: SmtpTestClient,
  quietMs: number,
  minMs: number,
  start: number,
): Promise<string[]> {
  await assert.rejects(c.reply(quietMs), /timeout waiting for a line/);
  const r = await c.reply();
  assert.ok(Date.now() - start >= minMs, `replied after ${Date.now() - start} ms`);
  return textOf(r);
}

test('localserve: any address at any domain is delivered to the one account', async () => {
  await withLocalserve(async (s) => {
    const c = await smtp(s);
    const orig = message({ from: 'app@nowhere.invalid', to: 'someone@gmail.com' });
    // No DNS checks of the sender domain; several recipients even for a null sender.
    await expectReply(c, 'MAIL FROM:<app@nowhere.invalid>', '250 2.1.0 sender ok');
    await expectReply(c, 'RSET', '250 2.0.0 all clear');
    await expectReply(c, 'MAIL FROM:<>', '250 2.1.0 sender ok');
    await expectReply(c, 'RCPT TO:<someone@gmail.com>', '250 2.1.5 recipient ok');
    await expectReply(c, 'RCPT TO:<Other.Person@example.net>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(orig + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), DONE);
    const got = await inbox(s);
    assert.equal(got.length, 2);
    assert.match(
      got[0]!,
      /^X-Tidings-Reason: no-bad-signals\r\nDelivered-To: someone@gmail\.com\r\nReturn-Path: <>\r\n/,
    );
    assert.match(
      got[1]!,
      /^X-Tidings-Reason: no-bad-signals\r\nDelivered-To: Other\.Person@example\.net\r\n/,
    );
    for (const m of got) assert.ok(m.endsWith(orig));
    // Configured addresses keep their own destination.
    assert.deepEqual(
      textOf(await send(c, 'app@nowhere.invalid', ['other@example.org'], orig)),
      DONE,
    );
    const a = await s.store.account('mjl');
    assert.equal((await a.uids((await a.mailbox('Other'))!.id)).length, 1);
    c.close();
  });
});

test('localserve: submission may send as anyone, to anyone', async () => {
  await withLocalserve(async (s) => {
    const c = await submission(s);
    const orig = message({ from: 'app@nowhere.invalid', to: 'someone@gmail.com' });
    assert.deepEqual(
      textOf(await send(c, 'app@nowhere.invalid', ['someone@gmail.com'], orig)),
      DONE,
    );
    const q = s.recorded.added[0]!;
    assert.equal(q.data.toString(), orig);
    assert.deepEqual(
      q.msgs.map((m) => [m.sender, m.recipient, m.account]),
      [
        [
          { localpart: 'app', domain: 'nowhere.invalid' },
          { localpart: 'someone', domain: 'gmail.com' },
          'mjl',
        ],
      ],
    );
    c.close();
  });
});

test('localserve: mailfrom<code> fails MAIL', async () => {
  await withLocalserve(async (s) => {
    for (const c of [await smtp(s), await submission(s)]) {
      await expectReply(
        c,
        'MAIL FROM:<mailfrom550@x.example>',
        '550 5.0.0 failure with code 550 due to special localpart',
      );
      await expectReply(
        c,
        'MAIL FROM:<MailFrom421@x.example>',
        '421 4.0.0 failure with code 421 due to special localpart',
      );
      // Other localparts are ordinary.
      await expectReply(c, 'MAIL FROM:<mailfrom@x.example>', '250 2.1.0 sender ok');
      // The stage must match.
      await expectReply(c, 'RCPT TO:<mailfrom550@x.example>', '250 2.1.5 recipient ok');
      c.close();
    }
  });
});

test('localserve: rcptto<code> fails RCPT', async () => {
  await withLocalserve(async (s) => {
    for (const c of [await smtp(s), await submission(s)]) {
      await c.ok('MAIL FROM:<app@x.example>');
      await expectReply(
        c,
        'RCPT TO:<rcptto451@x.example>',
        '451 4.0.0 failure with code 451 due to special localpart',
      );
      await expectReply(
        c,
        'RCPT TO:<rcptto550@x.example>',
        '550 5.0.0 failure with code 550 due to special localpart',
      );
      await expectReply(c, 'RCPT TO:<rcptto@x.example>', '250 2.1.5 recipient ok');
      c.close();
    }
  });
});

test('localserve: data<code> fails the message after DATA', async () => {
  await withLocalserve(async (s) => {
    const orig = message({ from: 'app@x.example' });
    const fail = ['554 5.0.0 failure with code 554 due to special localpart'];
    for (const c of [await smtp(s), await submission(s)]) {
      assert.deepEqual(textOf(await send(c, 'app@x.example', ['data554@x.example'], orig)), fail);
      c.close();
    }
    assert.deepEqual(await inbox(s), []);
    assert.equal(s.recorded.added.length, 0);
    // Next to a good recipient on port 25: accepted for that one, and no DSN.
    const c = await smtp(s);
    assert.deepEqual(
      textOf(await send(c, 'app@x.example', ['data554@x.example', 'someone@x.example'], orig)),
      DONE,
    );
    assert.equal((await inbox(s)).length, 1);
    assert.equal(s.recorded.added.length, 0);
    c.close();
  });
});

test('localserve: rcpttotimeout hangs, then fails', async () => {
  await withLocalserve(async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<app@x.example>');
    const panics = await smtpPanics();
    const start = Date.now();
    c.write('RCPT TO:<rcpttotimeout@x.example>\r\n');
    // The harness configures a 200 ms hang.
    assert.deepEqual(await slowReply(c, 150, 190, start), [
      '451 4.3.0 timing out due to special localpart',
    ]);
    // Asked for, so not counted as an unexpected error of ours.
    assert.equal(await smtpPanics(), panics);
    await expectReply(c, 'RCPT TO:<someone@x.example>', '250 2.1.5 recipient ok');
    c.close();
  });
});

test('localserve: mailfromtimeout and datatimeout hang too', async () => {
  await withLocalserve(async (s) => {
    const c = await smtp(s);
    let start = Date.now();
    c.write('MAIL FROM:<mailfromtimeout@x.example>\r\n');
    assert.deepEqual(await slowReply(c, 150, 190, start), [
      '451 4.3.0 timing out due to special localpart',
    ]);
    await c.ok('MAIL FROM:<app@x.example>');
    await c.ok('RCPT TO:<datatimeout@x.example>');
    await c.ok('DATA', 354);
    start = Date.now();
    c.write(message() + '.\r\n');
    assert.deepEqual(await slowReply(c, 150, 190, start), [
      '451 4.3.0 timing out due to special localpart',
    ]);

    const sub = await submission(s);
    await sub.ok('MAIL FROM:<app@x.example>');
    await sub.ok('RCPT TO:<datatimeout@x.example>');
    await sub.ok('DATA', 354);
    start = Date.now();
    sub.write(message() + '.\r\n');
    assert.deepEqual(await slowReply(sub, 150, 190, start), [
      '451 4.3.0 timing out due to special localpart',
    ]);
    assert.deepEqual(await inbox(s), []);
    assert.equal(s.recorded.added.length, 0);
    c.close();
    sub.close();
  });
});
