// MAIL and RCPT over the real listeners: parameters, sender and recipient checks, and
// what the envelope carries into the queue (RFC 5321 §4.1.1.2-3, RFC 1870, RFC 3461,
// RFC 4865, RFC 6531, RFC 8689). Policies: the sender domain must take mail (RFC 7505
// null MX); on port 25 a null sender gets one recipient, as a real bounce has one, and
// an unknown user is refused only after DATA (after a delay when every recipient is
// unknown), so that guessing addresses is slow, while submission refuses one at once;
// more than 10 failed commands without a good transaction end the connection (RFC 5321
// §7.8).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SmtpTestClient,
  message,
  send,
  type SmtpTestServer,
  DOMAINS,
  textOf,
  expectReply,
  withServer,
  smtp,
  submission,
} from './harness.js';

function inboxCount(s: SmtpTestServer, account = 'mjl', mailbox = 'Inbox'): Promise<number> {
  return s.store
    .account(account)
    .then(async (a) => (await a.uidArray((await a.mailbox(mailbox))!.id)).length);
}

const MJL_MSG = message({ from: 'mjl@example.org', to: 'remote@remote.example' });

// ---- MAIL ----

test('MAIL: accepted, a second MAIL is refused and the first transaction stays', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await expectReply(c, 'MAIL FROM:<sender@sender.example>', '250 2.1.0 sender ok');
    await expectReply(c, 'MAIL FROM:<other@sender.example>', '503 5.5.1 already have MAIL');
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const a = await s.store.account('mjl');
    const m = (
      await a.messages((await a.mailbox('Inbox'))!.id, await a.uids((await a.mailbox('Inbox'))!.id))
    )[0]!;
    const stored = (await a.readMessage(m)).toString();
    assert.match(stored, /^Return-Path: <sender@sender\.example>\r$/m);
    c.close();
  });
});

test('MAIL: parameter errors', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const from = 'MAIL FROM:<sender@sender.example>';
    await expectReply(c, `${from} SIZE=10 size=20`, '501 5.5.4 duplicate param');
    await expectReply(c, `${from} SIZE=10485761`, '552 5.3.4 message too large');
    await expectReply(c, `${from} BODY=9BIT`, '555 5.5.4 unrecognized BODY value 9BIT');
    await expectReply(c, `${from} REQUIRETLS`, '530 5.7.10 REQUIRETLS only allowed over TLS');
    await expectReply(c, `${from} FOO=bar`, '555 5.3.3 unrecognized parameter FOO');
    await expectReply(c, `${from} HOLDFOR=10`, '555 5.3.3 unrecognized parameter HOLDFOR');
    await expectReply(
      c,
      `${from} HOLDUNTIL=2030-01-01T00:00:00Z`,
      '555 5.3.3 unrecognized parameter HOLDUNTIL',
    );
    // A failed MAIL leaves no transaction behind.
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '503 5.5.1 missing MAIL FROM');
    // The limit itself is allowed; every valid parameter together.
    await expectReply(
      c,
      `${from} SIZE=10485760 BODY=8BITMIME SMTPUTF8 RET=FULL ENVID=x AUTH=<>`,
      '250 2.1.0 sender ok',
    );
    c.close();
  });
});

test('MAIL: SIZE over a listener limit below the default is x.2.3', async () => {
  await withServer({ limits: { maxMessageSize: 1000 } }, async (s) => {
    const c = await smtp(s);
    await expectReply(c, 'MAIL FROM:<a@sender.example> SIZE=1001', '552 5.2.3 message too large');
    await expectReply(c, 'MAIL FROM:<a@sender.example> SIZE=1000', '250 2.1.0 sender ok');
    c.close();
  });
});

