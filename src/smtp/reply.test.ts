import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyParser, ReplySyntaxError, enhancedCode, formatReply } from './reply.js';
import { C, SE } from './codes.js';

test('formatReply: single lines', () => {
  assert.equal(formatReply(250, '0.0', 'all clear'), '250 2.0.0 all clear\r\n');
  assert.equal(formatReply(451, '7.1', 'limit reached'), '451 4.7.1 limit reached\r\n');
  assert.equal(formatReply(550, '7.27', 'no mx'), '550 5.7.27 no mx\r\n');
  assert.equal(formatReply(220, null, 'mx.example ESMTP'), '220 mx.example ESMTP\r\n');
  assert.equal(
    formatReply(354, null, 'start mail input, end with <CRLF>.<CRLF>'),
    '354 start mail input, end with <CRLF>.<CRLF>\r\n',
  );
  assert.equal(formatReply(250, '0.0', ''), '250 2.0.0\r\n');
  assert.equal(formatReply(250, null, ''), '250\r\n');
  assert.equal(formatReply(C.LocalError, SE.OtherMailSystem0, 'x'), '451 4.3.0 x\r\n');
  assert.equal(enhancedCode(552, SE.MsgTooBig4), '5.3.4');
});

test('formatReply: newlines start reply lines, each with the enhanced code', () => {
  assert.equal(
    formatReply(550, '1.1', 'no such user a\nno such user b'),
    '550-5.1.1 no such user a\r\n550 5.1.1 no such user b\r\n',
  );
  assert.equal(
    formatReply(250, null, 'mx.example\nPIPELINING\nSIZE 1000\nSMTPUTF8'),
    '250-mx.example\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 SMTPUTF8\r\n',
  );
  assert.equal(formatReply(250, null, 'a\r\nb\rc'), '250-a\r\n250-b\r\n250 c\r\n');
  assert.equal(formatReply(250, null, 'a\n'), '250-a\r\n250\r\n');
  assert.equal(formatReply(250, '0.0', '\nb'), '250-2.0.0\r\n250 2.0.0 b\r\n');
});

test('formatReply: long lines are wrapped at a space after column 400', () => {
  const words: string[] = [];
  for (let i = 0; words.join(' ').length < 1200; i++) words.push(`word${i}`);
  const msg = words.join(' ').slice(0, 1200);
  const out = formatReply(554, '0.0', msg);
  assert.ok(out.endsWith('\r\n'));
  const lines = out.slice(0, -2).split('\r\n');
  assert.ok(lines.length >= 3);
  for (const [i, line] of lines.entries()) {
    assert.ok(line.length + 2 <= 512, `line ${i} is ${line.length} chars`);
    const last = i === lines.length - 1;
    assert.ok(line.startsWith(last ? '554 5.0.0 ' : '554-5.0.0 '));
    if (!last) assert.ok(line.length >= 400, `line ${i} broken early at ${line.length}`);
  }
  const texts = lines.map((l) => l.slice(10));
  // Breaks fall at spaces, which are dropped: joining with spaces restores the text.
  assert.equal(texts.join(' '), msg);
  for (const t of texts.slice(0, -1)) assert.ok(!t.endsWith(' ') && !t.includes('  '));
});

test('formatReply: exact wrapping positions', () => {
  // 450 x "a", a space, 200 x "b": the break is the space at column 450 + 10.
  const msg = 'a'.repeat(450) + ' ' + 'b'.repeat(200);
  assert.equal(
    formatReply(250, '0.0', msg),
    `250-2.0.0 ${'a'.repeat(450)}\r\n250 2.0.0 ${'b'.repeat(200)}\r\n`,
  );
  // A space only before column 400 is not used: a hard break at 510 characters.
  const early = 'a'.repeat(100) + ' ' + 'b'.repeat(600);
  const hard = formatReply(250, '0.0', early);
  const rest = early.slice(500);
  assert.equal(hard, `250-2.0.0 ${early.slice(0, 500)}\r\n250 2.0.0 ${rest}\r\n`);
  // Exactly 510 characters fit on one line.
  assert.equal(formatReply(250, null, 'c'.repeat(506)), `250 ${'c'.repeat(506)}\r\n`);
  assert.equal(formatReply(250, null, 'c'.repeat(507)), `250-${'c'.repeat(506)}\r\n250 c\r\n`);
  // Octets count, and multi-byte characters are not split.
  const o = formatReply(250, null, 'ö'.repeat(300));
  assert.equal(o, `250-${'ö'.repeat(253)}\r\n250 ${'ö'.repeat(47)}\r\n`);
  const e = formatReply(250, null, '😀'.repeat(200));
  const elines = e.slice(0, -2).split('\r\n');
  assert.equal(elines[0], `250-${'😀'.repeat(126)}`);
  assert.ok(Buffer.byteLength(elines[0] as string) <= 510);
});

