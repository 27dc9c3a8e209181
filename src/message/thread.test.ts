import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { baseSubject, inReplyTo, messageId, references, threadingFields } from './thread.js';
import { crlf } from './testutil.js';

describe('baseSubject (RFC 5256 §2.1)', () => {
  const cases: [string, string][] = [
    ['test', 'test'],
    ['Re: test', 'test'],
    ['Re: Re: RE:re:test', 'test'],
    ['re : test', 'test'],
    ['Fw: test', 'test'],
    ['FWD: Re: test', 'test'],
    ['Fwdx: test', 'Fwdx: test'],
    ['Re[2]: test', 'test'],
    ['Re [list]: test', 'test'],
    ['[PATCH] Re: test', 'test'],
    ['[list] [PATCH v2] test', 'test'],
    ['RE:  [ietf] test', 'test'],
    ['test (fwd)', 'test'],
    ['test (FWD)  (fwd) ', 'test'],
    ['[fwd: Re: test]', 'test'],
    ['Re: [Fwd: test (fwd)]', 'test'],
    ['[Fwd: [fwd: test]]', 'test'],
    ['[blob]', '[blob]'],
    ['[a] [b]', '[b]'],
    ['Re: [only]', '[only]'],
    ['Re: ', ''],
    ['', ''],
    ['  Re:\ttest \t  with   spaces  ', 'test with spaces'],
    ['=?utf-8?q?Re=3A_caf=C3=A9?=', 'café'],
    ['Re: =?iso-8859-1?q?caf=E9?= (fwd)', 'café'],
    ['Re: test\r\n (continued)', 'test (continued)'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${JSON.stringify(expected)}`, () => {
      assert.equal(baseSubject(input), expected);
    });
  }

  it('stays fast on long hostile subjects', () => {
    assert.equal(baseSubject('[a] '.repeat(100000) + 'x'), 'x');
    assert.equal(baseSubject('Re: '.repeat(100000) + 'x'), 'x');
    assert.equal(baseSubject('[a]'.repeat(100000)), '[a]');
    assert.equal(baseSubject('x' + ' (fwd)'.repeat(100000)), 'x');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('Re:', 'Fwd:', '[x]', '(fwd)', ' ', 'a', '[fwd:', ']', 'b'), {
          maxLength: 12,
        }),
        (pieces) => {
          const once = baseSubject(pieces.join(''));
          assert.equal(baseSubject(once), once);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('message ids', () => {
  it('extracts the Message-ID without brackets', () => {
    assert.equal(messageId('<abc.123@example.org>'), 'abc.123@example.org');
    assert.equal(messageId(' (comment) <abc\r\n .123@example.org> '), 'abc.123@example.org');
    assert.equal(messageId('bare@example.org'), 'bare@example.org');
    assert.equal(messageId('<>'), undefined);
    assert.equal(messageId('no id here'), undefined);
    assert.equal(messageId(''), undefined);
  });

  it('lists References in order without duplicates', () => {
    assert.deepEqual(references('<a@x> <b@x>\r\n <a@x> junk <c@x> <>'), ['a@x', 'b@x', 'c@x']);
    assert.deepEqual(references(''), []);
  });

  it('takes the first id of In-Reply-To', () => {
    assert.equal(inReplyTo("<p@x> (Peter's message) <q@x>"), 'p@x');
    assert.equal(inReplyTo('Your message of Monday <p@x>'), 'p@x');
    assert.equal(inReplyTo('Your message of Monday'), undefined);
  });

  it('collects the threading fields of a header', () => {
    assert.deepEqual(
      threadingFields(
        crlf(
          'Message-ID: <m@x>',
          'In-Reply-To: <p@x>',
          'References: <r@x>',
          ' <p@x>',
          'Subject: Re: [list] hello',
          '',
        ),
      ),
      { messageId: 'm@x', inReplyTo: 'p@x', references: ['r@x', 'p@x'], baseSubject: 'hello' },
    );
    assert.deepEqual(threadingFields(Buffer.alloc(0)), { references: [], baseSubject: '' });
  });
});
