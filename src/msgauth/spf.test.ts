import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DnssecState } from '../dns/dnssec.js';
import { MockResolver, type MockZone } from '../dns/mock.js';
import { verifySpf, type SpfInput, type SpfResult, type SpfStatus } from './spf.js';

const RECEIVER = 'mx.receiver.example';

const manyHosts = (n: number) =>
  Array.from({ length: n }, (_, i) => `a:h${i + 1}.many.example`).join(' ');

const zone: MockZone = {
  txt: {
    'example.com': [
      'google-site-verification=abc',
      'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all exp=explain._spf.%{d}',
    ],
    'explain._spf.example.com': ["%{i} is not one of %{d}'s designated mail servers."],
    'softfail.example': ['v=spf1 ip4:192.0.2.1 ~all'],
    'neutral.example': ['v=spf1 ip4:192.0.2.1 ?all'],
    'noall.example': ['v=spf1 ip4:192.0.2.1'],
    'nospf.example': ['google-site-verification=abc'],
    'two.example': ['v=spf1 -all', 'v=spf1 +all'],
    'badmech.example': ['v=spf1 foo:bar -all'],
    'badip.example': ['v=spf1 ip4:192.0.2.300 -all'],
    'include.example': ['v=spf1 include:_spf.provider.example -all'],
    '_spf.provider.example': ['v=spf1 ip4:203.0.113.0/24 ip6:2001:db8:cafe::/48 -all'],
    'redirect.example': ['v=spf1 redirect=_spf.provider.example'],
    'amx.example': ['v=spf1 a mx -all'],
    'loop1.example': ['v=spf1 include:loop2.example -all'],
    'loop2.example': ['v=spf1 include:loop1.example -all'],
    'self.example': ['v=spf1 include:self.example -all'],
    'many.example': [`v=spf1 ${manyHosts(11)} -all`],
    'ten.example': [`v=spf1 ${manyHosts(10)} -all`],
    'void2.example': ['v=spf1 a:n1.void.example a:n2.void.example -all'],
    'void3.example': ['v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example -all'],
    'macro.example': ['v=spf1 exists:%{i}._spf.%{d} -all'],
    'local.example': ['v=spf1 exists:%{l}.users._spf.%{d} -all'],
    'rev.example': ['v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all'],
    'helo.example': ['v=spf1 exists:%{h}._helo.macro.example -all'],
    'mail.sender.example': ['v=spf1 a -all'],
    'inctemp.example': ['v=spf1 include:tempfail.example -all'],
    'exists-temp.example': ['v=spf1 exists:tempfail.example -all'],
    'redirtemp.example': ['v=spf1 redirect=tempfail.example'],
    'mxtemp.example': ['v=spf1 mx:tempfail.example -all'],
  },
  a: {
    'amx.example': ['192.0.2.20'],
    'mx1.amx.example': ['192.0.2.21'],
    ...Object.fromEntries(
      Array.from({ length: 11 }, (_, i) => [`h${i + 1}.many.example`, [`198.51.100.${i + 1}`]]),
    ),
    '192.0.2.30._spf.macro.example': ['127.0.0.2'],
    'alice.users._spf.local.example': ['127.0.0.2'],
    '40.2.0.192.in-addr._spf.rev.example': ['127.0.0.2'],
    'good.host.example._helo.macro.example': ['127.0.0.2'],
    'mail.sender.example': ['192.0.2.50'],
    // exists: looks up A records whatever the client's address family (RFC 7208 §5.7).
    [`2.0.0.1.0.d.b.8${'.0'.repeat(23)}.1._spf.macro.example`]: ['127.0.0.2'],
  },
  aaaa: { 'mx1.amx.example': ['2001:db8:1::21'] },
  mx: { 'amx.example': [{ exchange: 'mx1.amx.example', priority: 10 }] },
  fail: { 'tempfail.example': 'temporary', 'TXT permfail.example': 'permanent' },
};

type Case = {
  name: string;
  ip: string;
  mailFrom: string;
  helo?: string;
  status: SpfStatus;
  /** The expected comment, or a pattern it must match. */
  comment?: string | RegExp;
};