test('ReplyParser: single and multi-line replies', () => {
  const p = new ReplyParser();
  assert.deepEqual(p.push('250 2.1.0 sender ok'), {
    code: 250,
    secode: '2.1.0',
    lines: ['sender ok'],
    text: 'sender ok',
  });
  assert.equal(p.push('250-mx.example'), null);
  assert.equal(p.push('250-PIPELINING'), null);
  assert.equal(p.push('250-SIZE 1000'), null);
  assert.deepEqual(p.push('250 SMTPUTF8'), {
    code: 250,
    secode: null,
    lines: ['mx.example', 'PIPELINING', 'SIZE 1000', 'SMTPUTF8'],
    text: 'mx.example\nPIPELINING\nSIZE 1000\nSMTPUTF8',
  });
  assert.equal(p.push('550-5.1.1 no such user a'), null);
  assert.deepEqual(p.push('550 5.1.1 no such user b'), {
    code: 550,
    secode: '5.1.1',
    lines: ['no such user a', 'no such user b'],
    text: 'no such user a\nno such user b',
  });
  assert.deepEqual(p.push('221'), { code: 221, secode: null, lines: [''], text: '' });
  assert.deepEqual(p.push('250 2.0.0'), { code: 250, secode: '2.0.0', lines: [''], text: '' });
  assert.equal(p.push('250-'), null);
  assert.deepEqual(p.push('250 x'), { code: 250, secode: null, lines: ['', 'x'], text: '\nx' });
  // An enhanced code whose class differs from the reply's is text.
  assert.deepEqual(p.push('250 5.1.1 odd'), {
    code: 250,
    secode: null,
    lines: ['5.1.1 odd'],
    text: '5.1.1 odd',
  });
  assert.deepEqual(p.push('451 4.7.100 x'), {
    code: 451,
    secode: '4.7.100',
    lines: ['x'],
    text: 'x',
  });
  assert.deepEqual(p.push('451 4.7.1000 x'), {
    code: 451,
    secode: null,
    lines: ['4.7.1000 x'],
    text: '4.7.1000 x',
  });
});

test('ReplyParser: parses what formatReply produces', () => {
  const p = new ReplyParser();
  const msg = Array.from({ length: 300 }, (_, i) => `w${i}`).join(' ') + '\nsecond';
  let reply = null;
  for (const line of formatReply(452, '5.3', msg).slice(0, -2).split('\r\n')) {
    assert.equal(reply, null);
    reply = p.push(line);
  }
  assert.ok(reply);
  assert.equal(reply.code, 452);
  assert.equal(reply.secode, '4.5.3');
  assert.equal(reply.lines.slice(0, -1).join(' '), msg.split('\n')[0]);
  assert.equal(reply.lines[reply.lines.length - 1], 'second');
});

test('ReplyParser: malformed input', () => {
  const bad = ['', '25', '2500 x', '250x', '650 x', '150 x', 'abc', ' 250 x', '25a x'];
  for (const line of bad) {
    assert.throws(() => new ReplyParser().push(line), ReplySyntaxError, JSON.stringify(line));
  }
  const p = new ReplyParser();
  assert.equal(p.push('250-first'), null);
  assert.throws(() => p.push('251 second'), {
    name: 'ReplySyntaxError',
    message: 'reply code changed within a multi-line reply',
  });
  // After an error the parser starts over.
  assert.deepEqual(p.push('220 ready'), {
    code: 220,
    secode: null,
    lines: ['ready'],
    text: 'ready',
  });
  const small = new ReplyParser(3);
  small.push('250-a');
  small.push('250-b');
  small.push('250-c');
  assert.throws(() => small.push('250 d'), { message: 'reply has too many lines' });
});
