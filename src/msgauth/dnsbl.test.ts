// DNS blocklists (RFC 5782): query names, lookups and their answers, the §5 test entries,
// and the checker's health cache, concurrency, timeouts and log lines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MockResolver, type MockZone } from '../dns/mock.js';
import { createLogger } from '../log/index.js';
import {
  DnsblChecker,
  dnsblHealthy,
  dnsblLookup,
  dnsblQueryName,
  type DnsblHealth,
  type DnsblResult,
} from './dnsbl.js';

// RFC 5782 §2.4's example address.
const V6 = '2001:db8:1:2:3:4:567:89ab';
const V6_REVERSED = 'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2';

describe('dnsblQueryName', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['IPv4: octets reversed (§2.1)', '192.0.2.1', 'bl.example.org', '1.2.0.192.bl.example.org'],
    [
      'the zone in lower case, without trailing dot',
      '192.0.2.1',
      'BL.Example.ORG.',
      '1.2.0.192.bl.example.org',
    ],
    ['IPv6: 32 nibbles reversed (§2.4)', V6, 'bl.example.org', `${V6_REVERSED}.bl.example.org`],
    ['IPv6 upper case', V6.toUpperCase(), 'bl.example.org', `${V6_REVERSED}.bl.example.org`],
    [
      'IPv6 with :: expanded',
      '2001:db8::1',
      'bl.example.org',
      `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.bl.example.org`,
    ],
    ['IPv4-mapped IPv6 as IPv4', '::ffff:192.0.2.1', 'bl.example.org', '1.2.0.192.bl.example.org'],
    ['IPv4-mapped IPv6 in hex', '::FFFF:c000:201', 'bl.example.org', '1.2.0.192.bl.example.org'],
    ['a name is not an address', 'mail.example.com', 'bl.example.org', undefined],
    ['leading zeros are not an IPv4 address', '192.0.2.01', 'bl.example.org', undefined],
    ['empty', '', 'bl.example.org', undefined],
  ];
  for (const [name, ip, zone, want] of cases) {
    test(name, () => assert.equal(dnsblQueryName(ip, zone), want));
  }
});

const BL = 'bl.example.org';
const q = (reversed: string, zone = BL) => `${reversed}.${zone}`;

const zone: MockZone = {
  a: {
    [q('1.2.0.192')]: ['127.0.0.2'],
    [q('2.2.0.192')]: ['127.0.0.4'],
    [q('3.2.0.192')]: ['127.0.0.2', '127.0.0.10'],
    [q('4.2.0.192')]: ['127.0.0.3'],
    [q('5.2.0.192')]: ['127.0.0.2'],
    [q('6.2.0.192')]: ['127.0.0.2'],
    [q('10.2.0.192')]: ['127.255.255.254'],
    [q('11.2.0.192')]: ['127.255.255.255'],
    [q('12.2.0.192')]: ['198.51.100.7'],
    [q(V6_REVERSED)]: ['127.0.0.2'],
  },
  txt: {
    [q('1.2.0.192')]: ['Listed: see https://bl.example.org/lookup?ip=192.0.2.1'],
    [q('3.2.0.192')]: ['Spam source', 'Botnet'],
    // A reply line ending and a header, a tab, a character outside ASCII.
    [q('4.2.0.192')]: ['Listed\r\n550 injected\ttab  caf\u00e9 '],
    [q('5.2.0.192')]: ['x'.repeat(300)],
    // A TXT record without an A record lists nothing (§2.1 asks for the A record).
    [q('7.2.0.192')]: ['Listed'],
    [q(V6_REVERSED)]: ['IPv6 listing'],
  },
  fail: {
    [`TXT ${q('6.2.0.192')}`]: 'temporary',
    [`A ${q('20.2.0.192')}`]: 'temporary',
    [`A ${q('21.2.0.192')}`]: 'permanent',
  },
};

