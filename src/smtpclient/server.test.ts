// The client against Tidings' own SMTP listeners: STARTTLS, implicit TLS, certificate
// verification, AUTH mechanisms, BDAT submission and delivery into the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { PASSWORD, message, withServer, type SmtpTestServer } from '../../test/smtp/harness.js';
import { createLogger, type LogLevel } from '../log/index.js';
import { SmtpClient, SmtpClientError, type ClientOptions, type Envelope } from './index.js';
import { dial } from './testutil.js';

function connect(port: number, o: Partial<ClientOptions>): Promise<SmtpClient> {
  return dial(port).then((socket) =>
    SmtpClient.connect({ socket, ehloHostname: 'client.example', tlsMode: 'opportunistic', ...o }),
  );
}

const login = (mechanisms?: string[]) => ({
  username: 'mjl@example.org',
  password: PASSWORD,
  mechanisms,
});

function env(from: string, to: string[], data: Buffer, o: Partial<Envelope> = {}): Envelope {
  return {
    from,
    recipients: to.map((address) => ({ address })),
    size: data.length,
    has8bit: false,
    smtputf8: false,
    requireTLS: false,
    ...o,
  };
}

/** Submits one message as mjl and checks the queue got exactly those bytes. */
async function submitAndCheck(s: SmtpTestServer, c: SmtpClient, n: number): Promise<void> {
  const data = Buffer.from(
    message({ from: 'mjl@example.org', to: 'remote@sender.example', body: `message ${n}` }),
  );
  const r = await c.deliver(env('mjl@example.org', ['remote@sender.example'], data), data);
  assert.equal(r.chunking, true);
  assert.equal(r.data?.code, 250);
  assert.deepEqual(
    r.recipients.map((x) => [x.address, x.ok]),
    [['remote@sender.example', true]],
  );
  assert.equal(s.recorded.added.length, n);
  assert.ok(s.recorded.added[n - 1]!.data.equals(data));
  assert.equal(s.recorded.added[n - 1]!.msgs[0]!.recipient.localpart, 'remote');
}

test('submission: STARTTLS, then SCRAM-SHA-256-PLUS, SCRAM-SHA-1 and PLAIN', async () => {
  await withServer({}, async (s) => {
    const c = await connect(s.submission.port, { auth: login() });
    assert.equal(c.remoteName, 'mail.example.org');
    assert.equal(c.tls?.version, 'TLSv1.3');
    assert.equal(c.tls?.verified, false);
    assert.equal(c.authenticated, true);
    assert.equal(c.authMechanism, 'SCRAM-SHA-256-PLUS');
    // The EHLO after TLS offers AUTH; the one before did not.
    assert.ok(c.extensions.get('AUTH')?.includes('SCRAM-SHA-256-PLUS'));
    assert.equal(c.extensions.has('STARTTLS'), false);
    await submitAndCheck(s, c, 1);
    await c.quit();

    const c2 = await connect(s.submission.port, { auth: login(['SCRAM-SHA-1']) });
    assert.equal(c2.authMechanism, 'SCRAM-SHA-1');
    await submitAndCheck(s, c2, 2);
    await c2.quit();

    const c3 = await connect(s.submission.port, { auth: login(['plain']) });
    assert.equal(c3.authMechanism, 'PLAIN');
    // A message from a stream, in more than one BDAT chunk.
    const body = ('x'.repeat(998) + '\r\n').repeat(1500);
    const data = Buffer.from(
      message({ from: 'mjl@example.org', to: 'remote@sender.example', body }),
    );
    const r = await c3.deliver(env('mjl@example.org', ['remote@sender.example'], data), () =>
      Readable.from([data.subarray(0, 700_000), data.subarray(700_000)]),
    );
    assert.equal(r.recipients[0]!.ok, true);
    assert.ok(s.recorded.added[2]!.data.equals(data));
    await c3.quit();
  });
});

test('submission: a wrong password is a permanent AUTH failure', async () => {
  await withServer({}, async (s) => {
    const socket = await dial(s.submission.port);
    const e = await connectError({
      socket,
      ehloHostname: 'client.example',
      tlsMode: 'opportunistic',
      auth: { username: 'mjl@example.org', password: 'wrong' },
    });
    assert.equal(e.stage, 'auth');
    assert.equal(e.code, 535);
    assert.equal(e.secode, '5.7.8');
    assert.equal(e.permanent, true);
    assert.equal(socket.destroyed, true);
  });
});

async function connectError(o: ClientOptions): Promise<SmtpClientError> {
  try {
    await SmtpClient.connect(o);
  } catch (e) {
    assert.ok(e instanceof SmtpClientError, String(e));
    return e;
  }
  assert.fail('connect succeeded');
}

