import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  FLAG_RD,
  TYPE,
  WireError,
  decodeTXT,
  encodeQuery,
  encodeTXT,
  parseMessage,
  readName,
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
  ];
  for (const [m, at] of bad) assert.throws(() => readName(m, at), WireError, m.toString('hex'));
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