describe('dnsblLookup results', () => {
  const r = new MockResolver(zone);
  const res = (
    status: DnsblResult['status'],
    reason = '',
    addresses: string[] = [],
  ): DnsblResult => ({ status, zone: BL, reason, addresses });
  const cases: [string, string, DnsblResult][] = [
    [
      'listed, with the TXT record as the reason',
      '192.0.2.1',
      res('fail', 'Listed: see https://bl.example.org/lookup?ip=192.0.2.1', ['127.0.0.2']),
    ],
    ['listed without a TXT record', '192.0.2.2', res('fail', '', ['127.0.0.4'])],
    [
      'several list codes and TXT records (§2.3)',
      '192.0.2.3',
      res('fail', 'Spam source; Botnet', ['127.0.0.2', '127.0.0.10']),
    ],
    [
      'the reason in printable ASCII only',
      '192.0.2.4',
      res('fail', 'Listed 550 injected tab caf?', ['127.0.0.3']),
    ],
    ['the reason cut to 200 characters', '192.0.2.5', res('fail', 'x'.repeat(200), ['127.0.0.2'])],
    ['the TXT lookup fails: listed all the same', '192.0.2.6', res('fail', '', ['127.0.0.2'])],
    ['not listed (NXDOMAIN)', '192.0.2.99', res('pass')],
    ['a TXT record without an A record is not a listing', '192.0.2.7', res('pass')],
    [
      '127.255.255.254: the list refused the query',
      '192.0.2.10',
      res('permerror', 'bl.example.org refused the query (answered 127.255.255.254)'),
    ],
    [
      '127.255.255.255: the list refused the query',
      '192.0.2.11',
      res('permerror', 'bl.example.org refused the query (answered 127.255.255.255)'),
    ],
    [
      'an answer outside 127.0.0.0/8 lists nothing',
      '192.0.2.12',
      res('permerror', 'bl.example.org answered outside 127.0.0.0/8: 198.51.100.7'),
    ],
    [
      'temporary failure',
      '192.0.2.20',
      res('temperror', `A lookup of ${q('20.2.0.192')}: server failure (SERVFAIL)`),
    ],
    [
      'permanent failure',
      '192.0.2.21',
      res(
        'permerror',
        `A lookup of ${q('21.2.0.192')}: server rejected the query as malformed (FORMERR)`,
      ),
    ],
    ['IPv6 listed (§2.4)', V6, res('fail', 'IPv6 listing', ['127.0.0.2'])],
    ['IPv4-mapped IPv6 is looked up as IPv4', '::ffff:192.0.2.2', res('fail', '', ['127.0.0.4'])],
    ['IPv6 not listed', '2001:db8::99', res('pass')],
    [
      'not an IP address',
      'mail.example.com',
      res('permerror', 'not an IP address: "mail.example.com"'),
    ],
  ];
  for (const [name, ip, want] of cases) {
    test(name, async () => assert.deepEqual(await dnsblLookup(ip, BL, r), want));
  }

  test('the zone is reported as normalised', async () => {
    const got = await dnsblLookup('192.0.2.2', 'BL.Example.ORG.', r);
    assert.deepEqual(got, res('fail', '', ['127.0.0.4']));
  });
});

/** A zone's §5 test entries: whether 127.0.0.2 and 127.0.0.1 are listed, and with what. */
function testEntries(z: string, two: string[], one: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  if (two.length > 0) out[q('2.0.0.127', z)] = two;
  if (one.length > 0) out[q('1.0.0.127', z)] = one;
  return out;
}

const healthZone: MockZone = {
  a: {
    ...testEntries('good.example.org', ['127.0.0.2'], []),
    ...testEntries('all.example.org', ['127.0.0.2'], ['127.0.0.2']),
    ...testEntries('refused.example.org', ['127.255.255.254'], ['127.255.255.254']),
    ...testEntries('hijacked.example.org', ['198.51.100.9'], ['198.51.100.9']),
    // Lists 127.0.0.2 under another name only: the §5 entries are what count.
    [q('3.0.0.127', 'other.example.org')]: ['127.0.0.2'],
  },
  fail: {
    [`A ${q('2.0.0.127', 'down.example.org')}`]: 'temporary',
    [`A ${q('1.0.0.127', 'down.example.org')}`]: 'temporary',
  },
};

