import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import {
  ConnectionClosedError,
  LineReader,
  LineTooLongError,
  ReadTimeoutError,
  WriteTimeoutError,
  Writer,
} from './linereader.js';
import { socketPair, type SocketPair } from './testutil.js';

async function withPair(fn: (p: SocketPair) => Promise<void>): Promise<void> {
  const p = await socketPair();
  try {
    await fn(p);
  } finally {
    p.close();
  }
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/** Wait until `cond` holds; fails the test after about two seconds. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await tick();
  }
  assert.fail('condition not reached');
}

/** Write parts with a pause between them so they arrive as separate chunks. */
async function writeParts(s: Socket, parts: (string | Buffer)[]): Promise<void> {
  for (const part of parts) {
    s.write(part);
    await tick();
  }
}

function text(l: { line: Buffer; bareLF: boolean }): [string, boolean] {
  return [l.line.toString(), l.bareLF];
}

test('lines split across chunks, CRLF and bare LF', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    const lines = (async () => {
      const out: [string, boolean][] = [];
      for (let i = 0; i < 5; i++) out.push(text(await r.readLine(100)));
      return out;
    })();
    await writeParts(client, ['a1 NO', 'OP\r', '\nb2 LOGIN\nc3', ' X\r\n\r\n', '\n']);
    assert.deepEqual(await lines, [
      ['a1 NOOP', false],
      ['b2 LOGIN', true],
      ['c3 X', false],
      ['', false],
      ['', true],
    ]);
    assert.equal(r.bufferedBytes, 0);
  }));

test('line length limit: exactly at the limit, then over it', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    client.write('x'.repeat(10) + '\r\n' + 'y'.repeat(10) + '\n' + 'z'.repeat(11) + '\r\n');
    assert.equal((await r.readLine(10)).line.toString(), 'x'.repeat(10));
    assert.equal((await r.readLine(10)).line.toString(), 'y'.repeat(10));
    await assert.rejects(r.readLine(10), (err: unknown) => {
      assert.ok(err instanceof LineTooLongError);
      assert.equal(err.limit, 10);
      return true;
    });
    // The reader stays failed: the connection is to be closed.
    await assert.rejects(r.readLine(10), LineTooLongError);
  }));

test('line too long is detected before the line ends', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    const p = r.readLine(1000);
    client.write('a'.repeat(1001));
    await tick();
    client.write('b'); // 1002 bytes without LF: content can no longer fit
    await assert.rejects(p, LineTooLongError);
  }));

test('literal read across chunk boundaries', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    const got = (async () => {
      const l = await r.readLine(100);
      const lit = await r.readExact(10);
      const rest = await r.readLine(100);
      const empty = await r.readExact(0);
      return [l.line.toString(), lit.toString(), rest.line.toString(), empty.length];
    })();
    await writeParts(client, ['A APPEND x {10}\r\n01', '234', '56789)\r', '\n']);
    assert.deepEqual(await got, ['A APPEND x {10}', '0123456789', ')', 0]);
  }));

test('stream read yields chunks of exactly n bytes in total', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    const got = (async () => {
      const chunks: string[] = [];
      for await (const c of r.readStream(12)) chunks.push(c.toString());
      const after = await r.readLine(100);
      return { chunks, after: after.line.toString() };
    })();
    await writeParts(client, ['abcd', 'efgh', 'ijklNEXT\r\n']);
    const { chunks, after } = await got;
    assert.deepEqual(chunks, ['abcd', 'efgh', 'ijkl']);
    assert.equal(after, 'NEXT');
  }));

