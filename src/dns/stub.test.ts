import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { getServers } from 'node:dns';
import { after, before, test } from 'node:test';
import { trackAuthentic } from './dnssec.js';
import { StubResolver, parseNameServer, type StubResolverOptions } from './stub.js';
import { SystemResolver } from './system.js';
import { TestDNSServer } from './testserver.js';
import { rejectsDNS } from './testutil.js';
import { DNSError, type RecordType, type Resolver } from './types.js';
import {
  CLASS_IN,
  FLAG_AD,
  FLAG_QR,
  FLAG_RD,
  RCODE,
  TYPE,
  encodeHeader,
  encodeName,
  encodeQuestion,
  encodeRR,
  nameLabels,
  parseMessage,
  type Message,
} from './wire.js';
import type { MockZone } from './zone.js';

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
    'xa.example': ['192.0.2.10'],
    'ya.example': ['203.0.113.66'],
  },
  aaaa: { 'mx1.example.org': ['2001:db8::1'] },
  txt: {
    'example.org': ['v=spf1 -all'],
    'long.example': ['v=DKIM1; p=' + 'A'.repeat(400)],
    'big.example': [huge],
    'two.example': ['first', 'second'],
  },
  ptr: { '192.0.2.1': ['MX1.example.org.'], '2001:db8::1': ['v6.example.org'] },
  cname: {
    'alias.example': ['target.example'],
    'www.example.org': ['example.org'],
    'signed-alias.example.org': ['target.example'],
  },
  fail: { 'broken.example': 'temporary', 'MX perm.example': 'permanent' },
  authentic: ['example.org', '192.0.2.1'],
};

let server: TestDNSServer;

before(async () => {
  server = await TestDNSServer.start(zone);
});
after(async () => {
  await server.close();
});

function stub(opts: StubResolverOptions = {}): StubResolver {
  return new StubResolver({ servers: [server.address], timeoutMs: 2000, tries: 1, ...opts });
}

