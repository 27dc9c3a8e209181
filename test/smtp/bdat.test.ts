// BDAT over the real listeners: CHUNKING and BINARYMIME (RFC 3030).
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

/** Sends one BDAT command with its chunk and checks the reply. */
async function chunk(c: SmtpTestClient, data: string | Buffer, last: boolean, ...want: string[]) {
  const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
  c.write(Buffer.concat([Buffer.from(`BDAT ${b.length}${last ? ' LAST' : ''}\r\n`), b]));
  assert.deepEqual(textOf(await c.reply()), want, `BDAT ${b.length}`);
}

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

const DONE = '250 2.0.0 message accepted';
const octets = (n: number) => `250 2.0.0 ${n} octets received`;

test('BDAT: several chunks, then LAST', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const ehlo = await c.cmd('EHLO client.example');
    assert.ok(ehlo.lines.includes('250-CHUNKING') && ehlo.lines.includes('250-BINARYMIME'));
    const orig = message({ body: 'first line\r\n.a line with a dot\r\nlast line' });
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    // Chunks split anywhere, even inside a CRLF; dots are not special.
    const cut = [0, 17, orig.indexOf('\r\n') + 1, 120, orig.length];
    for (let i = 0; i + 2 < cut.length; i++) {
      const part = orig.slice(cut[i], cut[i + 1]);
      await chunk(c, part, false, octets(part.length));
    }
    await chunk(c, orig.slice(cut[cut.length - 2]), true, DONE);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);
    // The transaction is over.
    await chunk(c, 'x', true, '503 5.5.1 missing MAIL FROM');
    c.close();
  });
});

test('BDAT: "BDAT 0 LAST" ends a message', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = message();
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, orig, false, octets(orig.length));
    await expectReply(c, 'BDAT 0 LAST', DONE);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);
    c.close();
  });
});

test('BDAT: without a transaction the chunk is read and dropped', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    // The chunk holds command lines: they must not run.
    await chunk(c, 'HELP\r\nQUIT\r\n', false, '503 5.5.1 missing MAIL FROM');
    await expectReply(c, 'NOOP', '250 2.0.0 alrighty');
    await c.ok('MAIL FROM:<sender@sender.example>');
    await chunk(c, 'HELP\r\n', true, '503 5.5.1 missing RCPT TO');
    await expectReply(c, 'NOOP', '250 2.0.0 alrighty');
    // The MAIL is still there.
    await c.ok('RCPT TO:<mjl@example.org>');
    const orig = message();
    await chunk(c, orig, true, DONE);
    assert.equal((await inbox(s)).length, 1);
    c.close();
  });
});

test('BDAT: DATA and RCPT are refused once chunks arrived; BINARYMIME needs BDAT', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = message();
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, orig.slice(0, 10), false, octets(10));
    await expectReply(c, 'DATA', '503 5.5.1 DATA not allowed after BDAT');
    await expectReply(c, 'RCPT TO:<other@example.org>', '503 5.5.1 RCPT not allowed during BDAT');
    await chunk(c, orig.slice(10), true, DONE);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);

    // RFC 3030 §3: BINARYMIME data cannot be sent with DATA.
    await c.ok('MAIL FROM:<sender@sender.example> BODY=BINARYMIME');
    await c.ok('RCPT TO:<mjl@example.org>');
    await expectReply(c, 'DATA', '503 5.5.1 BINARYMIME requires BDAT');
    await chunk(c, orig, true, DONE);
    c.close();
  });
});

test('BDAT: BINARYMIME content is stored byte for byte', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const head =
      'From: <sender@sender.example>\r\nTo: <mjl@example.org>\r\nSubject: bin\r\n' +
      'MIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\n' +
      'Content-Transfer-Encoding: binary\r\n\r\n';
    const body = Buffer.from([
      0x00, 0x0a, 0x0d, 0xff, 0x2e, 0x0a, 0x2e, 0x0d, 0x0a, 0x2e, 0x0d, 0x0a, 0x80, 0x0a,
    ]);
    const orig = Buffer.concat([Buffer.from(head), body]);
    await c.ok('MAIL FROM:<sender@sender.example> BODY=BINARYMIME');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, orig.subarray(0, head.length + 2), false, octets(head.length + 2));
    await chunk(c, orig.subarray(head.length + 2), true, DONE);
    const [stored] = await inbox(s);
    assert.ok(original(stored!, orig.length).equals(orig));
    c.close();
  });
});