describe('dnsblHealthy (RFC 5782 §5)', () => {
  const r = new MockResolver(healthZone);
  const cases: [string, string, DnsblHealth][] = [
    [
      'lists 127.0.0.2 and not 127.0.0.1: healthy',
      'good.example.org',
      { healthy: true, problem: '' },
    ],
    [
      'lists everything',
      'all.example.org',
      { healthy: false, problem: 'lists the test address 127.0.0.1, as if it listed all' },
    ],
    [
      'lists nothing',
      'none.example.org',
      { healthy: false, problem: 'does not list the test address 127.0.0.2' },
    ],
    [
      'lists nothing at the test entry',
      'other.example.org',
      { healthy: false, problem: 'does not list the test address 127.0.0.2' },
    ],
    [
      'down',
      'down.example.org',
      {
        healthy: false,
        problem: `A lookup of ${q('2.0.0.127', 'down.example.org')}: server failure (SERVFAIL)`,
      },
    ],
    [
      'refuses our queries',
      'refused.example.org',
      {
        healthy: false,
        problem: 'refused.example.org refused the query (answered 127.255.255.254)',
      },
    ],
    [
      'answers outside 127.0.0.0/8 (a resolver that answers every name)',
      'hijacked.example.org',
      {
        healthy: false,
        problem: 'hijacked.example.org answered outside 127.0.0.0/8: 198.51.100.9',
      },
    ],
  ];
  for (const [name, z, want] of cases) {
    test(name, async () => assert.deepEqual(await dnsblHealthy(z, r), want));
  }
});

/** A MockResolver that records A queries and how many were in flight at most. */
class CountingResolver extends MockResolver {
  readonly queries: string[] = [];
  inFlight = 0;
  peak = 0;
  override async a(name: string): Promise<string[]> {
    this.queries.push(name);
    this.inFlight++;
    this.peak = Math.max(this.peak, this.inFlight);
    try {
      // Answer on a later turn of the event loop, so that concurrent queries overlap.
      await new Promise((resolve) => setImmediate(resolve));
      return await super.a(name);
    } finally {
      this.inFlight--;
    }
  }
  /** The queries made since the last call. */
  take(): string[] {
    return this.queries.splice(0);
  }
}

/** A logger writing into an array of parsed JSON records. */
function capture() {
  const lines: string[] = [];
  const log = createLogger({ destination: { write: (s: string) => lines.push(s) } });
  const records = () =>
    lines.splice(0).map((l) => {
      const { level, msg, zone, problem } = JSON.parse(l) as Record<string, unknown>;
      return { level, msg, zone, ...(problem === undefined ? {} : { problem }) };
    });
  return { log, records };
}

const UNHEALTHY = 'dnsbl zone fails its test entries, not used';
const HEALTHY_AGAIN = 'dnsbl zone passes its test entries again, used';

const testQueries = (z: string) => [q('2.0.0.127', z), q('1.0.0.127', z)];

