// The submission pipeline over the real listeners (RFC 6409): checks on the message (the
// From header must be an address of the account, §6.3), the headers added (Message-Id
// and Date when missing, §8.3 and §8.2; a DKIM signature, §8.5), the daily limits on
// messages and first-time recipients (a stolen password sends only so much spam before
// someone notices), and what is handed to the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TLSSocket } from 'node:tls';
import {
  DOMAINS,
  SmtpTestClient,
  message,
  send,
  textOf,
  withServer,
  submission,
} from './harness.js';
import type { Readable } from 'node:stream';
import { MockResolver } from '../../src/dns/index.js';
import {
  dkimRecord,
  dkimSign,
  generateDkimKey,
  parseDkimKey,
  verifyDkim,
} from '../../src/msgauth/index.js';

/** The connection id, from an error reply. */
async function cidOf(c: SmtpTestClient): Promise<string> {
  const r = await c.cmd('RSET junk');
  const m = / \(([0-9a-z]+)\)$/.exec(r.lines[0] ?? '');
  assert.ok(m);
  return m[1]!;
}

/** "TLSv1.3 TLS_AES_256_GCM_SHA384", as the server describes the connection. */
function tlsOf(c: SmtpTestClient): string {
  const s = c.socket as TLSSocket;
  return `${s.getProtocol()} ${s.getCipher().name}`;
}

/** Sends the data of an already started transaction; returns the reply lines. */
async function data(c: SmtpTestClient, msg: string): Promise<string[]> {
  await c.ok('DATA', 354);
  c.write(msg.replace(/^\./gm, '..') + '.\r\n');
  return textOf(await c.reply());
}

const DATE = /[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000/.source;
const DONE = ['250 2.0.0 message accepted'];
const ACCOUNT_FROM = 'mjl@example.org';

test('submit: the From header must belong to the account', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const refused = ['550 5.7.1 message from address must belong to authenticated user'];
    for (const from of [
      'limited@example.org',
      'Someone <someone@sender.example>',
      'private@example.org',
    ]) {
      const r = await send(c, ACCOUNT_FROM, ['remote@remote.example'], message({ from }));
      assert.deepEqual(textOf(r), refused, from);
    }
    const noFrom = 'To: remote@remote.example\r\nSubject: x\r\n\r\nbody\r\n';
    for (const m of [noFrom, 'From: not an address\r\n' + noFrom]) {
      assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['remote@remote.example'], m)), [
        '550 5.6.0 missing or unparsable From header',
      ]);
    }
    assert.equal(s.recorded.added.length, 0);
    // Its own addresses in any case and with a catch-all tag, and an alias with
    // allow_msg_from the account is a member of.
    for (const from of [
      'Mjl <MJL@Example.ORG>',
      'mjl+news@example.org',
      'other@example.org',
      'Team <team@example.org>',
    ]) {
      const r = await send(c, ACCOUNT_FROM, ['remote@remote.example'], message({ from }));
      assert.deepEqual(textOf(r), DONE, from);
    }
    assert.equal(s.recorded.added.length, 4);
    c.close();
  });
});

test('submit: a message needs a header and a body section', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const headerOnly = `From: ${ACCOUNT_FROM}\r\nTo: remote@remote.example\r\nSubject: no body\r\n`;
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['remote@remote.example'], headerOnly)), [
      '554 5.6.0 message requires both header and body section',
    ]);
    // An empty body after the blank line is a body section.
    assert.deepEqual(
      textOf(await send(c, ACCOUNT_FROM, ['remote@remote.example'], headerOnly + '\r\n')),
      DONE,
    );
    assert.equal(s.recorded.added.length, 1);
    assert.equal(s.recorded.added[0]!.data.toString(), headerOnly + '\r\n');
    c.close();
  });
});

