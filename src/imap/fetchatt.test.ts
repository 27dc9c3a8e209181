// The FETCH attribute grammar, table-driven: the text after the sequence set, and the
// items it parses to (with what is left of the line) or the syntax error it is refused with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError, Parser, type LiteralSource } from './parser.js';
import { parseFetchAtts, type FetchItem, type Section } from './fetchatt.js';

function source(lines: string[], literals: string[]): LiteralSource {
  return {
    readLiteral: async (lit) => {
      const data = Buffer.from(literals.shift() ?? '', 'utf8');
      assert.equal(data.length, lit.size, 'literal size');
      return data;
    },
    nextLine: async () => Buffer.from(lines.shift() ?? '', 'utf8'),
  };
}

type Case = {
  line: string;
  want?: FetchItem[];
  rest?: string;
  error?: RegExp;
  lines?: string[];
  literals?: string[];
};

const sec = (path: number[], text: Section['text'] = '', fields: string[] = []): Section => ({
  path,
  text,
  fields,
});
const body = (label: string, section: Section, o: Partial<FetchItem> = {}): FetchItem =>
  ({
    kind: 'section',
    binary: false,
    peek: false,
    section,
    partial: null,
    label,
    ...o,
  }) as FetchItem;
const binary = (label: string, section: Section, o: Partial<FetchItem> = {}): FetchItem =>
  body(label, section, { binary: true, ...o } as Partial<FetchItem>);

