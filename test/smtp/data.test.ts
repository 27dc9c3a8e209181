// DATA over the real listeners (RFC 5321 §4.1.1.4, §4.5.2): transparency, SMTP smuggling
// (a bare CR or LF is refused, RFC 5321 §2.3.8: relayed, the message could end at
// another server where it did not end here), size limits (a message over the limit is
// answered at once and the connection closed, rather than reading what may be gigabytes
// more), the loop guard (more than 100 Received headers, RFC 5321 §6.3), 8-bit and large
// messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm } from 'node:fs/promises';
import {
  SmtpTestClient,
  message,
  type SmtpTestServer,
  textOf,
  expectReply,
  withServer,
  smtp,
} from './harness.js';

/** Messages in mjl's Inbox, whole. */
async function inbox(s: SmtpTestServer): Promise<Buffer[]> {
  const a = await s.store.account('mjl');
  const mb = (await a.mailbox('Inbox'))!;
  const out: Buffer[] = [];
  for (const m of await a.messages(mb.id, await a.uids(mb.id))) out.push(await a.readMessage(m));
  return out;
}

/** The stored message without the delivery prefix, which ends with the Received header. */
function original(stored: Buffer, expectedLength: number): Buffer {
  const prefix = stored.subarray(0, stored.length - expectedLength).toString('latin1');
  assert.match(
    prefix,
    /^X-Tidings-Reason: [^\r]*\r\nDelivered-To: [^\r]*\r\nReturn-Path: [^\r]*\r\nAuthentication-Results: [^\r]*(\r\n\t[^\r]*)*\r\nReceived-SPF: [^\r]*(\r\n\t[^\r]*)*\r\nReceived: [^]*\r\n$/,
  );
  return stored.subarray(stored.length - expectedLength);
}

/** Starts a transaction to mjl and gets the 354. */
async function startData(c: SmtpTestClient, mailParams = ''): Promise<void> {
  await c.ok(`MAIL FROM:<sender@sender.example>${mailParams}`);
  await c.ok('RCPT TO:<mjl@example.org>');
  await expectReply(c, 'DATA', '354 start mail input, end with <CRLF>.<CRLF>');
}

async function tmpFiles(s: SmtpTestServer): Promise<string[]> {
  return readdir(s.store.tmpDir);
}

const HEAD =
  'From: <sender@sender.example>\r\nTo: <mjl@example.org>\r\nSubject: data\r\n' +
  'Message-ID: <data@sender.example>\r\n\r\n';

test('DATA: order of commands', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await expectReply(c, 'DATA', '503 5.5.1 missing MAIL FROM');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await expectReply(c, 'DATA', '503 5.5.1 missing RCPT TO');
    await c.ok('RCPT TO:<mjl@example.org>');
    await expectReply(c, 'DATA now', '501 5.5.4 no parameters allowed');
    // The errors kept the transaction.
    await expectReply(c, 'DATA', '354 start mail input, end with <CRLF>.<CRLF>');
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    // A new transaction is needed for the next message.
    await expectReply(c, 'DATA', '503 5.5.1 missing MAIL FROM');
    c.close();
  });
});

test('DATA: dot-unstuffing gives back the original lines (RFC 5321 §4.5.2)', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = HEAD + '.\r\n..\r\n.leading dot\r\n...three\r\nmid.dle\r\n. \r\nend\r\n';
    await startData(c);
    // Stuffed: every line starting with a dot gets one more.
    c.write(orig.replace(/^\./gm, '..') + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);
    c.close();
  });
});

test('DATA: the data may arrive in tiny pieces', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = HEAD + '.x\r\nbody\r\n';
    await startData(c);
    const wire = orig.replace(/^\./gm, '..') + '.\r\n';
    for (const ch of wire) {
      c.write(ch);
      await new Promise((r) => setImmediate(r));
    }
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);
    c.close();
  });
});

const SMUGGLED =
  'MAIL FROM:<evil@sender.example>\r\nRCPT TO:<mjl@example.org>\r\nDATA\r\n' +
  'From: <evil@sender.example>\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n';