test('submit: trace headers, and Message-Id and Date when missing', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const cid = await cidOf(c);
    const tls = tlsOf(c);
    const bare = `From: ${ACCOUNT_FROM}\r\nTo: remote@remote.example\r\nSubject: bare\r\n\r\nhi\r\n`;
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['remote@remote.example'], bare)), DONE);
    const q = s.recorded.added[0]!;
    assert.equal(q.data.toString(), bare);
    assert.equal(q.msgs.length, 1);
    const m = q.msgs[0]!;
    const prefix = m.prefix.toString();
    // The client's address and name are not revealed (spec §1.10).
    assert.match(
      prefix,
      new RegExp(
        '^Received: from mail\\.example\\.org by mail\\.example\\.org via tcp\\r\\n' +
          `\\twith ESMTPSA id ${cid} \\(${tls.replace(/[.()]/g, '\\$&')}\\)\\r\\n` +
          `\\tfor <remote@remote\\.example>; ${DATE}\\r\\n` +
          'Authentication-Results: mail\\.example\\.org;\\r\\n' +
          '\\tauth=pass smtp\\.mailfrom=mjl@example\\.org\\r\\n' +
          'Message-Id: (<[a-z2-7]{32}@mail\\.example\\.org>)\\r\\n' +
          `Date: ${DATE}\\r\\n$`,
      ),
    );
    assert.doesNotMatch(prefix, /127\.0\.0\.1|client\.example/);
    assert.equal(m.messageId, /Message-Id: (<[^>]+>)/.exec(prefix)![1]);
    assert.deepEqual(
      { ...m, prefix: null, dsn: null },
      {
        sender: { localpart: 'mjl', domain: 'example.org' },
        recipient: { localpart: 'remote', domain: 'remote.example' },
        account: 'mjl',
        has8bit: false,
        smtputf8: false,
        messageId: m.messageId,
        subject: 'bare',
        requireTLS: null,
        prefix: null,
        dsn: null,
        nextAttempt: undefined,
        futureReleaseRequest: undefined,
      },
    );

    // With Message-ID and Date present nothing is added.
    const full = message({ from: ACCOUNT_FROM, to: 'remote@remote.example', subject: 'full' });
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['remote@remote.example'], full)), DONE);
    const m2 = s.recorded.added[1]!.msgs[0]!;
    assert.doesNotMatch(m2.prefix.toString(), /^(Message-Id|Date):/im);
    assert.match(m2.prefix.toString(), /\r\n\tauth=pass smtp\.mailfrom=mjl@example\.org\r\n$/);
    assert.equal(m2.messageId, /Message-ID: (<[^>]+>)/.exec(full)![1]);

    // A null sender shows as "<>".
    await c.ok('MAIL FROM:<>');
    await c.ok('RCPT TO:<remote@remote.example>');
    assert.deepEqual(await data(c, full), DONE);
    const m3 = s.recorded.added[2]!.msgs[0]!;
    assert.equal(m3.sender, null);
    assert.match(m3.prefix.toString(), /\tauth=pass smtp\.mailfrom=<>\r\n/);
    c.close();
  });
});

test('submit: several recipients are queued in one call, sharing the data and prefix', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, to: 'a@remote.example', subject: 'many' });
    const rcpts = ['a@remote.example', 'B@Other.Example', 'other@example.org'];
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, rcpts, msg)), DONE);
    assert.equal(s.recorded.added.length, 1);
    const q = s.recorded.added[0]!;
    assert.equal(q.data.toString(), msg);
    assert.deepEqual(
      q.msgs.map((m) => m.recipient),
      [
        { localpart: 'a', domain: 'remote.example' },
        { localpart: 'B', domain: 'other.example' },
        { localpart: 'other', domain: 'example.org' },
      ],
    );
    const prefix = q.msgs[0]!.prefix;
    for (const m of q.msgs) assert.ok(m.prefix.equals(prefix));
    // Without a single recipient the Received header has no "for".
    assert.match(
      prefix.toString(),
      new RegExp(
        `^Received: [^]*\\r\\n\\twith ESMTPSA id [^\\r]+; ${DATE}\\r\\nAuthentication-Results:`,
      ),
    );
    assert.doesNotMatch(prefix.toString(), /\bfor </);
    c.close();
  });
});

