import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MockResolver } from '../dns/mock.js';
import {
  aligned,
  lookupDmarc,
  organizationalDomain,
  parseDmarcRecord,
  verifyDmarc,
  type DmarcInput,
  type DmarcRecord,
  type DmarcResult,
} from './dmarc.js';

const DEFAULTS: DmarcRecord = {
  p: 'none',
  sp: 'none',
  adkim: 'r',
  aspf: 'r',
  pct: 100,
  rua: [],
  ruf: [],
  ri: 86400,
  fo: '0',
};

describe('parseDmarcRecord', () => {
  const cases: [string, string, Partial<DmarcRecord> | null][] = [
    ['p only: defaults filled in', 'v=DMARC1; p=reject', { p: 'reject', sp: 'reject' }],
    ['no trailing semicolon needed, one is allowed', 'v=DMARC1; p=none;', { p: 'none' }],
    [
      'every tag',
      'v=DMARC1; p=quarantine; sp=none; adkim=s; aspf=s; pct=50; ' +
        'rua=mailto:d@example.com,mailto:agg@example.net!10m; ruf=mailto:f@example.com; ri=3600; fo=1:d',
      {
        p: 'quarantine',
        sp: 'none',
        adkim: 's',
        aspf: 's',
        pct: 50,
        rua: ['mailto:d@example.com', 'mailto:agg@example.net!10m'],
        ruf: ['mailto:f@example.com'],
        ri: 3600,
        fo: '1:d',
      },
    ],
    [
      'spaces around tags and values; tag names and policies are case-insensitive',
      '  v = DMARC1 ;P = Reject ; SP=QUARANTINE;ADKIM=S ;  ',
      { p: 'reject', sp: 'quarantine', adkim: 's' },
    ],
    ['V= is case-insensitive (ABNF)', 'V=DMARC1; p=reject', { p: 'reject', sp: 'reject' }],
    [
      'the first of a repeated tag counts',
      'v=DMARC1; p=reject; p=none',
      { p: 'reject', sp: 'reject' },
    ],
    ['unknown tags are ignored', 'v=DMARC1; p=reject; x=y; junk', { p: 'reject', sp: 'reject' }],
    ['sp applies to subdomains only', 'v=DMARC1; p=reject; sp=none', { p: 'reject', sp: 'none' }],
    // RFC 7489 §6.6.3: an invalid or absent p (or an invalid sp) with a valid rua counts
    // as p=none; without one the record is not used.
    ['invalid p without rua', 'v=DMARC1; p=bogus', null],
    [
      'invalid p with rua',
      'v=DMARC1; p=bogus; rua=mailto:d@example.com',
      { rua: ['mailto:d@example.com'] },
    ],
    ['no p without rua', 'v=DMARC1; rua=', null],
    ['no p with rua', 'v=DMARC1; rua=mailto:d@example.com', { rua: ['mailto:d@example.com'] }],
    ['no p with an invalid rua', 'v=DMARC1; rua=https://example.com/report', null],
    ['invalid sp without rua', 'v=DMARC1; p=reject; sp=bogus', null],
    [
      'invalid sp with rua',
      'v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com',
      { rua: ['mailto:d@example.com'] },
    ],
    [
      'invalid rua URIs are dropped',
      'v=DMARC1; p=none; rua=https://example.com/r, mailto:d@example.com ,mailto:nobody',
      { rua: ['mailto:d@example.com'] },
    ],
    ['pct=0', 'v=DMARC1; p=reject; pct=0', { p: 'reject', sp: 'reject', pct: 0 }],
    ['pct=100', 'v=DMARC1; p=reject; pct=100', { p: 'reject', sp: 'reject', pct: 100 }],
    ['pct=1', 'v=DMARC1; p=reject; pct=1', { p: 'reject', sp: 'reject', pct: 1 }],
    ['pct over 100', 'v=DMARC1; p=reject; pct=101', { p: 'reject', sp: 'reject', pct: 100 }],
    ['pct negative', 'v=DMARC1; p=reject; pct=-1', { p: 'reject', sp: 'reject', pct: 100 }],
    ['pct not an integer', 'v=DMARC1; p=reject; pct=50.5', { p: 'reject', sp: 'reject', pct: 100 }],
    ['pct not a number', 'v=DMARC1; p=reject; pct=half', { p: 'reject', sp: 'reject', pct: 100 }],
    [
      'invalid adkim and aspf are relaxed',
      'v=DMARC1; p=none; adkim=x; aspf=strict',
      { adkim: 'r', aspf: 'r' },
    ],
    ['relaxed adkim and aspf', 'v=DMARC1; p=none; adkim=r; aspf=r', {}],
    ['invalid ri', 'v=DMARC1; p=none; ri=0', {}],
    ['not DMARC1', 'v=DMARC2; p=reject', null],
    ['the version value is case-sensitive', 'v=dmarc1; p=reject', null],
    ['v= must come first', 'p=reject; v=DMARC1', null],
    ['no v=', 'p=reject', null],
    ['an SPF record', 'v=spf1 -all', null],
    ['DMARC1 followed by more text', 'v=DMARC1x; p=reject', null],
    ['empty', '', null],
  ];
  for (const [name, txt, want] of cases) {
    test(name, () => {
      assert.deepEqual(parseDmarcRecord(txt), want === null ? null : { ...DEFAULTS, ...want });
    });
  }
});

