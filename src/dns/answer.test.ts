import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answersQuery, decodeRecords, followChain, parseReply, TYPE_NUMBER } from './answer.js';
import type { RecordType } from './types.js';
import {
  FLAG_AD,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  RCODE,
  TYPE,
  WireError,
  encodeHeader,
  encodeName,
  encodeQuestion,
  encodeRR,
  encodeTXT,
  nameLabels,
} from './wire.js';

const ID = 0x4d2;

/** A raw resource record: owner name bytes (maybe a pointer), type, class, RDATA. */
function rawRR(owner: Buffer, type: number, data: Buffer, klass = 1): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(300, 4);
  fixed.writeUInt16BE(data.length, 8);
  return Buffer.concat([owner, fixed, data]);
}

const name = (n: string) => encodeName(nameLabels(n));
const ptr = (offset: number) => Buffer.from([0xc0 | (offset >> 8), offset & 0xff]);
const rr = (owner: string, type: number, data: Buffer) => rawRR(name(owner), type, data);
const ip4 = (ip: string) => Buffer.from(ip.split('.').map(Number));
const mxData = (pref: number, exchange: Buffer) =>
  Buffer.concat([Buffer.from([pref >> 8, pref & 0xff]), exchange]);

/** A response with one question and the given answer records (offset 12 is the qname). */
function response(
  qname: string,
  qtype: number,
  answers: Buffer[],
  opts: { flags?: number; id?: number; extra?: Buffer[] } = {},
): Buffer {
  const header = encodeHeader({
    id: opts.id ?? ID,
    flags: opts.flags ?? FLAG_QR | FLAG_RD,
    qdcount: 1,
    ancount: answers.length,
    nscount: 0,
    arcount: opts.extra?.length ?? 0,
  });
  return Buffer.concat([
    header,
    encodeQuestion(nameLabels(qname), qtype),
    ...answers,
    ...(opts.extra ?? []),
  ]);
}

/** What a stub lookup makes of a response: records, where the chain ended, or an error. */
function read(msg: Buffer, qname: string, type: RecordType, maxHops = 8): unknown {
  try {
    const reply = parseReply(msg);
    const chain = followChain(reply, nameLabels(qname), TYPE_NUMBER[type], maxHops);
    if (chain === undefined) return 'chain too long';
    const records = decodeRecords(type, msg, chain.records);
    return { records, end: chain.end.join('.'), hops: chain.hops };
  } catch (e) {
    if (e instanceof WireError) return 'WireError';
    throw e;
  }
}

const q = 'a.example'; // at offset 12; "example" at 14
const direct = (records: unknown) => ({ records, end: q, hops: 0 });