test('hasBufferedLine and takeBuffered after pipelined input', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    client.write('a STARTTLS\r\nb LOGIN x y\r\nc');
    const first = await r.readLine(100);
    assert.equal(first.line.toString(), 'a STARTTLS');
    await until(() => r.bufferedBytes === 14);
    assert.equal(r.hasBufferedLine(), true);
    assert.equal(r.takeBuffered().toString(), 'b LOGIN x y\r\nc');
    assert.equal(r.bufferedBytes, 0);
    assert.equal(r.hasBufferedLine(), false);
    assert.equal(r.takeBuffered().length, 0);
    client.write('partial');
    await until(() => r.bufferedBytes === 7);
    assert.equal(r.hasBufferedLine(), false);
    client.write('\n');
    await until(() => r.bufferedBytes === 8);
    assert.equal(r.hasBufferedLine(), true);
  }));

test('read timeout', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server, { timeoutMs: 30 });
    await assert.rejects(r.readLine(100), (err: unknown) => {
      assert.ok(err instanceof ReadTimeoutError);
      assert.equal(err.ms, 30);
      return true;
    });
    // Data that was already buffered is returned without waiting.
    r.setTimeout(0);
    client.write('late\r\n');
    assert.equal((await r.readLine(100)).line.toString(), 'late');
  }));

test('EOF gives ConnectionClosedError after buffered lines are read', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    client.end('last\r\npartial');
    assert.equal((await r.readLine(100)).line.toString(), 'last');
    await assert.rejects(r.readLine(100), ConnectionClosedError);
    await assert.rejects(r.readExact(1000), ConnectionClosedError);
  }));

test('EOF while a literal is pending', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    const p = r.readExact(100);
    client.end('only part');
    await assert.rejects(p, ConnectionClosedError);
  }));

test('one read at a time', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    const p = r.readLine(10);
    await assert.rejects(r.readLine(10), /concurrent read on connection/);
    client.write('ok\r\n');
    assert.equal((await p).line.toString(), 'ok');
  }));

test('back-pressure: a 50 MB flood is not buffered', { timeout: 60_000 }, () =>
  withPair(async ({ server, client }) => {
    const limit = 64 * 1024;
    const r = new LineReader(server, { highWaterMark: limit });
    const total = 50 * 1024 * 1024;
    const data = Buffer.alloc(total);
    for (let i = 0; i < total; i += 4096) data.writeUInt32BE(i, i);
    const want = createHash('sha256').update(data).digest('hex');
    client.write(data);

    // Nothing consumes for a while: the reader must pause the socket.
    let maxSeen = 0;
    for (let i = 0; i < 40; i++) {
      await tick();
      maxSeen = Math.max(maxSeen, r.bufferedBytes);
    }
    assert.equal(r.isPaused, true);
    // At most one socket chunk beyond the mark.
    assert.ok(maxSeen < limit + 65536, `buffered ${maxSeen}`);
    assert.ok(maxSeen >= limit, `buffered ${maxSeen}`);
    // The rest waits with the sender (and in kernel buffers), not in the reader.
    assert.ok(client.writableLength > total / 2, `sender holds ${client.writableLength}`);

    const h = createHash('sha256');
    let n = 0;
    for await (const c of r.readStream(total)) {
      h.update(c);
      n += c.length;
      maxSeen = Math.max(maxSeen, r.bufferedBytes);
    }
    assert.equal(n, total);
    assert.equal(h.digest('hex'), want);
    assert.ok(maxSeen < limit + 65536, `buffered ${maxSeen}`);
  }),
);

test('detach returns unread bytes and stops reading', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(server);
    client.write('x STARTTLS\r\n\x16\x03\x01');
    assert.equal((await r.readLine(100)).line.toString(), 'x STARTTLS');
    await until(() => r.bufferedBytes === 3);
    assert.deepEqual(r.detach(), Buffer.from([0x16, 0x03, 0x01]));
    assert.equal(server.listenerCount('data'), 0);
    await assert.rejects(r.readLine(10), ConnectionClosedError);
  }));

test('Writer: buffers until flush', () =>
  withPair(async ({ server, client }) => {
    const w = new Writer(server);
    w.write('* OK ');
    w.write(Buffer.from('ready\r\n'));
    w.write('');
    assert.equal(w.buffered, 12);
    const r = new LineReader(client, { timeoutMs: 50 });
    await assert.rejects(r.readLine(100), ReadTimeoutError);
    await w.flush();
    assert.equal(w.buffered, 0);
    r.setTimeout(0);
    assert.equal((await r.readLine(100)).line.toString(), '* OK ready');
    await w.flush(); // nothing queued
  }));