describe('organizationalDomain', () => {
  const cases: [string, string][] = [
    ['example.com', 'example.com'],
    ['a.b.example.com', 'example.com'],
    ['example.co.uk', 'example.co.uk'],
    ['mail.example.co.uk', 'example.co.uk'],
    ['Mail.Example.COM.', 'example.com'],
    // A public suffix is its own organisational domain.
    ['co.uk', 'co.uk'],
    ['com', 'com'],
    // Private suffixes of the list count: each github.io site is its own organisation.
    ['x.github.io', 'x.github.io'],
    ['a.b.x.github.io', 'x.github.io'],
    ['github.io', 'github.io'],
    ['localhost', 'localhost'],
  ];
  for (const [domain, want] of cases) {
    test(`${domain} → ${want}`, () => assert.equal(organizationalDomain(domain), want));
  }
});

describe('aligned', () => {
  const cases: [string, string, 'r' | 's', boolean][] = [
    ['example.com', 'example.com', 's', true],
    ['example.com', 'example.com', 'r', true],
    ['EXAMPLE.com', 'example.COM', 's', true],
    ['mail.example.com', 'example.com', 's', false],
    ['mail.example.com', 'example.com', 'r', true],
    ['example.com', 'news.example.com', 'r', true],
    ['a.example.com', 'b.example.com', 'r', true],
    ['a.example.com', 'b.example.com', 's', false],
    ['example.net', 'example.com', 'r', false],
    ['example.com.evil.example', 'example.com', 'r', false],
    ['example.co.uk', 'other.co.uk', 'r', false],
    ['mail.example.co.uk', 'example.co.uk', 'r', true],
    ['x.github.io', 'y.github.io', 'r', false],
    ['a.x.github.io', 'x.github.io', 'r', true],
  ];
  for (const [a, b, mode, want] of cases) {
    test(`${a} ${b} ${mode} → ${String(want)}`, () => assert.equal(aligned(a, b, mode), want));
  }
});

