// Literal data never runs as commands: whatever becomes of a command that announced a
// literal (wrong state, unknown command, syntax error, a failure while APPEND stores the
// message), the literal is read and thrown away, or the connection is closed (RFC 9051
// §4.3, RFC 7888). The attack: a client, or a web front end that passes user input on as
// a literal, gets the literal's content executed as an IMAP command.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS } from '../../src/imap/commands/index.js';
import { validIn, type State } from '../../src/imap/commands/types.js';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s.close());

type Opened = { c: Client; state: State };

async function open(state: State): Promise<Client> {
  const c = await Client.connect(s.imaps.port, { tls: true });
  await c.ok('NOOP'); // a first command that is not IMAP would close the connection
  if (state === 'notauth') return c;
  await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
  if (state === 'selected') await c.ok('SELECT INBOX');
  return c;
}

/** Every command that is refused in `state`, and commands that are not IMAP at all. */
function refusedIn(state: State): string[] {
  const names = [...COMMANDS].filter(([, d]) => !validIn(d, state)).map(([n]) => n);
  return [...names, 'XYZZY', 'UID XYZZY'];
}

/** The literal's payload: a command line that must never run. */
const payload = (n: string) => `x${n} CREATE INJECTED-${n}`;

/** Nothing tagged with the injected tag was answered, and no mailbox was created. */
async function assertNothingRan(o: Opened, lines: string[], tag: string): Promise<void> {
  assert.ok(!lines.some((l) => l.startsWith(`${tag} `)), `${tag} ran: ${lines.join(' | ')}`);
  assert.ok(!lines.some((l) => l.startsWith('+ ')), `continuation sent: ${lines.join(' | ')}`);
  const a = await s.store.account('mjl');
  const names = (await await a.mailboxes()).map((m) => m.name);
  assert.ok(!names.some((n) => n.startsWith('INJECTED')), `${names.join(', ')} (${o.state})`);
}

async function untilTag(c: Client, tag: string): Promise<string[]> {
  const lines: string[] = [];
  for (;;) {
    const l = await c.readLine();
    lines.push(l);
    if (l.startsWith(`${tag} `)) return lines;
  }
}

for (const state of ['notauth', 'auth', 'selected'] as const) {
  test(`${state}: a non-synchronizing literal of a refused command is skipped`, async () => {
    const c = await open(state);
    let i = 0;
    for (const name of refusedIn(state)) {
      const n = `${state}${i++}`;
      const lit = payload(n);
      // The literal, then the rest of the line (here: nothing), as LITERAL+ clients send it.
      c.write(`t${n} ${name} {${lit.length}+}\r\n${lit}\r\nu${n} NOOP\r\n`);
      const lines = await untilTag(c, `u${n}`);
      assert.match(lines.find((l) => l.startsWith(`t${n} `)) ?? '', /^t\S+ (NO|BAD) /, name);
      assert.match(lines.at(-1)!, /^u\S+ OK /);
      await assertNothingRan({ c, state }, lines, `x${n}`);
    }
    c.close();
  });

  test(`${state}: a synchronizing literal of a refused command gets no "+ "`, async () => {
    const c = await open(state);
    let i = 0;
    for (const name of refusedIn(state)) {
      const n = `s${state}${i++}`;
      const lit = payload(n);
      c.write(`t${n} ${name} {${lit.length}}\r\n`);
      // The tagged answer comes instead of a continuation; the client then does not send
      // the literal, and the next line is a command again.
      const lines = await untilTag(c, `t${n}`);
      assert.match(lines.at(-1)!, /^t\S+ (NO|BAD) /, name);
      c.write(`u${n} NOOP\r\n`);
      lines.push(...(await untilTag(c, `u${n}`)));
      await assertNothingRan({ c, state }, lines, `x${n}`);
    }
    c.close();
  });
}

test('a syntax error before the literal: the literal and the rest of the line are skipped', async () => {
  const c = await open('selected');
  const a = payload('a');
  const b = payload('b');
  // Two literals in one command; the error is in the first token.
  c.write(`t1 SEARCH BADKEY {${a.length}+}\r\n${a} TEXT {${b.length}+}\r\n${b}\r\nu1 NOOP\r\n`);
  const lines = await untilTag(c, 'u1');
  assert.match(lines.find((l) => l.startsWith('t1 ')) ?? '', /^t1 BAD /);
  await assertNothingRan({ c, state: 'selected' }, lines, 'xa');
  await assertNothingRan({ c, state: 'selected' }, lines, 'xb');
  // The example: SEARCH TEXT in the authenticated state.
  const c2 = await open('auth');
  const lit = payload('e');
  c2.write(`e SEARCH TEXT {${lit.length}+}\r\n${lit}\r\nu2 NOOP\r\n`);
  const l2 = await untilTag(c2, 'u2');
  assert.ok(l2.includes('e NO SEARCH not allowed in this connection state'), l2.join(' | '));
  await assertNothingRan({ c: c2, state: 'auth' }, l2, 'xe');
  c.close();
  c2.close();
});

test('APPEND failing while it stores the message: the rest of the literal is skipped', async () => {
  const c = await open('auth');
  // A line that must not run, repeated over several reads' worth of data.
  const line = `${payload('app')}\r\n`;
  const message = `Subject: x\r\n\r\n${line.repeat(Math.ceil(200_000 / line.length))}`;
  const original = s.store.tempMessage.bind(s.store);
  s.store.tempMessage = async () => {
    const tmp = await original();
    let writes = 0;
    const write = tmp.write.bind(tmp);
    tmp.write = async (chunk: Buffer) => {
      if (++writes > 1)
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      return write(chunk);
    };
    return tmp;
  };
  try {
    c.write(`t1 APPEND INBOX {${message.length}+}\r\n${message}\r\nu1 NOOP\r\n`);
    const lines = await untilTag(c, 'u1');
    assert.match(lines.find((l) => l.startsWith('t1 ')) ?? '', /^t1 NO /);
    assert.match(lines.at(-1)!, /^u1 OK /);
    await assertNothingRan({ c, state: 'auth' }, lines, 'xapp');
  } finally {
    s.store.tempMessage = original;
  }
  c.close();
});

test('a non-synchronizing literal beyond every limit closes the connection', async () => {
  const c = await open('notauth');
  c.write(`t1 LIST {99999999999999+}\r\n`);
  const lines: string[] = [];
  await assert.rejects(async () => {
    for (;;) lines.push(await c.readLine());
  }, /connection closed/);
  assert.ok(
    lines.some((l) => /^\* BYE /.test(l)),
    lines.join(' | '),
  );
});
