import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { checkMailFromDomain } from './mailfrom.js';
import { lookupMXTargets } from './mx.js';
import { SystemResolver } from './system.js';
import { TestDNSServer } from './testserver.js';
import { rejectsDNS } from './testutil.js';
import {
  FLAG_AA,
  FLAG_AD,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  RCODE,
  TYPE,
  decodeTXT,
  encodeQuery,
  parseMessage,
  type Message,
} from './wire.js';
import type { MockZone } from './zone.js';

const long300 = 'v=DKIM1; k=rsa; p=' + 'A'.repeat(282);
const huge = 'h'.repeat(3000);

const zone: MockZone = {
  mx: {
    'example.org': [
      { exchange: 'MX1.Example.ORG.', priority: 10 },
      { exchange: 'mx2.example.org', priority: 20 },
    ],
    'null.example': [{ exchange: '.', priority: 0 }],
  },
  a: {
    'mx1.example.org': ['192.0.2.1', '192.0.2.2'],
    'target.example': ['192.0.2.9'],
    'v4.example': ['192.0.2.4'],
  },
  aaaa: { 'mx1.example.org': ['2001:db8::1'], 'v6.example': ['2001:db8::6'] },
  txt: {
    'example.org': ['v=spf1 -all'],
    'long.example': [long300],
    'big.example': [huge],
    'mid.example': ['m'.repeat(1000)],
  },
  ptr: { '192.0.2.1': ['MX1.example.org.'], '2001:db8::1': ['v6.example.org'] },
  cname: { 'alias.example': ['target.example'], 'www.example.org': ['example.org'] },
  fail: { 'broken.example': 'temporary', 'MX perm.example': 'permanent' },
};

let server: TestDNSServer;
let resolver: SystemResolver;
let port: number;

before(async () => {
  server = await TestDNSServer.start(zone);
  port = server.port;
  resolver = new SystemResolver({ servers: [server.address], timeoutMs: 2000, tries: 1 });
});
after(async () => {
  await server.close();
  await server.close();
});

test('listens on 127.0.0.1 with one port for UDP and TCP', () => {
  assert.match(server.address, /^127\.0\.0\.1:\d+$/);
  assert.equal(server.address, `127.0.0.1:${port}`);
});

test('SystemResolver reads every record type from the server', async () => {
  assert.deepEqual(await resolver.mx('example.org'), [
    { exchange: 'mx1.example.org', priority: 10 },
    { exchange: 'mx2.example.org', priority: 20 },
  ]);
  assert.deepEqual(await resolver.a('mx1.example.org'), ['192.0.2.1', '192.0.2.2']);
  assert.deepEqual(await resolver.aaaa('MX1.example.org.'), ['2001:db8::1']);
  assert.deepEqual(await resolver.txt('example.org'), ['v=spf1 -all']);
  assert.deepEqual(await resolver.ptr('192.0.2.1'), ['mx1.example.org']);
  assert.deepEqual(await resolver.ptr('2001:db8::1'), ['v6.example.org']);
  assert.deepEqual(await resolver.cname('alias.example'), ['target.example']);
  assert.deepEqual(await resolver.a('alias.example'), ['192.0.2.9']);
  assert.deepEqual(await resolver.mx('www.example.org'), [
    { exchange: 'mx1.example.org', priority: 10 },
    { exchange: 'mx2.example.org', priority: 20 },
  ]);
});

test('null MX comes back as exchange ""', async () => {
  assert.deepEqual(await resolver.mx('null.example'), [{ exchange: '', priority: 0 }]);
});

test('TXT longer than 255 octets is split on the wire and joined again', async () => {
  assert.deepEqual(await resolver.txt('long.example'), [long300]);
  const reply = await udpExchange([encodeQuery(7, 'long.example', TYPE.TXT)]);
  const rr = reply[0]?.answers[0];
  assert.deepEqual(
    decodeTXT(rr?.data ?? Buffer.alloc(0)).map((s) => s.length),
    [255, 45],
  );
});

