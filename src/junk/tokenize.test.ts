// Tokens of messages: header fields, transfer encodings and charsets, HTML, words and
// bigrams, keys, and the limits on work per message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOKENIZE_DEFAULTS, tokenKey, tokenize, type TokenizeOptions } from './tokenize.js';

const msg = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
const tokens = (m: Buffer, opts?: TokenizeOptions) => tokenize(m, undefined, opts).strings();

/** Asserts that every expected token is there and no unexpected one is. */
function check(m: Buffer, has: string[], hasNot: string[] = []) {
  const got = new Set(tokens(m));
  for (const t of has)
    assert.ok(got.has(t), `missing ${JSON.stringify(t)} in ${[...got].join(' | ')}`);
  for (const t of hasNot) assert.ok(!got.has(t), `unexpected ${JSON.stringify(t)}`);
}

const cases: { name: string; message: Buffer; has: string[]; hasNot?: string[] }[] = [
  {
    name: 'words: lower case, 2 to 40 characters, digits collapsed, bigrams',
    message: msg(
      'Subject: x',
      '',
      'Win $1,000 NOW at 99% off! A b e-mail don’t 3.5 x86',
      `${'z'.repeat(41)} end`,
    ),
    has: [
      'win',
      '$#',
      'win $#',
      'now',
      'now at',
      '#%',
      'at #%',
      'off',
      'e-mail',
      'don’t',
      '#.#',
      'x#',
      'skip:z40',
      'end',
    ],
    hasNot: ['a', 'b', 'a b', 'off a', 'skip:z40 end', 'z'.repeat(41), '1,000'],
  },
  {
    name: 'Chinese, Japanese and Korean: pairs of characters, a lone one as itself',
    message: msg(
      'Subject: =?UTF-8?B?' + Buffer.from('免费赠送').toString('base64') + '?=',
      'Content-Type: text/plain; charset=utf-8',
      '',
      '今日は良い天気 win 中 abc中文def 무료 쿠폰',
    ),
    has: [
      'subject:免费',
      'subject:费赠',
      'subject:赠送',
      '今日',
      '日は',
      'は良',
      '良い',
      'い天',
      '天気',
      '中',
      'abc',
      '中文',
      'def',
      '무료',
      '쿠폰',
      'win',
    ],
    hasNot: ['今日は良い天気', '免费赠送', 'win 中', '天気 win', 'abc def', '气'],
  },
  {
    name: 'capitals are kept apart',
    message: msg('Subject: FREE offer', '', 'Act NOW, it is URGENT2 and Ok'),
    has: ['subject:caps:FREE', 'caps:NOW', 'caps:URGENT#', 'now'],
    hasNot: ['caps:Ok', 'caps:Act'],
  },
  {
    name: 'header fields, each with its prefix',
    message: msg(
      'From: "Bob Smith" <Bob@Mail.Example.ORG>',
      'To: a@one.example, b@two.example',
      'Cc: Team: c@three.example;',
      'Reply-To: <offers@elsewhere.example>',
      'Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=',
      'List-Id: Tidings users <users.tidings.example>',
      'X-Mailer: Mass Mailer 5.1',
      'User-Agent: Mutt/2.2',
      'Received: from hidden.example',
      '',
      'body',
    ),
    has: [
      'from:name:bob',
      'from:name:smith',
      'from:domain:mail.example.org',
      'from:addr:bob@mail.example.org',
      'to:domain:one.example',
      'to:domain:two.example',
      'cc:group',
      'cc:domain:three.example',
      'reply-to:domain:elsewhere.example',
      'reply-to:other-domain',
      'subject:grüße',
      'subject:grüße aus',
      'subject:köln',
      'received:hidden.example',
      'list-id:users.tidings.example',
      'x-mailer:mass',
      'x-mailer:mailer',
      'x-mailer:#.#',
      'user-agent:mutt',
      'content-type:text/plain',
      'body',
    ],
    hasNot: ['hidden.example', 'from:name:bob smith', 'x-mailer:mass mailer'],
  },
  {
    name: 'missing header fields are tokens too',
    message: msg('X-Other: 1', '', 'hello there'),
    has: ['subject:none', 'from:none', 'to:none', 'message-id:none', 'date:none', 'hello there'],
  },
  {
    name: 'Received: hosts and /24 networks of the last three fields, before the date',
    message: msg(
      'Received: from mx.provider.example ([198.51.100.9]) by inbox.provider.example; 2 Jul 2024',
      'Received: from Mail.Sender.Example.co.uk (relay.isp.example [192.0.2.77])',
      '\tby mx.tidings.example (Tidings) with ESMTP id 12AB.3; Mon, 1 Jul 2024 10:00:00 +0000',
      'Received: from [IPv6:2001:db8:4::1] (helo) by relay.isp.example; 1 Jul 2024 09:59 +0000',
      'Received: (qmail 123 invoked by uid 500); 1 Jul 2024 09:58:00 -0000',
      '',
      'body',
    ),
    has: [
      'received:example.co.uk',
      'received:isp.example',
      'received:tidings.example',
      'received:ip:192.0.2',
      'received:ip:2001:db8:4',
    ],
    hasNot: [
      'received:provider.example',
      'received:ip:198.51.100',
      'received:mail.sender.example.co.uk',
      'received:ip:192.0',
      'received:ip:12ab.3',
      'received:ip:10.00',
      'received:jul',
      'received:helo',
    ],
  },
  {
    name: 'Message-ID and Date: shape, domain and zone',
    message: msg(
      'Message-ID: <0000531f3b6e$000009ef$0000597d@Mail.Bulk.Example.com>',
      'Date: Thu, 30 May 2002 20:21:25 +0200 (CEST)',
      '',
      'body',
    ),
    has: [
      'message-id:shape:h$h$h',
      'message-id:@example.com',
      'date:shape:a, d a d d:d:d +d',
      'date:zone:+0200',
    ],
    hasNot: ['date:zone:cest', 'message-id:@mail.bulk.example.com'],
  },
  {
    name: 'Message-ID without a domain or with an address; Date with a named zone',
    message: msg(
      'Message-Id: <20020723053323.SM01128@[192.0.2.1]>',
      'Date: 6 Jul 2001 11:00 EDT',
      '',
    ),
    has: ['message-id:shape:d.m', 'message-id:@ip', 'date:shape:d a d d:d a', 'date:zone:edt'],
  },
  {
    name: 'Message-ID without a domain',
    message: msg('Message-Id: <000018e94cd4$0000220a$000063aa@>', ''),
    has: ['message-id:shape:h$h$h', 'message-id:@none'],
  },
  {
    name: 'quoted-printable in ISO-8859-1',
    message: msg(
      'Content-Type: text/plain; charset=ISO-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Gr=FC=DFe aus K=F6ln, sch=',
      'on da',
    ),
    has: [
      'grüße',
      'köln',
      'schon',
      'schon da',
      'content-type:charset=iso-8859-1',
      'content-transfer-encoding:quoted-printable',
    ],
    hasNot: ['sch', 'gr'],
  },
  {
    name: 'base64 in KOI8-R',
    message: msg(
      'Content-Type: text/plain; charset=koi8-r',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4, 0x20, 0xcd, 0xc9, 0xd2]).toString('base64'),
    ),
    has: ['привет', 'мир', 'привет мир', 'content-transfer-encoding:base64'],
  },
  {
    name: 'HTML: visible text, entities, link domains; scripts, styles and tags dropped',
    message: msg(
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><head><style>.x { color: red }</style><script>var hidden = 1;</script></head>',
      '<body><p>Caf&eacute; &amp; cr&#232;me <b>br&#xFB;l&eacute;e</b></p><!-- secret note -->',
      '<a href="http://Click.Track.Example.co.uk/x?y=1">here</a>',
      '<img src="https://img.example.net/a.gif"><a href=\'//cdn.example.com/z\'>z</a>',
      '</body></html>',
    ),
    has: [
      'crème',
      'crème brûlée',
      'here',
      'url:click.track.example.co.uk',
      'url:example.co.uk',
      'url:img.example.net',
      'url:example.net',
      'url:cdn.example.com',
      'content-type:text/html',
    ],
    hasNot: ['color', 'red', 'hidden', 'var', 'secret', 'href', 'html', 'body', 'amp'],
  },
  {
    name: 'links in plain text',
    message: msg('', 'see https://www.example.org/page or www.other.example then'),
    has: ['url:www.example.org', 'url:example.org', 'url:www.other.example', 'see'],
  },
  {
    name: 'multipart: text parts read, attachments named by type and extension only',
    message: msg(
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'first part',
      '--b',
      'Content-Type: application/octet-stream; name="invoice.EXE"',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('secret payload words').toString('base64'),
      '--b',
      'Content-Type: message/rfc822',
      '',
      'Subject: inner',
      '',
      'inner body',
      '--b--',
    ),
    has: [
      'first part',
      'content-type:application/octet-stream',
      'content-type:name=.exe',
      'inner body',
    ],
    hasNot: ['secret', 'payload', 'content-type:multipart/mixed'],
  },
];