const zone = {
  txt: {
    '_dmarc.example.com': [
      'some other text',
      'v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com',
    ],
    '_dmarc.own.example.com': ['v=DMARC1; p=none'],
    '_dmarc.strict.example': ['v=DMARC1; p=reject; adkim=s; aspf=s'],
    '_dmarc.half.example': ['v=DMARC1; p=reject; pct=50'],
    '_dmarc.q.example': ['v=DMARC1; p=quarantine; pct=20'],
    '_dmarc.zero.example': ['v=DMARC1; p=none; pct=0'],
    '_dmarc.multi.example': ['v=DMARC1; p=reject', 'v=DMARC1; p=none'],
    '_dmarc.org.example': ['v=DMARC1; p=reject; sp=reject'],
    '_dmarc.multi.org.example': ['v=DMARC1; p=none', 'v=DMARC1; p=quarantine'],
    '_dmarc.invalid.org.example': ['v=DMARC1; p=bogus'],
    '_dmarc.notdmarc.org.example': ['v=spf1 -all'],
    '_dmarc.co.uk': ['v=DMARC1; p=reject'],
    '_dmarc.example.co.uk': ['v=DMARC1; p=quarantine'],
  },
  fail: {
    '_dmarc.temp.example': 'temporary' as const,
    '_dmarc.temp.example.com': 'temporary' as const,
    '_dmarc.tempo.example': 'temporary' as const,
  },
};

describe('lookupDmarc', () => {
  const r = new MockResolver(zone);
  const rec = (txt: string) => parseDmarcRecord(txt)!;
  const cases: [string, string, Awaited<ReturnType<typeof lookupDmarc>>][] = [
    [
      'at the From domain; other TXT records are ignored',
      'example.com',
      {
        kind: 'found',
        record: rec('v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com'),
        domain: 'example.com',
      },
    ],
    [
      'at the organisational domain',
      'a.b.example.com',
      {
        kind: 'found',
        record: rec('v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com'),
        domain: 'example.com',
      },
    ],
    [
      "a subdomain's own record",
      'OWN.example.com',
      { kind: 'found', record: rec('v=DMARC1; p=none'), domain: 'own.example.com' },
    ],
    ['no record anywhere', 'nothing.example', { kind: 'none' }],
    ['no record anywhere (subdomain)', 'a.nothing.example', { kind: 'none' }],
    ['multiple records', 'multi.example', { kind: 'none' }],
    ['temporary failure at the From domain', 'temp.example', { kind: 'temperror' }],
    ['temporary failure at the organisational domain', 'sub.tempo.example', { kind: 'temperror' }],
    // RFC 7489 §6.6.3: the organisational domain is asked only when the From domain has
    // no DMARC record at all; several records, or an unusable one, end the discovery.
    ['multiple records at the From domain: no fallback', 'multi.org.example', { kind: 'none' }],
    ['an unusable record at the From domain: no fallback', 'invalid.org.example', { kind: 'none' }],
    [
      'a TXT record that is not DMARC does not count',
      'notdmarc.org.example',
      { kind: 'found', record: rec('v=DMARC1; p=reject; sp=reject'), domain: 'org.example' },
    ],
    [
      'the public suffix record is not used for a registered domain',
      'nothing.co.uk',
      { kind: 'none' },
    ],
  ];
  for (const [name, domain, want] of cases) {
    test(name, async () => assert.deepEqual(await lookupDmarc(domain, r), want));
  }
});

