// The client against a scripted server: command sequences, pipelining, replies,
// message data, refusals decided before sending, and connection failures.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SmtpClient, SmtpClientError, type ClientOptions, type Envelope } from './index.js';
import { CLOSE, HANG, startFake, type FakeOptions, type FakeSession } from './testutil.js';

const MSG = Buffer.from('Subject: hi\r\n\r\nhello\r\n');
const EXT = ['PIPELINING', 'SIZE 10000000', 'ENHANCEDSTATUSCODES', '8BITMIME'];

async function session(
  t: TestContext,
  opts: FakeOptions,
  copts: Partial<ClientOptions> = {},
): Promise<{ client: SmtpClient; s: FakeSession }> {
  const f = await startFake(opts);
  t.after(() => f.close());
  const client = await SmtpClient.connect({
    socket: await f.dial(),
    ehloHostname: 'client.example',
    tlsMode: 'none',
    ...copts,
  });
  t.after(() => client.close());
  return { client, s: f.sessions[0]! };
}

function env(rcpts: string[], o: Partial<Envelope> = {}): Envelope {
  return {
    from: 'sender@example.org',
    recipients: rcpts.map((address) => ({ address })),
    size: MSG.length,
    has8bit: false,
    smtputf8: false,
    requireTLS: false,
    ...o,
  };
}

/** Expects a rejection with an SmtpClientError and returns it. */
async function clientError(p: Promise<unknown>): Promise<SmtpClientError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SmtpClientError, `not an SmtpClientError: ${String(e)}`);
    return e;
  }
  assert.fail('expected an SmtpClientError');
}

test('extensions from EHLO, remote name, and one pipelined write for MAIL, RCPT, DATA', async (t) => {
  const { client, s } = await session(t, {
    ehlo: ['PIPELINING', 'SIZE 35882577', 'auth PLAIN LOGIN', '8bitmime', 'AUTH=LOGIN', 'DSN'],
  });
  assert.equal(client.remoteName, 'fake.example');
  assert.deepEqual(
    [...client.extensions],
    [
      ['PIPELINING', ''],
      ['SIZE', '35882577'],
      ['AUTH', 'PLAIN LOGIN'],
      ['8BITMIME', ''],
      ['DSN', ''],
    ],
  );
  const r = await client.deliver(env(['a@example.com', 'b@example.com']), MSG);
  assert.deepEqual(s.lines, [
    'EHLO client.example',
    'MAIL FROM:<sender@example.org> SIZE=22',
    'RCPT TO:<a@example.com>',
    'RCPT TO:<b@example.com>',
    'DATA',
  ]);
  // MAIL, both RCPTs and DATA arrived before any reply to them was written.
  assert.deepEqual(
    s.commands.slice(1).map((c) => c.repliesBefore),
    [2, 2, 2, 2],
  );
  assert.deepEqual(s.data, [MSG]);
  assert.equal(r.chunking, false);
  assert.equal(r.dsnPassedOn, true);
  assert.deepEqual(r.data, {
    code: 250,
    secode: '2.0.0',
    text: 'message accepted',
    lines: ['message accepted'],
  });
  assert.deepEqual(
    r.recipients.map((x) => [x.address, x.ok, x.reply.code]),
    [
      ['a@example.com', true, 250],
      ['b@example.com', true, 250],
    ],
  );
});

test('EHLO refused with 502: HELO, no extensions, one command at a time', async (t) => {
  const { client, s } = await session(t, { ehlo: null });
  assert.equal(client.extensions.size, 0);
  const r = await client.deliver(env(['a@example.com']), MSG);
  assert.deepEqual(s.lines, [
    'EHLO client.example',
    'HELO client.example',
    'MAIL FROM:<sender@example.org>',
    'RCPT TO:<a@example.com>',
    'DATA',
  ]);
  assert.deepEqual(
    s.commands.map((c) => c.repliesBefore),
    [1, 2, 3, 4, 5],
  );
  assert.equal(r.recipients[0]!.ok, true);
  assert.equal(r.dsnPassedOn, false);
});

test('EHLO refused with 550 is an error, not a reason for HELO', async (t) => {
  const f = await startFake({
    onCommand: (l) => (l.startsWith('EHLO') ? '550 go away' : undefined),
  });
  t.after(() => f.close());
  const e = await clientError(
    SmtpClient.connect({ socket: await f.dial(), ehloHostname: 'c.example', tlsMode: 'none' }),
  );
  assert.equal(e.stage, 'ehlo');
  assert.equal(e.code, 550);
  assert.equal(e.permanent, true);
  assert.equal(e.remoteText, 'go away');
  assert.deepEqual(f.sessions[0]!.lines, ['EHLO c.example']);
});

