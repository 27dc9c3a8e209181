// The SQL form of a search must select exactly what the evaluator selects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import Database from 'better-sqlite3';
import { planSearch, evaluate, toSql, toPredicate, YES, type SearchKey } from './searchkeys.js';
import { UidList } from './uids.js';

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 10);

const leaf: fc.Arbitrary<SearchKey> = fc.oneof(
  fc.constant({ op: 'all' } as const),
  fc.record({
    op: fc.constant('flag' as const),
    bit: fc.constantFrom(1, 2, 4, 8, 16),
    set: fc.boolean(),
  }),
  fc.record({
    op: fc.constantFrom('larger' as const, 'smaller' as const),
    size: fc.integer({ min: 0, max: 3000 }),
  }),
  fc.record({
    op: fc.constantFrom('before' as const, 'on' as const, 'since' as const),
    day: fc.integer({ min: -3, max: 12 }).map((d) => BASE + d * DAY),
  }),
  fc
    .array(fc.tuple(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 60 })), {
      minLength: 1,
      maxLength: 3,
    })
    .chain((ranges) =>
      fc.record({
        op: fc.constantFrom('seq' as const, 'uid' as const),
        set: fc.constant({ saved: false, ranges }),
      }),
    ),
);
const key: fc.Arbitrary<SearchKey> = fc.letrec<{ k: SearchKey }>((tie) => ({
  k: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ op: fc.constant('not' as const), key: tie('k') }),
    fc.record({ op: fc.constant('or' as const), a: tie('k'), b: tie('k') }),
    fc.record({
      op: fc.constant('and' as const),
      keys: fc.array(tie('k'), { minLength: 1, maxLength: 3 }),
    }),
  ),
})).k;

test('toSql and toPredicate select exactly what evaluate selects', () => {
  const db = new Database(':memory:');
  db.exec(
    'CREATE TABLE messages (mailbox_id INTEGER, uid INTEGER, expunged INTEGER, flags INTEGER, size INTEGER, internal_date INTEGER)',
  );
  const rows: { uid: number; flags: number; size: number; internal_date: number }[] = [];
  const ins = db.prepare('INSERT INTO messages VALUES (1, ?, 0, ?, ?, ?)');
  for (let uid = 3; uid <= 80; uid += 1 + (uid % 3)) {
    const r = {
      uid,
      flags: (uid * 7) % 32,
      size: (uid * 37) % 3000,
      internal_date: BASE + ((uid * 5) % 11) * DAY - 3_600_000 * (uid % 30),
    };
    rows.push(r);
    ins.run(r.uid, r.flags, r.size, r.internal_date);
  }
  const session = new UidList(rows.map((r) => r.uid));
  fc.assert(
    fc.property(key, (k) => {
      const plan = planSearch(k, { count: session.length, maxUid: session.last(), saved: null });
      const cond = toSql(plan.matcher, session);
      assert.ok(cond, 'these keys are all expressible in SQL');
      const viaSql = db
        .prepare(
          `SELECT uid FROM messages WHERE mailbox_id = 1 AND expunged = 0 AND ${cond.sql} ORDER BY uid`,
        )
        .pluck()
        .all(...cond.params) as number[];
      const viaJs = rows
        .filter(
          (r, i) =>
            evaluate(plan.matcher, {
              seq: i + 1,
              uid: r.uid,
              flags: r.flags,
              keywords: [],
              internalDate: r.internal_date,
              size: r.size,
            }) === YES,
        )
        .map((r) => r.uid);
      assert.deepEqual(viaSql, viaJs, JSON.stringify(k));
      // Flag-and-number-only programs also compile to a predicate that agrees.
      const pred = toPredicate(plan.matcher);
      if (pred) {
        const viaPred = rows.filter((r, i) => pred(r.flags, r.uid, i + 1)).map((r) => r.uid);
        assert.deepEqual(viaPred, viaJs, JSON.stringify(k));
      }
    }),
    { numRuns: 500 },
  );
});