const designates = (sender: string, ip: string) =>
  `${RECEIVER}: domain of ${sender} designates ${ip} as permitted sender`;
const notDesignates = (sender: string, ip: string) =>
  `${RECEIVER}: domain of ${sender} does not designate ${ip} as permitted sender`;

const cases: Case[] = [
  {
    name: 'pass by ip4',
    ip: '192.0.2.10',
    mailFrom: 'alice@example.com',
    status: 'pass',
    comment: designates('alice@example.com', '192.0.2.10'),
  },
  {
    name: 'pass by ip6',
    ip: '2001:db8::1',
    mailFrom: 'alice@example.com',
    status: 'pass',
    comment: designates('alice@example.com', '2001:db8::1'),
  },
  {
    name: 'an IPv4-mapped IPv6 client is checked as IPv4',
    ip: '::ffff:192.0.2.10',
    mailFrom: 'alice@example.com',
    status: 'pass',
    comment: designates('alice@example.com', '192.0.2.10'),
  },
  {
    name: 'the domain is case-insensitive',
    ip: '192.0.2.10',
    mailFrom: 'alice@EXAMPLE.Com',
    status: 'pass',
  },
  {
    name: 'fail by -all',
    ip: '198.51.100.1',
    mailFrom: 'alice@example.com',
    status: 'fail',
    comment: notDesignates('alice@example.com', '198.51.100.1'),
  },
  {
    name: 'softfail by ~all',
    ip: '198.51.100.1',
    mailFrom: 'bob@softfail.example',
    status: 'softfail',
    comment: `${RECEIVER}: domain of transitioning bob@softfail.example does not designate 198.51.100.1 as permitted sender`,
  },
  {
    name: 'neutral by ?all',
    ip: '198.51.100.1',
    mailFrom: 'bob@neutral.example',
    status: 'neutral',
    comment: `${RECEIVER}: 198.51.100.1 is neither permitted nor denied by domain of bob@neutral.example`,
  },
  {
    name: 'neutral when no mechanism matches and there is no all',
    ip: '198.51.100.1',
    mailFrom: 'bob@noall.example',
    status: 'neutral',
  },
  {
    name: 'none: TXT records but no SPF record',
    ip: '192.0.2.1',
    mailFrom: 'bob@nospf.example',
    status: 'none',
    comment: `${RECEIVER}: nospf.example does not designate permitted sender hosts`,
  },
  {
    name: 'none: no such domain',
    ip: '192.0.2.1',
    mailFrom: 'bob@unknown.example',
    status: 'none',
  },
  {
    name: 'temperror: the SPF record lookup fails temporarily',
    ip: '192.0.2.1',
    mailFrom: 'bob@tempfail.example',
    status: 'temperror',
    comment:
      `${RECEIVER}: error in processing during lookup of bob@tempfail.example: ` +
      'TXT lookup of tempfail.example: server failure (SERVFAIL)',
  },
  {
    // RFC 7208 §5.2: an include whose check_host() gives temperror gives temperror.
    name: 'temperror: an included record lookup fails temporarily',
    ip: '198.51.100.1',
    mailFrom: 'bob@inctemp.example',
    status: 'temperror',
  },
  {
    name: 'temperror: an exists lookup fails temporarily',
    ip: '198.51.100.1',
    mailFrom: 'bob@exists-temp.example',
    status: 'temperror',
  },
  {
    name: 'temperror: a redirect target lookup fails temporarily',
    ip: '198.51.100.1',
    mailFrom: 'bob@redirtemp.example',
    status: 'temperror',
  },
  {
    name: 'temperror: an mx lookup fails temporarily',
    ip: '198.51.100.1',
    mailFrom: 'bob@mxtemp.example',
    status: 'temperror',
  },
  {
    // RFC 7208 §4.4: any DNS error other than NXDOMAIN is a temperror.
    name: 'temperror: the SPF record lookup fails with another DNS error',
    ip: '192.0.2.1',
    mailFrom: 'bob@permfail.example',
    status: 'temperror',
  },
  {
    name: 'permerror: two SPF records',
    ip: '192.0.2.1',
    mailFrom: 'bob@two.example',
    status: 'permerror',
    comment: `${RECEIVER}: permanent error in processing during lookup of bob@two.example: multiple SPF records found for two.example`,
  },
  {
    name: 'permerror: unknown mechanism',
    ip: '192.0.2.1',
    mailFrom: 'bob@badmech.example',
    status: 'permerror',
  },
  {
    name: 'permerror: invalid ip4 address',
    ip: '192.0.2.1',
    mailFrom: 'bob@badip.example',
    status: 'permerror',
  },
  {
    name: 'include: pass from the included record',
    ip: '203.0.113.9',
    mailFrom: 'bob@include.example',
    status: 'pass',
  },
  {
    name: 'include: no match falls through to -all',
    ip: '198.51.100.1',
    mailFrom: 'bob@include.example',
    status: 'fail',
  },
  {
    name: 'redirect: the target record decides',
    ip: '2001:db8:cafe::9',
    mailFrom: 'bob@redirect.example',
    status: 'pass',
  },
  {
    name: 'redirect: fail from the target record',
    ip: '198.51.100.1',
    mailFrom: 'bob@redirect.example',
    status: 'fail',
  },
  { name: 'a mechanism', ip: '192.0.2.20', mailFrom: 'bob@amx.example', status: 'pass' },
  { name: 'mx mechanism (A)', ip: '192.0.2.21', mailFrom: 'bob@amx.example', status: 'pass' },
  {
    name: 'mx mechanism (AAAA)',
    ip: '2001:db8:1::21',
    mailFrom: 'bob@amx.example',
    status: 'pass',
  },
  { name: 'a and mx: no match', ip: '192.0.2.22', mailFrom: 'bob@amx.example', status: 'fail' },
  {
    name: 'include loop: permerror',
    ip: '198.51.100.1',
    mailFrom: 'bob@loop1.example',
    status: 'permerror',
    comment: /Too many DNS requests/,
  },
  {
    name: 'a record that includes itself: permerror',
    ip: '198.51.100.1',
    mailFrom: 'bob@self.example',
    status: 'permerror',
  },
  {
    name: 'more than 10 DNS lookups: permerror',
    ip: '192.0.2.99',
    mailFrom: 'bob@many.example',
    status: 'permerror',
    comment: /Too many DNS requests/,
  },
  {
    name: '10 DNS lookups are allowed',
    ip: '192.0.2.99',
    mailFrom: 'bob@ten.example',
    status: 'fail',
  },
  {
    name: 'the 10th lookup can match',
    ip: '198.51.100.10',
    mailFrom: 'bob@ten.example',
    status: 'pass',
  },
  {
    name: 'more than 2 void lookups: permerror',
    ip: '192.0.2.99',
    mailFrom: 'bob@void3.example',
    status: 'permerror',
    comment: /Too many void DNS results/,
  },
  {
    name: '2 void lookups are allowed',
    ip: '192.0.2.99',
    mailFrom: 'bob@void2.example',
    status: 'fail',
  },
  {
    name: 'macro %{i} and %{d} (IPv4)',
    ip: '192.0.2.30',
    mailFrom: 'bob@macro.example',
    status: 'pass',
  },
  {
    name: 'macro %{i} and %{d}: another IP does not exist',
    ip: '192.0.2.31',
    mailFrom: 'bob@macro.example',
    status: 'fail',
  },
  {
    name: 'macro %{i} (IPv6 nibbles)',
    ip: '2001:db8::1',
    mailFrom: 'bob@macro.example',
    status: 'pass',
  },
  {
    name: 'macro %{l}',
    ip: '198.51.100.1',
    mailFrom: 'alice@local.example',
    status: 'pass',
  },
  {
    name: 'macro %{l}: another local part',
    ip: '198.51.100.1',
    mailFrom: 'bob@local.example',
    status: 'fail',
  },
  {
    name: 'macro %{ir}, %{v} and %{d2}',
    ip: '192.0.2.40',
    mailFrom: 'bob@rev.example',
    status: 'pass',
  },
  {
    name: 'macro %{h}',
    ip: '198.51.100.1',
    mailFrom: 'bob@helo.example',
    helo: 'good.host.example',
    status: 'pass',
  },
  {
    name: 'macro %{h}: another HELO name',
    ip: '198.51.100.1',
    mailFrom: 'bob@helo.example',
    helo: 'bad.host.example',
    status: 'fail',
  },
];