test('greeting 554: permanent error, QUIT sent', async (t) => {
  const f = await startFake({ greeting: '554 5.7.1 no service for you' });
  t.after(() => f.close());
  const e = await clientError(
    SmtpClient.connect({ socket: await f.dial(), ehloHostname: 'c.example', tlsMode: 'none' }),
  );
  assert.equal(e.stage, 'greeting');
  assert.equal(e.permanent, true);
  assert.equal(e.code, 554);
  assert.equal(e.secode, '5.7.1');
  assert.equal(e.remoteText, 'no service for you');
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(f.sessions[0]!.lines, ['QUIT']);
});

test('per-recipient outcomes with enhanced codes; failed recipients keep their RCPT reply', async (t) => {
  const { client, s } = await session(t, {
    ehlo: EXT,
    onCommand: (l) => {
      if (l === 'RCPT TO:<gone@example.com>') return '550 5.1.1 no such user';
      if (l === 'RCPT TO:<later@example.com>') return '450 mailbox busy';
      if (l === 'RCPT TO:<odd@example.com>') return '550 4.2.2 class mismatch';
      return undefined;
    },
    onMessage: () => ['250-2.0.0 first line', '250 2.0.0 queued as 42'],
  });
  const rcpts = ['ok@example.com', 'gone@example.com', 'later@example.com', 'odd@example.com'];
  const r = await client.deliver(env(rcpts), MSG);
  assert.equal(s.data.length, 1);
  const final = {
    code: 250,
    secode: '2.0.0',
    text: 'first line\nqueued as 42',
    lines: ['first line', 'queued as 42'],
  };
  assert.deepEqual(r.data, final);
  assert.deepEqual(r.recipients, [
    { address: 'ok@example.com', ok: true, permanent: false, reply: final, dsnPassedOn: false },
    {
      address: 'gone@example.com',
      ok: false,
      permanent: true,
      reply: { code: 550, secode: '5.1.1', text: 'no such user', lines: ['no such user'] },
      dsnPassedOn: false,
    },
    {
      address: 'later@example.com',
      ok: false,
      permanent: false,
      reply: { code: 450, secode: '', text: 'mailbox busy', lines: ['mailbox busy'] },
      dsnPassedOn: false,
    },
    {
      address: 'odd@example.com',
      ok: false,
      permanent: true,
      reply: {
        code: 550,
        secode: '',
        text: '4.2.2 class mismatch',
        lines: ['4.2.2 class mismatch'],
      },
      dsnPassedOn: false,
    },
  ]);
});

test('accepted recipients get the failure at the end of data', async (t) => {
  const { client } = await session(t, {
    ehlo: EXT,
    onMessage: () => '554 5.7.1 content rejected',
  });
  const r = await client.deliver(env(['a@example.com']), MSG);
  assert.equal(r.data?.code, 554);
  assert.deepEqual(
    r.recipients.map((x) => [x.ok, x.permanent, x.reply.secode, x.reply.text]),
    [[false, true, '5.7.1', 'content rejected']],
  );
});

test('pipelining: every recipient refused and DATA 354: only "." is sent', async (t) => {
  const { client, s } = await session(t, {
    ehlo: EXT,
    onCommand: (l) => (l.startsWith('RCPT') ? '550 5.1.1 unknown' : undefined),
    onMessage: () => '554 5.5.1 no valid recipients',
  });
  const r = await client.deliver(env(['a@example.com', 'b@example.com']), MSG);
  assert.deepEqual(s.data, [Buffer.alloc(0)]);
  assert.equal(r.data, null);
  assert.deepEqual(
    r.recipients.map((x) => [x.ok, x.permanent, x.reply.code, x.reply.secode]),
    [
      [false, true, 550, '5.1.1'],
      [false, true, 550, '5.1.1'],
    ],
  );
  // The connection is still good for the next transaction.
  const r2 = await client.deliver(env(['c@example.com']), MSG);
  assert.equal(r2.recipients[0]!.ok, false);
  assert.equal(s.lines.filter((l) => l === 'RSET').length, 0);
});