test('MAIL: the sender domain must accept mail (port 25)', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await expectReply(
      c,
      'MAIL FROM:<a@tempfail.example>',
      '451 4.4.3 cannot look up sender domain tempfail.example in DNS now, try later',
    );
    await expectReply(
      c,
      'MAIL FROM:<a@nullmx.example>',
      '550 5.7.27 sender domain nullmx.example has a null MX: it receives no mail',
    );
    await expectReply(
      c,
      'MAIL FROM:<a@nothing.example>',
      '550 5.1.8 sender domain nothing.example does not exist',
    );
    await expectReply(c, 'MAIL FROM:<a@[192.0.2.1]>', '550 5.7.0 domain name required');
    // No MX but an address: the implicit MX (RFC 5321 §5.1).
    await expectReply(c, 'MAIL FROM:<a@implicit.example>', '250 2.1.0 sender ok');
    await expectReply(c, 'RSET', '250 2.0.0 all clear');
    await expectReply(c, 'MAIL FROM:<>', '250 2.1.0 sender ok');
    c.close();
  });
});

test('MAIL: a UTF-8 address needs SMTPUTF8', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await expectReply(
      c,
      'MAIL FROM:<møller@sender.example>',
      '501 5.1.7 non-ascii address requires SMTPUTF8',
    );
    await expectReply(c, 'MAIL FROM:<møller@sender.example> SMTPUTF8', '250 2.1.0 sender ok');
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(message({ from: 'møller@sender.example' }) + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    // Without SMTPUTF8 on MAIL, a UTF-8 recipient is refused.
    await c.ok('MAIL FROM:<a@sender.example>');
    await expectReply(
      c,
      'RCPT TO:<møller@example.org>',
      '501 5.1.3 non-ascii address requires SMTPUTF8',
    );
    c.close();
  });
});

test('MAIL on submission: FUTURERELEASE', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const from = 'MAIL FROM:<mjl@example.org>';
    const soon = new Date(Date.now() + 3600_000).toISOString();
    await expectReply(
      c,
      `${from} HOLDFOR=10 HOLDUNTIL=${soon}`,
      '501 5.5.4 cannot use both HOLDFOR and HOLDUNTIL',
    );
    // The conflict is reported whatever the values.
    await expectReply(
      c,
      `${from} HOLDUNTIL=2999-01-01T00:00:00Z HOLDFOR=99999999`,
      '501 5.5.4 cannot use both HOLDFOR and HOLDUNTIL',
    );
    await expectReply(
      c,
      `${from} HOLDUNTIL=2999-01-01T00:00:00Z`,
      '554 5.5.4 HOLDUNTIL too far in the future',
    );
    // RFC 4865: at most the advertised interval, 60 days.
    await expectReply(c, `${from} HOLDFOR=5184001`, '554 5.5.4 HOLDFOR too far in the future');
    await expectReply(
      c,
      `${from} HOLDUNTIL=2020-01-01T00:00:00Z`,
      '554 5.5.4 HOLDUNTIL is in the past',
    );
    await expectReply(c, `${from} HOLDFOR=1x`, '501 5.5.4 bad HOLDFOR value');
    await expectReply(c, `${from} HOLDUNTIL=tomorrow`, '501 5.5.4 bad HOLDUNTIL date-time');

    const before = Date.now();
    await expectReply(c, `${from} HOLDFOR=5184000`, '250 2.1.0 sender ok');
    await expectReply(c, 'RCPT TO:<remote@remote.example>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(MJL_MSG + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const after = Date.now();
    const q = s.recorded.added[0]!.msgs[0]!;
    assert.equal(q.futureReleaseRequest, 'for;5184000');
    const at = q.nextAttempt!.getTime();
    assert.ok(at >= before + 5184000_000 && at <= after + 5184000_000, `nextAttempt ${at}`);
    c.close();
  });
});

test('MAIL on submission: HOLDUNTIL is carried to the queue', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const until = new Date(Date.now() + 7200_000).toISOString().replace(/\.\d+Z$/, 'Z');
    await expectReply(c, `MAIL FROM:<mjl@example.org> HOLDUNTIL=${until}`, '250 2.1.0 sender ok');
    await c.ok('RCPT TO:<remote@remote.example>');
    await c.ok('DATA', 354);
    c.write(MJL_MSG + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const q = s.recorded.added[0]!.msgs[0]!;
    assert.equal(q.futureReleaseRequest, `until;${until}`);
    assert.equal(q.nextAttempt!.getTime(), Date.parse(until));
    c.close();
  });
});

