// The incoming delivery pipeline over the real port 25 listener: trace headers (RFC 5321
// §4.4), destinations, aliases (members may post, outsiders only to a public alias),
// quota (452 4.2.2), partial failures reported to the sender by mail after the 250 (RFC
// 5321 §6.1) in one DSN (RFC 3464), the replies when every recipient fails, the
// per-account delivery rate (more is a flood, not correspondence), and the first-time
// sender delay (a sender new to the account waits, which keeps a spammer's connection
// busy while a real mail server just waits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import {
  DOMAINS,
  SmtpTestClient,
  message,
  send,
  type SmtpTestServer,
  textOf,
  withServer,
  smtp,
} from './harness.js';
import { DeliveryRateLimiter } from '../../src/smtpserver/index.js';
import { parseDSN } from '../../src/message/dsn.js';
import { Flag } from '../../src/store/index.js';

/** A window no test outlasts: counts that a minute boundary could reset would be flaky. */
const ONE_WINDOW = 1e13;

/** The connection id, from an error reply. */
async function cidOf(c: SmtpTestClient): Promise<string> {
  const r = await c.cmd('RSET junk');
  const m = / \(([0-9a-z]+)\)$/.exec(r.lines[0] ?? '');
  assert.ok(m);
  return m[1]!;
}

/** Stored messages of a mailbox, whole. */
async function mailbox(s: SmtpTestServer, account: string, name = 'Inbox'): Promise<string[]> {
  const a = await s.store.account(account);
  const mb = await a.mailbox(name);
  if (!mb) return [];
  const out: string[] = [];
  for (const m of await a.messages(mb.id, await a.uids(mb.id)))
    out.push((await a.readMessage(m)).toString());
  return out;
}

const DATE = /[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000/.source;
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const DONE = ['250 2.0.0 message accepted'];
const SENDER = 'sender@sender.example';

/** The exact stored form: the delivery prefix, then the message as sent. */
function storedPattern(o: {
  deliveredTo: string;
  returnPath: string;
  from: string;
  withLine: string;
  forRcpt: string;
  original: string;
}): RegExp {
  return new RegExp(
    '^X-Tidings-Reason: no-bad-signals\\r\\n' +
      `Delivered-To: ${esc(o.deliveredTo)}\\r\\n` +
      `Return-Path: <${esc(o.returnPath)}>\\r\\n` +
      // The verification headers; their content is tested in verify.test.ts.
      'Authentication-Results: mail\\.example\\.org;(\\r\\n\\t[^\\r]*)+\\r\\n' +
      'Received-SPF: [^\\r]*(\\r\\n\\t[^\\r]*)*\\r\\n' +
      `Received: from ${esc(o.from)} by mail\\.example\\.org \\(\\[127\\.0\\.0\\.1\\]\\) via tcp\\r\\n` +
      `\\twith ${esc(o.withLine)}\\r\\n` +
      `\\tfor <${esc(o.forRcpt)}>; ${DATE}\\r\\n` +
      `${esc(o.original)}$`,
  );
}

/** A message too big for the limited account (quota 3000). */
function bigMessage(from = `Sender <${SENDER}>`): string {
  return message({ from, body: ('x'.repeat(78) + '\r\n').repeat(50) });
}

test('deliver: the stored message is the prefix and the exact original', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const cid = await cidOf(c);
    const orig = message({ body: 'line one\r\n.dot line\r\n\r\nlast' });
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], orig)), DONE);
    const [stored] = await mailbox(s, 'mjl');
    assert.match(
      stored!,
      storedPattern({
        deliveredTo: 'mjl@example.org',
        returnPath: SENDER,
        from: 'client.example ([127.0.0.1])',
        withLine: `ESMTP id ${cid}`,
        forRcpt: 'mjl@example.org',
        original: orig,
      }),
    );
    // A bounce has an empty Return-Path.
    assert.deepEqual(textOf(await send(c, '', ['mjl@example.org'], orig)), DONE);
    assert.match((await mailbox(s, 'mjl'))[1]!, /^Return-Path: <>\r$/m);
    c.close();
  });
});