for (const c of cases) {
  test(`tokens: ${c.name}`, () => check(c.message, c.has, c.hasNot));
}

test('every token is stored under the key of its text', () => {
  for (const c of cases) {
    const t = tokenize(c.message);
    assert.ok(t.size > 0);
    const keys = new Set<number>();
    for (let i = 0; i < t.size; i++) {
      assert.equal(t.keys[i], tokenKey(t.text(i)), t.text(i));
      keys.add(t.keys[i] as number);
      assert.ok(Number.isSafeInteger(t.keys[i]) && (t.keys[i] as number) > 0);
    }
    assert.equal(keys.size, t.size, 'distinct');
  }
  // A pair's parts are the tokens of its words, with its prefix.
  const t = tokenize(msg('Subject: Free money', '', 'free money now'));
  const index = new Map(t.strings().map((x, i) => [x, i]));
  const parts = (x: string) => t.parts(index.get(x) as number);
  assert.deepEqual(parts('free money'), [index.get('free'), index.get('money')]);
  assert.deepEqual(parts('subject:free money'), [
    index.get('subject:free'),
    index.get('subject:money'),
  ]);
  assert.deepEqual(parts('money'), [index.get('money'), -1]);
  assert.deepEqual(parts('to:none'), [index.get('to:none'), -1]);
  assert.notEqual(tokenKey('free money'), tokenKey('money free'));
  assert.notEqual(tokenKey('subject:free'), tokenKey('free'));
});