/** Records, or the kind and code of the DNSError, of a lookup. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    if (e instanceof DNSError)
      return { kind: e.kind, code: e.code, name: e.name, rrtype: e.rrtype };
    throw e;
  }
}

const lookups: [keyof Resolver & string, string][] = [
  ['mx', 'example.org'],
  ['mx', 'EXAMPLE.org.'],
  ['mx', 'null.example'],
  ['mx', 'www.example.org'],
  ['a', 'mx1.example.org'],
  ['a', 'alias.example'],
  ['aaaa', 'mx1.example.org'],
  ['aaaa', 'alias.example'],
  ['txt', 'example.org'],
  ['txt', 'long.example'],
  ['txt', 'big.example'],
  ['txt', 'two.example'],
  ['ptr', '192.0.2.1'],
  ['ptr', '2001:db8::1'],
  ['ptr', '2001:0db8:0::1'],
  ['ptr', '192.0.2.200'],
  ['ptr', 'not-an-ip'],
  ['cname', 'alias.example'],
  ['cname', 'target.example'],
  ['a', 'nope.example'],
  ['mx', 'mx1.example.org'],
  ['txt', 'broken.example'],
  ['mx', 'perm.example'],
];

test('StubResolver answers as SystemResolver does: records and error kinds', async () => {
  const system = new SystemResolver({ servers: [server.address], timeoutMs: 2000, tries: 1 });
  const s = stub();
  for (const [method, name] of lookups) {
    const call = (r: Resolver) => (r[method] as (n: string) => Promise<unknown>).call(r, name);
    const want = await outcome(call(system));
    assert.deepEqual(await outcome(call(s)), want, `${method} ${name}`);
  }
});

test('bad names are permanent errors, as in c-ares', async () => {
  const s = stub();
  for (const name of ['a..b', 'x'.repeat(64) + '.example', 'trailing\\']) {
    await rejectsDNS(s.a(name), { kind: 'permanent', code: 'EBADNAME', name, rrtype: 'A' });
  }
});

test('the AD bit of a trusted server is reported, for negative answers too', async () => {
  const s = stub();
  const cases: [RecordType, string, boolean][] = [
    ['MX', 'example.org', true],
    ['A', 'mx1.example.org', true],
    ['TXT', 'big.example', false],
    ['PTR', '192.0.2.1', true],
    ['PTR', '2001:db8::1', false],
    // The chain leaves the signed zone: not all of it is authenticated.
    ['A', 'signed-alias.example.org', false],
    ['A', 'alias.example', false],
  ];
  for (const [type, name, want] of cases) {
    assert.equal((await s.authenticated(type, name)).authentic, want, `${type} ${name}`);
  }
  const negative: [string, boolean][] = [
    ['nope.example.org', true],
    ['nope.example', false],
    ['broken.example', false],
  ];
  for (const [name, want] of negative) {
    await assert.rejects(s.authenticated('A', name), (e: unknown) => {
      assert.ok(e instanceof DNSError);
      assert.equal(e.authentic, want, name);
      return true;
    });
  }
  const t = trackAuthentic(s);
  await t.mx('example.org');
  await rejectsDNS(t.txt('nope.example.org'), { kind: 'notfound' });
  assert.equal(t.state(), 'with');
});

test('the AD bit of an untrusted server is not believed', async () => {
  const remote = stub({ isTrusted: () => false });
  assert.equal((await remote.authenticated('MX', 'example.org')).authentic, undefined);
  await assert.rejects(remote.authenticated('A', 'nope.example.org'), (e: unknown) => {
    assert.ok(e instanceof DNSError);
    assert.equal(e.authentic, undefined);
    return true;
  });
  const t = trackAuthentic(remote);
  await t.mx('example.org');
  assert.equal(t.state(), 'unknown');
  // Loopback servers are trusted without trust_ad; parseNameServer says which are.
  assert.equal(stub().servers[0]?.trusted, true);
  assert.equal(new StubResolver({ servers: ['192.0.2.53'] }).servers[0]?.trusted, false);
  assert.equal(
    new StubResolver({ servers: ['192.0.2.53'], trustAD: true }).servers[0]?.trusted,
    true,
  );
});

test('truncated UDP answers are asked again over TCP', async () => {
  const before = { ...server.stats };
  server.behave({ truncateUDP: true });
  try {
    const s = stub();
    assert.deepEqual(await s.a('mx1.example.org'), ['192.0.2.1', '192.0.2.2']);
    assert.deepEqual(await s.authenticated('MX', 'example.org'), {
      records: [
        { exchange: 'mx1.example.org', priority: 10 },
        { exchange: 'mx2.example.org', priority: 20 },
      ],
      authentic: true,
    });
    await rejectsDNS(s.a('nope.example'), { kind: 'notfound', code: 'ENOTFOUND' });
  } finally {
    server.behave({});
  }
  assert.equal(server.stats.tcp - before.tcp, 3);
  // Without truncation, a big answer still needs TCP: the EDNS limit is 1232 octets.
  const tcp = server.stats.tcp;
  assert.deepEqual(await stub().txt('big.example'), [huge]);
  assert.equal(server.stats.tcp, tcp + 1);
});

test('forged answers (another id, another question) are ignored', async () => {
  for (const forge of ['id', 'question'] as const) {
    server.behave({ forge });
    try {
      // The forgery for "question" answers ya.example (203.0.113.66) to xa.example's query.
      assert.deepEqual(await stub().a('xa.example'), ['192.0.2.10'], forge);
    } finally {
      server.behave({});
    }
    server.behave({ forge, forgeOnly: true });
    try {
      const s = stub({ timeoutMs: 150 });
      await rejectsDNS(s.a('xa.example'), { kind: 'temporary', code: 'ETIMEOUT' });
    } finally {
      server.behave({});
    }
  }
});

test('a server that never answers: each server tried `tries` times, then a timeout', async () => {
  server.behave({ silent: 'both' });
  const dropped = server.stats.dropped;
  try {
    const s = stub({ servers: [server.address, server.address], timeoutMs: 100, tries: 2 });
    await rejectsDNS(s.mx('example.org'), {
      kind: 'temporary',
      code: 'ETIMEOUT',
      name: 'example.org',
      rrtype: 'MX',
    });
    assert.equal(server.stats.dropped - dropped, 4);
    // Silent over TCP only: a truncated answer leads nowhere.
    server.behave({ silent: 'tcp', truncateUDP: true });
    await rejectsDNS(stub({ timeoutMs: 100 }).a('target.example'), {
      kind: 'temporary',
      code: 'ETIMEOUT',
    });
  } finally {
    server.behave({});
  }
  // A silent first server, then one that answers.
  const silent = await silentSocket();
  try {
    const s = stub({ servers: [address(silent), server.address], timeoutMs: 100 });
    assert.deepEqual(await s.authenticated('A', 'target.example'), {
      records: ['192.0.2.9'],
      authentic: false,
    });
  } finally {
    silent.close();
  }
});

test('failures: refused connections, cancelled lookups', async () => {
  const closed = await silentSocket();
  const port = closed.address().port;
  closed.close();
  const refused = new StubResolver({ servers: [`127.0.0.1:${port}`], timeoutMs: 2000, tries: 2 });
  await rejectsDNS(refused.a('example.org'), { kind: 'temporary', code: 'ECONNREFUSED' });
  const silent = await silentSocket();
  try {
    const s = stub({ servers: [address(silent)], timeoutMs: 5000 });
    const pending = [s.mx('example.org'), s.txt('example.org')];
    s.cancel();
    for (const p of pending) await rejectsDNS(p, { kind: 'temporary', code: 'ECANCELLED' });
  } finally {
    silent.close();
  }
});

test('raw servers: CNAME answers without target, FORMERR for EDNS, hostile replies', async () => {
  const raw = await rawServer((q, respond) => {
    const name = q.questions[0]?.name.join('.').toLowerCase() ?? '';
    const type = q.questions[0]?.type ?? 0;
    const edns = q.additional.some((rr) => rr.type === TYPE.OPT);
    if (name === 'old.example' && edns) return respond(RCODE.FORMERR, [], { noQuestion: true });
    if (name === 'old.example') return respond(RCODE.NOERROR, [rr(name, TYPE.A, [192, 0, 2, 7])]);
    if (name === 'partial.example') {
      return respond(RCODE.NOERROR, [rr(name, TYPE.CNAME, encodeName(['next', 'example']))]);
    }
    if (name === 'next.example' && type === TYPE.A) {
      return respond(RCODE.NOERROR, [rr(name, TYPE.A, [192, 0, 2, 8])], { ad: true });
    }
    if (name === 'next.example') return respond(RCODE.NOERROR, []);
    if (name.startsWith('loop')) {
      const n = Number(name.slice(4, name.indexOf('.'))) || 0;
      const target = encodeName(nameLabels(`loop${n + 1}.example`));
      return respond(RCODE.NOERROR, [rr(name, TYPE.CNAME, target)]);
    }
    if (name === 'pointer.example') {
      // An A record whose owner is a compression pointer to itself.
      return respond(RCODE.NOERROR, [
        Buffer.from([0xc0, 0x21, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]),
      ]);
    }
    if (name === 'short.example') return respond(RCODE.NOERROR, [rr(name, TYPE.A, [1, 2, 3])]);
    if (name === 'badvers.example') return respond(16, []);
    return respond(RCODE.NXDOMAIN, []);
  });
  try {
    const s = stub({ servers: [raw.address] });
    assert.deepEqual(await s.a('old.example'), ['192.0.2.7']);
    assert.deepEqual(
      raw.seen.filter((x) => x.startsWith('old.example')),
      ['old.example edns', 'old.example'],
    );
    // RFC 1034 §5.3.3: the alias's target is asked for; authentic only if both answers were.
    assert.deepEqual(await s.authenticated('A', 'partial.example'), {
      records: ['192.0.2.8'],
      authentic: false,
    });
    await rejectsDNS(s.aaaa('partial.example'), {
      kind: 'notfound',
      code: 'ENODATA',
      name: 'partial.example',
    });
    await rejectsDNS(s.a('loop0.example'), { kind: 'permanent', code: 'ECNAMELOOP' });
    assert.equal(raw.seen.filter((x) => x.startsWith('loop')).length, 9);
    await rejectsDNS(s.a('pointer.example'), { kind: 'permanent', code: 'EBADRESP' });
    await rejectsDNS(s.a('short.example'), { kind: 'permanent', code: 'EBADRESP' });
    await rejectsDNS(s.a('badvers.example'), { kind: 'permanent', code: 'EBADRESP' });
  } finally {
    raw.close();
  }
});

test('name server addresses', () => {
  const good: [string, { host: string; port: number }][] = [
    ['192.0.2.53', { host: '192.0.2.53', port: 53 }],
    ['192.0.2.53:5353', { host: '192.0.2.53', port: 5353 }],
    ['::1', { host: '::1', port: 53 }],
    ['[2001:DB8:0::53]:53', { host: '2001:db8::53', port: 53 }],
    ['[::1]', { host: '::1', port: 53 }],
    ['fe80::1%eth0', { host: 'fe80::1%eth0', port: 53 }],
    ['[FE80::0:1%2]:5353', { host: 'fe80::1%2', port: 5353 }],
  ];
  for (const [text, want] of good) {
    const { host, port } = parseNameServer(text);
    assert.deepEqual({ host, port }, want, text);
  }
  for (const bad of [
    'ns.example.org',
    '192.0.2.1:0',
    '[::1]:70000',
    '2001:db8::1:53:',
    '',
    '[::1',
  ]) {
    assert.throws(() => parseNameServer(bad), /bad name server/, bad);
  }
  assert.throws(() => new StubResolver({ servers: ['ns.example.org'] }), /"ns\.example\.org"/);
  // Without servers: the system's, as node:dns has them.
  const system = getServers().map((s) => parseNameServer(s));
  const { servers } = new StubResolver();
  assert.deepEqual(
    servers.map((s) => [s.host, s.port]),
    (system.length > 0 ? system : [parseNameServer('127.0.0.1')]).map((s) => [s.host, s.port]),
  );
});

function rr(owner: string, type: number, data: number[] | Buffer): Buffer {
  return encodeRR({
    name: nameLabels(owner),
    type,
    class: CLASS_IN,
    ttl: 60,
    data: Buffer.from(data),
  });
}

type Respond = (
  rcode: number,
  answers: Buffer[],
  opts?: { noQuestion?: boolean; ad?: boolean },
) => Buffer;

/** A UDP server on loopback answering through `handle`; `seen` lists the names asked. */
async function rawServer(handle: (q: Message, respond: Respond) => Buffer) {
  const sock = await silentSocket();
  const seen: string[] = [];
  sock.on('message', (msg, from) => {
    const q = parseMessage(msg);
    const question = q.questions[0]!;
    const edns = q.additional.some((r) => r.type === TYPE.OPT);
    seen.push(`${question.name.join('.')}${edns ? ' edns' : ''}`);
    const respond: Respond = (rcode, answers, opts = {}) => {
      const header = encodeHeader({
        id: q.header.id,
        flags: FLAG_QR | FLAG_RD | (opts.ad ? FLAG_AD : 0) | (rcode & 0xf),
        qdcount: opts.noQuestion ? 0 : 1,
        ancount: answers.length,
        nscount: 0,
        arcount: rcode > 15 ? 1 : 0,
      });
      const opt =
        rcode > 15
          ? [
              encodeRR({
                name: [],
                type: TYPE.OPT,
                class: 1232,
                ttl: (rcode >> 4) << 24,
                data: Buffer.alloc(0),
              }),
            ]
          : [];
      const qd = opts.noQuestion ? [] : [encodeQuestion(question.name, question.type)];
      return Buffer.concat([header, ...qd, ...answers, ...opt]);
    };
    sock.send(handle(q, respond), from.port, from.address);
  });
  return { address: address(sock), seen, close: () => sock.close() };
}

async function silentSocket(): Promise<Socket> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  return sock;
}

function address(sock: Socket): string {
  return `127.0.0.1:${sock.address().port}`;
}
