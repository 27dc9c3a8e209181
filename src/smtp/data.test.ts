import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PassThrough } from 'node:stream';
import { LineReader } from '../net/linereader.js';
import {
  BareCRLFDetector,
  CRLFNormalizer,
  DataTruncatedError,
  DotReader,
  DotStuffer,
  type ByteSource,
} from './data.js';

/** Serves the given chunks (split further at `max`) and records unread bytes. */
class ChunkSource implements ByteSource {
  private queue: Buffer[];
  reads = 0;

  constructor(chunks: Buffer[]) {
    this.queue = chunks.filter((c) => c.length > 0);
  }

  readSome(max: number): Promise<Buffer> {
    const first = this.queue.shift();
    if (!first) return Promise.resolve(Buffer.alloc(0));
    this.reads++;
    if (first.length > max) this.queue.unshift(first.subarray(max));
    return Promise.resolve(first.subarray(0, max));
  }

  unread(data: Buffer): void {
    this.queue.unshift(data);
  }

  /** Everything not consumed. */
  rest(): string {
    return Buffer.concat(this.queue).toString('latin1');
  }
}

type Result = { data: string; bare: boolean; rest: string };

async function readAll(chunks: Buffer[], chunkSize?: number): Promise<Result> {
  const src = new ChunkSource(chunks);
  const r = new DotReader(src, chunkSize === undefined ? {} : { chunkSize });
  const out: Buffer[] = [];
  for (let b = await r.next(); b !== null; b = await r.next()) {
    assert.ok(b.length > 0, 'empty chunk returned');
    out.push(Buffer.from(b));
  }
  assert.equal(r.finished, true);
  assert.equal(await r.next(), null);
  return { data: Buffer.concat(out).toString('latin1'), bare: r.bareCRLF, rest: src.rest() };
}

const b = (s: string) => Buffer.from(s, 'latin1');

type Case = { input: string; data: string; bare: boolean; rest: string };

const cases: Case[] = [
  { input: '.\r\n', data: '', bare: false, rest: '' },
  { input: '.\r\nQUIT\r\n', data: '', bare: false, rest: 'QUIT\r\n' },
  { input: 'a\r\n.\r\n', data: 'a\r\n', bare: false, rest: '' },
  {
    input: 'Subject: x\r\n\r\nbody\r\n.\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n',
    data: 'Subject: x\r\n\r\nbody\r\n',
    bare: false,
    rest: 'MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n',
  },
  // Dot-stuffed lines lose one dot.
  { input: '..\r\n.\r\n', data: '.\r\n', bare: false, rest: '' },
  { input: '..x\r\n...\r\n.\r\n', data: '.x\r\n..\r\n', bare: false, rest: '' },
  { input: 'a\r\n..\r\nb\r\n.\r\nX', data: 'a\r\n.\r\nb\r\n', bare: false, rest: 'X' },
  { input: '.a\r\n.\r\n', data: 'a\r\n', bare: false, rest: '' },
  { input: 'a.b\r\nc.\r\n.\r\n', data: 'a.b\r\nc.\r\n', bare: false, rest: '' },
  { input: '\r\n\r\n.\r\n', data: '\r\n\r\n', bare: false, rest: '' },
  // Bare LF / bare CR: flagged, and only CRLF.CRLF ends the data.
  { input: 'a\nb\r\n.\r\n', data: 'a\nb\r\n', bare: true, rest: '' },
  { input: 'a\rb\r\n.\r\n', data: 'a\rb\r\n', bare: true, rest: '' },
  { input: 'a\n.\nb\r\n.\r\nX', data: 'a\n.\nb\r\n', bare: true, rest: 'X' },
  { input: 'a\r.\rb\r\n.\r\n', data: 'a\r.\rb\r\n', bare: true, rest: '' },
  { input: 'a\n.\r\nb\r\n.\r\n', data: 'a\n.\r\nb\r\n', bare: true, rest: '' },
  { input: 'a\r\n.\nb\r\n.\r\n', data: 'a\r\n\nb\r\n', bare: true, rest: '' },
  { input: 'a\r\n.\rb\r\n.\r\n', data: 'a\r\n\rb\r\n', bare: true, rest: '' },
  { input: 'a\r\n.\r\r\n.\r\n', data: 'a\r\n\r\r\n', bare: true, rest: '' },
  { input: 'a\r\r\n.\r\n', data: 'a\r\r\n', bare: true, rest: '' },
  { input: 'a\n\r\n.\r\n', data: 'a\n\r\n', bare: true, rest: '' },
  { input: '\n.\r\n.\r\n', data: '\n.\r\n', bare: true, rest: '' },
  { input: '\r.\r\n.\r\n', data: '\r.\r\n', bare: true, rest: '' },
  { input: 'x\r\n\r\n.\r\n\r\n.\r\n', data: 'x\r\n\r\n', bare: false, rest: '\r\n.\r\n' },
];