describe('verifySpf results', () => {
  const r = new MockResolver(zone);
  for (const c of cases) {
    test(c.name, async () => {
      const got = await verifySpf(
        { ip: c.ip, mailFrom: c.mailFrom, helo: c.helo ?? 'client.example', receiver: RECEIVER },
        r,
      );
      assert.equal(got.status, c.status);
      assert.equal(got.identity, 'mailfrom');
      assert.equal(got.sender, c.mailFrom);
      assert.equal(got.domain, c.mailFrom.slice(c.mailFrom.indexOf('@') + 1).toLowerCase());
      if (typeof c.comment === 'string') assert.equal(got.comment, c.comment);
      else if (c.comment) assert.match(got.comment, c.comment);
      if (c.status !== 'fail') assert.equal(got.explanation, '');
    });
  }
});

describe('the HELO identity', () => {
  const r = new MockResolver(zone);
  const input = (over: Partial<SpfInput>): SpfInput => ({
    ip: '192.0.2.50',
    mailFrom: '',
    helo: 'mail.sender.example',
    receiver: RECEIVER,
    ...over,
  });
  const cases: [string, Partial<SpfInput>, Omit<SpfResult, 'dnssec'>][] = [
    [
      'an empty MAIL FROM checks postmaster@<helo>',
      {},
      {
        status: 'pass',
        identity: 'helo',
        domain: 'mail.sender.example',
        sender: 'postmaster@mail.sender.example',
        comment: designates('postmaster@mail.sender.example', '192.0.2.50'),
        explanation: '',
      },
    ],
    [
      'the HELO identity can fail',
      { ip: '198.51.100.1' },
      {
        status: 'fail',
        identity: 'helo',
        domain: 'mail.sender.example',
        sender: 'postmaster@mail.sender.example',
        comment: notDesignates('postmaster@mail.sender.example', '198.51.100.1'),
        explanation: '',
      },
    ],
    [
      'an IPv4 address literal HELO gives none',
      { helo: '[192.0.2.50]' },
      {
        status: 'none',
        identity: 'helo',
        domain: '[192.0.2.50]',
        sender: '',
        comment: 'no domain to check',
        explanation: '',
      },
    ],
    [
      'an IPv6 address literal HELO gives none',
      { ip: '2001:db8::1', helo: '[IPv6:2001:db8::1]' },
      {
        status: 'none',
        identity: 'helo',
        domain: '[IPv6:2001:db8::1]',
        sender: '',
        comment: 'no domain to check',
        explanation: '',
      },
    ],
    [
      'an empty HELO gives none',
      { helo: '' },
      {
        status: 'none',
        identity: 'helo',
        domain: '',
        sender: '',
        comment: 'no domain to check',
        explanation: '',
      },
    ],
    [
      'an address literal HELO does not matter when MAIL FROM is set',
      { mailFrom: 'alice@example.com', ip: '192.0.2.10', helo: '[192.0.2.10]' },
      {
        status: 'pass',
        identity: 'mailfrom',
        domain: 'example.com',
        sender: 'alice@example.com',
        comment: designates('alice@example.com', '192.0.2.10'),
        explanation: '',
      },
    ],
  ];
  for (const [name, over, want] of cases) {
    test(name, async () =>
      assert.deepEqual(await verifySpf(input(over), r), { ...want, dnssec: 'unknown' }),
    );
  }
});

