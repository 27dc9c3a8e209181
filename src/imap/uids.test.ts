// The session's UID list: removing many UIDs in one pass gives the same numbering and
// the same EXPUNGE sequence numbers as removing them one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UidList } from './uids.js';

test('removeMany: examples', () => {
  const cases: [number[], number[], number[], number[]][] = [
    // list, removed (ascending), indexes at their turn, list after
    [
      [1, 2, 3, 4, 5],
      [2, 4],
      [1, 2],
      [1, 3, 5],
    ],
    [[1, 2, 3], [1, 2, 3], [0, 0, 0], []],
    [[5, 9], [1, 9, 12], [-1, 1, -1], [5]],
    [[], [3], [-1], []],
    [[7], [], [], [7]],
  ];
  for (const [list, gone, at, after] of cases) {
    const l = new UidList(list);
    assert.deepEqual(l.removeMany(gone), at, JSON.stringify([list, gone]));
    assert.deepEqual(l.toArray(), after);
  }
});

test('removeMany agrees with remove one by one', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }),
      fc.uniqueArray(fc.integer({ min: 1, max: 200 }), { maxLength: 60 }),
      (list, gone) => {
        list.sort((a, b) => a - b);
        gone.sort((a, b) => a - b);
        const one = new UidList(list);
        const each = gone.map((u) => one.remove(u));
        const many = new UidList(list);
        assert.deepEqual(many.removeMany(gone), each);
        assert.deepEqual(many.toArray(), one.toArray());
        assert.equal(many.length, one.length);
      },
    ),
    { numRuns: 500 },
  );
});
