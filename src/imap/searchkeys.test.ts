// SEARCH keys (RFC 9051 §6.4.4, §9 "search-key"): parsing, RETURN and CHARSET options,
// the plan of what to read per message and evaluation, and the date helpers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParseError, Parser, type LiteralSource } from './parser.js';
import { UserError } from './errors.js';
import { Flag } from '../store/index.js';
import {
  MAX_SEARCH_DEPTH,
  NO,
  UNKNOWN,
  YES,
  Need,
  dateHeaderDay,
  evaluate,
  parseSearch,
  planSearch,
  toRanges,
  utcDay,
  type MessageFacts,
  type SearchCommand,
  type SearchEnv,
  type SearchKey,
} from './searchkeys.js';

/** A literal source serving queued continuation lines; literal data is given inline. */
function source(parts: { literals?: string[]; lines?: string[] } = {}): LiteralSource {
  const literals = parts.literals ?? [];
  const lines = parts.lines ?? [];
  return {
    readLiteral: async () => Buffer.from(literals.shift() ?? '', 'utf8'),
    nextLine: async () => Buffer.from(lines.shift() ?? '', 'utf8'),
  };
}

function parse(
  line: string,
  opts: { utf8?: boolean; literals?: string[]; lines?: string[] } = {},
): Promise<SearchCommand> {
  const utf8 = opts.utf8 ?? false;
  return parseSearch(new Parser(Buffer.from(line, 'utf8'), source(opts), utf8), utf8);
}

async function key(line: string): Promise<SearchKey> {
  return (await parse(line)).key;
}

const date = (s: string) => Date.parse(s + 'T00:00:00Z');