test('answers are read by type, following CNAMEs, with compressed names', () => {
  const cases: [string, Buffer, RecordType, unknown, string?][] = [
    [
      'A, two records',
      response(q, TYPE.A, [rr(q, TYPE.A, ip4('192.0.2.1')), rr(q, TYPE.A, ip4('192.0.2.2'))]),
      'A',
      direct(['192.0.2.1', '192.0.2.2']),
    ],
    [
      'AAAA, owner a pointer to the question',
      response(q, TYPE.AAAA, [
        rawRR(ptr(12), TYPE.AAAA, Buffer.from('20010db8000000000000000000000053', 'hex')),
      ]),
      'AAAA',
      direct(['2001:db8::53']),
    ],
    [
      'TXT of several character-strings, and two records',
      response(q, TYPE.TXT, [
        rr(q, TYPE.TXT, Buffer.concat([encodeTXT('v=spf1 '), encodeTXT('-all')])),
        rr(q, TYPE.TXT, encodeTXT('x'.repeat(300))),
      ]),
      'TXT',
      direct(['v=spf1 -all', 'x'.repeat(300)]),
    ],
    [
      'MX, exchange compressed against the question, case folded',
      response(q, TYPE.MX, [
        rr(q, TYPE.MX, mxData(10, Buffer.concat([Buffer.from('\x03MX1', 'latin1'), ptr(14)]))),
      ]),
      'MX',
      direct([{ exchange: 'mx1.example', priority: 10 }]),
    ],
    [
      'null MX (RFC 7505)',
      response(q, TYPE.MX, [rr(q, TYPE.MX, mxData(0, Buffer.from([0])))]),
      'MX',
      direct([{ exchange: '', priority: 0 }]),
    ],
    [
      'PTR, dotted label escaped as node:dns does',
      response('1.2.0.192.in-addr.arpa', TYPE.PTR, [
        rawRR(ptr(12), TYPE.PTR, Buffer.from('\x05a.b.c\x07Example\x00', 'latin1')),
      ]),
      'PTR',
      { records: ['a\\.b\\.c.example'], end: '1.2.0.192.in-addr.arpa', hops: 0 },
      '1.2.0.192.in-addr.arpa',
    ],
    [
      'CNAME chain of two, each owner a pointer into the RDATA before',
      response(q, TYPE.A, [
        // at 27: owner ptr(12), fixed 10, RDATA "\x01b" ptr(14) at 39
        rawRR(ptr(12), TYPE.CNAME, Buffer.concat([Buffer.from('\x01b', 'latin1'), ptr(14)])),
        rawRR(ptr(39), TYPE.CNAME, Buffer.concat([Buffer.from('\x01c', 'latin1'), ptr(14)])),
        rr('C.example', TYPE.A, ip4('192.0.2.3')),
      ]),
      'A',
      { records: ['192.0.2.3'], end: 'c.example', hops: 2 },
    ],
    [
      'CNAME chain that ends without records: asked again by the caller',
      response(q, TYPE.A, [rr(q, TYPE.CNAME, name('b.example'))]),
      'A',
      { records: [], end: 'b.example', hops: 1 },
    ],
    [
      'CNAME query: the alias itself, not followed',
      response(q, TYPE.CNAME, [
        rr(q, TYPE.CNAME, name('b.example')),
        rr('b.example', TYPE.CNAME, name('c.example')),
      ]),
      'CNAME',
      direct(['b.example']),
    ],
    [
      'records of other names and classes are ignored',
      response(q, TYPE.A, [
        rr('evil.example', TYPE.A, ip4('203.0.113.66')),
        rawRR(name(q), TYPE.A, ip4('203.0.113.67'), 3),
        rr('A.EXAMPLE', TYPE.A, ip4('192.0.2.1')),
      ]),
      'A',
      direct(['192.0.2.1']),
    ],
    ['empty answer (NODATA)', response(q, TYPE.A, []), 'A', direct([])],
    [
      'CNAME loop',
      response(q, TYPE.A, [
        rr(q, TYPE.CNAME, name('b.example')),
        rr('b.example', TYPE.CNAME, name(q)),
      ]),
      'A',
      'chain too long',
    ],
    [
      'CNAME chain over the limit',
      response(
        q,
        TYPE.A,
        Array.from({ length: 9 }, (_, i) =>
          rr(i === 0 ? q : `c${i}.example`, TYPE.CNAME, name(`c${i + 1}.example`)),
        ).concat(rr('c9.example', TYPE.A, ip4('192.0.2.9'))),
      ),
      'A',
      'chain too long',
    ],
    ['A of 5 octets', response(q, TYPE.A, [rr(q, TYPE.A, Buffer.alloc(5))]), 'A', 'WireError'],
    [
      'MX exchange with a pointer loop',
      response(q, TYPE.MX, [rr(q, TYPE.MX, mxData(1, ptr(12 + 11 + 4 + 11 + 10 + 2)))]),
      'MX',
      'WireError',
    ],
    [
      'owner name pointing forwards to itself',
      response(q, TYPE.A, [rawRR(ptr(27), TYPE.A, ip4('192.0.2.1'))]),
      'A',
      'WireError',
    ],
    [
      'TXT character-string past its RDATA',
      response(q, TYPE.TXT, [rr(q, TYPE.TXT, Buffer.from('\x09short', 'latin1'))]),
      'TXT',
      'WireError',
    ],
  ];
  for (const [what, msg, type, want, qname] of cases) {
    assert.deepEqual(read(msg, qname ?? q, type), want, what);
  }
  // The end of a chain counts against the hops left from earlier answers.
  const two = response(q, TYPE.A, [
    rr(q, TYPE.CNAME, name('b.example')),
    rr('b.example', TYPE.CNAME, name('c.example')),
  ]);
  assert.equal(read(two, q, 'A', 1), 'chain too long');
});