const SMUGGLING = '500 5.5.2 invalid bare \\r or \\n, may be smtp smuggling';
const SMUGGLED =
  'MAIL FROM:<evil@sender.example>\r\nRCPT TO:<mjl@example.org>\r\nDATA\r\n' +
  'From: <evil@sender.example>\r\nSubject: smuggled\r\n\r\nsmuggled\r\n.\r\n';
const HEAD = 'From: <sender@sender.example>\r\nTo: <mjl@example.org>\r\nSubject: x\r\n\r\n';

// Stored as is, such a message would reach a server that reads bare line ends as line
// ends when relayed with DATA, and end there (SMTP smuggling).
for (const [name, chunks, refusedAt] of [
  ['"\\n.\\n" then commands', [HEAD + 'hello\n.\n' + SMUGGLED], 0],
  ['bare LF line ends', ['From: <sender@sender.example>\nSubject: lf\n\nline\n'], 0],
  ['a bare CR inside a chunk', [HEAD + 'one\rtwo\r\n'], 0],
  ['"\\r.\\r" then commands', [HEAD + 'hello\r.\r' + SMUGGLED], 0],
  ['a bare LF at the start of a later chunk', [HEAD + 'hello', '\n.\n' + SMUGGLED], 1],
  ['a CR ending one chunk, no LF starting the next', [HEAD + 'hello\r', '.\r\nmore\r\n'], 1],
  ['a CR ending the last chunk', [HEAD + 'hello\r'], 0],
  ['a bare LF in a chunk that is not the last', [HEAD + 'hello\n.\n' + SMUGGLED, 'more'], 0],
] as const) {
  test(`BDAT: smuggling is refused: ${name}`, async () => {
    await withServer({}, async (s) => {
      const c = await smtp(s);
      await c.ok('MAIL FROM:<sender@sender.example>');
      await c.ok('RCPT TO:<mjl@example.org>');
      // The chunk that shows the bare CR or LF is refused; the message is gone, so later
      // chunks have no transaction.
      for (let i = 0; i < chunks.length; i++) {
        const data = chunks[i]!;
        const want =
          i < refusedAt
            ? octets(data.length)
            : i === refusedAt
              ? SMUGGLING
              : '503 5.5.1 missing MAIL FROM';
        await chunk(c, data, i === chunks.length - 1, want);
      }
      // Nothing else was answered, nothing stored, and the transaction is over.
      await expectReply(c, 'NOOP', '250 2.0.0 alrighty');
      assert.equal((await inbox(s)).length, 0);
      assert.deepEqual(await readdir(s.store.tmpDir), []);
      await chunk(c, 'x', true, '503 5.5.1 missing MAIL FROM');
      // The session goes on.
      const orig = message();
      await c.ok('MAIL FROM:<sender@sender.example>');
      await c.ok('RCPT TO:<mjl@example.org>');
      await chunk(c, orig, true, DONE);
      const stored = await inbox(s);
      assert.equal(stored.length, 1);
      assert.doesNotMatch(stored[0]!.toString(), /smuggled|evil/);
      c.close();
    });
  });
}

test('BDAT on submission: a bare LF or CR is refused, nothing is queued', async () => {
  await withServer({}, async (s) => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.login();
    const head = 'From: <mjl@example.org>\r\nTo: <remote@remote.example>\r\nSubject: x\r\n\r\n';
    for (const body of ['hello\n.\n' + SMUGGLED, 'hello\r.\r' + SMUGGLED]) {
      await c.ok('MAIL FROM:<mjl@example.org>');
      await c.ok('RCPT TO:<remote@remote.example>');
      await chunk(c, head + body, true, SMUGGLING);
    }
    assert.equal(s.recorded.added.length, 0);
    c.close();
  });
});

const NUL_REFUSED = '554 5.6.0 message contains a NUL byte, not allowed in mail';

test('BDAT: a NUL byte is refused, except in BINARYMIME content delivered here', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example> BODY=8BITMIME');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, HEAD + 'one\r\n', false, octets(HEAD.length + 5));
    await chunk(c, 'nul \x00 here\r\n', true, NUL_REFUSED);
    assert.equal((await inbox(s)).length, 0);
    assert.deepEqual(await readdir(s.store.tmpDir), []);
    await chunk(c, 'x', true, '503 5.5.1 missing MAIL FROM');
    // RFC 3030 §3: binary content may hold any octet.
    await c.ok('MAIL FROM:<sender@sender.example> BODY=BINARYMIME');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, HEAD + 'nul \x00 here\r\n', true, DONE);
    assert.equal((await inbox(s)).length, 1);
    c.close();
  });
});