describe('DnsblChecker', () => {
  function setup(zones: string[], extra: MockZone['a'] = {}) {
    const resolver = new CountingResolver({
      a: { ...healthZone.a, [q('1.2.0.192', 'good.example.org')]: ['127.0.0.2'], ...extra },
      txt: { [q('1.2.0.192', 'good.example.org')]: ['Listed'] },
    });
    let t = 1_000_000;
    const { log, records } = capture();
    const checker = new DnsblChecker({ zones, resolver, log, now: () => t, timeoutMs: 1000 });
    return { resolver, checker, records, advance: (ms: number) => (t += ms) };
  }
  const listed: DnsblResult = {
    status: 'fail',
    zone: 'good.example.org',
    reason: 'Listed',
    addresses: ['127.0.0.2'],
  };

  test('zones are normalised and asked once', () => {
    const { checker } = setup(['Good.Example.ORG.', 'good.example.org', 'none.example.org']);
    assert.deepEqual(checker.zones, ['good.example.org', 'none.example.org']);
  });

  test('no zones: nothing asked', async () => {
    const s = setup([]);
    assert.deepEqual(await s.checker.check('192.0.2.1'), { listings: [], errors: [], skipped: [] });
    assert.deepEqual(s.resolver.take(), []);
  });

  test('a healthy zone is tested once an hour, an unhealthy one every 5 minutes', async () => {
    const s = setup(['good.example.org', 'none.example.org']);
    const ip = '192.0.2.1';
    const want = { listings: [listed], errors: [], skipped: ['none.example.org'] };
    // Two checks at once share one test of each zone.
    const [first, second] = await Promise.all([s.checker.check(ip), s.checker.check(ip)]);
    assert.deepEqual(first, want);
    assert.deepEqual(second, want);
    assert.deepEqual(
      s.resolver.take().sort(),
      [
        ...testQueries('good.example.org'),
        ...testQueries('none.example.org'),
        q('1.2.0.192', 'good.example.org'),
        q('1.2.0.192', 'good.example.org'),
      ].sort(),
    );
    assert.deepEqual(s.records(), [
      {
        level: 'warn',
        msg: UNHEALTHY,
        zone: 'none.example.org',
        problem: 'does not list the test address 127.0.0.2',
      },
    ]);

    // Within 5 minutes neither is tested again; the unhealthy zone is not asked.
    s.advance(299_999);
    assert.deepEqual(await s.checker.check(ip), want);
    assert.deepEqual(s.resolver.take(), [q('1.2.0.192', 'good.example.org')]);

    // At 5 minutes the unhealthy zone is tested again, and still fails: no new log line.
    s.advance(1);
    assert.deepEqual(await s.checker.check(ip), want);
    assert.deepEqual(
      s.resolver.take().sort(),
      [...testQueries('none.example.org'), q('1.2.0.192', 'good.example.org')].sort(),
    );
    assert.deepEqual(s.records(), []);

    // It starts to answer: used after the next test, logged once.
    s.resolver.update(
      (z) => void (z.a = { ...z.a, [q('2.0.0.127', 'none.example.org')]: ['127.0.0.2'] }),
    );
    s.advance(300_000);
    assert.deepEqual(await s.checker.check(ip), { listings: [listed], errors: [], skipped: [] });
    assert.deepEqual(
      s.resolver.take().sort(),
      [
        ...testQueries('none.example.org'),
        q('1.2.0.192', 'good.example.org'),
        q('1.2.0.192', 'none.example.org'),
      ].sort(),
    );
    assert.deepEqual(s.records(), [
      { level: 'info', msg: HEALTHY_AGAIN, zone: 'none.example.org' },
    ]);

    // An hour after its first test the healthy zone is tested again.
    s.advance(3_600_000 - 600_000 - 1);
    await s.checker.check(ip);
    assert.deepEqual(s.resolver.take(), [
      q('1.2.0.192', 'good.example.org'),
      q('1.2.0.192', 'none.example.org'),
    ]);
    s.advance(1);
    await s.checker.check(ip);
    assert.deepEqual(
      s.resolver.take().sort(),
      [
        ...testQueries('good.example.org'),
        q('1.2.0.192', 'good.example.org'),
        q('1.2.0.192', 'none.example.org'),
      ].sort(),
    );
    assert.deepEqual(s.records(), []);
  });

  test('a zone that starts listing everything is left out, logged once', async () => {
    const s = setup(['good.example.org']);
    assert.deepEqual(await s.checker.check('192.0.2.2'), { listings: [], errors: [], skipped: [] });
    s.resolver.update(
      (z) => void (z.a = { ...z.a, [q('1.0.0.127', 'good.example.org')]: ['127.0.0.2'] }),
    );
    s.advance(3_600_000);
    const gone = { listings: [], errors: [], skipped: ['good.example.org'] };
    assert.deepEqual(await s.checker.check('192.0.2.1'), gone);
    s.advance(300_000);
    assert.deepEqual(await s.checker.check('192.0.2.1'), gone);
    s.advance(300_000);
    assert.deepEqual(await s.checker.check('192.0.2.1'), gone);
    assert.deepEqual(s.records(), [
      {
        level: 'warn',
        msg: UNHEALTHY,
        zone: 'good.example.org',
        problem: 'lists the test address 127.0.0.1, as if it listed all',
      },
    ]);
  });

  test('zones are asked concurrently', async () => {
    const zones = ['a.example.org', 'b.example.org', 'c.example.org'];
    const extra: MockZone['a'] = {};
    for (const z of zones) Object.assign(extra, testEntries(z, ['127.0.0.2'], []));
    extra[q('1.2.0.192', 'b.example.org')] = ['127.0.0.3'];
    const s = setup(zones, extra);
    const want = {
      listings: [{ status: 'fail', zone: 'b.example.org', reason: '', addresses: ['127.0.0.3'] }],
      errors: [],
      skipped: [],
    };
    // Both test entries of all three zones at once.
    assert.deepEqual(await s.checker.check('192.0.2.1'), want);
    assert.equal(s.resolver.peak, 6);
    // With the zones tested, the address in all three at once.
    s.resolver.peak = 0;
    assert.deepEqual(await s.checker.check('192.0.2.1'), want);
    assert.equal(s.resolver.peak, 3);
  });

  test('lookup errors are reported and list nothing', async () => {
    const s = setup(['good.example.org', 'bl.example.org'], {
      ...testEntries(BL, ['127.0.0.2'], []),
      [q('10.2.0.192')]: ['127.255.255.254'],
    });
    assert.deepEqual(await s.checker.check('192.0.2.10'), {
      listings: [],
      errors: [
        {
          status: 'permerror',
          zone: BL,
          reason: 'bl.example.org refused the query (answered 127.255.255.254)',
          addresses: [],
        },
      ],
      skipped: [],
    });
  });
});