test('deliver: HELO gives "with SMTP", an address literal is shown as such', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s, 'HELO client.example');
    const cid = await cidOf(c);
    const orig = message();
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], orig)), DONE);
    const c2 = await smtp(s, 'EHLO [127.0.0.1]');
    const cid2 = await cidOf(c2);
    assert.deepEqual(textOf(await send(c2, SENDER, ['mjl@example.org'], orig)), DONE);
    const [one, two] = await mailbox(s, 'mjl');
    const base = {
      deliveredTo: 'mjl@example.org',
      returnPath: SENDER,
      forRcpt: 'mjl@example.org',
      original: orig,
    };
    assert.match(
      one!,
      storedPattern({ ...base, from: 'client.example ([127.0.0.1])', withLine: `SMTP id ${cid}` }),
    );
    assert.match(
      two!,
      storedPattern({ ...base, from: '[127.0.0.1] ([127.0.0.1])', withLine: `ESMTP id ${cid2}` }),
    );
    c.close();
    c2.close();
  });
});

test('deliver: after STARTTLS the Received header names the TLS version and cipher', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await c.starttls();
    await c.ok('EHLO client.example');
    const cid = await cidOf(c);
    const sock = c.socket as TLSSocket;
    const tls = `${sock.getProtocol()} ${sock.getCipher().name}`;
    const orig = message();
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], orig)), DONE);
    await c.ok(`MAIL FROM:<${SENDER}> REQUIRETLS`);
    await c.ok('RCPT TO:<mjl@example.org>');
    await c.ok('DATA', 354);
    c.write(orig + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), DONE);
    const [plain, requiretls] = await mailbox(s, 'mjl');
    const base = {
      deliveredTo: 'mjl@example.org',
      returnPath: SENDER,
      from: 'client.example ([127.0.0.1])',
      forRcpt: 'mjl@example.org',
      original: orig,
    };
    assert.match(plain!, storedPattern({ ...base, withLine: `ESMTPS id ${cid} (${tls})` }));
    assert.match(
      requiretls!,
      storedPattern({ ...base, withLine: `ESMTPS (requiretls) id ${cid} (${tls})` }),
    );
    c.close();
  });
});

test('deliver: catch-all separator and per-address mailboxes', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = message();
    for (const rcpt of ['mjl+tag@example.org', 'MJL+Other@Example.ORG', 'other@example.org']) {
      assert.deepEqual(textOf(await send(c, SENDER, [rcpt], orig)), DONE, rcpt);
    }
    const inbox = await mailbox(s, 'mjl');
    assert.equal(inbox.length, 2);
    // Delivered-To and "for" give the address as the sender wrote it (domain in
    // lower-case ASCII): it is the address this copy was delivered for (RFC 9228).
    assert.match(
      inbox[0]!,
      /^X-Tidings-Reason: no-bad-signals\r\nDelivered-To: mjl\+tag@example\.org\r\n[^]*\tfor <mjl\+tag@example\.org>; /,
    );
    assert.match(
      inbox[1]!,
      /^X-Tidings-Reason: no-bad-signals\r\nDelivered-To: MJL\+Other@example\.org\r\n[^]*\tfor <MJL\+Other@example\.org>; /,
    );
    const other = await mailbox(s, 'mjl', 'Other');
    assert.equal(other.length, 1);
    assert.match(other[0]!, /^Delivered-To: other@example\.org\r$/m);
    assert.ok(other[0]!.endsWith(orig));
    c.close();
  });
});

test('deliver: an alias, posted to by a member, goes to the other members only', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    // From a tagged, differently cased form of the member's address.
    const orig = message({ from: 'Mjl <MJL+list@Example.org>', to: 'team@example.org' });
    assert.deepEqual(textOf(await send(c, SENDER, ['team@example.org'], orig)), DONE);
    assert.deepEqual(await mailbox(s, 'mjl'), []);
    const [got] = await mailbox(s, 'limited');
    assert.match(
      got!,
      /^X-Tidings-Reason: no-bad-signals\r\nDelivered-To: limited@example\.org\r\n/,
    );
    assert.match(got!, /\tfor <team@example\.org>; /);
    assert.ok(got!.endsWith(orig));
    c.close();
  });
});

