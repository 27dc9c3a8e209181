import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  authComment,
  authResultsHeader,
  authValue,
  authservId,
  dnssecComment,
  joinComments,
  receivedSpfHeader,
  type AuthMethod,
} from './authresults.js';

describe('authValue', () => {
  const cases: [string, string][] = [
    ['pass', 'pass'],
    ['example.com', 'example.com'],
    ["a.b-c_d+e!#$%&'*^`{|}~0", "a.b-c_d+e!#$%&'*^`{|}~0"],
    // RFC 2045 tspecials and anything else outside a token are quoted.
    ['alice@example.com', '"alice@example.com"'],
    ['a/b', '"a/b"'],
    ['a=b', '"a=b"'],
    ['2001:db8::1', '"2001:db8::1"'],
    ['[192.0.2.1]', '"[192.0.2.1]"'],
    ['two words', '"two words"'],
    ['a;b', '"a;b"'],
    ['(x)', '"(x)"'],
    ['', '""'],
    ['say "hi"', '"say \\"hi\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['line\r\nbreak', '"line break"'],
    ['lines\r\n\r\nand\nbare\rends', '"lines and bare ends"'],
  ];
  for (const [v, want] of cases) {
    test(JSON.stringify(v), () => assert.equal(authValue(v), want));
  }
});

describe('authComment', () => {
  const cases: [string, string][] = [
    ['2048 bit rsa', '(2048 bit rsa)'],
    ['', '()'],
    ['a (nested) comment', '(a \\(nested\\) comment)'],
    ['unbalanced )(', '(unbalanced \\)\\()'],
    ['back\\slash', '(back\\\\slash)'],
    ['"quotes" stay', '("quotes" stay)'],
    ['line\r\nbreak', '(line break)'],
    ['many\r\n\r\n\nbreaks', '(many breaks)'],
  ];
  for (const [v, want] of cases) {
    test(JSON.stringify(v), () => assert.equal(authComment(v), want));
  }
});

describe('authResultsHeader', () => {
  test('no methods gives none', () => {
    assert.equal(
      authResultsHeader('mx.example.net', []),
      'Authentication-Results: mx.example.net; none\r\n',
    );
  });

  test('one method per folded line, in order', () => {
    const methods: AuthMethod[] = [
      {
        method: 'iprev',
        result: 'pass',
        comment: 'mail.example.com',
        props: [['policy.iprev', '192.0.2.1']],
      },
      { method: 'spf', result: 'pass', props: [['smtp.mailfrom', 'alice@example.com']] },
      {
        method: 'dkim',
        result: 'pass',
        comment: '2048 bit rsa',
        props: [
          ['header.d', 'example.com'],
          ['header.s', 'sel'],
          ['header.b', 'ab/cd+EF12=='],
        ],
      },
      { method: 'arc', result: 'none' },
      {
        method: 'dmarc',
        result: 'fail',
        comment: 'p=reject',
        reason: 'policy is reject',
        props: [['header.from', 'example.com']],
      },
    ];
    assert.equal(
      authResultsHeader('mx.example.net', methods),
      'Authentication-Results: mx.example.net;\r\n' +
        '\tiprev=pass (mail.example.com) policy.iprev=192.0.2.1;\r\n' +
        '\tspf=pass smtp.mailfrom=alice@example.com;\r\n' +
        '\tdkim=pass (2048 bit rsa) header.d=example.com header.s=sel header.b="ab/cd+EF12==";\r\n' +
        '\tarc=none;\r\n' +
        '\tdmarc=fail (p=reject) reason="policy is reject" header.from=example.com\r\n',
    );
  });

  test('property values that are not plain are quoted; comments escaped', () => {
    const methods: AuthMethod[] = [
      {
        method: 'iprev',
        result: 'fail',
        comment: 'no (PTR)\r\nrecord',
        props: [['policy.iprev', '2001:db8::1']],
      },
      {
        method: 'spf',
        result: 'none',
        reason: 'token',
        props: [
          ['smtp.mailfrom', ''],
          ['smtp.helo', '[192.0.2.1]'],
        ],
      },
      {
        method: 'dkim',
        result: 'neutral',
        comment: '',
        props: [['header.i', '"odd" name@example.com']],
      },
    ];
    assert.equal(
      authResultsHeader('mx.example.net', methods),
      'Authentication-Results: mx.example.net;\r\n' +
        '\tiprev=fail (no \\(PTR\\) record) policy.iprev="2001:db8::1";\r\n' +
        '\tspf=none reason=token smtp.mailfrom="" smtp.helo="[192.0.2.1]";\r\n' +
        '\tdkim=neutral header.i="\\"odd\\" name@example.com"\r\n',
    );
  });

  test('an address with a quoted local-part is written as an address, not quoted again', () => {
    const methods: AuthMethod[] = [
      {
        method: 'spf',
        result: 'pass',
        props: [['smtp.mailfrom', '"bob smith"@example.com']],
      },
      {
        method: 'auth',
        result: 'pass',
        props: [['smtp.mailfrom', '"a\\"b"@example.com']],
      },
    ];
    assert.equal(
      authResultsHeader('mx.example.net', methods),
      'Authentication-Results: mx.example.net;\r\n' +
        '\tspf=pass smtp.mailfrom="bob smith"@example.com;\r\n' +
        '\tauth=pass smtp.mailfrom="a\\"b"@example.com\r\n',
    );
  });
});

describe('receivedSpfHeader', () => {
  test('every field', () => {
    assert.equal(
      receivedSpfHeader({
        status: 'pass',
        comment:
          'mx.example.net: domain of alice@example.com designates 192.0.2.1 as permitted sender',
        ip: '192.0.2.1',
        envelopeFrom: 'alice@example.com',
        helo: 'mail.example.com',
        identity: 'mailfrom',
        receiver: 'mx.example.net',
      }),
      'Received-SPF: pass (mx.example.net: domain of alice@example.com designates 192.0.2.1 as permitted sender)\r\n' +
        '\tclient-ip=192.0.2.1; envelope-from="alice@example.com"; helo=mail.example.com; ' +
        'identity=mailfrom; receiver=mx.example.net;\r\n',
    );
  });

  test('no comment, an empty envelope-from, IPv6 and an address literal HELO', () => {
    assert.equal(
      receivedSpfHeader({
        status: 'none',
        comment: '',
        ip: '2001:db8::1',
        envelopeFrom: '',
        helo: '[IPv6:2001:db8::1]',
        identity: 'helo',
        receiver: 'mx.example.net',
      }),
      'Received-SPF: none\r\n' +
        '\tclient-ip="2001:db8::1"; helo="[IPv6:2001:db8::1]"; identity=helo; receiver=mx.example.net;\r\n',
    );
  });

  test('the comment is escaped', () => {
    assert.equal(
      receivedSpfHeader({
        status: 'fail',
        comment: 'see (this)\r\nand \\ that',
        ip: '192.0.2.1',
        envelopeFrom: 'postmaster@mail.example.com',
        helo: 'mail.example.com',
        identity: 'helo',
        receiver: 'mx',
      }),
      'Received-SPF: fail (see \\(this\\) and \\\\ that)\r\n' +
        '\tclient-ip=192.0.2.1; envelope-from="postmaster@mail.example.com"; ' +
        'helo=mail.example.com; identity=helo; receiver=mx;\r\n',
    );
  });
});

describe('authservId', () => {
  const cases: [string, string, string][] = [
    ['plain', 'mx.example.net; spf=pass', 'mx.example.net'],
    ['case folded', 'MX.Example.NET;spf=pass', 'mx.example.net'],
    ['with a version', 'mx.example.net 1; none', 'mx.example.net'],
    ['leading whitespace and folding', '\r\n\t  mx.example.net;\r\n\tnone', 'mx.example.net'],
    ['without anything after', 'mx.example.net', 'mx.example.net'],
    ['a comment right after', 'mx.example.net(ours); none', 'mx.example.net'],
    ['a comment before', '(comment) mx.example.net; none', 'mx.example.net'],
    ['comments before, folded', '(one)\r\n (two)mx.example.net; none', 'mx.example.net'],
    ['a nested comment before', '(a (nested) comment) mx.example.net;', 'mx.example.net'],
    ['an escaped parenthesis in a comment', '(a \\) b) mx.example.net;', 'mx.example.net'],
    ['an escaped backslash ends a comment', '(a \\\\) mx.example.net;', 'mx.example.net'],
    ['quoted', '"MX.Example.NET"; none', 'mx.example.net'],
    ['quoted with escapes', '"a \\"quoted\\" id" 1; none', 'a "quoted" id'],
    ['quoted after a comment', '(c) "mx.example.net"; none', 'mx.example.net'],
    ['empty', '', ''],
    ['only whitespace', ' \t ', ''],
    ['no id before the semicolon', '; spf=pass', ''],
    ['only a comment', '(just a comment)', ''],
    ['an unterminated comment', '(unterminated mx.example.net; none', ''],
  ];
  for (const [name, value, want] of cases) {
    test(name, () => assert.equal(authservId(value), want));
  }
});

test('DNSSEC comments: only where the resolver can tell', () => {
  assert.equal(dnssecComment('with'), 'with dnssec');
  assert.equal(dnssecComment('without'), 'without dnssec');
  assert.equal(dnssecComment('unknown'), '');
  assert.equal(
    joinComments('client.example', dnssecComment('with')),
    'client.example, with dnssec',
  );
  assert.equal(joinComments('', dnssecComment('without')), 'without dnssec');
  assert.equal(joinComments('client.example', dnssecComment('unknown')), 'client.example');
  assert.equal(joinComments('', ''), '');
  assert.equal(
    authResultsHeader('mx.example', [
      {
        method: 'iprev',
        result: 'pass',
        comment: joinComments('client.example', 'with dnssec'),
        props: [['policy.iprev', '192.0.2.1']],
      },
      {
        method: 'spf',
        result: 'fail',
        comment: 'without dnssec',
        props: [['smtp.mailfrom', 'a@b.example']],
      },
    ]),
    'Authentication-Results: mx.example;\r\n' +
      '\tiprev=pass (client.example, with dnssec) policy.iprev=192.0.2.1;\r\n' +
      '\tspf=fail (without dnssec) smtp.mailfrom=a@b.example\r\n',
  );
});