test('pipelining: every recipient refused and DATA refused: RSET, nothing sent', async (t) => {
  const { client, s } = await session(t, {
    ehlo: EXT,
    onCommand: (l) => {
      if (l.startsWith('RCPT')) return '450 4.2.1 try later';
      if (l === 'DATA') return '554 5.5.1 no valid recipients';
      return undefined;
    },
  });
  const r = await client.deliver(env(['a@example.com']), MSG);
  assert.deepEqual(s.data, []);
  assert.equal(r.data, null);
  assert.deepEqual(r.recipients[0]!.reply.code, 450);
  assert.equal(r.recipients[0]!.permanent, false);
  assert.deepEqual(s.lines.slice(-2), ['DATA', 'RSET']);
});

test('without pipelining: no DATA when no recipient was accepted, then RSET', async (t) => {
  const { client, s } = await session(t, {
    ehlo: ['8BITMIME'],
    onCommand: (l) => (l.startsWith('RCPT') ? '550 5.1.1 unknown' : undefined),
  });
  const r = await client.deliver(env(['a@example.com', 'b@example.com']), MSG);
  assert.deepEqual(s.lines.slice(1), [
    'MAIL FROM:<sender@example.org>',
    'RCPT TO:<a@example.com>',
    'RCPT TO:<b@example.com>',
    'RSET',
  ]);
  assert.equal(r.data, null);
  assert.equal(
    r.recipients.every((x) => !x.ok && x.permanent),
    true,
  );
});

test('DATA refused: accepted recipients fail with the DATA reply', async (t) => {
  const { client, s } = await session(t, {
    ehlo: ['SIZE'],
    onCommand: (l) => (l === 'DATA' ? '451 4.3.0 try again later' : undefined),
  });
  const r = await client.deliver(env(['a@example.com']), MSG);
  assert.equal(r.data, null);
  assert.deepEqual(
    r.recipients.map((x) => [x.ok, x.permanent, x.reply.code, x.reply.secode]),
    [[false, false, 451, '4.3.0']],
  );
  assert.deepEqual(s.lines.slice(-2), ['DATA', 'RSET']);
});

test('MAIL refused: every recipient fails with the MAIL reply; the connection stays usable', async (t) => {
  let refuse = true;
  const { client, s } = await session(t, {
    ehlo: EXT,
    onCommand: (l) => {
      if (l.startsWith('MAIL') && refuse) return '550 5.7.1 sender blocked';
      if (l.startsWith('RCPT') && refuse) return '503 5.5.1 need MAIL first';
      if (l === 'DATA' && refuse) return '503 5.5.1 need RCPT first';
      return undefined;
    },
  });
  const r = await client.deliver(env(['a@example.com', 'b@example.com']), MSG);
  const mail = { code: 550, secode: '5.7.1', text: 'sender blocked', lines: ['sender blocked'] };
  assert.deepEqual(r.mail, mail);
  assert.equal(r.data, null);
  assert.deepEqual(
    r.recipients.map((x) => [x.ok, x.permanent, x.reply]),
    [
      [false, true, mail],
      [false, true, mail],
    ],
  );
  refuse = false;
  const r2 = await client.deliver(env(['a@example.com']), MSG);
  assert.equal(r2.recipients[0]!.ok, true);
  assert.deepEqual(s.data, [MSG]);
  assert.equal(client.usable, true);
});

test('421 in the middle: temporary error, connection closed', async (t) => {
  const { client } = await session(t, {
    ehlo: ['8BITMIME'],
    onCommand: (l) => (l.startsWith('RCPT') ? '421 4.3.2 shutting down' : undefined),
  });
  const e = await clientError(client.deliver(env(['a@example.com']), MSG));
  assert.equal(e.stage, 'rcpt');
  assert.equal(e.code, 421);
  assert.equal(e.secode, '4.3.2');
  assert.equal(e.permanent, false);
  assert.equal(e.remoteText, 'shutting down');
  assert.equal(client.usable, false);
  const e2 = await clientError(client.deliver(env(['a@example.com']), MSG));
  assert.match(e2.message, /connection is closed/);
});