test('NXDOMAIN, NODATA, SERVFAIL and NOTIMP become DNSError kinds', async () => {
  await rejectsDNS(resolver.a('nope.example'), {
    kind: 'notfound',
    code: 'ENOTFOUND',
    name: 'nope.example',
    rrtype: 'A',
  });
  await rejectsDNS(resolver.mx('mx1.example.org'), {
    kind: 'notfound',
    code: 'ENODATA',
    rrtype: 'MX',
  });
  await rejectsDNS(resolver.aaaa('alias.example'), { kind: 'notfound', code: 'ENODATA' });
  await rejectsDNS(resolver.ptr('192.0.2.200'), {
    kind: 'notfound',
    code: 'ENOTFOUND',
    name: '192.0.2.200',
  });
  await rejectsDNS(resolver.txt('broken.example'), {
    kind: 'temporary',
    code: 'ESERVFAIL',
    rrtype: 'TXT',
  });
  await rejectsDNS(resolver.mx('perm.example'), { kind: 'permanent', code: 'ENOTIMP' });
  await rejectsDNS(resolver.ptr('not-an-ip'), { kind: 'permanent', code: 'EINVAL' });
});

test('answers too big for UDP set TC and the resolver retries over TCP', async () => {
  const before = { ...server.stats };
  assert.deepEqual(await resolver.txt('big.example'), [huge]);
  assert.equal(server.stats.tcp, before.tcp + 1);
  assert.equal(server.stats.udp, before.udp + 1);
  const [plain] = await udpExchange([encodeQuery(8, 'big.example', TYPE.TXT)]);
  assert.equal((plain?.header.flags ?? 0) & FLAG_TC, FLAG_TC);
  assert.equal(plain?.header.ancount, 0);
  assert.deepEqual(plain?.questions, [{ name: ['big', 'example'], type: TYPE.TXT, class: 1 }]);
});

test('EDNS raises the UDP limit to 1232 octets and the reply carries OPT', async () => {
  const [noEdns, edns, ednsBig] = await udpExchange([
    encodeQuery(1, 'mid.example', TYPE.TXT),
    encodeQuery(2, 'mid.example', TYPE.TXT, { ednsSize: 4096 }),
    encodeQuery(3, 'big.example', TYPE.TXT, { ednsSize: 4096 }),
  ]);
  assert.deepEqual(
    [noEdns?.header.flags ?? 0 & FLAG_TC, noEdns?.header.ancount],
    [FLAG_QR | FLAG_AA | FLAG_RD | FLAG_TC, 0],
  );
  assert.equal(edns?.header.flags, FLAG_QR | FLAG_AA | FLAG_RD);
  assert.deepEqual(decodeTXT(edns?.answers[0]?.data ?? Buffer.alloc(0)).join(''), 'm'.repeat(1000));
  assert.deepEqual(
    edns?.additional.map((rr) => [rr.type, rr.class]),
    [[TYPE.OPT, 1232]],
  );
  assert.equal((ednsBig?.header.flags ?? 0) & FLAG_TC, FLAG_TC);
});

test('raw UDP replies: flags, echoed question case, owner names, TTL, rcodes', async () => {
  const [mx, nx, nodata, fail] = await udpExchange([
    encodeQuery(0x0101, 'ExAmPlE.org', TYPE.MX),
    encodeQuery(0x0202, 'nope.example', TYPE.A, { rd: false }),
    encodeQuery(0x0303, 'example.org', TYPE.AAAA),
    encodeQuery(0x0404, 'broken.example', TYPE.A),
  ]);
  assert.deepEqual(mx?.header, {
    id: 0x0101,
    flags: FLAG_QR | FLAG_AA | FLAG_RD,
    qdcount: 1,
    ancount: 2,
    nscount: 0,
    arcount: 0,
  });
  assert.deepEqual(mx?.questions, [{ name: ['ExAmPlE', 'org'], type: TYPE.MX, class: 1 }]);
  assert.deepEqual(
    mx?.answers.map((rr) => [
      rr.name.join('.'),
      rr.type,
      rr.class,
      rr.ttl,
      rr.data.toString('hex'),
    ]),
    [
      ['ExAmPlE.org', TYPE.MX, 1, 300, '000a036d7831076578616d706c65036f726700'],
      ['ExAmPlE.org', TYPE.MX, 1, 300, '0014036d7832076578616d706c65036f726700'],
    ],
  );
  assert.deepEqual([nx?.header.id, nx?.header.flags], [0x0202, FLAG_QR | FLAG_AA | RCODE.NXDOMAIN]);
  assert.deepEqual(
    [nodata?.header.flags, nodata?.header.ancount],
    [FLAG_QR | FLAG_AA | FLAG_RD, 0],
  );
  assert.deepEqual(
    [fail?.header.flags, fail?.header.ancount],
    [FLAG_QR | FLAG_AA | FLAG_RD | RCODE.SERVFAIL, 0],
  );
});