test('DotReader: whole inputs', async () => {
  for (const c of cases) {
    assert.deepEqual(
      await readAll([b(c.input)]),
      { data: c.data, bare: c.bare, rest: c.rest },
      JSON.stringify(c.input),
    );
  }
});

test('DotReader: every split position', async () => {
  for (const c of cases) {
    const s = c.input;
    for (let i = 0; i <= s.length; i++) {
      const got = await readAll([b(s.slice(0, i)), b(s.slice(i))]);
      assert.deepEqual(
        got,
        { data: c.data, bare: c.bare, rest: c.rest },
        `${JSON.stringify(s)} split at ${i}`,
      );
    }
  }
});

test('DotReader: every pair of split positions, and one byte at a time', async () => {
  for (const c of cases) {
    const s = c.input;
    const want = { data: c.data, bare: c.bare, rest: c.rest };
    for (let i = 0; i <= s.length; i++) {
      for (let j = i; j <= s.length; j++) {
        const got = await readAll([b(s.slice(0, i)), b(s.slice(i, j)), b(s.slice(j))]);
        assert.deepEqual(got, want, `${JSON.stringify(s)} split at ${i}, ${j}`);
      }
    }
    assert.deepEqual(await readAll([b(s)], 1), want, `${JSON.stringify(s)} bytewise`);
  }
});

test('DotReader: terminator split across chunks leaves pipelined bytes unread', async () => {
  const src = new ChunkSource([b('hello\r'), b('\n.'), b('\r'), b('\nRSET\r\n'), b('NOOP\r\n')]);
  const r = new DotReader(src);
  assert.equal((await r.next())?.toString(), 'hello\r');
  assert.equal((await r.next())?.toString(), '\n');
  assert.equal(await r.next(), null);
  assert.equal(r.bareCRLF, false);
  assert.equal(src.rest(), 'RSET\r\nNOOP\r\n');
});

test('DotReader: a chunk holding only a stuffed dot yields no empty buffer', async () => {
  const src = new ChunkSource([b('a\r\n'), b('.'), b('.b\r\n.\r\n')]);
  const r = new DotReader(src);
  assert.equal((await r.next())?.toString(), 'a\r\n');
  assert.equal((await r.next())?.toString(), '.b\r\n');
  assert.equal(await r.next(), null);
  assert.equal(src.reads, 3);
});

test('DotReader: reads at most chunkSize bytes at a time and returns views', async () => {
  const input = b('x'.repeat(100) + '\r\n.\r\n');
  const src = new ChunkSource([input]);
  const r = new DotReader(src, { chunkSize: 30 });
  const first = await r.next();
  assert.equal(first?.length, 30);
  assert.equal(first?.buffer, input.buffer);
});

test('DotReader: end of input before the terminator', async () => {
  const r = new DotReader(new ChunkSource([b('abc\r\n')]));
  assert.equal((await r.next())?.toString(), 'abc\r\n');
  await assert.rejects(() => r.next(), DataTruncatedError);
});