test('MAIL on submission: the sender must belong to the account', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const refused = '550 5.7.1 must match authenticated user';
    await expectReply(c, 'MAIL FROM:<limited@example.org>', refused);
    await expectReply(c, 'MAIL FROM:<someone@sender.example>', refused);
    await expectReply(c, 'MAIL FROM:<mjl@[127.0.0.1]>', refused);
    // An alias the account is a member of, without allow_msg_from.
    await expectReply(c, 'MAIL FROM:<private@example.org>', refused);
    for (const ok of [
      '<>',
      '<mjl@example.org>',
      '<MJL+tag@Example.org>',
      '<other@example.org>',
      '<team@example.org>',
    ]) {
      await expectReply(c, `MAIL FROM:${ok}`, '250 2.1.0 sender ok');
      await expectReply(c, 'RSET', '250 2.0.0 all clear');
    }
    c.close();
  });
});

test('MAIL and RCPT on submission need TLS, then authentication', async () => {
  await withServer({}, async (s) => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.ok('EHLO client.example');
    // Before STARTTLS the missing TLS is named, not the missing login.
    const noTLS = '530 5.7.0 submission requires TLS: use STARTTLS first';
    await expectReply(c, 'MAIL FROM:<mjl@example.org>', noTLS);
    await expectReply(c, 'RCPT TO:<mjl@example.org>', noTLS);
    await expectReply(c, 'DATA', noTLS);
    await c.starttls();
    await c.ok('EHLO client.example');
    await expectReply(c, 'MAIL FROM:<mjl@example.org>', '530 5.7.0 authentication required');
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '530 5.7.0 authentication required');
    await expectReply(c, 'DATA', '530 5.7.0 authentication required');
    c.close();
  });
});

// ---- RCPT ----

test('RCPT: order and recipient checks on port 25', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '503 5.5.1 missing MAIL FROM');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(c, 'RCPT TO:<mjl@[127.0.0.1]>', '550 5.1.1 not accepting email for ip');
    await expectReply(
      c,
      'RCPT TO:<mjl@unknown.example>',
      '550 5.1.1 not accepting email for domain',
    );
    await expectReply(c, 'RCPT TO:<mjl@example.org> FOO=1', '555 5.3.3 unrecognized parameter FOO');
    await expectReply(
      c,
      'RCPT TO:<mjl@example.org> NOTIFY=SOMETIMES',
      '501 5.5.4 bad NOTIFY parameter: invalid NOTIFY value',
    );
    await expectReply(
      c,
      'RCPT TO:<mjl@example.org> NOTIFY=NEVER,FAILURE',
      '501 5.5.4 bad NOTIFY parameter: NOTIFY=NEVER cannot be combined',
    );
    await expectReply(
      c,
      'RCPT TO:<mjl@example.org> ORCPT=rfc822',
      '501 5.5.4 bad ORCPT parameter: ORCPT needs addr-type;address',
    );
    // An unknown user at our domain is accepted now and refused after DATA (spec §1.3).
    await expectReply(c, 'RCPT TO:<nobody@example.org>', '250 2.1.5 recipient ok');
    c.close();
  });
});

test('RCPT: a bare <Postmaster> is postmaster at the host name (RFC 5321 §4.1.1.3)', async () => {
  const domains = DOMAINS.replace(
    '[accounts.mjl]',
    '[domains."mail.example.org"]\n\n[accounts.mjl]',
  ).replace(
    '"mjl@example.org" = {},',
    '"mjl@example.org" = {}, "postmaster@mail.example.org" = {},',
  );
  await withServer({ domains }, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(c, 'RCPT TO:<PostMaster>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const a = await s.store.account('mjl');
    const m = (
      await a.messages((await a.mailbox('Inbox'))!.id, await a.uids((await a.mailbox('Inbox'))!.id))
    )[0]!;
    assert.match(
      (await a.readMessage(m)).toString(),
      /^Delivered-To: postmaster@mail\.example\.org\r$/m,
    );
    c.close();
  });
});