test('CNAME answers include the chain and the target records', async () => {
  const [reply] = await udpExchange([encodeQuery(9, 'alias.example', TYPE.A)]);
  assert.deepEqual(
    reply?.answers.map((rr) => [rr.name.join('.'), rr.type, rr.data.toString('hex')]),
    [
      ['alias.example', TYPE.CNAME, '06746172676574076578616d706c6500'],
      ['target.example', TYPE.A, 'c0000209'],
    ],
  );
});

test('PTR queries for in-addr.arpa and ip6.arpa names', async () => {
  const [v4] = await udpExchange([encodeQuery(10, '1.2.0.192.in-addr.arpa', TYPE.PTR)]);
  assert.equal(v4?.answers[0]?.data.toString('hex'), '036d7831076578616d706c65036f726700');
  const nibbles = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';
  const [v6, partial] = await udpExchange([
    encodeQuery(11, nibbles, TYPE.PTR),
    encodeQuery(12, '0.192.in-addr.arpa', TYPE.PTR),
  ]);
  assert.equal(v6?.answers.length, 1);
  // A parent of a record owner exists (RFC 8020), so NODATA rather than NXDOMAIN.
  assert.equal((partial?.header.flags ?? 0) & 0xf, RCODE.NOERROR);
  assert.equal(partial?.header.ancount, 0);
});

test('TCP: pipelined queries, split writes and length prefixes', async () => {
  const q1 = framed(encodeQuery(21, 'example.org', TYPE.MX));
  const q2 = framed(encodeQuery(22, 'big.example', TYPE.TXT));
  const replies = await tcpExchange(
    [Buffer.concat([q1, q2.subarray(0, 1)]), q2.subarray(1, 5), q2.subarray(5)],
    2,
  );
  assert.deepEqual(
    replies.map((r) => r.header.id),
    [21, 22],
  );
  assert.equal(replies[0]?.answers.length, 2);
  assert.equal(replies[1]?.header.flags, FLAG_QR | FLAG_AA | FLAG_RD);
  assert.equal(decodeTXT(replies[1]?.answers[0]?.data ?? Buffer.alloc(0)).join(''), huge);
});

test('setZone changes the answers', async () => {
  server.setZone({ ...zone, a: { ...zone.a, 'v4.example': ['192.0.2.44'] } });
  try {
    assert.deepEqual(await resolver.a('v4.example'), ['192.0.2.44']);
  } finally {
    server.setZone(zone);
  }
  assert.deepEqual(await resolver.a('v4.example'), ['192.0.2.4']);
});