for (const [name, body] of [
  ['bare LF', 'line one\nline two\r\n.\r\n'],
  ['bare CR', 'line one\rline two\r\n.\r\n'],
  ['"\\n.\\n" then commands', 'hello\n.\n' + SMUGGLED],
  ['"\\r\\n.\\n" then commands', 'hello\r\n.\n' + SMUGGLED],
  ['"\\n.\\r\\n" then commands', 'hello\n.\r\n' + SMUGGLED.replace('MAIL', 'RSET\r\nMAIL')],
  ['bare CR before the dot', 'hello\r.\r\n' + SMUGGLED],
] as const) {
  test(`DATA: smuggling is refused: ${name}`, async () => {
    await withServer({}, async (s) => {
      const c = await smtp(s);
      await startData(c);
      c.write(HEAD + body);
      assert.deepEqual(textOf(await c.reply()), [
        '500 5.5.2 invalid bare \\r or \\n, may be smtp smuggling',
      ]);
      // Nothing else was answered: the smuggled commands were message data.
      await expectReply(c, 'NOOP', '250 2.0.0 alrighty');
      assert.equal((await inbox(s)).length, 0);
      assert.deepEqual(await tmpFiles(s), []);
      // The data ended the transaction (RFC 5321 §4.1.1.4); the session goes on.
      await expectReply(c, 'RCPT TO:<mjl@example.org>', '503 5.5.1 missing MAIL FROM');
      await startData(c);
      c.write(message() + '.\r\n');
      assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
      const stored = await inbox(s);
      assert.equal(stored.length, 1);
      assert.doesNotMatch(stored[0]!.toString(), /smuggled|evil/);
      c.close();
    });
  });
}

test('DATA: a message over the size limit is refused and the connection closed', async () => {
  await withServer({ limits: { maxMessageSize: 1000 } }, async (s) => {
    const c = await smtp(s);
    await startData(c);
    c.write(
      HEAD + 'x'.repeat(70) + '\r\n'.repeat(1) + ('y'.repeat(70) + '\r\n').repeat(20) + '.\r\n',
    );
    assert.deepEqual(textOf(await c.reply()), ['552 5.2.3 message too large, max 1000 bytes']);
    assert.equal(await c.closed(), true);
    assert.equal((await inbox(s)).length, 0);
    assert.deepEqual(await tmpFiles(s), []);
  });
});

test('DATA: a message at the size limit is accepted', async () => {
  await withServer({ limits: { maxMessageSize: 1000 } }, async (s) => {
    const c = await smtp(s);
    const orig = HEAD + 'z'.repeat(1000 - HEAD.length - 2) + '\r\n';
    assert.equal(orig.length, 1000);
    await startData(c);
    c.write(orig + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, 1000).toString(), orig);
    c.close();
  });
});

test('DATA: with the system default limit the reply is x.3.4', async () => {
  await withServer({ limits: { maxMessageSize: 1000, defaultMaxMessageSize: 1000 } }, async (s) => {
    const c = await smtp(s);
    await startData(c);
    c.write(HEAD + ('y'.repeat(70) + '\r\n').repeat(20) + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['552 5.3.4 message too large, max 1000 bytes']);
    assert.equal(await c.closed(), true);
  });
});

function receivedHeaders(n: number): string {
  let h = '';
  for (let i = 0; i < n; i++)
    h += `Received: from hop${i}.example by hop${i + 1}.example; Sat, 21 Nov 2026 10:00:00 +0000\r\n`;
  return h;
}

test('DATA: more than 100 Received headers is a loop', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await startData(c);
    c.write(receivedHeaders(101) + HEAD + 'looping\r\n.\r\n');
    assert.deepEqual(textOf(await c.reply()), [
      '550 5.4.6 loop detected, more than 100 Received headers',
    ]);
    assert.equal((await inbox(s)).length, 0);
    assert.deepEqual(await tmpFiles(s), []);
    // 100 are fine.
    const orig = receivedHeaders(100) + HEAD + 'not looping\r\n';
    await startData(c);
    c.write(orig + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);
    c.close();
  });
});

test('DATA: 8-bit data is stored as sent', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = Buffer.concat([
      Buffer.from(
        HEAD.replace('Subject: data', 'Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=') + 'Grüße, ',
        'utf8',
      ),
      Buffer.from([0xe9, 0xff, 0x80, 0x0d, 0x0a]), // latin-1 and invalid UTF-8 bytes
      Buffer.from('naïve ✓\r\n', 'utf8'),
    ]);
    await startData(c, ' BODY=8BITMIME');
    c.write(Buffer.concat([orig, Buffer.from('.\r\n')]));
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    // Without BODY=8BITMIME too (clients such as iOS Mail do this; spec §1.7).
    await startData(c);
    c.write(Buffer.concat([orig, Buffer.from('.\r\n')]));
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    const stored = await inbox(s);
    assert.equal(stored.length, 2);
    for (const m of stored) assert.ok(original(m, orig.length).equals(orig));
    c.close();
  });
});

