// The IMAP parser's tokens, table-driven: an input line, the method that reads it, and the
// expected value (with what is left of the line) or the expected syntax error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError, Parser, literalAtEnd, type LiteralSource } from './parser.js';
import { UserError } from './errors.js';

/** A source that serves literals and continuation lines from a script. */
function source(lines: string[] = [], literals: string[] = []): LiteralSource {
  return {
    readLiteral: async (lit) => {
      const data = Buffer.from(literals.shift() ?? '', 'utf8');
      assert.equal(data.length, lit.size, 'literal size');
      return data;
    },
    nextLine: async () => Buffer.from(lines.shift() ?? '', 'utf8'),
  };
}

type Read = (p: Parser) => unknown;
type Case = {
  line: string;
  read: Read;
  want?: unknown;
  rest?: string;
  error?: RegExp;
  /** Well-formed, but refused with NO (a UserError) with this message. */
  refused?: RegExp;
  utf8?: boolean;
  lines?: string[];
  literals?: string[];
};

async function run(c: Case): Promise<void> {
  const p = new Parser(Buffer.from(c.line, 'utf8'), source(c.lines, c.literals), c.utf8 ?? false);
  const name = JSON.stringify(c.line);
  if (c.refused) {
    await assert.rejects(
      async () => c.read(p),
      (e: unknown) => e instanceof UserError && c.refused!.test(e.message),
      name,
    );
    return;
  }
  if (c.error) {
    await assert.rejects(
      async () => c.read(p),
      (e: unknown) => e instanceof ParseError && c.error!.test(e.message),
      name,
    );
    return;
  }
  const got = await c.read(p);
  assert.deepEqual(got instanceof Buffer ? got.toString('utf8') : got, c.want, name);
  assert.equal(p.rest, c.rest ?? '', `${name}: rest`);
}

const tag: Read = (p) => p.tag();
const atom: Read = (p) => p.atom();
const astring: Read = (p) => p.astring();
const nstring: Read = (p) => p.nstring();
const mailbox: Read = (p) => p.mailbox();
const listMailbox: Read = (p) => p.listMailbox();
const seqset: Read = (p) => p.sequenceSet();
const flags: Read = (p) => p.flagList();
const number: Read = (p) => p.number();
const nz: Read = (p) => p.nzNumber();
const dateTime: Read = (p) => new Date(p.dateTime()).toISOString();
const date: Read = (p) => new Date(p.date()).toISOString().slice(0, 10);
const end: Read = (p) => p.end();

test('tags and atoms', async () => {
  const cases: Case[] = [
    { line: 'a1 NOOP', read: tag, want: 'a1', rest: ' NOOP' },
    { line: 'A.b-c_1 X', read: tag, want: 'A.b-c_1', rest: ' X' },
    { line: '+ NOOP', read: tag, error: /./ },
    { line: '* NOOP', read: tag, error: /./ },
    { line: ' NOOP', read: tag, error: /./ },
    { line: 'FETCH (', read: atom, want: 'FETCH', rest: ' (' },
    { line: 'a{b', read: atom, want: 'a', rest: '{b' },
    { line: '(x', read: atom, error: /./ },
    { line: '', read: atom, error: /./ },
    { line: '', read: end, want: undefined },
    { line: ' x', read: end, error: /./ },
  ];
  for (const c of cases) await run(c);
});

test('strings: atoms, quoted, literals, NIL', async () => {
  const cases: Case[] = [
    { line: 'hello world', read: astring, want: 'hello', rest: ' world' },
    { line: '"a \\"b\\" \\\\ c" x', read: astring, want: 'a "b" \\ c', rest: ' x' },
    { line: '"unterminated', read: astring, error: /unterminated quoted string/ },
    { line: '"bad \\x escape"', read: astring, error: /./ },
    { line: '"a\rb"', read: astring, error: /./ },
    { line: 'x]y', read: astring, want: 'x]y' },
    {
      line: '{5}',
      read: astring,
      lines: [' tail'],
      literals: ['hello'],
      want: 'hello',
      rest: ' tail',
    },
    { line: '{5+}', read: astring, lines: [''], literals: ['he\r\nl'], want: 'he\r\nl' },
    { line: '~{3}', read: (p) => p.string(), error: /binary literal not allowed here/ },
    { line: '~{3}', read: astring, want: '~', rest: '{3}' },
    { line: '{x}', read: astring, error: /./ },
    { line: '{99999999999999999999}', read: astring, error: /./ },
    { line: 'NIL', read: nstring, want: null },
    { line: '"NIL"', read: nstring, want: 'NIL' },
    { line: 'caf\u00e9', read: astring, utf8: true, want: 'caf\u00e9' },
  ];
  for (const c of cases) await run(c);
});