test('dot-stuffing: lines starting with "." are doubled, a final CRLF is added', async (t) => {
  const { client, s } = await session(t, { ehlo: EXT });
  const msg = Buffer.from('.first\r\nmid\r\n..two\r\n.\r\nend');
  await client.deliver(env(['a@example.com'], { size: msg.length }), msg);
  assert.equal(s.data[0]!.toString(), '..first\r\nmid\r\n...two\r\n..\r\nend\r\n');
  // The same from a stream split just before each dot.
  const parts = ['.first\r\n', 'mid\r\n', '.', '.two\r\n', '.', '\r\nend'];
  await client.deliver(env(['a@example.com'], { size: msg.length }), () =>
    Readable.from(parts.map((p) => Buffer.from(p))),
  );
  assert.equal(s.data[1]!.toString(), '..first\r\nmid\r\n...two\r\n..\r\nend\r\n');
});

test('BDAT: a 2.5 MiB message in 1 MiB chunks, exact bytes, pipelined', async (t) => {
  const { client, s } = await session(t, { ehlo: [...EXT, 'CHUNKING'] });
  const big = Buffer.alloc(2.5 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 71 === 70 ? 0x2e : 0x41 + (i % 26);
  big.write('.\r\n', 1000);
  const r = await client.deliver(env(['a@example.com'], { size: big.length }), big);
  assert.equal(r.chunking, true);
  assert.equal(r.data?.code, 250);
  assert.deepEqual(
    s.bdat.map((b) => [b.size, b.last]),
    [
      [1048576, false],
      [1048576, false],
      [524288, true],
    ],
  );
  assert.ok(Buffer.concat(s.bdat.map((b) => b.data)).equals(big));
  assert.deepEqual(s.lines.slice(1, 3), [
    'MAIL FROM:<sender@example.org> SIZE=2621440',
    'RCPT TO:<a@example.com>',
  ]);
  assert.deepEqual(s.data, []);

  // From a stream in odd-sized pieces: the same chunks.
  let calls = 0;
  const source = () => {
    calls++;
    const pieces: Buffer[] = [];
    for (let i = 0; i < big.length; i += 99_999) pieces.push(big.subarray(i, i + 99_999));
    return Readable.from(pieces);
  };
  await client.deliver(env(['a@example.com'], { size: big.length }), source);
  assert.equal(calls, 1);
  assert.deepEqual(
    s.bdat.slice(3).map((b) => [b.size, b.last]),
    [
      [1048576, false],
      [1048576, false],
      [524288, true],
    ],
  );
  assert.ok(Buffer.concat(s.bdat.slice(3).map((b) => b.data)).equals(big));
});

test('BDAT: an empty message is "BDAT 0 LAST"; without PIPELINING each chunk waits', async (t) => {
  const { client, s } = await session(t, { ehlo: ['CHUNKING'] });
  await client.deliver(env(['a@example.com'], { size: 0 }), Buffer.alloc(0));
  assert.deepEqual(s.lines.slice(-1), ['BDAT 0 LAST']);
  const msg = Buffer.alloc(1024 * 1024 + 10, 0x61);
  await client.deliver(env(['a@example.com'], { size: msg.length }), msg);
  const bdats = s.commands.filter((c) => c.line.startsWith('BDAT'));
  assert.deepEqual(
    bdats.map((c) => c.line),
    ['BDAT 0 LAST', 'BDAT 1048576', 'BDAT 10 LAST'],
  );
  // The second chunk was sent only after the first one's reply.
  assert.equal(bdats[2]!.repliesBefore, bdats[1]!.repliesBefore + 1);
});

test('BDAT: a refused chunk stops the sending and fails the recipients; RSET follows', async (t) => {
  const { client, s } = await session(t, {
    ehlo: ['CHUNKING'],
    onCommand: (l) => (l === 'BDAT-DATA 1' ? '552 5.3.4 too much' : undefined),
  });
  const msg = Buffer.alloc(3 * 1024 * 1024, 0x61);
  const r = await client.deliver(env(['a@example.com'], { size: msg.length }), msg);
  assert.equal(s.bdat.length, 1);
  assert.deepEqual(r.data, { code: 552, secode: '5.3.4', text: 'too much', lines: ['too much'] });
  assert.deepEqual(
    r.recipients.map((x) => [x.ok, x.permanent, x.reply.code]),
    [[false, true, 552]],
  );
  assert.deepEqual(s.lines.slice(-2), ['BDAT 1048576', 'RSET']);
});

test('SIZE limit smaller than the message: 5.3.4 without sending anything', async (t) => {
  const { client, s } = await session(t, { ehlo: ['PIPELINING', 'SIZE 1000'] });
  const r = await client.deliver(env(['a@example.com', 'b@example.com'], { size: 1001 }), MSG);
  assert.equal(s.lines.length, 1);
  assert.deepEqual(r.mail, {
    code: 552,
    secode: '5.3.4',
    text: 'message of 1001 octets exceeds the remote limit of 1000',
    lines: ['message of 1001 octets exceeds the remote limit of 1000'],
    local: true,
  });
  assert.deepEqual(
    r.recipients.map((x) => [x.ok, x.permanent, x.reply.secode]),
    [
      [false, true, '5.3.4'],
      [false, true, '5.3.4'],
    ],
  );
  assert.equal(r.data, null);
  // SIZE 0 means no limit.
  const { client: c2 } = await session(t, { ehlo: ['SIZE 0'] });
  const r2 = await c2.deliver(env(['a@example.com'], { size: 50_000_000 }), MSG);
  assert.equal(r2.recipients[0]!.ok, true);
});

test('8BITMIME, SMTPUTF8 and REQUIRETLS the server lacks: permanent local failures', async (t) => {
  const { client, s } = await session(t, { ehlo: ['PIPELINING', 'REQUIRETLS'] });
  const codes = async (o: Partial<Envelope>) => {
    const r = await client.deliver(env(['a@example.com'], o), MSG);
    return [r.mail.code, r.mail.secode, r.recipients[0]!.permanent, r.mail.local];
  };
  assert.deepEqual(await codes({ has8bit: true }), [554, '5.6.3', true, true]);
  assert.deepEqual(await codes({ smtputf8: true }), [554, '5.6.7', true, true]);
  // REQUIRETLS is announced, but this connection is not TLS.
  assert.deepEqual(await codes({ requireTLS: true }), [550, '5.7.30', true, true]);
  assert.equal(s.lines.length, 1);
});

test('BODY, SMTPUTF8 with UTF-8 addresses; non-ASCII without smtputf8 is a TypeError', async (t) => {
  const { client, s } = await session(t, { ehlo: ['8BITMIME', 'SMTPUTF8', 'PIPELINING'] });
  await assert.rejects(client.deliver(env(['jösé@example.com']), MSG), TypeError);
  await assert.rejects(client.deliver(env(['a@example.com\r\nRSET']), MSG), TypeError);
  await assert.rejects(client.deliver(env([]), MSG), TypeError);
  assert.equal(s.lines.length, 1);
  const r = await client.deliver(
    env(['jösé@bücher.example', 'postmaster', 'a b@example.com'], {
      has8bit: true,
      smtputf8: true,
      from: 'ü@example.org',
    }),
    MSG,
  );
  assert.deepEqual(s.lines.slice(1, 5), [
    'MAIL FROM:<ü@example.org> BODY=8BITMIME SMTPUTF8',
    'RCPT TO:<jösé@bücher.example>',
    'RCPT TO:<postmaster>',
    'RCPT TO:<"a b"@example.com>',
  ]);
  assert.equal(r.recipients.length, 3);
  const r2 = await client.deliver(env(['a@example.com'], { from: null }), MSG);
  assert.equal(r2.mail.code, 250);
  assert.equal(s.lines.at(-3), 'MAIL FROM:<>');
});

test('DSN parameters only when DSN is announced', async (t) => {
  const e = env(['a@example.com', 'b@example.com', 'c@example.com'], {
    ret: 'HDRS',
    envid: 'id+1=x',
    recipients: [
      {
        address: 'a@example.com',
        notify: ['SUCCESS', 'FAILURE'],
        orcpt: { addrType: 'rfc822', address: 'a+b@example.com' },
      },
      { address: 'b@example.com', notify: 'NEVER' },
      { address: 'c@example.com', orcpt: { addrType: 'rfc822', address: 'ü@example.com' } },
    ],
  });
  const { client, s } = await session(t, { ehlo: ['PIPELINING', 'DSN'] });
  const r = await client.deliver(e, MSG);
  assert.deepEqual(s.lines.slice(1, 5), [
    'MAIL FROM:<sender@example.org> RET=HDRS ENVID=id+2B1+3Dx',
    'RCPT TO:<a@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@example.com',
    'RCPT TO:<b@example.com> NOTIFY=NEVER',
    'RCPT TO:<c@example.com> ORCPT=utf-8;\\x{FC}@example.com',
  ]);
  assert.equal(r.dsnPassedOn, true);
  assert.deepEqual(
    r.recipients.map((x) => x.dsnPassedOn),
    [true, true, true],
  );

  const { client: c2, s: s2 } = await session(t, { ehlo: ['PIPELINING'] });
  const r2 = await c2.deliver(e, MSG);
  assert.deepEqual(s2.lines.slice(1, 5), [
    'MAIL FROM:<sender@example.org>',
    'RCPT TO:<a@example.com>',
    'RCPT TO:<b@example.com>',
    'RCPT TO:<c@example.com>',
  ]);
  assert.equal(r2.dsnPassedOn, false);
  assert.deepEqual(
    r2.recipients.map((x) => x.dsnPassedOn),
    [false, false, false],
  );
});

test('replies: over-long lines and too many lines end the connection', async (t) => {
  const { client } = await session(t, {
    ehlo: ['8BITMIME'],
    onCommand: (l) => (l.startsWith('MAIL') ? `250 ${'x'.repeat(507)}` : undefined),
  });
  const e = await clientError(client.deliver(env(['a@example.com']), MSG));
  assert.equal(e.stage, 'mail');
  assert.match(e.message, /longer than 512 octets/);
  assert.equal(client.usable, false);

  const lines = Array.from({ length: 101 }, (_, i) => `250${i === 100 ? ' ' : '-'}line ${i}`);
  const { client: c2 } = await session(t, {
    ehlo: ['8BITMIME'],
    onCommand: (l) => (l.startsWith('MAIL') ? lines : undefined),
  });
  const e2 = await clientError(c2.deliver(env(['a@example.com']), MSG));
  assert.match(e2.message, /too many lines/);

  // 510 octets of text plus CRLF is the longest allowed line.
  const { client: c3 } = await session(t, {
    ehlo: ['8BITMIME'],
    onCommand: (l) => (l.startsWith('MAIL') ? `250 ${'x'.repeat(506)}` : undefined),
  });
  const r3 = await c3.deliver(env(['a@example.com']), MSG);
  assert.equal(r3.mail.text.length, 506);
});

test('timeouts: each names its stage and seconds and closes the connection', async (t) => {
  const f = await startFake({ greeting: HANG });
  t.after(() => f.close());
  const e = await clientError(
    SmtpClient.connect({
      socket: await f.dial(),
      ehloHostname: 'c.example',
      tlsMode: 'none',
      timeouts: { greeting: 100 },
    }),
  );
  assert.equal(e.stage, 'greeting');
  assert.equal(e.permanent, false);
  assert.equal(e.message, 'greeting: timeout after 0.1 s waiting for greeting');

  const { client } = await session(
    t,
    {
      ehlo: EXT,
      onCommand: (l) => (l.startsWith('RCPT TO:<slow') || l === 'DATA' ? HANG : undefined),
    },
    { timeouts: { rcpt: 150 } },
  );
  const e2 = await clientError(client.deliver(env(['a@example.com', 'slow@example.com']), MSG));
  assert.equal(e2.stage, 'rcpt');
  assert.equal(e2.message, 'rcpt: timeout after 0.15 s waiting for reply to RCPT');
  assert.equal(client.usable, false);

  const { client: c3 } = await session(
    t,
    { ehlo: EXT, onMessage: () => HANG },
    { timeouts: { dataEnd: 100 } },
  );
  const e3 = await clientError(c3.deliver(env(['a@example.com']), MSG));
  assert.equal(e3.stage, 'data');
  assert.equal(e3.message, 'data: timeout after 0.1 s waiting for reply to end of data');
});

test('timeout while the server does not read the message data', async (t) => {
  const { client } = await session(
    t,
    { ehlo: ['PIPELINING'], onDataBytes: (s) => s.socket.pause() },
    { timeouts: { dataBlock: 300 } },
  );
  const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
  const e = await clientError(client.deliver(env(['a@example.com'], { size: big.length }), big));
  assert.equal(e.stage, 'data');
  assert.equal(e.permanent, false);
  assert.equal(e.message, 'data: timeout after 0.3 s sending message data');
});

test('server closing during DATA: temporary error at stage data', async (t) => {
  const { client } = await session(t, { ehlo: EXT, onDataBytes: (s) => s.socket.destroy() });
  const big = Buffer.alloc(8 * 1024 * 1024, 0x61);
  const e = await clientError(client.deliver(env(['a@example.com'], { size: big.length }), big));
  assert.equal(e.stage, 'data');
  assert.equal(e.permanent, false);
  assert.match(e.message, /connection closed/);
  assert.equal(client.usable, false);
});

test('a failing message stream ends the connection with a local error', async (t) => {
  const { client } = await session(t, { ehlo: EXT });
  const source = () =>
    new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
  const e = await clientError(client.deliver(env(['a@example.com']), source));
  assert.equal(e.stage, 'data');
  assert.equal(e.local, true);
  assert.equal(e.message, 'data: reading message data: disk on fire');
  assert.equal(client.usable, false);
});

test('STARTTLS: required but not offered, refused, broken handshake, data before handshake', async (t) => {
  const connect = async (opts: FakeOptions, tlsMode: ClientOptions['tlsMode']) => {
    const f = await startFake(opts);
    t.after(() => f.close());
    return clientError(
      SmtpClient.connect({ socket: await f.dial(), ehloHostname: 'c.example', tlsMode }),
    );
  };
  const e1 = await connect({ ehlo: EXT }, 'required');
  assert.deepEqual([e1.stage, e1.tlsFailure, e1.permanent], ['starttls', true, true]);

  const e2 = await connect(
    {
      ehlo: ['STARTTLS'],
      onCommand: (l) => (l === 'STARTTLS' ? '454 4.7.0 TLS not available' : undefined),
    },
    'opportunistic',
  );
  assert.deepEqual(
    [e2.stage, e2.tlsFailure, e2.permanent, e2.code],
    ['starttls', true, false, 454],
  );

  const e3 = await connect(
    {
      ehlo: ['STARTTLS'],
      onCommand: (l, s) => {
        if (l !== 'STARTTLS') return undefined;
        // Plaintext where the ServerHello should be.
        setTimeout(() => s.socket.write('this is not tls\r\n'), 50);
        return '220 go ahead';
      },
    },
    'opportunistic',
  );
  assert.deepEqual([e3.stage, e3.tlsFailure, e3.permanent], ['starttls', true, false]);
  assert.match(e3.message, /^starttls: TLS handshake: /);

  const e4 = await connect(
    {
      ehlo: ['STARTTLS'],
      onCommand: (l) => (l === 'STARTTLS' ? ['220 go ahead', '250 injected'] : undefined),
    },
    'opportunistic',
  );
  assert.deepEqual([e4.stage, e4.tlsFailure], ['starttls', true]);
  assert.equal(e4.message, 'starttls: server sent data before the TLS handshake');

  // 'opportunistic' without STARTTLS on offer goes on in plaintext.
  const f = await startFake({ ehlo: EXT });
  t.after(() => f.close());
  const c = await SmtpClient.connect({
    socket: await f.dial(),
    ehloHostname: 'c.example',
    tlsMode: 'opportunistic',
  });
  assert.equal(c.tls, null);
  await c.quit();
  assert.deepEqual(f.sessions[0]!.lines, ['EHLO c.example', 'QUIT']);
});

test('AUTH: no usable mechanism without TLS is a permanent failure', async (t) => {
  const f = await startFake({ ehlo: ['AUTH PLAIN LOGIN'] });
  t.after(() => f.close());
  const e = await clientError(
    SmtpClient.connect({
      socket: await f.dial(),
      ehloHostname: 'c.example',
      tlsMode: 'none',
      auth: { username: 'u', password: 'p' },
    }),
  );
  assert.equal(e.stage, 'auth');
  assert.equal(e.permanent, true);
  assert.equal(e.message, 'auth: no usable mechanism (server offers PLAIN LOGIN)');
  assert.deepEqual(f.sessions[0]!.lines, ['EHLO c.example']);
});

test('QUIT waits for 221 and closes; a closed connection makes quit() a no-op', async (t) => {
  const { client, s } = await session(t, { ehlo: EXT });
  await client.reset();
  await client.quit();
  assert.equal(client.usable, false);
  assert.deepEqual(s.lines.slice(1), ['RSET', 'QUIT']);
  await client.quit();
  assert.equal(s.lines.length, 3);
  const { client: c2 } = await session(t, {
    ehlo: EXT,
    onCommand: (l) => (l === 'QUIT' ? CLOSE : undefined),
  });
  const e = await clientError(c2.quit());
  assert.equal(e.stage, 'quit');
});