describe('parseSearch: keys', () => {
  const cases: [string, SearchKey][] = [
    ['ALL', { op: 'all' }],
    ['ANSWERED', { op: 'flag', bit: Flag.Answered, set: true }],
    ['BCC "Bob"', { op: 'header', field: 'bcc', value: 'bob' }],
    ['BEFORE 1-Feb-2024', { op: 'before', day: date('2024-02-01') }],
    ['BODY Hello', { op: 'body', value: 'hello' }],
    ['CC x@Example.org', { op: 'header', field: 'cc', value: 'x@example.org' }],
    ['DELETED', { op: 'flag', bit: Flag.Deleted, set: true }],
    ['DRAFT', { op: 'flag', bit: Flag.Draft, set: true }],
    ['FLAGGED', { op: 'flag', bit: Flag.Flagged, set: true }],
    ['FROM ann', { op: 'header', field: 'from', value: 'ann' }],
    ['HEADER X-Mailer "Mutt"', { op: 'header', field: 'x-mailer', value: 'mutt' }],
    ['HEADER "List-Id" ""', { op: 'header', field: 'list-id', value: '' }],
    ['KEYWORD Work', { op: 'keyword', name: 'work', set: true }],
    ['KEYWORD $forwarded', { op: 'flag', bit: Flag.Forwarded, set: true }],
    ['LARGER 1000', { op: 'larger', size: 1000 }],
    ['NOT SEEN', { op: 'not', key: { op: 'flag', bit: Flag.Seen, set: true } }],
    ['ON "3-Mar-2023"', { op: 'on', day: date('2023-03-03') }],
    [
      'OR SEEN DRAFT',
      {
        op: 'or',
        a: { op: 'flag', bit: Flag.Seen, set: true },
        b: { op: 'flag', bit: Flag.Draft, set: true },
      },
    ],
    ['RECENT', { op: 'recent' }],
    ['NEW', { op: 'and', keys: [{ op: 'recent' }, { op: 'flag', bit: Flag.Seen, set: false }] }],
    ['OLD', { op: 'not', key: { op: 'recent' } }],
    ['SEEN', { op: 'flag', bit: Flag.Seen, set: true }],
    ['SENTBEFORE 10-Jan-2020', { op: 'sentbefore', day: date('2020-01-10') }],
    ['SENTON 10-jan-2020', { op: 'senton', day: date('2020-01-10') }],
    ['SENTSINCE 10-JAN-2020', { op: 'sentsince', day: date('2020-01-10') }],
    ['SINCE 31-Dec-1999', { op: 'since', day: date('1999-12-31') }],
    ['SMALLER 5', { op: 'smaller', size: 5 }],
    ['SUBJECT "Hello World"', { op: 'header', field: 'subject', value: 'hello world' }],
    ['TEXT foo', { op: 'text', value: 'foo' }],
    ['TO "bob@example.org"', { op: 'header', field: 'to', value: 'bob@example.org' }],
    [
      'UID 1:5,9',
      {
        op: 'uid',
        set: {
          saved: false,
          ranges: [
            [1, 5],
            [9, 9],
          ],
        },
      },
    ],
    ['UID $', { op: 'uid', set: { saved: true, ranges: [] } }],
    // RFC 7162 §3.1.5: one modseq per message here, so the entry name only gets checked.
    ['MODSEQ 0', { op: 'modseq', min: 0 }],
    ['MODSEQ 620162338', { op: 'modseq', min: 620162338 }],
    ['MODSEQ "/flags/\\\\draft" all 620162338', { op: 'modseq', min: 620162338 }],
    ['MODSEQ "/flags/$Junk" priv 7', { op: 'modseq', min: 7 }],
    ['modseq "/FLAGS/Work" Shared 7', { op: 'modseq', min: 7 }],
    ['MODSEQ 9223372036854775807', { op: 'modseq', min: Number.MAX_SAFE_INTEGER }],
    ['UNANSWERED', { op: 'flag', bit: Flag.Answered, set: false }],
    ['UNDELETED', { op: 'flag', bit: Flag.Deleted, set: false }],
    ['UNDRAFT', { op: 'flag', bit: Flag.Draft, set: false }],
    ['UNFLAGGED', { op: 'flag', bit: Flag.Flagged, set: false }],
    ['UNKEYWORD work', { op: 'keyword', name: 'work', set: false }],
    ['UNSEEN', { op: 'flag', bit: Flag.Seen, set: false }],
    ['2:*', { op: 'seq', set: { saved: false, ranges: [[2, -1]] } }],
    ['*', { op: 'seq', set: { saved: false, ranges: [[-1, -1]] } }],
    ['$', { op: 'seq', set: { saved: true, ranges: [] } }],
    ['(SEEN)', { op: 'flag', bit: Flag.Seen, set: true }],
    // Empty strings match everything, except HEADER which needs the field.
    ['SUBJECT ""', { op: 'all' }],
    ['BODY ""', { op: 'all' }],
    ['TEXT ""', { op: 'all' }],
  ];
  for (const [line, want] of cases) {
    it(line, async () => assert.deepEqual(await key(line), want));
  }

  it('is case-insensitive in key names', async () => {
    assert.deepEqual(await key('unseen or Flagged answered'), {
      op: 'and',
      keys: [
        { op: 'flag', bit: Flag.Seen, set: false },
        {
          op: 'or',
          a: { op: 'flag', bit: Flag.Flagged, set: true },
          b: { op: 'flag', bit: Flag.Answered, set: true },
        },
      ],
    });
  });

  it('reads numbers strictly: or larger 123 smaller 123', async () => {
    assert.deepEqual(await key('or larger 123 smaller 123'), {
      op: 'or',
      a: { op: 'larger', size: 123 },
      b: { op: 'smaller', size: 123 },
    });
  });

  it('flattens lists and nests OR/NOT', async () => {
    assert.deepEqual(await key('(SEEN (DRAFT)) NOT (OR 1 UID 2 FLAGGED)'), {
      op: 'and',
      keys: [
        { op: 'flag', bit: Flag.Seen, set: true },
        { op: 'flag', bit: Flag.Draft, set: true },
        {
          op: 'not',
          key: {
            op: 'and',
            keys: [
              {
                op: 'or',
                a: { op: 'seq', set: { saved: false, ranges: [[1, 1]] } },
                b: { op: 'uid', set: { saved: false, ranges: [[2, 2]] } },
              },
              { op: 'flag', bit: Flag.Flagged, set: true },
            ],
          },
        },
      ],
    });
  });

  it('reads strings from literals', async () => {
    const cmd = await parse('SUBJECT {5}', {
      literals: ['HeLLo', 'aBc'],
      lines: [' FROM {3}', ''],
    });
    assert.deepEqual(cmd.key, {
      op: 'and',
      keys: [
        { op: 'header', field: 'subject', value: 'hello' },
        { op: 'header', field: 'from', value: 'abc' },
      ],
    });
  });

  it('reads UTF-8 from a literal without UTF8=ACCEPT', async () => {
    const cmd = await parse('CHARSET UTF-8 SUBJECT {11}', {
      literals: ['Über Alles'],
      lines: [''],
    });
    assert.deepEqual(cmd.key, { op: 'header', field: 'subject', value: 'über alles' });
  });

  it('accepts nesting up to the limit and refuses deeper', async () => {
    const ok = '('.repeat(MAX_SEARCH_DEPTH - 1) + 'SEEN' + ')'.repeat(MAX_SEARCH_DEPTH - 1);
    assert.deepEqual(await key(ok), { op: 'flag', bit: Flag.Seen, set: true });
    const deep = '('.repeat(MAX_SEARCH_DEPTH) + 'SEEN' + ')'.repeat(MAX_SEARCH_DEPTH);
    await assert.rejects(key(deep), ParseError);
    await assert.rejects(key('NOT '.repeat(MAX_SEARCH_DEPTH) + 'SEEN'), ParseError);
    await assert.rejects(key('OR '.repeat(5000) + 'SEEN'), ParseError);
  });

  const bad = [
    '',
    'BOGUS',
    'LARGER',
    'LARGER 12a',
    'LARGER -1',
    'LARGER 123SMALLER 5',
    'SMALLER 99999999999999999999',
    'UID 0',
    'UID',
    '0',
    '1:2:3',
    'SINCE 1-Foo-2020',
    'SINCE 2020-01-01',
    'SEEN ',
    'SEEN  DRAFT',
    '(SEEN',
    'SEEN)',
    '()',
    'OR SEEN',
    'NOT',
    'HEADER "" x',
    'HEADER Subject',
    'KEYWORD',
    'FROM "unterminated',
    'RETURN (FOO) ALL',
    'RETURN (MIN',
    'RETURN MIN ALL',
    'RETURN (MIN)',
    'CHARSET',
    'CHARSET UTF-8',
    'MODSEQ',
    'MODSEQ -1',
    'MODSEQ 9223372036854775808',
    'MODSEQ "/flags/\\\\seen" 5',
    'MODSEQ "/flags/\\\\seen" any 5',
    'MODSEQ "/annotation/x" all 5',
    'MODSEQ "/flags/" all 5',
  ];
  for (const line of bad) {
    it(`BAD: ${JSON.stringify(line)}`, async () => {
      await assert.rejects(key(line), ParseError);
    });
  }
});