test('DotReader: 10 MB message in 64 KB chunks', async () => {
  // Lines of varying length, some starting with dots, CRLF line ends.
  const lines: string[] = [];
  let size = 0;
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  while (size < 10 * 1024 * 1024) {
    const len = Math.floor(rnd() * 120);
    let line = 'x'.repeat(len);
    if (rnd() < 0.05) line = '.' + line;
    if (rnd() < 0.01) line = '..' + line;
    lines.push(line);
    size += line.length + 2;
  }
  const message = Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
  const st = new DotStuffer();
  const wire = Buffer.concat([st.push(message), st.end(), b('QUIT\r\n')]);
  assert.ok(wire.length > message.length);
  const chunks: Buffer[] = [];
  for (let i = 0; i < wire.length; i += 64 * 1024) chunks.push(wire.subarray(i, i + 64 * 1024));
  const src = new ChunkSource(chunks);
  const r = new DotReader(src);
  const out: Buffer[] = [];
  let n = 0;
  for (let c = await r.next(); c !== null; c = await r.next()) {
    assert.ok(c.length <= 64 * 1024);
    out.push(c);
    n++;
  }
  assert.ok(n >= 160);
  assert.equal(r.bareCRLF, false);
  assert.ok(Buffer.concat(out).equals(message));
  assert.equal(src.rest(), 'QUIT\r\n');
});

test('DotStuffer: stuffing and end', () => {
  const st = new DotStuffer();
  assert.equal(st.push(b('.a\r\n')).toString(), '..a\r\n');
  assert.equal(st.push(b('b\r\n.\r\n..c\r\n')).toString(), 'b\r\n..\r\n...c\r\n');
  assert.equal(st.push(b('.')).toString(), '..');
  assert.equal(st.push(b('\r')).toString(), '\r');
  assert.equal(st.push(b('\n')).toString(), '\n');
  assert.equal(st.end().toString(), '.\r\n');
  const unterminated = new DotStuffer();
  assert.equal(unterminated.push(b('abc')).toString(), 'abc');
  assert.equal(unterminated.end().toString(), '\r\n.\r\n');
  assert.equal(new DotStuffer().end().toString(), '.\r\n');
  const lf = new DotStuffer();
  assert.equal(lf.push(b('a\n.b\n')).toString(), 'a\n..b\n');
  assert.equal(lf.end().toString(), '\r\n.\r\n');
  const cr = new DotStuffer();
  cr.push(b('a\r'));
  assert.equal(cr.end().toString(), '\r\n.\r\n');
  const plain = b('no dots here\r\n');
  assert.equal(new DotStuffer().push(plain), plain);
});

/** Whether s has a CR not followed by LF or an LF not preceded by CR. */
function hasBare(s: string): boolean {
  return /\r(?!\n)|(?<!\r)\n/.test(s);
}

test('DotStuffer and DotReader round trip (property)', async () => {
  const text = fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', '\r\n', '\r\n.', 'é') });
  const pieces = fc.array(text, { maxLength: 6 });
  await fc.assert(
    fc.asyncProperty(pieces, fc.integer({ min: 1, max: 7 }), async (parts, chunkSize) => {
      const st = new DotStuffer();
      const wire = [...parts.map((p) => st.push(b(p))), st.end(), b('NEXT')];
      const input = parts.join('');
      const got = await readAll(wire, chunkSize);
      assert.equal(got.rest, 'NEXT');
      assert.equal(got.bare, hasBare(input));
      if (!got.bare) {
        const suffix = input === '' || input.endsWith('\r\n') ? '' : '\r\n';
        assert.equal(got.data, input + suffix);
      }
    }),
    { numRuns: 1000 },
  );
});

/** Straightforward model of the reader: split at the first CRLF.CRLF, then unstuff. */
function model(input: string): Result {
  const w = '\r\n' + input;
  const t = w.indexOf('\r\n.\r\n');
  const raw = w.slice(2, t + 2);
  return {
    data: raw.replace(/(^|\r\n)\./g, '$1'),
    bare: hasBare(raw),
    rest: w.slice(t + 5),
  };
}

test('DotReader matches a simple model on random input and chunking (property)', async () => {
  const body = fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', '\r\n', '\r\n.') });
  const cuts = fc.array(fc.nat(), { maxLength: 5 });
  await fc.assert(
    fc.asyncProperty(body, cuts, async (s, cutList) => {
      const input = s + '\r\n.\r\nNEXT\r\n';
      const points = [...new Set(cutList.map((c) => c % (input.length + 1)))].sort((x, y) => x - y);
      const chunks: Buffer[] = [];
      let prev = 0;
      for (const p of [...points, input.length]) {
        chunks.push(b(input.slice(prev, p)));
        prev = p;
      }
      assert.deepEqual(await readAll(chunks), model(input));
    }),
    { numRuns: 2000 },
  );
});