test('RCPT: [postmaster] takes postmaster at every domain and a bare <postmaster>', async () => {
  // The host name mail.example.org is no configured domain here.
  const domains = `[postmaster]\naccount = "mjl"\nmailbox = "Postmaster"\n\n${DOMAINS}`;
  await withServer({ domains }, async (s) => {
    const c = await smtp(s);
    for (const rcpt of ['<postmaster>', '<POSTMASTER@example.org>']) {
      await c.ok('MAIL FROM:<sender@sender.example>');
      await expectReply(c, `RCPT TO:${rcpt}`, '250 2.1.5 recipient ok');
      await c.ok('DATA', 354);
      c.write(message() + '.\r\n');
      assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    }
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(
      c,
      'RCPT TO:<postmaster@elsewhere.example>',
      '550 5.1.1 not accepting email for domain',
    );
    const a = await s.store.account('mjl');
    const box = (await a.mailbox('Postmaster'))!;
    const got = [];
    for (const m of await a.messages(box.id, await a.uids(box.id))) {
      got.push(/^Delivered-To: (.*)\r$/m.exec((await a.readMessage(m)).toString())?.[1]);
    }
    assert.deepEqual(got, ['postmaster@mail.example.org', 'POSTMASTER@example.org']);
    c.close();
  });
});

test('RCPT: a null sender gets one recipient on port 25', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<>');
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '250 2.1.5 recipient ok');
    await expectReply(
      c,
      'RCPT TO:<other@example.org>',
      '452 4.5.3 only one recipient allowed with null reverse address',
    );
    c.close();
  });
});

test('RCPT: the recipient limit (RFC 9422 RCPTMAX), pipelined', async () => {
  await withServer({ limits: { maxRecipients: 100 } }, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    let batch = '';
    for (let i = 0; i <= 100; i++) batch += `RCPT TO:<mjl+${i}@example.org>\r\n`;
    c.write(batch);
    for (let i = 0; i < 100; i++) {
      assert.deepEqual(textOf(await c.reply()), ['250 2.1.5 recipient ok'], `rcpt ${i}`);
    }
    assert.deepEqual(textOf(await c.reply()), ['452 4.5.3 max of 100 recipients reached']);
    // The 100 recipients are all there: one copy each.
    await c.ok('DATA', 354);
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    assert.equal(await inboxCount(s), 100);
    c.close();
  });
});

test('RCPT: all recipients unknown is refused after DATA, after a delay', async () => {
  await withServer({ delays: { unknownRecipients: 300 } }, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(c, 'RCPT TO:<nobody@example.org>', '250 2.1.5 recipient ok');
    await expectReply(c, 'RCPT TO:<noone@example.org>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    const start = Date.now();
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['550 5.1.1 no such user(s)']);
    assert.ok(Date.now() - start >= 290, `took ${Date.now() - start} ms`);
    assert.equal(await inboxCount(s), 0);
    // The transaction ended with the reply.
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '503 5.5.1 missing MAIL FROM');
    c.close();
  });
});

test('RCPT: an unknown user next to a known one gets the message to the known one', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const r = await send(
      c,
      'sender@sender.example',
      ['nobody@example.org', 'mjl@example.org'],
      message(),
    );
    assert.deepEqual(textOf(r), ['250 2.0.0 message accepted']);
    assert.equal(await inboxCount(s), 1);
    // The sender hears of the unknown one by DSN.
    assert.equal(s.recorded.added.length, 1);
    assert.equal(s.recorded.added[0]!.msgs[0]!.isDSN, true);
    c.close();
  });
});

test('RCPT: STARTTLS required for delivery', async () => {
  await withServer({ requireTLSForDelivery: true }, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(
      c,
      'RCPT TO:<mjl@example.org>',
      '530 5.7.0 STARTTLS required for mail delivery',
    );
    await c.ok('RSET');
    await c.starttls();
    await c.ok('EHLO client.example');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(c, 'RCPT TO:<mjl@example.org>', '250 2.1.5 recipient ok');
    c.close();
  });
});