describe('parseSearch: RETURN and CHARSET', () => {
  it('has no return options without RETURN', async () => {
    assert.equal((await parse('ALL')).returns, null);
  });

  it('reads RETURN options; RETURN () means ALL', async () => {
    assert.deepEqual((await parse('RETURN () ALL')).returns, new Set(['ALL']));
    assert.deepEqual(
      (await parse('return (min MAX count Save all) SEEN')).returns,
      new Set(['MIN', 'MAX', 'COUNT', 'SAVE', 'ALL']),
    );
    assert.deepEqual((await parse('RETURN (SAVE) SEEN')).returns, new Set(['SAVE']));
  });

  it('accepts UTF-8 and US-ASCII in any case', async () => {
    assert.equal((await parse('CHARSET utf-8 ALL')).charset, 'UTF-8');
    assert.equal((await parse('CHARSET "US-ASCII" ALL')).charset, 'US-ASCII');
    assert.deepEqual((await parse('RETURN (COUNT) CHARSET UTF-8 SUBJECT x')).key, {
      op: 'header',
      field: 'subject',
      value: 'x',
    });
  });

  it('refuses other charsets with BADCHARSET after reading the whole command', async () => {
    const lines = [''];
    const src = source({ literals: ['abc'], lines });
    const p = new Parser(Buffer.from('CHARSET ISO-8859-1 SUBJECT {3}'), src, false);
    await assert.rejects(parseSearch(p, false), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.code, 'BADCHARSET (UTF-8 US-ASCII)');
      return true;
    });
    assert.equal(lines.length, 0, 'the literal and the rest of the command were read');
  });

  it('accepts UTF-8 and US-ASCII once UTF-8 is enabled, and none is needed', async () => {
    assert.equal((await parse('CHARSET UTF-8 ALL', { utf8: true })).charset, 'UTF-8');
    assert.deepEqual((await parse('SUBJECT "Grüße"', { utf8: true })).key, {
      op: 'header',
      field: 'subject',
      value: 'grüße',
    });
    assert.equal((await parse('CHARSET US-ASCII ALL', { utf8: true })).charset, 'US-ASCII');
    await assert.rejects(parse('CHARSET KOI8-R ALL', { utf8: true }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.code, 'BADCHARSET (UTF-8 US-ASCII)');
      return true;
    });
  });
});