describe('verifyDmarc', () => {
  const r = new MockResolver(zone);
  const input = (fromDomain: string, over: Partial<DmarcInput> = {}): DmarcInput => ({
    fromDomain,
    spfPassDomain: null,
    dkimPassDomains: [],
    sample: 0,
    ...over,
  });

  test('a full pass result', async () => {
    assert.deepEqual(
      await verifyDmarc(input('Example.COM', { spfPassDomain: 'bounce.example.com' }), r),
      {
        status: 'pass',
        domain: 'example.com',
        orgDomain: 'example.com',
        record: parseDmarcRecord('v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com'),
        recordDomain: 'example.com',
        published: 'reject',
        policy: 'none',
        sampledOut: false,
        spfAligned: true,
        dkimAligned: false,
      } satisfies DmarcResult,
    );
  });

  test('a full fail result under the subdomain policy', async () => {
    assert.deepEqual(
      await verifyDmarc(
        input('news.example.com', {
          spfPassDomain: 'example.net',
          dkimPassDomains: ['example.org'],
        }),
        r,
      ),
      {
        status: 'fail',
        domain: 'news.example.com',
        orgDomain: 'example.com',
        record: parseDmarcRecord('v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com'),
        recordDomain: 'example.com',
        published: 'quarantine',
        policy: 'quarantine',
        sampledOut: false,
        spfAligned: false,
        dkimAligned: false,
      } satisfies DmarcResult,
    );
  });

  test('a full none result', async () => {
    assert.deepEqual(await verifyDmarc(input('a.nothing.example'), r), {
      status: 'none',
      domain: 'a.nothing.example',
      orgDomain: 'nothing.example',
      record: null,
      recordDomain: '',
      published: 'none',
      policy: 'none',
      sampledOut: false,
      spfAligned: false,
      dkimAligned: false,
    } satisfies DmarcResult);
  });

  type Want = Pick<DmarcResult, 'status' | 'published' | 'policy' | 'sampledOut'> &
    Partial<Pick<DmarcResult, 'spfAligned' | 'dkimAligned' | 'recordDomain'>>;
  const cases: [string, DmarcInput, Want][] = [
    [
      'pass by relaxed SPF alignment',
      input('example.com', { spfPassDomain: 'bounce.example.com' }),
      { status: 'pass', published: 'reject', policy: 'none', sampledOut: false, spfAligned: true },
    ],
    [
      'pass by relaxed DKIM alignment',
      input('example.com', { dkimPassDomains: ['example.net', 'Mail.Example.com'] }),
      {
        status: 'pass',
        published: 'reject',
        policy: 'none',
        sampledOut: false,
        spfAligned: false,
        dkimAligned: true,
      },
    ],
    [
      'pass when both are aligned',
      input('example.com', { spfPassDomain: 'example.com', dkimPassDomains: ['example.com'] }),
      {
        status: 'pass',
        published: 'reject',
        policy: 'none',
        sampledOut: false,
        spfAligned: true,
        dkimAligned: true,
      },
    ],
    [
      'pass by DKIM when SPF passed for another domain',
      input('example.com', { spfPassDomain: 'example.net', dkimPassDomains: ['example.com'] }),
      { status: 'pass', published: 'reject', policy: 'none', sampledOut: false, spfAligned: false },
    ],
    [
      'fail: nothing passed',
      input('example.com'),
      { status: 'fail', published: 'reject', policy: 'reject', sampledOut: false },
    ],
    [
      'fail: only unaligned domains passed',
      input('example.com', {
        spfPassDomain: 'example.com.evil.example',
        dkimPassDomains: ['evil.example'],
      }),
      { status: 'fail', published: 'reject', policy: 'reject', sampledOut: false },
    ],
    [
      'strict SPF: a subdomain does not align',
      input('strict.example', { spfPassDomain: 'mail.strict.example' }),
      { status: 'fail', published: 'reject', policy: 'reject', sampledOut: false },
    ],
    [
      'strict SPF: the same domain aligns',
      input('strict.example', { spfPassDomain: 'STRICT.example' }),
      { status: 'pass', published: 'reject', policy: 'none', sampledOut: false, spfAligned: true },
    ],
    [
      'strict DKIM: a subdomain does not align',
      input('strict.example', { dkimPassDomains: ['mail.strict.example'] }),
      { status: 'fail', published: 'reject', policy: 'reject', sampledOut: false },
    ],
    [
      'strict DKIM: the same domain aligns',
      input('strict.example', { dkimPassDomains: ['mail.strict.example', 'strict.example'] }),
      { status: 'pass', published: 'reject', policy: 'none', sampledOut: false, dkimAligned: true },
    ],
    [
      'the record found at the organisational domain applies sp',
      input('a.b.example.com'),
      {
        status: 'fail',
        published: 'quarantine',
        policy: 'quarantine',
        sampledOut: false,
        recordDomain: 'example.com',
      },
    ],
    [
      "a subdomain's own record applies its p",
      input('own.example.com'),
      {
        status: 'fail',
        published: 'none',
        policy: 'none',
        sampledOut: false,
        recordDomain: 'own.example.com',
      },
    ],
    [
      'relaxed alignment of a subdomain From with the organisational domain',
      input('news.example.com', { dkimPassDomains: ['example.com'] }),
      { status: 'pass', published: 'quarantine', policy: 'none', sampledOut: false },
    ],
    [
      'pct=50, sample below: the policy applies',
      input('half.example', { sample: 49.99 }),
      { status: 'fail', published: 'reject', policy: 'reject', sampledOut: false },
    ],
    [
      'pct=50, sample at pct: reject becomes quarantine',
      input('half.example', { sample: 50 }),
      { status: 'fail', published: 'reject', policy: 'quarantine', sampledOut: true },
    ],
    [
      'pct=50, sample above: reject becomes quarantine',
      input('half.example', { sample: 99.9 }),
      { status: 'fail', published: 'reject', policy: 'quarantine', sampledOut: true },
    ],
    [
      'pct=20, sample below: quarantine applies',
      input('q.example', { sample: 19 }),
      { status: 'fail', published: 'quarantine', policy: 'quarantine', sampledOut: false },
    ],
    [
      'pct=20, sample at pct: quarantine becomes none',
      input('q.example', { sample: 20 }),
      { status: 'fail', published: 'quarantine', policy: 'none', sampledOut: true },
    ],
    [
      'pct=100: every sample applies the policy',
      input('example.com', { sample: 99.999 }),
      { status: 'fail', published: 'reject', policy: 'reject', sampledOut: false },
    ],
    [
      'p=none is not sampled out',
      input('zero.example', { sample: 50 }),
      { status: 'fail', published: 'none', policy: 'none', sampledOut: false },
    ],
    [
      'a pass is not sampled',
      input('half.example', { sample: 99, dkimPassDomains: ['half.example'] }),
      { status: 'pass', published: 'reject', policy: 'none', sampledOut: false },
    ],
    [
      'multiple DMARC records: none',
      input('multi.example'),
      { status: 'none', published: 'none', policy: 'none', sampledOut: false, recordDomain: '' },
    ],
    [
      'multiple DMARC records at a subdomain: none, not the parent policy',
      input('multi.org.example'),
      { status: 'none', published: 'none', policy: 'none', sampledOut: false, recordDomain: '' },
    ],
    [
      'temporary DNS failure: temperror',
      input('temp.example', { dkimPassDomains: ['temp.example'] }),
      { status: 'temperror', published: 'none', policy: 'none', sampledOut: false },
    ],
    [
      'temporary DNS failure at the organisational domain: temperror',
      input('a.temp.example'),
      { status: 'temperror', published: 'none', policy: 'none', sampledOut: false },
    ],
    [
      'no record: none, even with passes',
      input('nothing.example', { spfPassDomain: 'nothing.example' }),
      { status: 'none', published: 'none', policy: 'none', sampledOut: false, spfAligned: false },
    ],
    [
      'a public suffix policy does not apply to a registered domain',
      input('shop.example.co.uk'),
      { status: 'fail', published: 'quarantine', policy: 'quarantine', sampledOut: false },
    ],
  ];
  for (const [name, inp, want] of cases) {
    test(name, async () => {
      const got = await verifyDmarc(inp, r);
      const picked = Object.fromEntries(
        Object.keys(want).map((k) => [k, got[k as keyof DmarcResult]]),
      );
      assert.deepEqual(picked, want);
    });
  }

  test('without a sample, pct=0 always lowers the policy and pct=100 never does', async () => {
    const zero = new MockResolver({
      txt: { '_dmarc.zero.example': ['v=DMARC1; p=reject; pct=0'] },
    });
    for (let i = 0; i < 20; i++) {
      const got = await verifyDmarc(
        { fromDomain: 'zero.example', spfPassDomain: null, dkimPassDomains: [] },
        zero,
      );
      assert.equal(got.policy, 'quarantine');
      assert.equal(got.sampledOut, true);
      const all = await verifyDmarc(
        { fromDomain: 'example.com', spfPassDomain: null, dkimPassDomains: [] },
        r,
      );
      assert.equal(all.policy, 'reject');
      assert.equal(all.sampledOut, false);
    }
  });
});