test('mailbox names and patterns', async () => {
  const cases: Case[] = [
    { line: 'inbox', read: mailbox, want: 'Inbox' },
    { line: 'INBOX/Sub', read: mailbox, want: 'Inbox/Sub' },
    { line: 'Inboxes', read: mailbox, want: 'Inboxes' },
    { line: '"Sent Items"', read: mailbox, want: 'Sent Items' },
    // Modified UTF-7 without UTF-8, raw UTF-8 with it (RFC 3501 §5.1.3, RFC 6855 §3).
    { line: 'Entw&APw-rfe', read: mailbox, want: 'Entwürfe' },
    { line: '"Entw\u00fcrfe"', read: mailbox, utf8: true, want: 'Entwürfe' },
    { line: 'Entw&APw-rfe', read: mailbox, utf8: true, want: 'Entw&APw-rfe' },
    // Not a name any mailbox can have: NO, not BAD.
    { line: '&Jjo', read: mailbox, refused: /invalid modified UTF-7/ },
    {
      line: '"a\u00fcb"',
      read: mailbox,
      error: /8-bit character in quoted string without UTF8=ACCEPT/,
    },
    // Without UTF-8 an 8-bit octet ends an atom; the command's end() then refuses the rest.
    { line: 'a\u00fcb', read: mailbox, want: 'a', rest: '\u00fcb' },
    { line: '&AAE-', read: mailbox, error: /control characters in mailbox name/ },
    { line: 'Fruit/*', read: listMailbox, want: 'Fruit/*' },
    { line: '%', read: listMailbox, want: '%' },
    { line: '"" x', read: listMailbox, want: '', rest: ' x' },
  ];
  for (const c of cases) await run(c);
});

test('numbers, sequence sets and flags', async () => {
  const cases: Case[] = [
    { line: '0', read: number, want: 0 },
    { line: '4294967295', read: number, want: 4294967295 },
    { line: '4294967296', read: number, error: /./ },
    { line: '0', read: nz, error: /./ },
    { line: '-1', read: number, error: /./ },
    {
      line: '1:3,5,7:*',
      read: seqset,
      want: {
        saved: false,
        ranges: [
          [1, 3],
          [5, 5],
          [7, -1],
        ],
      },
    },
    { line: '*', read: seqset, want: { saved: false, ranges: [[-1, -1]] } },
    { line: '$', read: seqset, want: { saved: true, ranges: [] } },
    { line: '1,', read: seqset, error: /./ },
    { line: '0:3', read: seqset, error: /./ },
    { line: '1:3 x', read: seqset, want: { saved: false, ranges: [[1, 3]] }, rest: ' x' },
    { line: '(\\Seen $Junk)', read: flags, want: ['\\Seen', '$Junk'] },
    { line: '()', read: flags, want: [] },
    { line: '(\\Seen', read: flags, error: /./ },
    { line: '(\\Seen  \\Draft)', read: flags, error: /./ },
  ];
  for (const c of cases) await run(c);
});

test('dates and date-times', async () => {
  const cases: Case[] = [
    { line: '"17-Jul-1996 02:44:25 -0700"', read: dateTime, want: '1996-07-17T09:44:25.000Z' },
    { line: '" 7-Dec-2026 23:59:59 +0100"', read: dateTime, want: '2026-12-07T22:59:59.000Z' },
    { line: '"7-Dec-2026 23:59:59 +0100"', read: dateTime, error: /invalid date-time/ },
    { line: '"17-Foo-1996 02:44:25 -0700"', read: dateTime, error: /invalid month/ },
    { line: '"32-Jul-1996 02:44:25 -0700"', read: dateTime, error: /invalid date-time/ },
    { line: '"17-Jul-1996 24:00:00 +0000"', read: dateTime, error: /invalid date-time/ },
    { line: '1-Feb-1994', read: date, want: '1994-02-01' },
    { line: '"01-feb-1994" x', read: date, want: '1994-02-01', rest: ' x' },
    { line: '1-Xyz-1994', read: date, error: /invalid date/ },
    { line: '"1-Feb-1994', read: date, error: /./ },
  ];
  for (const c of cases) await run(c);
});

test('literalAtEnd: the literal a line announces, whatever the rest says', () => {
  const cases: [string, ReturnType<typeof literalAtEnd>][] = [
    ['a APPEND INBOX {12}', { size: 12, sync: true, binary: false }],
    ['a APPEND INBOX {12+}', { size: 12, sync: false, binary: false }],
    ['a APPEND INBOX ~{12}', { size: 12, sync: true, binary: true }],
    ['a APPEND INBOX ~{0+}', { size: 0, sync: false, binary: true }],
    ['garbage {3+}', { size: 3, sync: false, binary: false }],
    ['a LOGIN {99999999999999999999+}', { size: Infinity, sync: false, binary: false }],
    ['a NOOP', null],
    ['a SEARCH "{3}"', null],
    ['a X {3} ', null],
    ['a X {+}', null],
    ['a X {-1}', null],
    ['}', null],
  ];
  for (const [line, want] of cases) assert.deepEqual(literalAtEnd(Buffer.from(line)), want, line);
});
