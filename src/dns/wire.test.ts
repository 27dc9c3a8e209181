import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  EDNS_DO,
  FLAG_AD,
  FLAG_RD,
  TYPE,
  WireError,
  decodeA,
  decodeAAAA,
  decodeMX,
  decodeNameData,
  decodeTXT,
  encodeQuery,
  encodeTXT,
  parseMessage,
  parseName,
  presentName,
  readName,
  sameName,
} from './wire.js';

const header = Buffer.alloc(12);
const msg = (...parts: (number[] | string)[]) =>
  Buffer.concat([
    header,
    ...parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  ]);

test('readName reads plain and compressed names', () => {
  // "Mail.Example.org" at 12, then "www" + pointer to "Example.org" at 17.
  const m = msg('\x04Mail\x07Example\x03org\x00', '\x03www', [0xc0, 17]);
  assert.deepEqual(readName(m, 12), { labels: ['Mail', 'Example', 'org'], end: 30 });
  assert.deepEqual(readName(m, 30), { labels: ['www', 'Example', 'org'], end: 36 });
  assert.deepEqual(readName(msg([0]), 12), { labels: [], end: 13 });
});

/** The root at 12, then `n` pointers, each to the one before it (the first to the root). */
function pointerChain(n: number): Buffer {
  const pointers = Array.from({ length: n }, (_, k) => {
    const target = k === 0 ? 12 : 13 + 2 * (k - 1);
    return [0xc0 | (target >> 8), target & 0xff];
  });
  return msg([0], ...pointers);
}

test('readName rejects loops, forward pointers and overruns', () => {
  const bad: [Buffer, number][] = [
    [msg([0xc0, 12]), 12], // points at itself
    [msg('\x01a', [0xc0, 12]), 12], // points back into the name being read
    [msg('\x01a\x00', '\x01b', [0xc0, 17]), 15], // points forward to itself
    [msg('\x01a', [0xc0, 17], '\x01b', [0xc0, 12]), 17], // two names pointing at each other
    [msg([0xc0, 40]), 12], // beyond the message
    [msg([0xc0]), 12], // pointer cut short
    [msg('\x05ab'), 12], // label runs past the end
    [msg('\x01a'), 12], // no terminating zero
    [msg([0x41, 0x61, 0]), 12], // extended label type (RFC 6891 §5)
    [msg([0x81, 0x61, 0]), 12], // reserved label type
    [msg(`${'\x3f' + 'x'.repeat(63)}`.repeat(4), [0]), 12], // 257 octets
    // 200 pointers, each to the one before it: backwards, but far more than a name needs.
    [pointerChain(200), 13 + 2 * 199],
  ];
  for (const [m, at] of bad) assert.throws(() => readName(m, at), WireError, m.toString('hex'));
  // A chain as long as a name may have labels is still read.
  assert.deepEqual(readName(pointerChain(127), 13 + 2 * 126).labels, []);
  // 255 octets exactly is allowed.
  const max = msg(`${'\x3f' + 'x'.repeat(63)}`.repeat(3), '\x3d' + 'y'.repeat(61), [0]);
  assert.equal(readName(max, 12).labels.length, 4);
});

test('encodeTXT splits at 255 octets without breaking UTF-8 characters', () => {
  assert.deepEqual([...encodeTXT('')], [0]);
  const long = encodeTXT('x'.repeat(600));
  assert.deepEqual(
    decodeTXT(long).map((s) => s.length),
    [255, 255, 90],
  );
  assert.equal(long.length, 603);
  const accented = encodeTXT('a'.repeat(254) + 'é' + 'b');
  assert.equal(accented[0], 254);
  assert.deepEqual(decodeTXT(accented), ['a'.repeat(254), 'éb']);
  const emoji = 'a'.repeat(253) + '😀';
  assert.deepEqual(decodeTXT(encodeTXT(emoji)), ['a'.repeat(253), '😀']);
  assert.throws(() => decodeTXT(Buffer.from([5, 0x61])), WireError);
});

test('encodeQuery round-trips through parseMessage', () => {
  const q = parseMessage(encodeQuery(0x1234, 'Example.org', TYPE.MX, { ednsSize: 1232 }));
  assert.deepEqual(q.header, {
    id: 0x1234,
    flags: FLAG_RD,
    qdcount: 1,
    ancount: 0,
    nscount: 0,
    arcount: 1,
  });
  assert.deepEqual(q.questions, [{ name: ['Example', 'org'], type: TYPE.MX, class: 1 }]);
  assert.deepEqual(
    q.additional.map((rr) => [rr.name, rr.type, rr.class, rr.data.length]),
    [[[], TYPE.OPT, 1232, 0]],
  );
  assert.equal(parseMessage(encodeQuery(1, '.', TYPE.A, { rd: false })).header.flags, 0);
});