test("'verified': the self-signed certificate fails without its CA and for another name", async () => {
  await withServer({}, async (s) => {
    const o = { ehloHostname: 'client.example', tlsMode: 'verified' as const };
    const e1 = await connectError({
      ...o,
      socket: await dial(s.smtp.port),
      tlsServername: 'localhost',
    });
    assert.deepEqual([e1.stage, e1.tlsFailure, e1.permanent], ['starttls', true, false]);
    assert.match(e1.message, /^starttls: TLS handshake: self[- ]signed certificate/);

    const e2 = await connectError({
      ...o,
      socket: await dial(s.smtp.port),
      tlsServername: 'wrong.example',
      tlsCA: s.certPem,
    });
    assert.deepEqual([e2.stage, e2.tlsFailure], ['starttls', true]);
    assert.match(e2.message, /wrong\.example/);

    const c = await connect(s.smtp.port, { ...o, tlsServername: 'localhost', tlsCA: s.certPem });
    assert.equal(c.tls?.verified, true);
    assert.equal(c.extensions.has('REQUIRETLS'), true);
    await c.quit();
    // The certificate also names 127.0.0.1.
    const c2 = await connect(s.smtp.port, { ...o, tlsServername: '127.0.0.1', tlsCA: s.certPem });
    assert.equal(c2.tls?.verified, true);
    await c2.quit();
  });
});

test('implicit TLS on the submissions listener', async () => {
  await withServer({}, async (s) => {
    const c = await connect(s.submissions.port, {
      implicitTLS: true,
      tlsMode: 'verified',
      tlsServername: 'localhost',
      tlsCA: s.certPem,
      auth: login(),
    });
    assert.equal(c.tls?.verified, true);
    assert.equal(c.authMechanism, 'SCRAM-SHA-256-PLUS');
    assert.equal(c.extensions.has('STARTTLS'), false);
    await submitAndCheck(s, c, 1);
    await c.quit();
  });
});

test('delivery on port 25 into the store, with REQUIRETLS over STARTTLS and a refused recipient', async () => {
  await withServer({ realQueue: true }, async (s) => {
    const c = await connect(s.smtp.port, { tlsMode: 'required' });
    assert.notEqual(c.tls, null);
    const data = Buffer.from(message({ body: 'line one\r\n.dot line\r\n..two dots\r\nlast' }));
    const e = env('sender@sender.example', ['mjl@example.org', 'someone@elsewhere.example'], data, {
      requireTLS: true,
    });
    const r = await c.deliver(e, data);
    assert.equal(r.mail.code, 250);
    assert.deepEqual(
      r.recipients.map((x) => [x.address, x.ok, x.permanent, x.reply.code, x.reply.secode]),
      [
        ['mjl@example.org', true, false, 250, '2.0.0'],
        ['someone@elsewhere.example', false, true, 550, '5.1.1'],
      ],
    );
    assert.match(r.recipients[1]!.reply.text, /^not accepting email for domain \([0-9a-z]+\)$/);
    await c.quit();

    const a = await s.store.account('mjl');
    const mb = (await a.mailbox('Inbox'))!;
    const msgs = await a.messages(mb.id, await a.uids(mb.id));
    assert.equal(msgs.length, 1);
    const stored = await a.readMessage(msgs[0]!);
    assert.ok(stored.subarray(stored.length - data.length).equals(data));
    assert.match(
      stored.subarray(0, stored.length - data.length).toString(),
      /^X-Tidings-Reason: .*\r\nDelivered-To: mjl@example\.org\r\nReturn-Path: <sender@sender\.example>\r\n/,
    );
  });
});

test('protocol trace: credentials only at traceauth', async () => {
  await withServer({}, async (s) => {
    const plain = Buffer.from(`\0mjl@example.org\0${PASSWORD}`).toString('base64');
    const trace = async (level: LogLevel) => {
      const lines: string[] = [];
      const log = createLogger({ level, destination: { write: (l: string) => lines.push(l) } });
      const c = await connect(s.submission.port, { auth: login(['PLAIN']), log });
      await c.quit();
      return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    };
    const t1 = await trace('trace');
    assert.ok(t1.includes('C: EHLO client.example'));
    assert.ok(t1.includes('C: AUTH PLAIN ***'));
    assert.ok(t1.some((l) => l.startsWith('S: 235 2.7.0 ')));
    assert.equal(t1.filter((l) => l.includes(plain)).length, 0);
    const t2 = await trace('traceauth');
    assert.ok(t2.includes(`C: AUTH PLAIN ${plain}`));
  });
});