// ---- planning and evaluation ----

const env: SearchEnv = { count: 5, maxUid: 50, saved: [20, 40] };

function facts(over: Partial<MessageFacts> = {}): MessageFacts {
  return {
    id: 200,
    seq: 2,
    uid: 20,
    flags: Flag.Seen,
    keywords: ['Work'],
    internalDate: Date.parse('2024-02-01T23:30:00Z'),
    saveDate: Date.parse('2024-03-05T08:00:00Z'),
    size: 1000,
    modseq: 9,
    ...over,
  };
}

async function run(line: string, f: MessageFacts, e: SearchEnv = env): Promise<number> {
  return evaluate(planSearch(await key(line), e).matcher, f);
}

describe('planSearch and evaluate', () => {
  it('matches flags and keywords', async () => {
    const f = facts();
    assert.equal(await run('SEEN', f), YES);
    assert.equal(await run('UNSEEN', f), NO);
    assert.equal(await run('FLAGGED', f), NO);
    assert.equal(await run('UNFLAGGED', f), YES);
    assert.equal(await run('KEYWORD work', f), YES);
    assert.equal(await run('UNKEYWORD WORK', f), NO);
    assert.equal(await run('KEYWORD other', f), NO);
    assert.equal(await run('KEYWORD \\Seen', f), YES);
    // Not recent in this session (env has no recent UIDs), then recent (UID 20).
    assert.equal(await run('NEW', f), NO);
    assert.equal(await run('OLD', f), YES);
    assert.equal(await run('RECENT', f), NO);
    const recent = { ...env, recent: new Set([20]) };
    assert.equal(await run('RECENT', f, recent), YES);
    assert.equal(await run('OLD', f, recent), NO);
    assert.equal(await run('NEW', f, recent), NO, 'recent but seen');
    assert.equal(await run('NEW', facts({ flags: 0 }), recent), YES);
  });

  it('compares sizes strictly', async () => {
    const f = facts({ size: 123 });
    assert.equal(await run('LARGER 122', f), YES);
    assert.equal(await run('LARGER 123', f), NO);
    assert.equal(await run('SMALLER 124', f), YES);
    assert.equal(await run('SMALLER 123', f), NO);
    assert.equal(await run('OR LARGER 123 SMALLER 123', f), NO);
    assert.equal(await run('OR LARGER 123 SMALLER 124', f), YES);
  });

  it('compares internal dates by UTC day', async () => {
    const f = facts(); // 2024-02-01 23:30 UTC
    assert.equal(await run('ON 1-Feb-2024', f), YES);
    assert.equal(await run('ON 2-Feb-2024', f), NO);
    assert.equal(await run('SINCE 1-Feb-2024', f), YES);
    assert.equal(await run('SINCE 2-Feb-2024', f), NO);
    assert.equal(await run('BEFORE 1-Feb-2024', f), NO);
    assert.equal(await run('BEFORE 2-Feb-2024', f), YES);
  });

  it('matches sequence sets and UID sets, with * and out-of-range numbers', async () => {
    const f = facts({ seq: 5, uid: 50 });
    assert.equal(await run('5', f), YES);
    assert.equal(await run('*', f), YES);
    assert.equal(await run('1:4', f), NO);
    assert.equal(await run('4:*', f), YES);
    assert.equal(await run('1,3,5:7', f), YES);
    assert.equal(await run('100:200', f), NO);
    assert.equal(await run('UID 50', f), YES);
    assert.equal(await run('UID *', f), YES);
    assert.equal(await run('UID 60:*', f), YES, 'a range with * includes the highest UID');
    assert.equal(await run('UID 1:49', f), NO);
    assert.equal(await run('*', f, { count: 0, maxUid: 0, saved: null }), NO);
  });

  it('matches $ against the saved UIDs in both positions', async () => {
    assert.equal(await run('$', facts({ uid: 40 })), YES);
    assert.equal(await run('UID $', facts({ uid: 40 })), YES);
    assert.equal(await run('UID $', facts({ uid: 30 })), NO);
    assert.equal(await run('$', facts({ uid: 40 }), { ...env, saved: null }), NO);
  });

  it('is UNKNOWN until the data a key needs is there', async () => {
    const f = facts();
    assert.equal(await run('SUBJECT hello', f), UNKNOWN);
    assert.equal(await run('SENTON 1-Feb-2024', f), UNKNOWN);
    assert.equal(await run('BODY hello', f), UNKNOWN);
    // Cheap keys decide where they can.
    assert.equal(await run('UNSEEN SUBJECT hello', f), NO);
    assert.equal(await run('OR SEEN BODY hello', f), YES);
    assert.equal(await run('NOT BODY hello', f), UNKNOWN);
    assert.equal(await run('OR UNSEEN BODY hello', f), UNKNOWN);
    f.header = [
      { name: 'subject', value: 'well hello there' },
      { name: 'x-empty', value: '' },
    ];
    assert.equal(await run('SUBJECT HELLO', f), YES);
    assert.equal(await run('SUBJECT bye', f), NO);
    assert.equal(await run('HEADER X-Empty ""', f), YES);
    assert.equal(await run('HEADER X-Other ""', f), NO);
    f.text = { header: 'subject: well hello there', body: 'body text' };
    assert.equal(await run('BODY text', f), YES);
    assert.equal(await run('BODY hello', f), NO);
    assert.equal(await run('TEXT hello', f), YES);
    assert.equal(await run('NOT TEXT hello', f), NO);
    f.sentDay = Date.parse('2024-01-31');
    assert.equal(await run('SENTON 31-Jan-2024', f), YES);
    assert.equal(await run('SENTBEFORE 31-Jan-2024', f), NO);
    assert.equal(await run('SENTSINCE 31-Jan-2024', f), YES);
  });

  it('records what the search needs and puts cheap AND terms first', async () => {
    const p = planSearch(await key('BODY x SUBJECT y KEYWORD k SEEN'), env);
    assert.equal(p.need, Need.Text);
    assert.equal(p.keywords, true);
    assert.equal(p.headerFields, true);
    assert.equal(p.matcher.op, 'and');
    if (p.matcher.op === 'and') {
      assert.deepEqual(
        p.matcher.ms.map((m) => m.op),
        ['keyword', 'flag', 'header', 'body'],
      );
    }
    const q = planSearch(await key('SEEN SENTON 1-Jan-2020'), env);
    assert.deepEqual([q.need, q.keywords, q.headerFields], [Need.Part, false, false]);
    assert.equal(planSearch(await key('TEXT x'), env).headerFields, false);
  });
});

