// LIST pattern matching (RFC 9051 §6.3.9): the position-set matcher against a direct
// recursive definition of "*" and "%".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MailboxPattern } from './listpattern.js';

/** The definition: "*" matches any run, "%" any run without "/". */
function reference(pattern: string, name: string): boolean {
  if (pattern === '') return name === '';
  const p = pattern[0];
  if (p === '*' || p === '%') {
    for (let i = 0; i <= name.length; i++) {
      if (p === '%' && name.slice(0, i).includes('/')) break;
      if (reference(pattern.slice(1), name.slice(i))) return true;
    }
    return false;
  }
  return name[0] === p && reference(pattern.slice(1), name.slice(1));
}

test('matches as the definition does', () => {
  const chars = (alphabet: string[], max: number) =>
    fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((a) => a.join(''));
  fc.assert(
    fc.property(chars(['a', 'b', '/', '*', '%'], 8), chars(['a', 'b', '/'], 10), (p, n) => {
      assert.equal(new MailboxPattern(p).matches(n), reference(p, n), `${p} ${n}`);
    }),
    { numRuns: 3000 },
  );
});

test('examples', () => {
  const m = (p: string, n: string) => new MailboxPattern(p).matches(n);
  assert.equal(m('*', ''), true);
  assert.equal(m('%', 'a/b'), false);
  assert.equal(m('%/%', 'a/b'), true);
  assert.equal(m('a*%b', 'a/x/b'), true);
  assert.equal(m('a%*%b', 'a/x/b'), true);
  assert.equal(m('a%%b', 'a/b'), false);
  assert.equal(m('a.b', 'axb'), false);
  // One matcher serves many names.
  const p = new MailboxPattern('Fruit/%');
  assert.deepEqual(
    ['Fruit', 'Fruit/Apple', 'Fruit/Apple/Green', 'Fruit/'].map((n) => p.matches(n)),
    [false, true, false, true],
  );
});

test('a long pattern of wildcards against long names stays cheap', () => {
  const p = new MailboxPattern('*a'.repeat(4000) + 'b');
  const name = 'a'.repeat(200);
  // Exponential backtracking would not finish within the test runner's timeout; a linear
  // matcher takes milliseconds, on any machine.
  for (let i = 0; i < 100; i++) assert.equal(p.matches(name), false);
});