test('DotReader works on the connection LineReader', async () => {
  const stream = new PassThrough();
  const reader = new LineReader(stream);
  const src: ByteSource = reader;
  stream.write('Subject: hi\r\n\r\n..dot\r');
  const r = new DotReader(src);
  const out: Buffer[] = [];
  const first = await r.next();
  assert.ok(first);
  out.push(first);
  stream.write('\n.\r\nQUIT\r\n');
  for (let c = await r.next(); c !== null; c = await r.next()) out.push(c);
  assert.equal(Buffer.concat(out).toString(), 'Subject: hi\r\n\r\n.dot\r\n');
  assert.equal(r.bareCRLF, false);
  assert.deepEqual(await reader.readLine(512), { line: Buffer.from('QUIT'), bareLF: false });
});

/** Splits s at the given cut points (taken modulo its length), keeping empty pieces out. */
function split(s: string, cutList: number[]): Buffer[] {
  const points = [...new Set(cutList.map((c) => c % (s.length + 1)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, s.length]) {
    out.push(b(s.slice(prev, p)));
    prev = p;
  }
  return out;
}

test('CRLFNormalizer: bare CR and LF become CRLF, also across pieces', () => {
  const n = new CRLFNormalizer();
  assert.equal(n.push(b('a\nb\r\nc\rd')).toString(), 'a\r\nb\r\nc\r\nd');
  assert.equal(n.push(b('\r')).toString(), '\r');
  assert.equal(n.push(b('\n.\n')).toString(), '\n.\r\n');
  assert.equal(n.push(b('x\r')).toString(), 'x\r');
  assert.equal(n.push(b('.\r')).toString(), '\n.\r');
  assert.equal(n.end().toString(), '\n');
  assert.equal(n.fixed, 5);
  const clean = b('no bare line ends\r\n');
  assert.equal(new CRLFNormalizer().push(clean), clean);
});

test('CRLFNormalizer matches a model on random input and pieces (property)', () => {
  const text = fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', '\r\n') });
  fc.assert(
    fc.property(text, fc.array(fc.nat(), { maxLength: 5 }), (s, cuts) => {
      const n = new CRLFNormalizer();
      const out = [...split(s, cuts).map((p) => n.push(p)), n.end()];
      const want = s.replace(/\r\n|\r|\n/g, '\r\n');
      assert.equal(Buffer.concat(out).toString('latin1'), want);
    }),
    { numRuns: 2000 },
  );
});

test('BareCRLFDetector matches a model on random input and pieces (property)', () => {
  const text = fc.string({ unit: fc.constantFrom('a', '.', '\r', '\n', '\r\n') });
  fc.assert(
    fc.property(text, fc.array(fc.nat(), { maxLength: 5 }), (s, cuts) => {
      const d = new BareCRLFDetector();
      for (const p of split(s, cuts)) d.push(p);
      assert.equal(d.end(), hasBare(s));
    }),
    { numRuns: 2000 },
  );
});

test('normalised and dot-stuffed data ends exactly where it was sent to end (property)', async () => {
  // Whatever the message holds, a reader sees no bare line end and no early terminator.
  const text = fc.string({
    unit: fc.constantFrom('a', '.', '\r', '\n', '\r\n', '\n.\n', '\r.\r', '\r\n.\r\n'),
  });
  await fc.assert(
    fc.asyncProperty(fc.array(text, { maxLength: 5 }), async (parts) => {
      const n = new CRLFNormalizer();
      const st = new DotStuffer();
      const wire = [...parts.map((p) => st.push(n.push(b(p)))), st.push(n.end()), st.end()];
      const got = await readAll([...wire, b('NEXT')]);
      const norm = parts.join('').replace(/\r\n|\r|\n/g, '\r\n');
      assert.equal(got.bare, false);
      assert.equal(got.rest, 'NEXT');
      assert.equal(got.data, norm + (norm === '' || norm.endsWith('\r\n') ? '' : '\r\n'));
    }),
    { numRuns: 1000 },
  );
});