/** A MockResolver that records the TXT lookups made. */
class TxtRecorder extends MockResolver {
  readonly txtLookups: string[] = [];
  override async txt(name: string): Promise<string[]> {
    this.txtLookups.push(name);
    return super.txt(name);
  }
}

describe('the explanation of a fail (exp=)', () => {
  const long = 'x'.repeat(1000);
  const expZone: MockZone = {
    txt: {
      ...zone.txt,
      'ctl.example': ['v=spf1 -all exp=ctl._exp.example'],
      'ctl._exp.example': ['a\u0001b\u007fc\td\u00e9e\r\nf g'],
      'long.example': ['v=spf1 -all exp=long._exp.example'],
      'long._exp.example': [long],
      'longmacro.example': ['v=spf1 -all exp=longmacro._exp.example'],
      // 798 characters, and the expansion of %{d} makes it longer.
      'longmacro._exp.example': [`${'y'.repeat(790)} %{d} z`],
      'missing.example': ['v=spf1 -all exp=missing._exp.example'],
      'several.example': ['v=spf1 -all exp=several._exp.example'],
      'several._exp.example': ['first', 'second'],
      'temp.example': ['v=spf1 -all exp=temp._exp.example'],
      'badmacro.example': ['v=spf1 -all exp=badmacro._exp.example'],
      'badmacro._exp.example': ['100% wrong'],
      'macros.example': ['v=spf1 -all exp=macros._exp.%{d}'],
      'macros._exp.macros.example': [
        'client %{c} (%{i}) sender %{s} local %{l} domain %{o} helo %{h} receiver %{r}%_100%%',
      ],
      'soft.example': ['v=spf1 ~all exp=soft._exp.example'],
      'soft._exp.example': ['never shown'],
      // RFC 7208 §6.2: the exp= of an included record is not used...
      'incexp.example': ['v=spf1 -include:incd.example ~all'],
      'incd.example': ['v=spf1 ip4:198.51.100.1 -all exp=orig._exp.example'],
      // ...and after a redirect, that of the target is used, not the original's.
      'redir.example': ['v=spf1 redirect=target.example exp=orig._exp.example'],
      'target.example': ['v=spf1 ip4:192.0.2.1 -all exp=target._exp.example'],
      'redir2.example': ['v=spf1 redirect=redir.example exp=orig._exp.example'],
      // A redirect is not followed when the record has "all".
      'redirall.example': ['v=spf1 -all redirect=target.example exp=orig._exp.example'],
      'redirdash.example': [
        'v=spf1 -ip4:198.51.100.1 redirect=target.example exp=orig._exp.example',
      ],
      'orig._exp.example': ['original explanation'],
      'target._exp.example': ['target explanation'],
    },
    fail: { 'temp._exp.example': 'temporary' },
  };
  const cases: [string, string, string][] = [
    [
      'fetched on fail, macros expanded',
      'alice@example.com',
      "198.51.100.1 is not one of example.com's designated mail servers.",
    ],
    ['control and non-ASCII characters are dropped', 'a@ctl.example', 'abcdef g'],
    ['cut at 800 characters', 'a@long.example', 'x'.repeat(800)],
    [
      'cut at 800 characters after macro expansion',
      'a@longmacro.example',
      `${'y'.repeat(790)} longmacro`,
    ],
    ['no TXT record at the exp domain', 'a@missing.example', ''],
    ['several TXT records at the exp domain', 'a@several.example', ''],
    ['the exp lookup fails temporarily', 'a@temp.example', ''],
    ['a macro syntax error in the explanation', 'a@badmacro.example', ''],
    [
      'every explanation macro',
      'a.b@macros.example',
      'client 198.51.100.1 (198.51.100.1) sender a.b@macros.example local a.b ' +
        `domain macros.example helo client.example receiver ${RECEIVER} 100%`,
    ],
    ['not from an included record', 'a@incexp.example', ''],
    ['from the redirect target, not the original record', 'a@redir.example', 'target explanation'],
    ['through two redirects', 'a@redir2.example', 'target explanation'],
    [
      'from the original record when "all" stops the redirect',
      'a@redirall.example',
      'original explanation',
    ],
    // Whether the fail came from the "-" mechanism or the target is not known.
    ['none when a "-" mechanism and a redirect could both fail', 'a@redirdash.example', ''],
  ];
  for (const [name, mailFrom, want] of cases) {
    test(name, async () => {
      const r = new MockResolver(expZone);
      const got = await verifySpf(
        { ip: '198.51.100.1', mailFrom, helo: 'client.example', receiver: RECEIVER },
        r,
      );
      assert.equal(got.status, 'fail');
      assert.equal(got.explanation, want);
    });
  }

  test('an IPv4-mapped IPv6 client is IPv4 in the explanation', async () => {
    const r = new MockResolver(expZone);
    const got = await verifySpf(
      {
        ip: '::ffff:198.51.100.1',
        mailFrom: 'a@example.com',
        helo: 'h.example',
        receiver: RECEIVER,
      },
      r,
    );
    assert.equal(
      got.explanation,
      "198.51.100.1 is not one of example.com's designated mail servers.",
    );
  });

  test('an IPv6 client in the explanation', async () => {
    const r = new MockResolver(expZone);
    const got = await verifySpf(
      { ip: '2001:db8:0::5', mailFrom: 'x@macros.example', helo: 'h.example', receiver: RECEIVER },
      r,
    );
    assert.match(
      got.explanation,
      /^client 2001:db8::5 \(2\.0\.0\.1\.0\.d\.b\.8(\.0){23}\.5\) sender /,
    );
  });

  test('not fetched unless the result is fail', async () => {
    const r = new TxtRecorder(expZone);
    const soft = await verifySpf(
      { ip: '198.51.100.1', mailFrom: 'a@soft.example', helo: 'h.example', receiver: RECEIVER },
      r,
    );
    assert.equal(soft.status, 'softfail');
    assert.equal(soft.explanation, '');
    const pass = await verifySpf(
      { ip: '192.0.2.1', mailFrom: 'a@example.com', helo: 'h.example', receiver: RECEIVER },
      r,
    );
    assert.equal(pass.status, 'pass');
    assert.deepEqual(r.txtLookups, ['soft.example', 'example.com']);
  });

  test('the HELO identity has explanations too', async () => {
    const r = new MockResolver(expZone);
    const got = await verifySpf(
      { ip: '198.51.100.1', mailFrom: '', helo: 'redir.example', receiver: RECEIVER },
      r,
    );
    assert.deepEqual(got, {
      status: 'fail',
      identity: 'helo',
      domain: 'redir.example',
      sender: 'postmaster@redir.example',
      comment: notDesignates('postmaster@redir.example', '198.51.100.1'),
      explanation: 'target explanation',
      dnssec: 'unknown',
    });
  });
});

