import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { answerQuery } from './authority.js';
import {
  CLASS_IN,
  RCODE,
  TYPE,
  encodeHeader,
  encodeQuery,
  encodeQuestion,
  parseMessage,
} from './wire.js';
import { ZoneIndex } from './zone.js';

const zone = new ZoneIndex({
  a: { 'h.example': ['192.0.2.1'], 'end.example': ['192.0.2.2'] },
  txt: { 'huge.example': Array.from({ length: 300 }, (_, i) => `${i}`.padEnd(255, 'x')) },
  cname: {
    'loop1.example': ['loop2.example'],
    'loop2.example': ['loop1.example'],
    'c1.example': ['c2.example'],
    'c2.example': ['end.example'],
    'dangling.example': ['missing.example'],
    'tofail.example': ['broken.example'],
  },
  fail: { 'broken.example': 'temporary', 'NS h.example': 'permanent' },
});

const ask = (name: string, type: number, transport: 'udp' | 'tcp' = 'udp') => {
  const reply = answerQuery(zone, encodeQuery(1, name, type), transport);
  assert.ok(reply !== undefined);
  const m = parseMessage(reply);
  return {
    rcode: m.header.flags & 0xf,
    answers: m.answers.map((rr) => `${rr.name.join('.')} ${rr.type}`),
  };
};

test('CNAME chains are followed inside the zone and loops end in SERVFAIL', () => {
  assert.deepEqual(ask('c1.example', TYPE.A), {
    rcode: RCODE.NOERROR,
    answers: ['c1.example 5', 'c2.example 5', 'end.example 1'],
  });
  assert.deepEqual(ask('c1.example', TYPE.CNAME), {
    rcode: RCODE.NOERROR,
    answers: ['c1.example 5'],
  });
  // RFC 6604 §3: the rcode describes the last name in the chain.
  assert.deepEqual(ask('dangling.example', TYPE.A), {
    rcode: RCODE.NXDOMAIN,
    answers: ['dangling.example 5'],
  });
  assert.deepEqual(ask('loop1.example', TYPE.A), { rcode: RCODE.SERVFAIL, answers: [] });
  assert.deepEqual(ask('tofail.example', TYPE.A), { rcode: RCODE.SERVFAIL, answers: [] });
});

test('other types, classes and failures', () => {
  assert.deepEqual(ask('end.example', TYPE.SOA), { rcode: RCODE.NOERROR, answers: [] });
  assert.deepEqual(ask('nope.example', TYPE.SOA), { rcode: RCODE.NXDOMAIN, answers: [] });
  assert.deepEqual(ask('h.example', TYPE.NS), { rcode: RCODE.NOTIMP, answers: [] });
  assert.deepEqual(ask('h.example', TYPE.A), { rcode: RCODE.NOERROR, answers: ['h.example 1'] });
  const chaos = Buffer.concat([
    encodeHeader({ id: 5, flags: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 }),
    encodeQuestion(['h', 'example'], TYPE.A, 3),
  ]);
  const reply = parseMessage(answerQuery(zone, chaos, 'udp') ?? Buffer.alloc(0));
  assert.equal(reply.header.flags & 0xf, RCODE.REFUSED);
  assert.equal(reply.questions[0]?.class, 3);
  assert.equal(CLASS_IN, 1);
});

test('labels containing dots never match a zone name', () => {
  const q = Buffer.concat([
    encodeHeader({ id: 6, flags: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 }),
    encodeQuestion(['h.example'], TYPE.A),
  ]);
  assert.equal(
    parseMessage(answerQuery(zone, q, 'udp') ?? Buffer.alloc(0)).header.flags & 0xf,
    RCODE.NXDOMAIN,
  );
});

test('question bytes are echoed exactly and UTF-8 names match the zone', () => {
  const odd = ['\xff\xfe', 'Example'];
  const q = Buffer.concat([
    encodeHeader({ id: 8, flags: 0, qdcount: 1, ancount: 0, nscount: 0, arcount: 0 }),
    encodeQuestion(odd, TYPE.A),
  ]);
  const reply = answerQuery(zone, q, 'udp') ?? Buffer.alloc(0);
  assert.deepEqual(reply.subarray(12), q.subarray(12));
  assert.equal(reply.readUInt16BE(2) & 0xf, RCODE.NXDOMAIN);
  const utf8 = new ZoneIndex({ a: { 'bücher.example': ['192.0.2.7'] } });
  const m = parseMessage(answerQuery(utf8, encodeQuery(9, 'Bücher.example', TYPE.A), 'udp') ?? q);
  assert.deepEqual(
    m.answers.map((rr) => [
      Buffer.from(rr.name[0] ?? '', 'latin1').toString('hex'),
      rr.data.toString('hex'),
    ]),
    [['42c3bc63686572', 'c0000207']],
  );
});

test('an answer beyond 65535 octets is SERVFAIL over TCP', () => {
  assert.deepEqual(ask('huge.example', TYPE.TXT, 'tcp'), { rcode: RCODE.SERVFAIL, answers: [] });
});

test('answerQuery never throws and always replies to the query id', () => {
  const query = fc
    .tuple(
      fc.constantFrom('h.example', 'c1.example', 'huge.example', 'x'),
      fc.constantFrom(1, 5, 16, 28),
    )
    .map(([n, t]) => encodeQuery(7, n, t, { ednsSize: 1232 }));
  // Valid queries with random bytes overwritten, and pure noise.
  const mutated = fc
    .tuple(query, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }))
    .map(([q, edits]) => {
      const b = Buffer.from(q);
      for (const [at, v] of edits) b[at % b.length] = v;
      return b;
    });
  const noise = fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(
      fc.oneof(mutated, noise),
      fc.constantFrom('udp' as const, 'tcp' as const),
      (msg, t) => {
        const reply = answerQuery(zone, msg, t);
        if (reply === undefined) return msg.length < 12 || (msg.readUInt16BE(2) & 0x8000) !== 0;
        const parsed = parseMessage(reply);
        return parsed.header.id === msg.readUInt16BE(0) && (t === 'tcp' || reply.length <= 1232);
      },
    ),
    { numRuns: 3000 },
  );
});