test('deliver: posting to an alias from outside', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const stranger = message();
    const refused = ['550 5.7.2 not allowed to send to destination'];
    assert.deepEqual(textOf(await send(c, SENDER, ['private@example.org'], stranger)), refused);
    assert.deepEqual(textOf(await send(c, SENDER, ['team@example.org'], stranger)), refused);
    // Both refused for the same reason: one line.
    assert.deepEqual(
      textOf(await send(c, SENDER, ['team@example.org', 'private@example.org'], stranger)),
      refused,
    );
    assert.deepEqual(await mailbox(s, 'mjl'), []);
    // From the alias address itself, with allow_msg_from: to every member; a member
    // that is also an explicit recipient gets one copy.
    const fromAlias = message({ from: 'team@example.org' });
    assert.deepEqual(
      textOf(await send(c, SENDER, ['team@example.org', 'mjl@example.org'], fromAlias)),
      DONE,
    );
    const mjl = await mailbox(s, 'mjl');
    assert.equal(mjl.length, 1);
    assert.match(mjl[0]!, /^Delivered-To: mjl@example\.org\r$/m);
    assert.equal((await mailbox(s, 'limited')).length, 1);
    c.close();
  });
});

test('deliver: a public alias takes mail from anyone', async () => {
  const domains = DOMAINS.replace(
    'members = ["mjl@example.org", "limited@example.org"]\n',
    'members = ["mjl@example.org", "limited@example.org"]\npost_public = true\n',
  );
  assert.notEqual(domains, DOMAINS);
  await withServer({ domains }, async (s) => {
    const c = await smtp(s);
    assert.deepEqual(textOf(await send(c, SENDER, ['team@example.org'], message())), DONE);
    assert.equal((await mailbox(s, 'mjl')).length, 1);
    assert.equal((await mailbox(s, 'limited')).length, 1);
    c.close();
  });
});

test('deliver: over quota', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    assert.deepEqual(textOf(await send(c, SENDER, ['limited@example.org'], bigMessage())), [
      '452 4.2.2 account storage full',
    ]);
    assert.deepEqual(await mailbox(s, 'limited'), []);
    assert.equal(s.recorded.added.length, 0);
    // A small one still fits.
    assert.deepEqual(textOf(await send(c, SENDER, ['limited@example.org'], message())), DONE);
    c.close();
  });
});

test('deliver: partial failure is accepted and the sender gets a DSN', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const big = bigMessage();
    await c.ok(`MAIL FROM:<${SENDER}> ENVID=env+2B1`);
    await c.ok('RCPT TO:<mjl@example.org>');
    await c.ok('RCPT TO:<limited@example.org> ORCPT=rfc822;Limited@example.org');
    await c.ok('DATA', 354);
    c.write(big + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), DONE);
    assert.equal((await mailbox(s, 'mjl')).length, 1);
    assert.deepEqual(await mailbox(s, 'limited'), []);
    assert.equal(s.recorded.added.length, 1);
    const q = s.recorded.added[0]!;
    assert.equal(q.msgs.length, 1);
    const m = q.msgs[0]!;
    assert.equal(m.sender, null);
    assert.equal(m.isDSN, true);
    assert.equal(m.account, '');
    assert.deepEqual(m.recipient, { localpart: 'sender', domain: 'sender.example' });
    assert.equal(m.requireTLS, null);
    // The queue row carries the DSN's own Message-ID.
    assert.match(m.messageId, /^<[^>]+@mail\.example\.org>$/);
    assert.ok(q.data.toString('latin1').includes(`\r\nMessage-ID: ${m.messageId}\r\n`));
    const dsn = parseDSN(q.data);
    assert.deepEqual(dsn, {
      envid: 'env+1',
      reportingMTA: 'mail.example.org',
      recipients: [
        {
          finalRecipient: 'limited@example.org',
          originalRecipient: 'Limited@example.org',
          action: 'failed',
          status: '4.2.2',
          diagnostic: '452 4.2.2 account storage full',
        },
      ],
    });
    const text = q.data.toString();
    assert.match(text, /^From: .*<postmaster@example\.org>\r$/m);
    assert.match(text, /^To: <?sender@sender\.example>?\r$/m);
    assert.match(text, /^Subject: mail delivery failure\r$/m);
    const origId = /Message-ID: (<[^>]+>)/.exec(big)![1]!;
    assert.match(text, new RegExp(`^References: ${esc(origId)}\\r$`, 'm'));
    // RET was not FULL: the original headers, not the body.
    assert.ok(text.includes('Subject: test\r\n'));
    assert.ok(!text.includes('x'.repeat(78)));
    c.close();
  });
});