const cases: Case[] = [
  // Macros (RFC 9051 §6.4.5), only on their own.
  {
    line: 'ALL',
    want: [{ kind: 'flags' }, { kind: 'internaldate' }, { kind: 'size' }, { kind: 'envelope' }],
  },
  { line: 'fast', want: [{ kind: 'flags' }, { kind: 'internaldate' }, { kind: 'size' }] },
  {
    line: 'FULL',
    want: [
      { kind: 'flags' },
      { kind: 'internaldate' },
      { kind: 'size' },
      { kind: 'envelope' },
      { kind: 'body' },
    ],
  },
  { line: '(ALL)', error: /unknown fetch attribute "ALL"/ },
  { line: '(FLAGS FAST)', error: /unknown fetch attribute "FAST"/ },
  // Simple attributes, alone or in a list, in any case.
  { line: 'FLAGS', want: [{ kind: 'flags' }] },
  { line: 'uid', want: [{ kind: 'uid' }] },
  {
    line: '(FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY)',
    want: [
      { kind: 'flags' },
      { kind: 'uid' },
      { kind: 'internaldate' },
      { kind: 'size' },
      { kind: 'envelope' },
      { kind: 'bodystructure' },
      { kind: 'body' },
    ],
  },
  { line: 'FLAGS)', want: [{ kind: 'flags' }], rest: ')' },
  { line: 'FLAGS UID', want: [{ kind: 'flags' }], rest: ' UID' },
  // BODY[section]<partial> (RFC 9051 §6.4.5).
  { line: 'BODY[]', want: [body('BODY[]', sec([]))] },
  { line: 'BODY.PEEK[]', want: [body('BODY[]', sec([]), { peek: true })] },
  { line: 'body.peek[text]', want: [body('BODY[TEXT]', sec([], 'TEXT'), { peek: true })] },
  { line: 'BODY[HEADER]', want: [body('BODY[HEADER]', sec([], 'HEADER'))] },
  { line: 'BODY[1]', want: [body('BODY[1]', sec([1]))] },
  { line: 'BODY[1.2.3]', want: [body('BODY[1.2.3]', sec([1, 2, 3]))] },
  { line: 'BODY[2.MIME]', want: [body('BODY[2.MIME]', sec([2], 'MIME'))] },
  { line: 'BODY[4.2.HEADER]', want: [body('BODY[4.2.HEADER]', sec([4, 2], 'HEADER'))] },
  { line: 'BODY[1.TEXT]', want: [body('BODY[1.TEXT]', sec([1], 'TEXT'))] },
  {
    line: 'BODY.PEEK[HEADER.FIELDS (Subject From)]',
    want: [
      body('BODY[HEADER.FIELDS (Subject From)]', sec([], 'HEADER.FIELDS', ['Subject', 'From']), {
        peek: true,
      }),
    ],
  },
  {
    line: 'BODY[1.HEADER.FIELDS.NOT ("X-Spam" date)]',
    want: [
      body(
        'BODY[1.HEADER.FIELDS.NOT (X-Spam date)]',
        sec([1], 'HEADER.FIELDS.NOT', ['X-Spam', 'date']),
      ),
    ],
  },
  {
    // Header names may be literals; the label echoes them as astrings.
    line: 'BODY[HEADER.FIELDS ({4}',
    literals: ['a b!'],
    lines: [')]'],
    want: [body('BODY[HEADER.FIELDS ("a b!")]', sec([], 'HEADER.FIELDS', ['a b!']))],
  },
  {
    line: 'BODY[]<0.100>',
    want: [body('BODY[]<0>', sec([]), { partial: { origin: 0, count: 100 } })],
  },
  {
    line: 'BODY.PEEK[1]<1024.2048>',
    want: [body('BODY[1]<1024>', sec([1]), { peek: true, partial: { origin: 1024, count: 2048 } })],
  },
  { line: 'BODY[]<0.0>', error: /partial length must not be zero/ },
  { line: 'BODY[]<5>', error: /expected/ },
  { line: 'BODY[MIME]', error: /invalid section/ },
  { line: 'BODY[0]', error: /./ },
  { line: 'BODY[1.]', error: /invalid section/ },
  { line: 'BODY[HEADER.FIELDS]', error: /expected space/ },
  { line: 'BODY[HEADER.FIELDS ()]', error: /./ },
  { line: 'BODY[TEXT', error: /expected/ },
  { line: 'BODY.PEEK', error: /expected/ },
  // BINARY (RFC 3516 §4.2): part numbers only; a partial fetch names its origin.
  { line: 'BINARY[]', want: [binary('BINARY[]', sec([]))] },
  { line: 'BINARY[1.2]', want: [binary('BINARY[1.2]', sec([1, 2]))] },
  { line: 'BINARY.PEEK[1]', want: [binary('BINARY[1]', sec([1]), { peek: true })] },
  {
    line: 'BINARY[1]<10.20>',
    want: [binary('BINARY[1]<10>', sec([1]), { partial: { origin: 10, count: 20 } })],
  },
  {
    line: 'BINARY.SIZE[2]',
    want: [{ kind: 'binarysize', section: sec([2]), label: 'BINARY.SIZE[2]' }],
  },
  {
    line: 'BINARY.SIZE[]',
    want: [{ kind: 'binarysize', section: sec([]), label: 'BINARY.SIZE[]' }],
  },
  { line: 'BINARY[HEADER]', error: /only part numbers allowed in a BINARY section/ },
  { line: 'BINARY[1.TEXT]', error: /only part numbers allowed in a BINARY section/ },
  { line: 'BINARY.SIZE[1.MIME]', error: /only part numbers allowed in a BINARY section/ },
  {
    line: 'BINARY.SIZE[1]<0.10>',
    want: [{ kind: 'binarysize', section: sec([1]), label: 'BINARY.SIZE[1]' }],
    rest: '<0.10>',
  },
  // IMAP4rev1 forms (RFC 3501 §6.4.5).
  { line: 'RFC822', want: [body('RFC822', sec([]))] },
  { line: 'RFC822.HEADER', want: [body('RFC822.HEADER', sec([], 'HEADER'), { peek: true })] },
  { line: 'RFC822.TEXT', want: [body('RFC822.TEXT', sec([], 'TEXT'))] },
  // Not fetch attributes.
  { line: 'XYZZY', error: /unknown fetch attribute "XYZZY"/ },
  { line: 'BODY[]X', want: [body('BODY[]', sec([]))], rest: 'X' },
  { line: '', error: /expected fetch attribute/ },
  { line: '()', error: /expected fetch attribute/ },
  { line: '(FLAGS', error: /expected/ },
  { line: '(FLAGS  UID)', error: /expected fetch attribute/ },
  { line: '(FLAGS UID', error: /expected/ },
];

for (const c of cases) {
  test(JSON.stringify(c.line), async () => {
    const p = new Parser(
      Buffer.from(c.line, 'utf8'),
      source(c.lines ?? [], c.literals ?? []),
      false,
    );
    if (c.error) {
      await assert.rejects(
        () => parseFetchAtts(p),
        (e: unknown) => e instanceof ParseError && c.error!.test(e.message),
      );
      return;
    }
    assert.deepEqual(await parseFetchAtts(p), c.want);
    assert.equal(p.rest, c.rest ?? '', 'rest of the line');
  });
}
