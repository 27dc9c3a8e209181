// A search the store answers from its columns must select exactly what the evaluator
// selects, and so must the flag-only predicate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planSearch, evaluate, YES, type SearchKey } from './searchkeys.js';
import { toFilter, toPredicate } from './searchfilter.js';
import { UidList } from './uids.js';
import { tempStore } from '../store/testutil.js';
import { Flag } from '../store/index.js';

const DAY = 86_400_000;
const BASE = Date.UTC(2024, 0, 10);
/** Messages are saved while the test runs: save-date keys around today. */
const TODAY = Math.floor(Date.now() / DAY) * DAY;

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
  fc.record({
    op: fc.constantFrom('savedbefore' as const, 'savedon' as const, 'savedsince' as const),
    day: fc.integer({ min: -2, max: 2 }).map((d) => TODAY + d * DAY),
  }),
  // Each message is added in its own transaction; a few get later modseqs from STORE.
  fc.record({ op: fc.constant('modseq' as const), min: fc.integer({ min: 0, max: 70 }) }),
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

test('the store filter and toPredicate select exactly what evaluate selects', async () => {
  const { store, cleanup } = await tempStore();
  try {
    const account = await store.account('a');
    const mb = (await account.mailbox('Inbox'))!;
    const rows: {
      uid: number;
      flags: number;
      size: number;
      internalDate: number;
      saveDate: number;
    }[] = [];
    for (let n = 1; n <= 60; n++) {
      const pad = (n * 37) % 3000;
      const p = await store.prepareMessage(
        Buffer.from(`Subject: ${n}\r\n\r\n${'x'.repeat(pad)}\r\n`),
      );
      const flags = (n * 7) % 32;
      const internalDate = BASE + ((n * 5) % 11) * DAY - 3_600_000 * (n % 30);
      const r = await account.addMessages(mb.id, [{ message: p, flags, internalDate }]);
      await p.cleanup();
      const m = r.messages[0]!;
      rows.push({ uid: m.uid, flags, size: m.size, internalDate, saveDate: m.saveDate });
    }
    // Gaps in the UIDs, as expunges leave them.
    const gone = rows.filter((r) => r.uid % 4 === 0).map((r) => r.uid);
    await account.storeFlags(mb.id, gone, { mode: 'add', flags: Flag.Deleted }, null);
    await account.expunge(mb.id, gone, null);
    await account.storeFlags(mb.id, [3, 7, 30], { mode: 'add', flags: Flag.Flagged }, null);
    const now = new Map((await account.flagsOf(mb.id)).map((r) => [r.uid, r]));
    const live = rows
      .filter((r) => r.uid % 4 !== 0)
      .map((r) => ({ ...r, flags: now.get(r.uid)!.flags, modseq: now.get(r.uid)!.modseq }));
    const session = new UidList(live.map((r) => r.uid));
    await fc.assert(
      fc.asyncProperty(key, async (k) => {
        const plan = planSearch(k, { count: session.length, maxUid: session.last(), saved: null });
        const filter = toFilter(plan.matcher, session);
        assert.ok(filter, 'these keys are all expressible as store filters');
        const viaStore = await account.matchingUids(mb.id, filter);
        const viaJs = live
          .filter(
            (r, i) =>
              evaluate(plan.matcher, {
                id: 0,
                seq: i + 1,
                uid: r.uid,
                flags: r.flags,
                keywords: [],
                internalDate: r.internalDate,
                saveDate: r.saveDate,
                size: r.size,
                modseq: r.modseq,
              }) === YES,
          )
          .map((r) => r.uid);
        assert.deepEqual(viaStore, viaJs, JSON.stringify(k));
        // Flag-and-number-only programs also compile to a predicate that agrees.
        const pred = toPredicate(plan.matcher);
        if (pred) {
          const viaPred = live.filter((r, i) => pred(r.flags, r.uid, i + 1)).map((r) => r.uid);
          assert.deepEqual(viaPred, viaJs, JSON.stringify(k));
        }
      }),
      { numRuns: 300 },
    );
  } finally {
    await cleanup();
  }
});