test('deliver: a DSN returning 8-bit headers is marked 8-bit for the queue', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const big = message({ subject: 'grüße', body: ('x'.repeat(78) + '\r\n').repeat(50) });
    assert.deepEqual(
      textOf(await send(c, SENDER, ['mjl@example.org', 'limited@example.org'], big)),
      DONE,
    );
    const q = s.recorded.added[0]!;
    assert.ok(q.data.includes(Buffer.from('Subject: grüße\r\n')));
    assert.equal(q.msgs[0]!.has8bit, true);
    assert.equal(q.msgs[0]!.smtputf8, false);
    // An ASCII one is not.
    assert.deepEqual(
      textOf(await send(c, SENDER, ['mjl@example.org', 'limited@example.org'], bigMessage())),
      DONE,
    );
    assert.equal(s.recorded.added[1]!.msgs[0]!.has8bit, false);
    c.close();
  });
});

test('deliver: RET=FULL returns the whole message; NOTIFY without FAILURE gets no DSN', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const big = bigMessage();
    await c.ok(`MAIL FROM:<${SENDER}> RET=FULL`);
    await c.ok('RCPT TO:<mjl@example.org>');
    await c.ok('RCPT TO:<limited@example.org>');
    await c.ok('DATA', 354);
    c.write(big + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), DONE);
    assert.equal(s.recorded.added.length, 1);
    assert.ok(s.recorded.added[0]!.data.toString().includes('x'.repeat(78)));

    for (const notify of ['NEVER', 'SUCCESS,DELAY']) {
      await c.ok(`MAIL FROM:<${SENDER}>`);
      await c.ok('RCPT TO:<mjl@example.org>');
      await c.ok(`RCPT TO:<limited@example.org> NOTIFY=${notify}`);
      await c.ok('DATA', 354);
      c.write(big + '.\r\n');
      assert.deepEqual(textOf(await c.reply()), DONE);
    }
    assert.equal(s.recorded.added.length, 1);
    assert.equal((await mailbox(s, 'mjl')).length, 3);
    c.close();
  });
});

test('deliver: when every recipient fails differently, one line each', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const r = await send(c, SENDER, ['private@example.org', 'limited@example.org'], bigMessage());
    assert.deepEqual(textOf(r), [
      '554-5.3.0 limited@example.org: 452 4.2.2 account storage full',
      '554-5.3.0 private@example.org: 550 5.7.2 not allowed to send to destination',
      '554 5.3.0 multiple errors',
    ]);
    // Refused at once or after DATA, the same form.
    const r2 = await send(c, SENDER, ['nobody@example.org', 'limited@example.org'], bigMessage());
    assert.deepEqual(textOf(r2), [
      '554-5.3.0 limited@example.org: 452 4.2.2 account storage full',
      '554-5.3.0 nobody@example.org: 550 5.1.1 no such user',
      '554 5.3.0 multiple errors',
    ]);
    assert.equal(s.recorded.added.length, 0);
    c.close();
  });
});

test('deliver: temporary failures only give a 451 with one line each', async () => {
  const limiter = new DeliveryRateLimiter({ messages: 1, bytes: 1e9, windowMs: ONE_WINDOW });
  await withServer({ limiters: { delivery: limiter } }, async (s) => {
    const c = await smtp(s);
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], message())), DONE);
    // mjl is over its rate now; limited over quota.
    const r = await send(c, SENDER, ['mjl@example.org', 'limited@example.org'], bigMessage());
    assert.deepEqual(textOf(r), [
      '451-4.3.0 mjl@example.org: 451 4.7.1 too many messages from your ip/network, try again later',
      '451-4.3.0 limited@example.org: 452 4.2.2 account storage full',
      '451 4.3.0 multiple errors',
    ]);
    c.close();
  });
});

test('deliver: the per-account delivery rate', async () => {
  const limiter = new DeliveryRateLimiter({ messages: 2, bytes: 1e9, windowMs: ONE_WINDOW });
  await withServer({ limiters: { delivery: limiter } }, async (s) => {
    const c = await smtp(s);
    const msg = message();
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], msg)), DONE);
    assert.deepEqual(textOf(await send(c, SENDER, ['other@example.org'], msg)), DONE);
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], msg)), [
      '451 4.7.1 too many messages from your ip/network, try again later',
    ]);
    // Another account is not affected.
    assert.deepEqual(textOf(await send(c, SENDER, ['limited@example.org'], msg)), DONE);
    assert.equal((await mailbox(s, 'mjl')).length, 1);
    c.close();
  });
});