test('submit: a queue failure is a temporary error and nothing counts as sent', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, to: 'a@remote.example' });
    s.recorded.fail = new Error('x');
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), [
      '451 4.3.0 error queueing message',
    ]);
    const acc = await s.store.account('mjl');
    assert.deepEqual(await acc.sendCounts(['a@remote.example']), {
      messages: 0,
      firstTimeRecipients: 0,
      newRecipients: 1,
    });
    // A full disk is x.3.1 (RFC 3463), so the client retries later.
    s.recorded.fail = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), [
      '452 4.3.1 insufficient system storage, try again later',
    ]);
    s.recorded.fail = null;
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), DONE);
    assert.deepEqual(await acc.sendCounts(['a@remote.example']), {
      messages: 1,
      firstTimeRecipients: 1,
      newRecipients: 0,
    });
    c.close();
  });
});

const withAccountLimit = (setting: string) =>
  DOMAINS.replace(
    '[accounts.mjl]\ndomain = "example.org"\n',
    `[accounts.mjl]\ndomain = "example.org"\n${setting}\n`,
  );

test('submit: the daily message limit', async () => {
  const domains = withAccountLimit('max_outgoing_messages_per_day = 2');
  assert.notEqual(domains, DOMAINS);
  await withServer({ domains }, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, to: 'a@remote.example' });
    const limit = [
      '451 4.7.1 max number of messages (2) over past 24h reached, try increasing per-account setting max_outgoing_messages_per_day',
    ];
    // One message to three recipients is three messages.
    const three = ['a@remote.example', 'b@remote.example', 'c@remote.example'];
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, three, msg)), limit);
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), DONE);
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), DONE);
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), limit);
    assert.equal(s.recorded.added.length, 2);
    c.close();
  });
});

test('submit: the daily first-time recipient limit', async () => {
  const domains = withAccountLimit('max_first_time_recipients_per_day = 2');
  await withServer({ domains }, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, to: 'a@remote.example' });
    const limit = [
      '451 4.7.1 max number of new/first-time recipients (2) over past 24h reached, try increasing per-account setting max_first_time_recipients_per_day',
    ];
    assert.deepEqual(
      textOf(await send(c, ACCOUNT_FROM, ['a@remote.example', 'b@remote.example'], msg)),
      DONE,
    );
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['c@remote.example'], msg)), limit);
    // Known recipients can still be written to.
    assert.deepEqual(
      textOf(await send(c, ACCOUNT_FROM, ['A@remote.example', 'b@remote.example'], msg)),
      DONE,
    );
    assert.equal(s.recorded.added.length, 2);
    c.close();
  });
});

test('submit: REQUIRETLS and "TLS-Required: No" (RFC 8689)', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, to: 'a@remote.example' });
    const ehlo = await c.cmd('EHLO client.example');
    assert.ok(ehlo.lines.includes('250-REQUIRETLS'));
    await c.ok('MAIL FROM:<mjl@example.org> REQUIRETLS');
    await c.ok('RCPT TO:<a@remote.example>');
    assert.deepEqual(await data(c, msg), DONE);
    const tlsNo = message({ from: ACCOUNT_FROM, extra: 'TLS-Required: No\r\n' });
    const tlsNoTwice = message({
      from: ACCOUNT_FROM,
      extra: 'TLS-Required: no\r\nTLS-Required:  NO \r\n',
    });
    const tlsOther = message({
      from: ACCOUNT_FROM,
      extra: 'TLS-Required: No\r\nTLS-Required: yes\r\n',
    });
    for (const m of [tlsNo, msg, tlsNoTwice, tlsOther]) {
      assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], m)), DONE);
    }
    // REQUIRETLS wins over the header.
    await c.ok('MAIL FROM:<mjl@example.org> REQUIRETLS');
    await c.ok('RCPT TO:<a@remote.example>');
    assert.deepEqual(await data(c, tlsNo), DONE);
    const got = s.recorded.added.map((a) => a.msgs[0]!.requireTLS);
    assert.deepEqual(got, [true, false, null, false, null, true]);
    assert.match(
      s.recorded.added[0]!.msgs[0]!.prefix.toString(),
      /\twith ESMTPSA \(requiretls\) id /,
    );
    assert.doesNotMatch(s.recorded.added[1]!.msgs[0]!.prefix.toString(), /requiretls/);
    c.close();
  });
});