test('RCPT on submission: unknown local users are refused, other domains queued', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    await c.ok('MAIL FROM:<mjl@example.org>');
    await expectReply(c, 'RCPT TO:<nobody@example.org>', '550 5.1.1 no such user');
    await expectReply(c, 'RCPT TO:<someone@remote.example>', '250 2.1.5 recipient ok');
    await expectReply(c, 'RCPT TO:<someone@[192.0.2.1]>', '250 2.1.5 recipient ok');
    await expectReply(c, 'RCPT TO:<other@example.org>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(MJL_MSG + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const recips = s.recorded.added[0]!.msgs.map(
      (m) => `${m.recipient.localpart}@${m.recipient.domain}`,
    );
    assert.deepEqual(recips, [
      'someone@remote.example',
      'someone@[192.0.2.1]',
      'other@example.org',
    ]);
    c.close();
  });
});

test('RCPT and MAIL DSN parameters are carried into the queue (RFC 3461)', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    await expectReply(
      c,
      'MAIL FROM:<mjl@example.org> RET=hdrs ENVID=QQ+2B1',
      '250 2.1.0 sender ok',
    );
    await expectReply(c, 'MAIL FROM:<mjl@example.org>', '503 5.5.1 already have MAIL');
    await expectReply(
      c,
      'RCPT TO:<a@remote.example> NOTIFY=SUCCESS,failure ORCPT=rfc822;A+2Bx@remote.example',
      '250 2.1.5 recipient ok',
    );
    await expectReply(c, 'RCPT TO:<b@remote.example> NOTIFY=NEVER', '250 2.1.5 recipient ok');
    await expectReply(c, 'RCPT TO:<c@remote.example>', '250 2.1.5 recipient ok');
    await c.ok('DATA', 354);
    c.write(MJL_MSG + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const dsn = s.recorded.added[0]!.msgs.map((m) => m.dsn);
    assert.deepEqual(dsn[0], {
      notify: ['SUCCESS', 'FAILURE'],
      orcpt: { addrType: 'rfc822', address: 'A+x@remote.example' },
      ret: 'HDRS',
      envid: 'QQ+1',
    });
    assert.equal(dsn[1]!.notify, 'NEVER');
    assert.equal(dsn[1]!.orcpt, undefined);
    assert.equal(dsn[2]!.notify, undefined);
    assert.equal(dsn[2]!.ret, 'HDRS');
    assert.equal(dsn[2]!.envid, 'QQ+1');

    // Without RET/ENVID nothing is made up.
    await c.ok('MAIL FROM:<mjl@example.org> RET=FULL');
    await c.ok('RCPT TO:<d@remote.example>');
    await c.ok('DATA', 354);
    c.write(MJL_MSG + '.\r\n');
    await c.reply();
    const d2 = s.recorded.added[1]!.msgs[0]!.dsn!;
    assert.equal(d2.ret, 'FULL');
    assert.equal(d2.envid, undefined);
    await expectReply(
      c,
      'MAIL FROM:<mjl@example.org> RET=ALL',
      '501 5.5.4 RET must be FULL or HDRS',
    );
    c.close();
  });
});

test('MAIL: more than 10 failed commands without a good transaction closes', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    for (let i = 0; i < 10; i++) {
      await expectReply(
        c,
        `RCPT TO:<x${i}@unknown.example>`,
        '550 5.1.1 not accepting email for domain',
      );
    }
    await c.ok('RSET');
    // Ten failures are tolerated.
    await expectReply(c, 'MAIL FROM:<sender@sender.example>', '250 2.1.0 sender ok');
    await expectReply(c, 'RCPT TO:<y@unknown.example>', '550 5.1.1 not accepting email for domain');
    await c.ok('RSET');
    await expectReply(c, 'MAIL FROM:<sender@sender.example>', '550 5.1.0 too many failures');
    assert.equal(await c.closed(), true);
  });
});

test('MAIL: failures after a good transaction do not close', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    assert.equal(
      (await send(c, 'sender@sender.example', ['mjl@example.org'], message())).code,
      250,
    );
    await c.ok('MAIL FROM:<sender@sender.example>');
    for (let i = 0; i < 12; i++) await c.ok(`RCPT TO:<x${i}@unknown.example>`, 550);
    await c.ok('RSET');
    await expectReply(c, 'MAIL FROM:<sender@sender.example>', '250 2.1.0 sender ok');
    c.close();
  });
});
