// Property and hostile-input tests of the structure parser.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MimeParser, parseMessage, type ParseOptions } from './parse.js';
import { allParts, checkTree } from './testutil.js';
import type { Part } from './types.js';

function parseAt(buf: Buffer, cuts: readonly number[], opts?: ParseOptions): Part {
  const p = new MimeParser(opts);
  let last = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    const at = Math.min(c, buf.length);
    p.write(buf.subarray(last, at));
    last = Math.max(last, at);
  }
  p.write(buf.subarray(last));
  return p.end();
}

function parseBytewise(buf: Buffer, opts?: ParseOptions): Part {
  const p = new MimeParser(opts);
  for (let i = 0; i < buf.length; i++) p.write(buf.subarray(i, i + 1));
  return p.end();
}

const cutsArb = fc.array(fc.nat({ max: 4000 }), { maxLength: 8 });

describe('random input', () => {
  it('never throws, keeps offsets consistent and ignores chunking', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), cutsArb, (bytes, cuts) => {
        const buf = Buffer.from(bytes);
        const whole = parseMessage(buf);
        checkTree(whole, buf.length);
        assert.equal(JSON.stringify(parseAt(buf, cuts)), JSON.stringify(whole));
      }),
      { numRuns: 300 },
    );
  });

  const vocabulary = fc.oneof(
    fc.constantFrom(
      '',
      ' folded',
      'Subject: x',
      'From: "a, b" <a@b>, c@d',
      'Content-Type: multipart/mixed; boundary=a',
      'Content-Type: multipart/mixed; boundary="b"',
      'Content-Type: multipart/alternative; boundary=ab',
      'Content-Type: multipart/digest; boundary=a',
      'Content-Type: multipart/mixed',
      'Content-Type: message/rfc822',
      'Content-Type: message/global',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '--a',
      '--a--',
      '--ab',
      '--ab--',
      '--b',
      '--b--',
      '--a trailing',
      '--',
      '----',
    ),
    fc.string({ maxLength: 12 }),
  );
  const eol = fc.constantFrom('\r\n', '\r\n', '\n', '\r', '');
  const mimeish = fc
    .array(fc.tuple(vocabulary, eol), { maxLength: 80 })
    .map((lines) => Buffer.from(lines.map(([l, e]) => l + e).join(''), 'utf8'));

  it('handles MIME-like line soup with mixed CR, LF and CR LF', () => {
    fc.assert(
      fc.property(mimeish, cutsArb, (buf, cuts) => {
        const whole = parseMessage(buf);
        checkTree(whole, buf.length);
        assert.equal(JSON.stringify(parseAt(buf, cuts)), JSON.stringify(whole));
        const limited = parseMessage(buf, { maxDepth: 2, maxParts: 4 });
        checkTree(limited, buf.length);
        assert.ok(allParts(limited).length <= 4);
        assert.ok(allParts(limited).every((e) => e.depth <= 2));
      }),
      { numRuns: 500 },
    );
  });

  // Fed byte by byte, every line goes through the line-by-line path; whole, the lines of
  // a body that no delimiter can end are only counted. Both must agree.
  it('gives identical trees fed byte by byte', () => {
    fc.assert(
      fc.property(mimeish, (buf) => {
        assert.equal(JSON.stringify(parseBytewise(buf)), JSON.stringify(parseMessage(buf)));
      }),
      { numRuns: 100 },
    );
  });
});

type Node =
  | { kind: 'leaf'; lines: string[] }
  | { kind: 'multi'; children: Node[] }
  | { kind: 'msg'; inner: Node };

const textLine = fc.string({
  unit: fc.constantFrom('a', 'b', 'z', ' ', '1', ':', '=', 'é', '-'),
  maxLength: 30,
});

const { node } = fc.letrec<{ node: Node }>((tie) => ({
  node: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'mime' },
    fc.record({ kind: fc.constant('leaf' as const), lines: fc.array(textLine, { maxLength: 5 }) }),
    fc.record({
      kind: fc.constant('multi' as const),
      children: fc.array(tie('node'), { maxLength: 4 }),
    }),
    fc.record({ kind: fc.constant('msg' as const), inner: tie('node') }),
  ),
}));

interface Rendered {
  text: string;
  node: Node;
  children: Rendered[];
}

/** Renders a tree with unique boundaries; every entity's text is what its part must span. */
function render(n: Node, eol: string, counter: { n: number }): Rendered {
  if (n.kind === 'leaf') {
    return {
      text: `Content-Type: text/plain${eol}${eol}${n.lines.join(eol)}`,
      node: n,
      children: [],
    };
  }
  if (n.kind === 'msg') {
    const inner = render(n.inner, eol, counter);
    return {
      text: `Content-Type: message/rfc822${eol}${eol}${inner.text}`,
      node: n,
      children: [inner],
    };
  }
  const b = `=_b${counter.n++}_`;
  const children = n.children.map((c) => render(c, eol, counter));
  let text = `Content-Type: multipart/mixed; boundary="${b}"${eol}${eol}preamble${eol}`;
  for (const c of children) text += `--${b}${eol}${c.text}${eol}`;
  text += `--${b}--${eol}epilogue`;
  return { text, node: n, children };
}