test('limits: distinct tokens, text per message, bytes per part', () => {
  const words = Array.from(
    { length: 5000 },
    (_, i) => `w${String.fromCharCode(97 + (i % 26))}${i.toString(36).replace(/\d/g, 'q')}`,
  );
  const big = msg('Subject: big', '', words.join(' '));
  assert.equal(tokenize(big, undefined, { maxTokens: 300 }).size, 300);
  assert.equal(tokenize(big).size, TOKENIZE_DEFAULTS.maxTokens);
  assert.ok(tokenize(big, undefined, { maxTokens: 20_000 }).size > TOKENIZE_DEFAULTS.maxTokens);
  const late = msg('Subject: x', '', `${'early '.repeat(2000)}late`);
  check(late, ['late']);
  assert.ok(!tokens(late, { maxTextChars: 1000 }).includes('late'));
  assert.ok(!tokens(late, { maxPartBytes: 1000 }).includes('late'));
  assert.ok(tokens(late, { maxPartBytes: 1000 }).includes('early'));
  // Beyond the parsed bytes, nothing is seen.
  assert.ok(!tokens(late, { maxParseBytes: 500 }).includes('late'));
});

test('hostile input never throws', () => {
  let seed = 7;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) | 0) >>> 16) & 0xff;
  for (let n = 0; n < 200; n++) {
    const junk = Buffer.from(Array.from({ length: 2000 }, rnd));
    const withHeader = Buffer.concat([
      Buffer.from(
        'Content-Type: text/html; charset=utf-16\r\nSubject: =?x?q?=ZZ?=\r\n\r\n<a href=',
      ),
      junk,
    ]);
    tokenize(junk);
    tokenize(withHeader);
  }
  tokenize(Buffer.alloc(0));
  tokenize(msg('Content-Type: multipart/mixed; boundary=x', '', '--x', '--x', '--x--'));
});