test('deliver: the first-time sender delay applies on port 25, not on submission', async () => {
  await withServer({ delays: { firstTimeSender: 1500 } }, async (s) => {
    const c = await smtp(s);
    const start = Date.now();
    assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], message())), DONE);
    assert.ok(Date.now() - start >= 1490, `port 25 took ${Date.now() - start} ms`);
    c.close();
  });
  // A delay far longer than any submission can take: if it applied, the reply would miss
  // the deadline whatever the machine's speed.
  await withServer({ delays: { firstTimeSender: 120_000 } }, async (s) => {
    const sub = await SmtpTestClient.open(s.submission.port);
    await sub.login();
    const r = await beforeDelay(
      send(sub, 'mjl@example.org', ['mjl@example.org'], message({ from: 'mjl@example.org' })),
    );
    assert.deepEqual(textOf(r), DONE);
    sub.close();
  });
});

/** The promise's value, or a failure if it takes a large part of a 120 s delay. */
async function beforeDelay<T>(p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the first-time sender delay applied')), 60_000);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('deliver: no first-time sender delay for an account that opted out', async () => {
  const domains = DOMAINS.replace(
    '[accounts.mjl]\ndomain = "example.org"\n',
    '[accounts.mjl]\ndomain = "example.org"\nno_first_time_sender_delay = true\n',
  );
  assert.notEqual(domains, DOMAINS);
  await withServer({ domains, delays: { firstTimeSender: 120_000 } }, async (s) => {
    const c = await smtp(s);
    const r = await beforeDelay(send(c, SENDER, ['mjl@example.org'], message()));
    assert.deepEqual(textOf(r), DONE);
    c.close();
  });
});

/** Stores a message from `from` in the mailbox, as an earlier delivery would have. */
async function seedFrom(s: SmtpTestServer, mailbox: string, from: string, flags = 0) {
  const a = await s.store.account('mjl');
  const [localpart, domain] = from.split('@') as [string, string];
  const p = await s.store.prepareMessage(Buffer.from(message({ from })));
  try {
    await a.addMessages(
      mailbox,
      [
        {
          message: p,
          flags,
          facts: { msgFromLocalpart: localpart, msgFromDomain: domain.toLowerCase() },
        },
      ],
      { create: true },
    );
  } finally {
    await p.cleanup();
  }
}

test('deliver: a sender the account knows gets no first-time delay', async () => {
  await withServer({ delays: { firstTimeSender: 120_000 } }, async (s) => {
    // An earlier message from the same address (localpart case aside).
    await seedFrom(s, 'Archive', 'Known@Sender.example');
    const c = await smtp(s);
    const r = await beforeDelay(
      send(c, SENDER, ['mjl@example.org'], message({ from: 'known@sender.example' })),
    );
    assert.deepEqual(textOf(r), DONE);
    // Someone the user wrote to (submission history).
    await (await s.store.account('mjl')).recordOutgoing(['Friend@Remote.example']);
    const r2 = await beforeDelay(
      send(c, SENDER, ['mjl@example.org'], message({ from: 'friend@remote.example' })),
    );
    assert.deepEqual(textOf(r2), DONE);
    // A delivery status notification is not held up either.
    const dsn = message({
      from: 'postmaster@sender.example',
      extra: 'Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n',
      body: '--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b--',
    });
    const r3 = await beforeDelay(send(c, '', ['mjl@example.org'], dsn));
    assert.deepEqual(textOf(r3), DONE);
    c.close();
  });
});

test('deliver: a sender known only from Junk, or from messages marked $Junk, still waits', async () => {
  await withServer({ delays: { firstTimeSender: 1500 } }, async (s) => {
    const a = await s.store.account('mjl');
    await a.createMailbox('Spam', { specialUse: '\\Junk' });
    await seedFrom(s, 'Spam', 'spammer@sender.example');
    await seedFrom(s, 'Archive', 'marked@sender.example', Flag.Junk);
    const c = await smtp(s);
    for (const from of ['spammer@sender.example', 'marked@sender.example']) {
      const start = Date.now();
      assert.deepEqual(textOf(await send(c, SENDER, ['mjl@example.org'], message({ from }))), DONE);
      assert.ok(Date.now() - start >= 1490, `${from}: took ${Date.now() - start} ms`);
    }
    c.close();
  });
});
