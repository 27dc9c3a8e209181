// Socket back-pressure and fairness: a FETCH to a client that stops reading does not pile
// up in server memory, and other clients are served while a long FETCH runs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

let s: TestServer;
const BIG = 40;
const SIZE = 1024 * 1024;

before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('Big');
  const line = 'y'.repeat(998) + '\r\n';
  const body = line.repeat(Math.floor(SIZE / line.length));
  const p = await s.store.prepareMessage(Buffer.from(`Subject: big\r\n\r\n${body}`));
  const items = Array.from({ length: BIG }, () => ({ message: p }));
  await a.addMessages('Big', items);
  await p.cleanup();
  const small = [];
  for (let i = 0; i < 2000; i++) {
    small.push({
      message: await s.store.prepareMessage(
        Buffer.from(`Subject: small ${i}\r\nFrom: a@b.c\r\n\r\nx\r\n`),
      ),
    });
  }
  await a.addMessages('Inbox', small);
  for (const it of small) await it.message.cleanup();
});
after(() => s.close());

test('a client that stops reading: the server holds back instead of buffering the whole FETCH', async () => {
  const c = await Client.login(s);
  await c.ok('SELECT Big');
  const base = process.memoryUsage().arrayBuffers;
  c.socket.pause();
  c.write('F1 FETCH 1:* BODY.PEEK[]\r\n');
  await new Promise((r) => setTimeout(r, 1500));
  const held = process.memoryUsage().arrayBuffers - base;
  // 40 MB requested; only socket buffers and one chunk in flight may be held.
  assert.ok(held < 12 * SIZE, `server held ${held} bytes while the client was not reading`);
  c.socket.resume();
  const r = await c.until('F1');
  assert.equal(r.tagged, 'OK FETCH done');
  const fetched = r.untagged.filter((l) => /^\* \d+ FETCH \(BODY\[\] \{\d+\}/.test(l));
  assert.equal(fetched.length, BIG);
  c.close();
});

test('another client is served while a long FETCH runs', async () => {
  const busy = await Client.login(s);
  const other = await Client.login(s);
  await busy.ok('SELECT INBOX');
  busy.write('B1 FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER])\r\n');
  // Wait for the first response line, so the FETCH is under way.
  const first = await busy.readLine();
  assert.match(first, /^\* 1 FETCH/);
  let done = false;
  const finished = busy.until('B1').then((r) => {
    done = true;
    return r;
  });
  await other.ok('NOOP');
  await other.ok('STATUS INBOX (MESSAGES)');
  const answeredBeforeEnd = !done;
  const r = await finished;
  assert.equal(r.tagged, 'OK FETCH done');
  assert.equal(r.untagged.length, 1999);
  assert.ok(answeredBeforeEnd, 'the other client waited for the whole FETCH');
  busy.close();
  other.close();
});