test('Writer: flush awaits drain with a slow peer; data arrives intact', { timeout: 60_000 }, () =>
  withPair(async ({ server, client }) => {
    client.pause(); // the peer does not read yet
    const w = new Writer(server);
    const size = 16 * 1024 * 1024;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4) data.writeUInt32LE(i, i);
    w.write(data);
    let flushed = false;
    const f = w.flush().then(() => {
      flushed = true;
    });
    for (let i = 0; i < 20; i++) await tick();
    assert.equal(flushed, false, 'flush must wait for the peer');
    assert.ok(server.writableLength > 0);

    const chunks: Buffer[] = [];
    client.on('data', (c: Buffer) => chunks.push(c));
    client.resume();
    await f;
    assert.equal(flushed, true);
    server.end();
    await once(client, 'end');
    assert.ok(Buffer.concat(chunks).equals(data));
  }),
);

test('Writer: drain timeout and closed connection are typed errors', () =>
  withPair(async ({ server, client }) => {
    client.pause();
    const w = new Writer(server, { timeoutMs: 50 });
    w.write(Buffer.alloc(16 * 1024 * 1024));
    await assert.rejects(w.flush(), WriteTimeoutError);
    server.destroy();
    w.write('x');
    await assert.rejects(w.flush(), ConnectionClosedError);
  }));

test('Writer: slow mode writes one byte per delay', () =>
  withPair(async ({ server, client }) => {
    const sleeps: number[] = [];
    const seen: string[] = [];
    client.on('data', (c: Buffer) => seen.push(c.toString()));
    // Count the socket writes: how TCP groups bytes into reads on the peer varies.
    const writes: string[] = [];
    const origWrite = server.write.bind(server);
    server.write = ((chunk: Buffer, ...rest: never[]) => {
      writes.push(Buffer.from(chunk).toString());
      return origWrite(chunk, ...rest);
    }) as typeof server.write;
    const w = new Writer(server, {
      slowDelayMs: 1000,
      sleep: async (ms) => {
        sleeps.push(ms);
        await tick(); // let each byte reach the peer on its own
      },
    });
    w.setSlow(true);
    assert.equal(w.isSlow, true);
    w.write('NO x\r\n');
    await w.flush();
    await tick();
    assert.deepEqual(sleeps, [1000, 1000, 1000, 1000, 1000]);
    assert.deepEqual(writes, ['N', 'O', ' ', 'x', '\r', '\n']);
    assert.equal(seen.join(''), 'NO x\r\n');
    w.setSlow(false);
    w.write('fast\r\n');
    await w.flush();
    assert.equal(sleeps.length, 5);
  }));

test('Writer: slow mode sends the rest at once near the deadline', () =>
  withPair(async ({ server, client }) => {
    let now = 0;
    const sleeps: number[] = [];
    const w = new Writer(server, {
      slowDelayMs: 1000,
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    w.setSlow(true);
    w.setDeadline(7000); // after three bytes fewer than five delays remain
    const r = new LineReader(client);
    w.write('abcdefgh\r\n');
    await w.flush();
    assert.deepEqual(sleeps, [1000, 1000, 1000]);
    assert.equal((await r.readLine(100)).line.toString(), 'abcdefgh');
  }));

test('Writer: concurrent flushes in slow mode do not interleave', () =>
  withPair(async ({ server, client }) => {
    const r = new LineReader(client);
    const w = new Writer(server, { sleep: async () => void (await tick()) });
    w.setSlow(true);
    w.write('AB');
    const f1 = w.flush();
    w.write('CD\r\n');
    const f2 = w.flush();
    await Promise.all([f1, f2]);
    assert.equal((await r.readLine(10)).line.toString(), 'ABCD');
  }));