test('AD on signed names, only for queries that set AD or DO (RFC 6840 §5.7)', async () => {
  server.setZone({ ...zone, authentic: ['example.org', '192.0.2.1'] });
  try {
    const replies = await udpExchange([
      encodeQuery(41, 'example.org', TYPE.MX),
      encodeQuery(42, 'example.org', TYPE.MX, { ad: true }),
      encodeQuery(43, 'www.example.org', TYPE.MX, { ednsSize: 1232, dnssecOK: true }),
      encodeQuery(44, 'nope.example.org', TYPE.A, { ad: true }),
      encodeQuery(45, 'mx1.example.org', TYPE.MX, { ad: true }),
      encodeQuery(46, '1.2.0.192.in-addr.arpa', TYPE.PTR, { ad: true }),
      encodeQuery(47, 'alias.example', TYPE.A, { ad: true }),
      encodeQuery(48, 'example.org', TYPE.A, { ednsSize: 1232 }),
    ]);
    assert.deepEqual(
      replies.map((r) => [r.header.id, (r.header.flags & FLAG_AD) !== 0]),
      [
        [41, false],
        [42, true],
        [43, true],
        [44, true],
        [45, true],
        [46, true],
        [47, false],
        [48, false],
      ],
    );
  } finally {
    server.setZone(zone);
  }
  const [unsigned] = await udpExchange([encodeQuery(49, 'example.org', TYPE.MX, { ad: true })]);
  assert.equal((unsigned?.header.flags ?? 0) & FLAG_AD, 0);
});

test('checkMailFromDomain and lookupMXTargets over real DNS', async () => {
  assert.equal(await checkMailFromDomain(resolver, 'example.org'), 'ok');
  assert.equal(await checkMailFromDomain(resolver, 'null.example'), 'nullmx');
  assert.equal(await checkMailFromDomain(resolver, 'v6.example'), 'ok');
  assert.equal(await checkMailFromDomain(resolver, 'nope.example'), 'nxdomain');
  assert.equal(await checkMailFromDomain(resolver, 'broken.example'), 'temperror');
  assert.deepEqual(await lookupMXTargets(resolver, 'v4.example'), {
    kind: 'hosts',
    hosts: [{ host: 'v4.example', priority: 0, implicit: true }],
  });
  assert.deepEqual(await lookupMXTargets(resolver, 'example.org', { random: () => 0 }), {
    kind: 'hosts',
    hosts: [
      { host: 'mx1.example.org', priority: 10, implicit: false },
      { host: 'mx2.example.org', priority: 20, implicit: false },
    ],
  });
});

test('hostile UDP datagrams get FORMERR/NOTIMP or no reply, never a crash', async () => {
  const q = encodeQuery(0x4242, 'example.org', TYPE.A);
  const withHeader = (qd: number, body: number[], flags = 0) => {
    const h = Buffer.alloc(12);
    h.writeUInt16BE(0x5151, 0);
    h.writeUInt16BE(flags, 2);
    h.writeUInt16BE(qd, 4);
    return Buffer.concat([h, Buffer.from(body)]);
  };
  const formerr: Buffer[] = [
    withHeader(1, []), // question missing
    withHeader(1, [0xc0, 12, 0, 1, 0, 1]), // name points at itself
    withHeader(1, [1, 0x61, 0xc0, 12, 0, 1, 0, 1]), // pointer back into the same name
    withHeader(1, [0xc0, 0xff, 0, 1, 0, 1]), // pointer past the end
    withHeader(1, [1, 0x61, 0, 0, 1]), // type/class cut short
    withHeader(1, [0x40, 0, 0, 1, 0, 1]), // extended label type
    withHeader(2, [0, 0, 1, 0, 1, 0, 0, 1, 0, 1]), // two questions
    withHeader(0, []), // no question
  ];
  const replies = await udpExchange([...formerr, withHeader(1, [0, 0, 1, 0, 1], 2 << 11)]);
  for (const r of replies.slice(0, formerr.length)) {
    assert.deepEqual(
      [r.header.id, r.header.flags & 0x800f, r.header.qdcount],
      [0x5151, FLAG_QR | RCODE.FORMERR, 0],
    );
  }
  assert.equal((replies[formerr.length]?.header.flags ?? 0) & 0xf, RCODE.NOTIMP);
  // Too short to carry a header, or itself a response: dropped, so the next reply is q's.
  const silent = [
    Buffer.alloc(0),
    Buffer.from([1, 2, 3]),
    Buffer.alloc(11),
    withHeader(1, [0, 0, 1, 0, 1], FLAG_QR),
  ];
  const [next] = await udpExchange([...silent, q], 1);
  assert.equal(next?.header.id, 0x4242);
});