/** A resolver that never answers the queries ("A name", "TXT name") `hangs` picks. */
class HangingResolver extends MockResolver {
  constructor(
    zone: MockZone,
    private readonly hangs: (query: string) => boolean,
  ) {
    super(zone);
  }
  override a(name: string): Promise<string[]> {
    return this.hangs(`A ${name}`) ? new Promise(() => {}) : super.a(name);
  }
  override txt(name: string): Promise<string[]> {
    return this.hangs(`TXT ${name}`) ? new Promise(() => {}) : super.txt(name);
  }
}

describe('DnsblChecker with a zone that never answers', () => {
  const zone: MockZone = {
    a: {
      ...testEntries('good.example.org', ['127.0.0.2'], []),
      ...testEntries('slow.example.org', ['127.0.0.2'], []),
      [q('1.2.0.192', 'good.example.org')]: ['127.0.0.2'],
    },
    txt: { [q('1.2.0.192', 'good.example.org')]: ['Listed'] },
  };
  function setup(zones: string[], hangs: (query: string) => boolean) {
    const { log, records } = capture();
    const resolver = new HangingResolver(zone, hangs);
    return { checker: new DnsblChecker({ zones, resolver, log, timeoutMs: 20 }), records };
  }
  const goodListing: DnsblResult = {
    status: 'fail',
    zone: 'good.example.org',
    reason: 'Listed',
    addresses: ['127.0.0.2'],
  };

  test('its test entries time out: left out, logged', async () => {
    const s = setup(['hang.example.org', 'good.example.org'], (query) =>
      query.endsWith('.hang.example.org'),
    );
    assert.deepEqual(await s.checker.check('192.0.2.1'), {
      listings: [goodListing],
      errors: [],
      skipped: ['hang.example.org'],
    });
    assert.deepEqual(s.records(), [
      {
        level: 'warn',
        msg: UNHEALTHY,
        zone: 'hang.example.org',
        problem: `A lookup of ${q('2.0.0.127', 'hang.example.org')}: timed out`,
      },
    ]);
  });

  test('the address lookup times out: a temperror', async () => {
    // The test entries answer; the address never does.
    const s = setup(
      ['slow.example.org', 'good.example.org'],
      (query) => query === `A ${q('1.2.0.192', 'slow.example.org')}`,
    );
    assert.deepEqual(await s.checker.check('192.0.2.1'), {
      listings: [goodListing],
      errors: [
        {
          status: 'temperror',
          zone: 'slow.example.org',
          reason: `A lookup of ${q('1.2.0.192', 'slow.example.org')}: timed out`,
          addresses: [],
        },
      ],
      skipped: [],
    });
    assert.deepEqual(s.records(), []);
  });

  test('the TXT lookup times out: listed without a reason', async () => {
    const s = setup(['good.example.org'], (query) => query.startsWith('TXT '));
    assert.deepEqual(await s.checker.check('192.0.2.1'), {
      listings: [{ ...goodListing, reason: '' }],
      errors: [],
      skipped: [],
    });
  });
});