function compare(buf: Buffer, part: Part, r: Rendered): void {
  assert.equal(buf.toString('utf8', part.headerStart, part.end), r.text);
  if (r.node.kind === 'leaf') {
    assert.deepEqual([part.type, part.subtype], ['text', 'plain']);
    // k lines joined have k - 1 line breaks, plus a last line if it is not empty.
    const k = r.node.lines.length;
    assert.equal(part.bodyLines, k === 0 ? 0 : k - 1 + (r.node.lines[k - 1] === '' ? 0 : 1));
  } else if (r.node.kind === 'msg') {
    assert.deepEqual([part.type, part.subtype], ['message', 'rfc822']);
    assert.ok(part.message);
    compare(buf, part.message, r.children[0] as Rendered);
  } else {
    assert.deepEqual([part.type, part.subtype], ['multipart', 'mixed']);
    const parts = part.parts ?? [];
    assert.equal(parts.length, r.children.length);
    parts.forEach((c, i) => compare(buf, c, r.children[i] as Rendered));
  }
}

describe('generated well-formed messages', () => {
  it('parse into the tree they were built from, with exact spans', () => {
    fc.assert(
      fc.property(node, fc.constantFrom('\r\n', '\n'), cutsArb, (n, eol, cuts) => {
        const r = render(n, eol, { n: 0 });
        const buf = Buffer.from(r.text, 'utf8');
        const root = parseMessage(buf);
        checkTree(root, buf.length);
        compare(buf, root, r);
        assert.equal(JSON.stringify(parseAt(buf, cuts)), JSON.stringify(root));
      }),
      { numRuns: 300 },
    );
  });
});

// Boundaries "b1x", "b12x": none is a prefix of another, as RFC 2046 §5.1.1 requires.
function deepMultipart(levels: number, close: boolean): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < levels; i++) {
    parts.push(`Content-Type: multipart/mixed; boundary=b${i}x\r\n\r\n--b${i}x\r\n`);
  }
  parts.push('Content-Type: text/plain\r\n\r\ninnermost\r\n');
  if (close) for (let i = levels - 1; i >= 0; i--) parts.push(`--b${i}x--\r\n`);
  return Buffer.from(parts.join(''));
}

function maxDepthOf(root: Part): number {
  return Math.max(...allParts(root).map((e) => e.depth));
}

describe('deep nesting', () => {
  const levels = 10000;

  it('limits 10,000 nested multiparts to the default depth', () => {
    for (const close of [true, false]) {
      const buf = deepMultipart(levels, close);
      const root = parseMessage(buf);
      checkTree(root, buf.length);
      assert.equal(maxDepthOf(root), 50);
      assert.equal(allParts(root).length, 51);
    }
  });

  it('parses 10,000 nested multiparts without recursion when allowed', () => {
    const buf = deepMultipart(levels, true);
    const root = parseMessage(buf, { maxDepth: 20000, maxParts: 20000 });
    checkTree(root, buf.length);
    const all = allParts(root);
    assert.equal(all.length, levels + 1);
    const deepest = all.find((e) => e.depth === levels);
    assert.ok(deepest);
    assert.equal(buf.toString('latin1', deepest.part.bodyStart, deepest.part.end), 'innermost');
  });

  it('parses 10,000 nested message/rfc822 bodies', () => {
    const buf = Buffer.from(
      'Content-Type: message/rfc822\r\n\r\n'.repeat(levels) + 'Subject: end\r\n\r\nx',
    );
    const root = parseMessage(buf, { maxDepth: 20000, maxParts: 20000 });
    checkTree(root, buf.length);
    assert.equal(maxDepthOf(root), levels);
    const deepest = allParts(root).find((e) => e.depth === levels);
    assert.deepEqual(deepest?.part.envelope, { subject: 'end' });
    const limited = parseMessage(buf);
    assert.equal(maxDepthOf(limited), 50);
  });
});

describe('long lines', () => {
  const mb = 1024 * 1024;

  function chunked(buf: Buffer, size: number): Part {
    const p = new MimeParser();
    for (let i = 0; i < buf.length; i += size) p.write(buf.subarray(i, i + size));
    return p.end();
  }

  it('handles a 1 MB line in the header and in the body', () => {
    const long = 'x'.repeat(mb);
    for (const text of [
      `Subject: s\r\nX-Long: ${long}\r\n\r\nbody\r\n`,
      `X-Long: ${long}`,
      `Subject: s\r\n\r\n${long}\r\nend`,
      long,
    ]) {
      const buf = Buffer.from(text);
      const root = parseMessage(buf);
      checkTree(root, buf.length);
      assert.equal(JSON.stringify(chunked(buf, 65536)), JSON.stringify(root));
      assert.equal(JSON.stringify(chunked(buf, 1000)), JSON.stringify(root));
    }
    // A header line past the 1 MiB limit starts the body.
    const over = Buffer.from(`Subject: s\r\nX-Long: ${long}\r\n\r\nbody\r\n`);
    assert.equal(parseMessage(over).bodyStart, 12);
  });

  it('recognises a delimiter at the start of a 1 MB line', () => {
    const buf = Buffer.from(
      `Content-Type: multipart/mixed; boundary=b\r\n\r\n--b ${'x'.repeat(mb)}\r\n\r\none\r\n--b--\r\n`,
    );
    for (const root of [parseMessage(buf), chunked(buf, 65536), chunked(buf, 7)]) {
      checkTree(root, buf.length);
      assert.equal(root.parts?.length, 1);
      const part = root.parts[0] as Part;
      assert.equal(buf.toString('latin1', part.bodyStart, part.end), 'one');
    }
  });
});