test('record data decoders: addresses, names (compressed), MX, TXT', () => {
  // RDATA of a name record may point back into the message (RFC 3597 §4).
  const m = msg('\x07example\x03org\x00', [0, 10, 3, 0x6d, 0x78, 0x31, 0xc0, 12], [0xc0, 12], [0]);
  const cases: [string, () => unknown, unknown][] = [
    ['A', () => decodeA(Buffer.from([192, 0, 2, 1])), '192.0.2.1'],
    [
      'AAAA',
      () => decodeAAAA(Buffer.from('20010db8000000000000000000000001', 'hex')),
      '2001:db8::1',
    ],
    [
      'AAAA v4-mapped',
      () => decodeAAAA(Buffer.from('00000000000000000000ffffc0000201', 'hex')),
      '::ffff:192.0.2.1',
    ],
    [
      'MX compressed',
      () => decodeMX(m, 25, 8),
      { priority: 10, exchange: ['mx1', 'example', 'org'] },
    ],
    ['name pointer only', () => decodeNameData(m, 33, 2), ['example', 'org']],
    [
      'null MX (RFC 7505)',
      () => decodeMX(Buffer.from([0, 0, 0]), 0, 3),
      { priority: 0, exchange: [] },
    ],
    ['root name', () => decodeNameData(m, 35, 1), []],
    ['TXT strings', () => decodeTXT(Buffer.from('\x03abc\x00\x02de', 'latin1')), ['abc', '', 'de']],
    ['TXT empty RDATA', () => decodeTXT(Buffer.alloc(0)), []],
  ];
  for (const [what, run, want] of cases) assert.deepEqual(run(), want, what);
  const bad: [string, () => unknown][] = [
    ['A of 3 octets', () => decodeA(Buffer.from([1, 2, 3]))],
    ['A of 5 octets', () => decodeA(Buffer.from([1, 2, 3, 4, 5]))],
    ['AAAA of 4 octets', () => decodeAAAA(Buffer.from([1, 2, 3, 4]))],
    ['MX without exchange', () => decodeMX(Buffer.from([0, 10]), 0, 2)],
    ['name shorter than RDATA', () => decodeNameData(m, 33, 3)],
    ['name longer than RDATA', () => decodeNameData(m, 12, 5)],
    ['TXT string past the end', () => decodeTXT(Buffer.from([4, 0x61]))],
  ];
  for (const [what, run] of bad) assert.throws(run, WireError, what);
});

test('names in presentation format: escapes as node:dns writes them, and back', () => {
  const cases: [string[], string][] = [
    [['mail', 'Example', 'org'], 'mail.Example.org'],
    [[], ''],
    [['a.b', 'example'], 'a\\.b.example'],
    [['back\\slash'], 'back\\\\slash'],
    [['q"u;o(t)e@$'], 'q\\"u\\;o\\(t\\)e\\@\\$'],
    [['sp ace', 'tab\t', 'nul\x00', 'hi\xff'], 'sp ace.tab\\009.nul\\000.hi\\255'],
    [['_dmarc', 'x-y'], '_dmarc.x-y'],
  ];
  for (const [labels, text] of cases) {
    assert.equal(presentName(labels), text, JSON.stringify(labels));
    assert.deepEqual(parseName(text), labels, text);
  }
  assert.deepEqual(parseName('example.org.'), ['example', 'org']);
  assert.deepEqual(parseName('.'), []);
  assert.deepEqual(parseName('a\\.'), ['a.']);
  assert.deepEqual(parseName('\\065b'), ['Ab']);
  // Non-ASCII text is sent as UTF-8, as labelsText reads it back.
  assert.deepEqual(parseName('bücher.example'), [
    Buffer.from('bücher').toString('latin1'),
    'example',
  ]);
  for (const bad of [
    'a..b',
    '.a',
    'a..',
    'x'.repeat(64),
    `${'x'.repeat(63)}.`.repeat(4) + 'x',
    'a\\',
    'a\\256',
  ]) {
    assert.throws(() => parseName(bad), WireError, bad);
  }
  assert.equal(parseName(`${'x'.repeat(63)}.`.repeat(3) + 'y'.repeat(61)).length, 4);
  assert.ok(sameName(['Mail', 'EXAMPLE'], ['mail', 'example']));
  assert.ok(!sameName(['\xc0'], ['\xe0']), 'only ASCII letters match without case (RFC 4343)');
  assert.ok(!sameName(['a', 'b'], ['a']));
});

test('encodeQuery sets AD and DO when asked', () => {
  const q = parseMessage(
    encodeQuery(5, ['x', 'example'], TYPE.A, { ad: true, ednsSize: 1232, dnssecOK: true }),
  );
  assert.equal(q.header.flags, FLAG_RD | FLAG_AD);
  assert.deepEqual(q.questions[0]?.name, ['x', 'example']);
  assert.equal(q.additional[0]?.ttl, EDNS_DO);
});