describe('toRanges', () => {
  it('sorts, resolves * and merges overlapping and adjacent ranges', () => {
    assert.deepEqual(
      toRanges(
        {
          saved: false,
          ranges: [
            [9, 7],
            [1, 2],
            [3, 3],
            [-1, 20],
            [100, 100],
          ],
        },
        10,
      ),
      [1, 3, 7, 20, 100, 100],
    );
    assert.deepEqual(toRanges({ saved: false, ranges: [[-1, -1]] }, 0), [0, 0]);
  });
});

describe('dateHeaderDay', () => {
  const cases: [string, string | null][] = [
    ['Thu, 1 Feb 2024 23:30:00 -0500', '2024-02-01'],
    ['1 Feb 2024 01:00 +1400', '2024-02-01'],
    ['Mon, 05 Aug 99 10:00:00 GMT', '1999-08-05'],
    ['Mon, 05 Aug 07 10:00:00 GMT', '2007-08-05'],
    ['(comment) Tue, 6 September 2022 10:00 +0000', '2022-09-06'],
    ['Fri, 31 Feb 2023 10:00 +0000', null],
    ['yesterday', null],
    ['', null],
  ];
  for (const [v, want] of cases) {
    it(JSON.stringify(v), () =>
      assert.equal(dateHeaderDay(v), want === null ? null : Date.parse(want)),
    );
  }
});

describe('utcDay', () => {
  it('truncates to UTC midnight', () => {
    assert.equal(utcDay(Date.parse('2024-02-01T23:59:59.999Z')), Date.parse('2024-02-01'));
    assert.equal(utcDay(Date.parse('1969-12-31T12:00:00Z')), Date.parse('1969-12-31'));
  });
});