const NUL_REFUSED = '554 5.6.0 message contains a NUL byte, not allowed in mail';

test('DATA: a message with a NUL byte is refused, the session goes on', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    // RFC 5322 §2.1 and RFC 6152 §2 (8BITMIME) allow no NUL, in the header or the body.
    for (const msg of [HEAD + 'a\x00b\r\n', HEAD.replace('Subject: data', 'Subject: \x00')]) {
      await startData(c, ' BODY=8BITMIME');
      c.write(Buffer.from(msg + '.\r\n', 'latin1'));
      assert.deepEqual(textOf(await c.reply()), [NUL_REFUSED]);
      await expectReply(c, 'RCPT TO:<mjl@example.org>', '503 5.5.1 missing MAIL FROM');
    }
    assert.equal((await inbox(s)).length, 0);
    assert.deepEqual(await tmpFiles(s), []);
    await startData(c);
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    c.close();
  });
});

test('DATA on submission: a message with a NUL byte is refused and not queued', async () => {
  await withServer({}, async (s) => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.login();
    await c.ok('MAIL FROM:<mjl@example.org>');
    await c.ok('RCPT TO:<remote@remote.example>');
    await c.ok('DATA', 354);
    c.write(message({ from: 'mjl@example.org', body: 'nul \x00 here' }) + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), [NUL_REFUSED]);
    assert.equal(s.recorded.added.length, 0);
    c.close();
  });
});

test('DATA on submission: the queue is told whether the message has 8-bit data', async () => {
  await withServer({}, async (s) => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.login();
    for (const body of ['plain ascii', 'caf\u00e9']) {
      await c.ok('MAIL FROM:<mjl@example.org> BODY=8BITMIME');
      await c.ok('RCPT TO:<remote@remote.example>');
      await c.ok('DATA', 354);
      c.write(message({ from: 'mjl@example.org', body }) + '.\r\n');
      assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    }
    assert.deepEqual(
      s.recorded.added.map((a) => a.msgs[0]!.has8bit),
      [false, true],
    );
    assert.ok(s.recorded.added[1]!.data.includes(Buffer.from('caf\u00e9', 'utf8')));
    c.close();
  });
});

test('DATA: a multi-megabyte message streams through and is stored exactly', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const lines: string[] = [];
    for (let i = 0; lines.length < 80_000; i++) {
      // Some lines start with a dot, to be stuffed and unstuffed.
      lines.push(
        i % 97 === 0 ? `.line ${i} ${'x'.repeat(60)}` : `line ${i} ${'abcdefghij'.repeat(6)}`,
      );
    }
    const orig = Buffer.from(HEAD + lines.join('\r\n') + '\r\n');
    assert.ok(orig.length > 5 * 1024 * 1024);
    await startData(c);
    const wire = Buffer.from(orig.toString('latin1').replace(/^\./gm, '..') + '.\r\n', 'latin1');
    for (let off = 0; off < wire.length; off += 256 * 1024)
      c.write(wire.subarray(off, off + 256 * 1024));
    assert.deepEqual(textOf(await c.reply(60_000)), ['250 2.0.0 message accepted']);
    const [stored] = await inbox(s);
    assert.ok(original(stored!, orig.length).equals(orig));
    c.close();
  });
});

test('DATA: a connection lost during the data stores nothing', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await startData(c);
    c.write(HEAD + 'half a message\r\n');
    await new Promise((r) => setTimeout(r, 50));
    c.close();
    for (let i = 0; i < 100 && (s.smtp.connections > 0 || (await tmpFiles(s)).length > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(s.smtp.connections, 0);
    assert.deepEqual(await tmpFiles(s), []);
    assert.equal((await inbox(s)).length, 0);
  });
});

test('DATA: when the message cannot be stored the client hears so before sending it', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await rm(s.store.tmpDir, { recursive: true });
    try {
      await expectReply(c, 'DATA', '451 4.3.0 error writing message to disk');
    } finally {
      await mkdir(s.store.tmpDir);
    }
    // The transaction is kept for a retry.
    await expectReply(c, 'DATA', '354 start mail input, end with <CRLF>.<CRLF>');
    c.write(message() + '.\r\n');
    assert.deepEqual(textOf(await c.reply()), ['250 2.0.0 message accepted']);
    c.close();
  });
});