test('truncated and inconsistent messages never parse', () => {
  const full = response(q, TYPE.MX, [
    rr(q, TYPE.MX, mxData(10, name('mx.example'))),
    rr(q, TYPE.MX, mxData(20, name('mx2.example'))),
  ]);
  assert.equal(parseReply(full).answers.length, 2);
  for (let len = 0; len < full.length; len++) {
    assert.throws(() => parseReply(full.subarray(0, len)), WireError, `cut at ${len}`);
  }
  // Counts larger than the records present.
  const lying = Buffer.from(full);
  lying.writeUInt16BE(3, 6);
  assert.throws(() => parseReply(lying), WireError);
  const opt = (ttl: number) =>
    encodeRR({ name: [], type: TYPE.OPT, class: 1232, ttl, data: Buffer.alloc(0) });
  const twoOpts = response(q, TYPE.A, [], { extra: [opt(0), opt(0)] });
  assert.throws(() => parseReply(twoOpts), WireError);
  const badOwner = response(q, TYPE.A, [], {
    extra: [rawRR(name('x'), TYPE.OPT, Buffer.alloc(0))],
  });
  assert.throws(() => parseReply(badOwner), WireError);
});

test('flags and the extended response code are read', () => {
  const r = parseReply(
    response(q, TYPE.A, [], {
      flags: FLAG_QR | FLAG_AD | FLAG_TC | RCODE.NXDOMAIN,
      extra: [encodeRR({ name: [], type: TYPE.OPT, class: 512, ttl: 0, data: Buffer.alloc(0) })],
    }),
  );
  assert.deepEqual([r.ad, r.truncated, r.rcode], [true, true, RCODE.NXDOMAIN]);
  // BADVERS (16): upper eight bits in the OPT TTL (RFC 6891 §6.1.3).
  const badvers = encodeRR({
    name: [],
    type: TYPE.OPT,
    class: 512,
    ttl: 1 << 24,
    data: Buffer.alloc(0),
  });
  const v = parseReply(response(q, TYPE.A, [], { extra: [badvers] }));
  assert.deepEqual([v.ad, v.truncated, v.rcode], [false, false, 16]);
});

test('answersQuery accepts only the answer to our question (RFC 5452 §9.1)', () => {
  const qname = nameLabels(q);
  const ok = response(q, TYPE.A, []);
  const bare = (flags: number, qdcount = 0) =>
    encodeHeader({ id: ID, flags, qdcount, ancount: 0, nscount: 0, arcount: 0 });
  const cases: [string, Buffer, boolean][] = [
    ['the answer', ok, true],
    ['question in other case', response('A.Example', TYPE.A, []), true],
    ['another id', response(q, TYPE.A, [], { id: ID + 1 }), false],
    ['not a response', response(q, TYPE.A, [], { flags: FLAG_RD }), false],
    ['another name', response('b.example', TYPE.A, []), false],
    ['a longer name', response('x.a.example', TYPE.A, []), false],
    ['another type', response(q, TYPE.AAAA, []), false],
    ['opcode other than QUERY', response(q, TYPE.A, [], { flags: FLAG_QR | (2 << 11) }), false],
    ['FORMERR without question', bare(FLAG_QR | RCODE.FORMERR), true],
    ['NOTIMP without question', bare(FLAG_QR | RCODE.NOTIMP), true],
    ['NOERROR without question', bare(FLAG_QR), false],
    ['NXDOMAIN without question', bare(FLAG_QR | RCODE.NXDOMAIN), false],
    [
      'two questions',
      Buffer.concat([
        bare(FLAG_QR, 2),
        encodeQuestion(qname, TYPE.A),
        encodeQuestion(qname, TYPE.A),
      ]),
      false,
    ],
    ['question cut short', ok.subarray(0, ok.length - 2), false],
    ['too short for a header', ok.subarray(0, 11), false],
    ['empty', Buffer.alloc(0), false],
  ];
  for (const [what, msg, want] of cases) {
    assert.equal(answersQuery(msg, ID, qname, TYPE.A), want, what);
  }
  const otherClass = Buffer.from(ok);
  otherClass.writeUInt16BE(3, otherClass.length - 2);
  assert.equal(answersQuery(otherClass, ID, qname, TYPE.A), false, 'another class');
});