describe('the DNSSEC state of the evaluation', () => {
  const input = (mailFrom: string, ip = '192.0.2.10'): SpfInput => ({
    ip,
    mailFrom,
    helo: 'client.example',
    receiver: RECEIVER,
  });
  const cases: [string, SpfInput, string[], SpfStatus, DnssecState][] = [
    ['the record signed', input('a@example.com'), ['example.com'], 'pass', 'with'],
    ['the record not signed', input('a@example.com'), ['other.example'], 'pass', 'without'],
    // include: looks up a second domain; both must be signed.
    [
      'include: of a signed domain',
      input('a@include.example', '203.0.113.5'),
      ['include.example', '_spf.provider.example'],
      'pass',
      'with',
    ],
    [
      'include: of an unsigned domain',
      input('a@include.example', '203.0.113.5'),
      ['include.example'],
      'pass',
      'without',
    ],
    // An authenticated absence of the domain: none, with dnssec.
    ['no such domain, signed parent', input('a@nope.example'), ['example'], 'none', 'with'],
    ['a temporary failure', input('a@inctemp.example'), ['example'], 'temperror', 'without'],
    // The explanation's lookup does not count: it does not change the result.
    ['fail with exp=', input('a@example.com', '198.51.100.1'), ['example.com'], 'fail', 'with'],
  ];
  for (const [name, spfInput, authentic, status, dnssec] of cases) {
    test(name, async () => {
      const got = await verifySpf(spfInput, new MockResolver({ ...zone, authentic }));
      assert.deepEqual([got.status, got.dnssec], [status, dnssec]);
    });
  }
  test('unknown without lookups, or when the resolver cannot tell', async () => {
    const told = new MockResolver({ ...zone, authentic: ['example.com'] });
    const literal = await verifySpf({ ...input(''), helo: '[192.0.2.10]' }, told);
    assert.deepEqual([literal.status, literal.dnssec], ['none', 'unknown']);
    const untold = await verifySpf(input('a@example.com'), new MockResolver(zone));
    assert.deepEqual([untold.status, untold.dnssec], ['pass', 'unknown']);
  });
});