test('submit: a header with UTF-8 needs SMTPUTF8 to be sent on (RFC 6532)', async () => {
  await withServer({}, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, subject: 'grüße' });
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['a@remote.example'], msg)), DONE);
    const m = s.recorded.added[0]!.msgs[0]!;
    assert.equal(m.smtputf8, true);
    assert.equal(m.has8bit, true);
    assert.equal(m.subject, 'grüße');
    assert.match(m.prefix.toString(), /\twith UTF8SMTPSA id /);
    c.close();
  });
});

test('submit: with the real queue, a local recipient gets the message in the store', async () => {
  await withServer({ realQueue: true }, async (s) => {
    const c = await submission(s);
    const msg = message({ from: ACCOUNT_FROM, to: 'mjl@example.org', subject: 'to myself' });
    assert.deepEqual(textOf(await send(c, ACCOUNT_FROM, ['mjl@example.org'], msg)), DONE);
    const acc = await s.store.account('mjl');
    const mb = (await acc.mailbox('Inbox'))!;
    for (let i = 0; i < 100 && (await acc.uids(mb.id)).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const msgs = await acc.messages(mb.id, await acc.uids(mb.id));
    assert.equal(msgs.length, 1);
    const stored = (await acc.readMessage(msgs[0]!)).toString();
    assert.ok(stored.endsWith(msg), stored);
    assert.match(stored, /^Received: from mail\.example\.org by mail\.example\.org via tcp\r\n/m);
    assert.match(stored, /^\tauth=pass smtp\.mailfrom=mjl@example\.org\r$/m);
    c.close();
  });
});

test('submit: DKIM signatures over the added headers and the message; a signing failure only costs the signature', async () => {
  const ed = generateDkimKey('ed25519');
  const key = parseDkimKey(ed.pem, 'test.key');
  const domains: string[] = [];
  const sign = async (domain: string, data: () => Readable) => {
    domains.push(domain);
    if (domains.length > 1) throw new Error('key file unreadable');
    return dkimSign(data, [{ domain, selector: 'sel', key }]);
  };
  await withServer({ dkimSign: sign }, async (s) => {
    const c = await submission(s);
    const r = await send(
      c,
      ACCOUNT_FROM,
      ['remote@remote.example'],
      message({ from: ACCOUNT_FROM }),
    );
    assert.deepEqual(textOf(r), DONE);
    const added = s.recorded.added[0];
    assert.ok(added);
    const prefix = added.msgs[0]!.prefix.toString();
    assert.match(
      prefix,
      /^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=example\.org;\s+s=sel;/,
    );
    const resolver = new MockResolver({ txt: { 'sel._domainkey.example.org': [dkimRecord(ed)] } });
    const full = Buffer.concat([added.msgs[0]!.prefix, added.data]);
    const results = await verifyDkim(full, resolver);
    assert.deepEqual(
      results.map((x) => [x.domain, x.selector, x.result]),
      [['example.org', 'sel', 'pass']],
    );

    // The signer fails; the message is still queued, unsigned.
    const r2 = await send(
      c,
      ACCOUNT_FROM,
      ['remote@remote.example'],
      message({ from: 'Me <mjl@EXAMPLE.org>' }),
    );
    assert.deepEqual(textOf(r2), DONE);
    assert.deepEqual(domains, ['example.org', 'example.org']);
    assert.doesNotMatch(s.recorded.added[1]!.msgs[0]!.prefix.toString(), /DKIM-Signature/);
  });
});
