// COMPRESS=DEFLATE (RFC 4978) with clients that flush every way zlib allows: a sync
// flush per command, a partial flush per command (Z_PARTIAL_FLUSH, which left other
// servers' inflaters waiting), and no flush between pipelined commands with the
// compressed bytes arriving one at a time. Large responses, COMPRESSIONACTIVE, and a
// client that sends garbage instead of deflate.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { createDeflateRaw, createInflateRaw, constants, type DeflateRaw } from 'node:zlib';
import { startTestServer, PASSWORD, type TestServer } from './harness.js';

let s: TestServer;
const BIG = 'y'.repeat(200_000);
before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('Z');
  for (const body of ['small', BIG]) {
    const p = await s.store.prepareMessage(Buffer.from(`Subject: z\r\n\r\n${body}\r\n`));
    await a.addMessages('Z', [{ message: p }]);
    await p.cleanup();
  }
});
after(() => s.close());

/** A TLS client that switches to deflate after COMPRESS; lines (literals joined). */
class ZClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  private deflate: DeflateRaw | null = null;
  closed = false;
  constructor(readonly sock: tls.TLSSocket) {
    sock.on('data', this.plain);
    sock.on('close', () => {
      // Compressed: closed once the inflater has given out everything it got.
      if (this.deflate) return;
      this.closed = true;
      this.wake();
    });
  }

  static async open(): Promise<ZClient> {
    const sock = tls.connect({ port: s.imaps.port, host: '127.0.0.1', rejectUnauthorized: false });
    await new Promise<void>((resolve) => sock.once('secureConnect', () => resolve()));
    const c = new ZClient(sock);
    await c.line();
    return c;
  }

  private plain = (d: Buffer) => {
    this.buf += d.toString('latin1');
    this.wake();
  };

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** The next line, "" once the connection is closed. */
  async line(): Promise<string> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        const lit = /\{(\d+)\}$/.exec(l);
        if (!lit) return l;
        const n = Number(lit[1]);
        while (this.buf.length < n && !this.closed)
          await new Promise<void>((r) => this.waiters.push(r));
        const data = this.buf.slice(0, n);
        this.buf = this.buf.slice(n);
        return l + '\r\n' + data + (await this.line());
      }
      if (this.closed) return '';
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Lines up to and including the tagged one. */
  async until(tag: string): Promise<string[]> {
    const out: string[] = [];
    for (;;) {
      const l = await this.line();
      out.push(l);
      if (l === '' || l.startsWith(`${tag} `)) return out;
    }
  }

  write(text: string, flush: number | null = constants.Z_SYNC_FLUSH) {
    if (!this.deflate) {
      this.sock.write(text);
      return;
    }
    this.deflate.write(Buffer.from(text, 'latin1'));
    if (flush !== null) this.deflate.flush(flush);
  }

  /** From now on: inflate what arrives, deflate what is sent (in bytes one at a time if asked). */
  compress(bytewise = false) {
    const inflate = createInflateRaw();
    this.sock.off('data', this.plain);
    this.sock.on('data', (d: Buffer) => inflate.write(d));
    inflate.on('data', this.plain);
    this.sock.on('close', () => inflate.end());
    const closed = () => {
      this.closed = true;
      this.wake();
    };
    inflate.on('end', closed);
    inflate.on('error', closed);
    const deflate = createDeflateRaw();
    deflate.on('data', (d: Buffer) => {
      if (!bytewise) this.sock.write(d);
      else for (const b of d) this.sock.write(Buffer.from([b]));
    });
    this.deflate = deflate;
  }
}

async function loggedIn(): Promise<ZClient> {
  const c = await ZClient.open();
  c.write(`a LOGIN mjl@example.org ${PASSWORD}\r\n`);
  assert.match((await c.until('a')).pop()!, /^a OK /);
  return c;
}

async function compressed(bytewise = false): Promise<ZClient> {
  const c = await loggedIn();
  c.write('z COMPRESS DEFLATE\r\n');
  assert.deepEqual(await c.until('z'), ['z OK DEFLATE active']);
  c.compress(bytewise);
  return c;
}

async function session(c: ZClient, flush: number | null) {
  c.write('b SELECT Z\r\n', flush);
  if (flush === null) c.write('', constants.Z_SYNC_FLUSH);
  const sel = await c.until('b');
  assert.ok(sel.includes('* 2 EXISTS'), sel.join('\n'));
  assert.equal(sel.pop(), 'b OK [READ-WRITE] SELECT done');
  c.write('c FETCH 1:2 (UID RFC822.SIZE)\r\n', flush);
  if (flush === null) c.write('', constants.Z_SYNC_FLUSH);
  assert.deepEqual((await c.until('c')).length, 3);
}

test('COMPRESS: a sync flush per command', async () => {
  const c = await compressed();
  await session(c, constants.Z_SYNC_FLUSH);
  c.write('d UID FETCH 2 (BODY.PEEK[TEXT])\r\n');
  const r = await c.until('d');
  // Compared as a boolean: a failure must not print 200 KB.
  assert.ok(r[0] === `* 2 FETCH (UID 2 BODY[TEXT] {${BIG.length + 2}}\r\n${BIG}\r\n)`, 'body');
  c.write('e COMPRESS DEFLATE\r\n');
  assert.deepEqual(await c.until('e'), [
    'e NO [COMPRESSIONACTIVE] COMPRESS compression is already active',
  ]);
  c.write('f LOGOUT\r\n');
  assert.deepEqual(await c.until('f'), ['* BYE thanks', 'f OK LOGOUT done']);
  c.sock.destroy();
});

test('COMPRESS: a partial flush (Z_PARTIAL_FLUSH) per command', async () => {
  const c = await compressed();
  await session(c, constants.Z_PARTIAL_FLUSH);
  c.sock.destroy();
});

test('COMPRESS: pipelined commands without flushes, compressed bytes one at a time', async () => {
  const c = await compressed(true);
  c.write('b SELECT Z\r\n', null);
  c.write('c NOOP\r\n', null);
  c.write('d CAPABILITY\r\n', constants.Z_SYNC_FLUSH);
  const r = await c.until('d');
  assert.ok(r.includes('b OK [READ-WRITE] SELECT done'));
  assert.ok(r.includes('c OK NOOP done'));
  assert.match(
    r.find((l) => l.startsWith('* CAPABILITY'))!,
    / COMPRESS=DEFLATE/,
  );
  c.sock.destroy();
});

test('COMPRESS: errors before, and garbage instead of deflate closes only that connection', async () => {
  const pre = await ZClient.open();
  pre.write('a COMPRESS DEFLATE\r\n');
  assert.match((await pre.until('a')).pop()!, /^a NO /);
  pre.sock.destroy();
  const c = await loggedIn();
  c.write('x COMPRESS LZW\r\n');
  assert.equal(
    (await c.until('x')).pop(),
    'x NO COMPRESS unknown compression mechanism LZW, only DEFLATE',
  );
  c.write('z COMPRESS DEFLATE\r\n');
  await c.until('z');
  c.sock.write(Buffer.from('this is not deflate data\r\n'));
  assert.equal(await c.line(), '');
  const other = await compressed();
  await session(other, constants.Z_SYNC_FLUSH);
  other.sock.destroy();
});