test('random garbage does not stop the server', async () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  const junk: Buffer[] = [];
  for (let i = 0; i < 300; i++) {
    const b = Buffer.from(
      Array.from({ length: Math.floor(rand() * 80) }, () => Math.floor(rand() * 256)),
    );
    if (b.length >= 3) b[2] = (b[2] ?? 0) & 0x7f; // mostly queries, so most get parsed
    junk.push(b);
  }
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  for (const b of junk) sock.send(b, port, '127.0.0.1');
  sock.close();
  await tcpExchange([Buffer.concat(junk.map(framed).slice(0, 50))], 0).catch(() => []);
  assert.deepEqual(await resolver.a('v4.example'), ['192.0.2.4']);
});

test('hostile TCP frames: FORMERR for bad queries, disconnect for unusable ones', async () => {
  const loop = Buffer.concat([
    encodeQuery(31, 'x', TYPE.A).subarray(0, 12),
    Buffer.from([0xc0, 12, 0, 1, 0, 1]),
  ]);
  const [formerr] = await tcpExchange([framed(loop)], 1);
  assert.deepEqual([formerr?.header.id, (formerr?.header.flags ?? 0) & 0xf], [31, RCODE.FORMERR]);
  // A frame too short for a header makes the server hang up.
  const start = Date.now();
  const closed = await tcpExchange(
    [framed(Buffer.from([1, 2, 3])), framed(encodeQuery(32, 'example.org', TYPE.A))],
    0,
    5000,
  );
  assert.deepEqual(closed, []);
  assert.ok(Date.now() - start < 2000, 'server should hang up at once');
  // A frame announced but never completed: the client gives up; the server carries on.
  assert.deepEqual(await tcpExchange([Buffer.from([0x01, 0x00, 0xaa, 0xbb])], 0, 200), []);
  assert.deepEqual(await resolver.mx('null.example'), [{ exchange: '', priority: 0 }]);
});

test('timeouts and cancelled lookups are temporary', async () => {
  const silent = createSocket('udp4');
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
  try {
    const server = `127.0.0.1:${silent.address().port}`;
    const slow = new SystemResolver({ servers: [server], timeoutMs: 100, tries: 1 });
    await rejectsDNS(slow.a('example.org'), { kind: 'temporary', code: 'ETIMEOUT' });
    const cancelled = new SystemResolver({ servers: [server], timeoutMs: 5000, tries: 1 });
    const pending = cancelled.mx('example.org');
    cancelled.cancel();
    await rejectsDNS(pending, { kind: 'temporary', code: 'ECANCELLED' });
  } finally {
    silent.close();
  }
});

function framed(msg: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(msg.length, 0);
  return Buffer.concat([len, msg]);
}

// Send datagrams in order from one socket and collect one reply per answered datagram.
async function udpExchange(packets: Buffer[], want = packets.length): Promise<Message[]> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  const replies: Message[] = [];
  try {
    return await new Promise<Message[]>((resolve, reject) => {
      const timer = setTimeout(() => resolve(replies), 1000);
      sock.on('message', (m) => {
        replies.push(parseMessage(m));
        if (replies.length === want) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
      sock.on('error', reject);
      for (const p of packets) sock.send(p, port, '127.0.0.1');
    });
  } finally {
    sock.close();
  }
}

// Write chunks one by one over TCP; resolve with `want` replies, or whatever came when the
// server closed or `waitMs` passed.
function tcpExchange(chunks: Buffer[], want: number, waitMs = 1000): Promise<Message[]> {
  return new Promise((resolve) => {
    const sock = connect(port, '127.0.0.1');
    const replies: Message[] = [];
    let buf = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(replies);
    };
    const timer = setTimeout(done, waitMs);
    sock.on('error', done);
    sock.on('close', done);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        replies.push(parseMessage(buf.subarray(2, 2 + buf.readUInt16BE(0))));
        buf = buf.subarray(2 + buf.readUInt16BE(0));
      }
      if (want > 0 && replies.length >= want) done();
    });
    sock.on('connect', async () => {
      for (const c of chunks) {
        sock.write(c);
        await new Promise((r) => setTimeout(r, 10));
      }
    });
  });
}
