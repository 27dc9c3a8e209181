// Hostile input: random and malformed commands get an answer (BAD, NO, or BYE and a
// close), never a server error, and the server keeps serving other clients.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { registry } from '../../src/metrics/index.js';
import { startTestServer, Client, type TestServer } from './harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  for (let i = 0; i < 5; i++) {
    const p = await s.store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody ${i}\r\n`));
    await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
  }
});
after(() => s.close());

async function serverErrors(): Promise<number> {
  const text = await registry.getSingleMetricAsString('tidings_imap_command_duration_seconds');
  let n = 0;
  for (const line of text.split('\n')) {
    if (line.includes('_count{') && line.includes('result="servererror"'))
      n += Number(line.split(' ').pop());
  }
  return n;
}

const TOKENS = [
  'FETCH',
  'UID',
  'STORE',
  'SEARCH',
  'SELECT',
  'LIST',
  'STATUS',
  'APPEND',
  'COPY',
  'MOVE',
  'EXPUNGE',
  'CREATE',
  'RENAME',
  'DELETE',
  'ENABLE',
  'ID',
  'NOOP',
  'LSUB',
  'EXAMINE',
  'CLOSE',
  'UNSELECT',
  'BODY[',
  ']',
  'BODY.PEEK[HEADER.FIELDS',
  '(',
  ')',
  '"',
  '\\',
  '*',
  '$',
  ':',
  ',',
  '1',
  '2:*',
  '4294967296',
  '99999999999999999999',
  '-1',
  'NIL',
  'INBOX',
  '&',
  '&AGE-',
  '&Jjo',
  '~',
  '{',
  '}',
  '<0.10>',
  'OR',
  'NOT',
  'FLAGS',
  '+FLAGS',
  '\\Seen',
  '\\Recent',
  'RETURN',
  '(ALL)',
  'CHARSET',
  'UTF-8',
  'ü',
  '\u0000',
  '\t',
  '%',
  'ALL',
  'FULL',
  'BINARY[1]',
  'HEADER',
  'TEXT',
  'MIME',
  '1.2.3.4.5.6.7.8.9',
  'SINCE',
  '1-Jan-2020',
  'x'.repeat(300),
];

const line = fc
  .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 8 })), {
    minLength: 0,
    maxLength: 12,
  })
  .map((parts) => parts.join(fc.sample(fc.constantFrom(' ', '', '  '), 1)[0]!))
  // No CR/LF inside a line, and no literal marker at the end (that would wait for data).
  .map((l) => l.replace(/[\r\n]/g, ' ').replace(/\{[^}]*\}?$/, ''));

test('random command lines: always an answer, never a server error, server keeps serving', async () => {
  const before = await serverErrors();
  let c = await Client.login(s);
  await c.ok('SELECT INBOX');
  await fc.assert(
    fc.asyncProperty(line, async (l) => {
      const tag = c.nextTag();
      c.write(`${tag} ${l}\r\n`);
      let r: string;
      try {
        for (;;) {
          r = await c.readLine(5000);
          if (r.startsWith(tag + ' ') || r.startsWith('* BYE')) break;
          if (r.startsWith('+ ')) c.write('\r\n'); // a continuation (e.g. AUTHENTICATE) gets an empty answer
        }
      } catch {
        r = 'closed';
      }
      assert.match(r, /^(A\d+ (OK|NO|BAD) |\* BYE |closed)/, `line ${JSON.stringify(l)}: ${r}`);
      if (!r.startsWith(tag + ' ')) {
        // The connection ended (BYE): start a new one.
        c.close();
        c = await Client.login(s);
        await c.ok('SELECT INBOX');
      }
    }),
    { numRuns: 400 },
  );
  c.close();
  assert.equal(await serverErrors(), before, 'no command ended in a server error');
  const other = await Client.login(s);
  await other.ok('SELECT INBOX');
  other.close();
});

test('specific malformed inputs', async () => {
  const c = await Client.login(s);
  await c.ok('SELECT INBOX');
  const cases: [string, RegExp][] = [
    ['FETCH 1 (BODY[', /^BAD /],
    ['FETCH 0 FLAGS', /^BAD /],
    ['FETCH 1:99999999999 FLAGS', /^BAD /],
    ['UID FETCH 1:4294967296 FLAGS', /^BAD /],
    ['SEARCH OR OR OR OR', /^BAD /],
    ['SEARCH ' + '('.repeat(500) + 'ALL' + ')'.repeat(500), /^BAD /],
    ['SELECT "unterminated', /^BAD /],
    ['SELECT &AGE-&AGE-', /^NO \[CANNOT\] /],
    ['STORE 1 +FLAGS (\\Seen', /^BAD /],
    ['STATUS INBOX ()', /^BAD /],
    ['LIST "" "\u0000"', /^(BAD|OK) /],
  ];
  for (const [cmd, want] of cases) {
    const r = await c.cmd(cmd);
    assert.match(r.tagged, want, cmd);
  }
  await c.ok('NOOP');
  // A bad line ending in a non-synchronizing literal: BAD, and the literal that follows is
  // skipped, not read as a command.
  c.write('T1 APPEND INBOX (\\Seen) "99-Foo-2020 00:00:00 +0000" {10+}\r\nT2 LOGOUT\r\n');
  assert.match((await c.until('T1')).tagged, /^BAD /);
  await c.ok('NOOP');
});

test("user names that are names of Object's properties: a failed login, nothing created", async () => {
  const c = await Client.connect(s.imaps.port, { tls: true });
  await c.ok('NOOP');
  for (const user of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.equal(
      (await c.cmd(`LOGIN ${user} secret`)).tagged,
      'NO [AUTHENTICATIONFAILED] LOGIN login failed',
      user,
    );
    const ir = Buffer.from(`\0${user}\0secret`).toString('base64');
    assert.equal(
      (await c.cmd(`AUTHENTICATE PLAIN ${ir}`)).tagged,
      'NO [AUTHENTICATIONFAILED] AUTHENTICATE authentication failed',
      user,
    );
  }
  c.close();
  assert.equal(await serverErrors(), 0);
  assert.deepEqual((await readdir(join(s.dir, 'data', 'accounts'))).sort(), [
    'counted',
    'disabled',
    'limited',
    'mjl',
  ]);
});

test('a name that is not valid modified UTF-7: SELECT gets NO, LIST answers, the session goes on', async () => {
  const c = await Client.login(s);
  const name = "!#$&'+,-.0123456789:;<=>?@^_`|[}";
  const sel = await c.cmd(`SELECT ${name}`);
  assert.match(sel.tagged, /^NO /);
  const list = await c.cmd(`LIST "" ${name}%*`);
  assert.match(list.tagged, /^(OK|NO|BAD) /);
  assert.deepEqual(list.untagged, []);
  assert.equal((await c.cmd('NOOP')).tagged, 'OK NOOP done');
  c.close();
});