test('BDAT on submission: a NUL byte is refused, also as BINARYMIME', async () => {
  await withServer({}, async (s) => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.login();
    // The queue sends it on as 8BITMIME at most, which allows no NUL.
    for (const body of ['', ' BODY=BINARYMIME']) {
      await c.ok(`MAIL FROM:<mjl@example.org>${body}`);
      await c.ok('RCPT TO:<remote@remote.example>');
      const orig = message({ from: 'mjl@example.org', to: 'remote@remote.example', body: '\x00' });
      await chunk(c, orig, true, NUL_REFUSED);
    }
    assert.equal(s.recorded.added.length, 0);
    c.close();
  });
});

test('BDAT: a message over the size limit fails, the session goes on', async () => {
  await withServer({ limits: { maxMessageSize: 1000 } }, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, 'a'.repeat(600), false, octets(600));
    await chunk(c, 'b'.repeat(600), false, '552 5.2.3 message too large, max 1000 bytes');
    // The message is gone; its remaining chunks are read and refused.
    await chunk(c, 'c'.repeat(600), true, '503 5.5.1 missing MAIL FROM');
    await expectReply(c, 'NOOP', '250 2.0.0 alrighty');
    assert.equal((await inbox(s)).length, 0);
    assert.deepEqual(await readdir(s.store.tmpDir), []);
    const orig = message();
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await chunk(c, orig, true, DONE);
    assert.equal((await inbox(s)).length, 1);
    c.close();
  });
});

test('BDAT: pipelined commands and chunks each get a reply', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    const orig = message({ body: 'pipelined\r\nchunks' });
    const a = orig.slice(0, 40);
    const b = orig.slice(40, 90);
    const rest = orig.slice(90);
    c.write(
      'MAIL FROM:<sender@sender.example>\r\nRCPT TO:<mjl@example.org>\r\n' +
        `BDAT ${a.length}\r\n${a}BDAT ${b.length}\r\n${b}BDAT ${rest.length}\r\n${rest}BDAT 0 LAST\r\n` +
        `MAIL FROM:<sender@sender.example>\r\nRCPT TO:<other@example.org>\r\nBDAT ${orig.length} LAST\r\n${orig}` +
        'NOOP\r\n',
    );
    const want = [
      '250 2.1.0 sender ok',
      '250 2.1.5 recipient ok',
      octets(a.length),
      octets(b.length),
      octets(rest.length),
      DONE,
      '250 2.1.0 sender ok',
      '250 2.1.5 recipient ok',
      DONE,
      '250 2.0.0 alrighty',
    ];
    for (const w of want) assert.deepEqual(textOf(await c.reply()), [w]);
    const [stored] = await inbox(s);
    assert.equal(original(stored!, orig.length).toString(), orig);
    const acc = await s.store.account('mjl');
    assert.equal((await acc.uids((await acc.mailbox('Other'))!.id)).length, 1);
    c.close();
  });
});

test('BDAT: a bad size closes the connection', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await expectReply(c, 'BDAT many', '501 5.5.4 bad BDAT syntax, expected size and optional LAST');
    assert.equal(await c.closed(), true);
  });
});

test('BDAT on submission: the message is queued', async () => {
  await withServer({}, async (s) => {
    const c = await SmtpTestClient.open(s.submission.port);
    await c.login();
    const orig = message({ from: 'mjl@example.org', to: 'remote@remote.example' });
    await c.ok('MAIL FROM:<mjl@example.org>');
    await c.ok('RCPT TO:<remote@remote.example>');
    await chunk(c, orig.slice(0, 50), false, octets(50));
    await chunk(c, orig.slice(50), true, DONE);
    assert.equal(s.recorded.added.length, 1);
    assert.equal(s.recorded.added[0]!.data.toString(), orig);
    c.close();
  });
});

test('BDAT: a chunk that cannot be stored is still read, not run', async () => {
  await withServer({}, async (s) => {
    const c = await smtp(s);
    await c.ok('MAIL FROM:<sender@sender.example>');
    await c.ok('RCPT TO:<mjl@example.org>');
    await rm(s.store.tmpDir, { recursive: true });
    try {
      await chunk(c, 'HELP\r\n', false, '451 4.3.0 error writing message to disk');
    } finally {
      await mkdir(s.store.tmpDir);
    }
    await expectReply(c, 'NOOP', '250 2.0.0 alrighty');
    const orig = message();
    await chunk(c, orig, true, DONE);
    assert.equal((await inbox(s)).length, 1);
    c.close();
  });
});
