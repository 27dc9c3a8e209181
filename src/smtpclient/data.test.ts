// Message data as the client sends it: whatever line ends a stored message has, the
// server receives CRLF only (RFC 5321 §2.3.8), so none can end the data early.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { SmtpClient, type Envelope } from './index.js';
import { startFake, type FakeOptions, type FakeSession } from './testutil.js';

const EXT = ['PIPELINING', 'SIZE 10000000', 'ENHANCEDSTATUSCODES', '8BITMIME'];

async function session(
  t: TestContext,
  opts: FakeOptions,
): Promise<{ client: SmtpClient; s: FakeSession }> {
  const f = await startFake(opts);
  t.after(() => f.close());
  const client = await SmtpClient.connect({
    socket: await f.dial(),
    ehloHostname: 'client.example',
    tlsMode: 'none',
  });
  t.after(() => client.close());
  return { client, s: f.sessions[0]! };
}

function env(rcpts: string[], o: Partial<Envelope> = {}): Envelope {
  return {
    from: 'sender@example.org',
    recipients: rcpts.map((address) => ({ address })),
    size: 0,
    has8bit: false,
    smtputf8: false,
    requireTLS: false,
    ...o,
  };
}

test('bare CR and LF go out as CRLF, with DATA and with BDAT (no SMTP smuggling)', async (t) => {
  // Stored before bare line ends were refused: a server that ends lines at a bare CR or
  // LF must not find "." alone on a line, and so no end of data, before ours.
  const smuggled = 'MAIL FROM:<evil@example.org>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n';
  const body = `a\n.\n${smuggled}b\r.\r${smuggled}c\r\n.\r${smuggled}d\n.\r\n${smuggled}end\r`;
  const msg = Buffer.from(`Subject: hi\n\n${body}`, 'latin1');
  const want = msg.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  const stuffed = want.replace(/\r\n\./g, '\r\n..');
  const { client, s } = await session(t, { ehlo: EXT });
  await client.deliver(env(['a@example.com'], { size: msg.length }), msg);
  assert.equal(s.data[0]!.toString('latin1'), stuffed);
  // Split anywhere, also between the CR and LF of a CRLF, from a stream.
  const parts = [...msg].map((_, i) => msg.subarray(i, i + 1));
  await client.deliver(env(['a@example.com'], { size: msg.length }), () => Readable.from(parts));
  assert.equal(s.data[1]!.toString('latin1'), stuffed);
  // Only one MAIL per message: nothing else ended the data early.
  assert.equal(s.lines.filter((l) => l.startsWith('MAIL')).length, 2);

  const b = await session(t, { ehlo: [...EXT, 'CHUNKING'] });
  await b.client.deliver(env(['a@example.com'], { size: msg.length }), msg);
  await b.client.deliver(env(['a@example.com'], { size: msg.length }), () => Readable.from(parts));
  assert.equal(b.s.bdat.length, 2);
  for (const chunk of b.s.bdat) {
    assert.equal(chunk.data.toString('latin1'), want);
    assert.equal(chunk.size, want.length);
  }
});
