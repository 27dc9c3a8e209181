// Random operation sequences against the store, checked after every step against a
// simple model and against verifyAccount (counts, UIDs, files, modseqs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { tempStore, sampleMessage } from './testutil.js';
import { Flag } from './flags.js';
import { isStoreError } from './errors.js';

type Op =
  | { op: 'add'; mb: number; n: number; flags: number }
  | { op: 'flags'; mb: number; pick: number[]; mode: 'set' | 'add' | 'remove'; flags: number }
  | { op: 'expunge'; mb: number }
  | { op: 'copy'; mb: number; to: number; pick: number[] }
  | { op: 'move'; mb: number; to: number; pick: number[] };

const MAILBOXES = ['Inbox', 'A', 'B'];
const mb = fc.integer({ min: 0, max: 2 });
const flags = fc.constantFrom(0, Flag.Seen, Flag.Deleted, Flag.Seen | Flag.Deleted, Flag.Flagged);
const pick = fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 4 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), mb, n: fc.integer({ min: 1, max: 3 }), flags }),
  fc.record({
    op: fc.constant('flags' as const),
    mb,
    pick,
    mode: fc.constantFrom('set' as const, 'add' as const, 'remove' as const),
    flags,
  }),
  fc.record({ op: fc.constant('expunge' as const), mb }),
  fc.record({ op: fc.constant('copy' as const), mb, to: mb, pick }),
  fc.record({ op: fc.constant('move' as const), mb, to: mb, pick }),
);

test('random operation sequences keep the store consistent', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 25 }), async (ops) => {
      const t = await tempStore();
      try {
        const a = await t.store.account('prop');
        await a.createMailbox('A');
        await a.createMailbox('B');
        const ids: number[] = [];
        for (const n of MAILBOXES) ids.push((await a.mailbox(n))!.id);
        // Model: per mailbox, uid -> flags; and the highest UID ever handed out.
        const model = ids.map(() => new Map<number, number>());
        const maxUid = ids.map(() => 0);
        const watcher = a.switchboard.register();
        let modseq = await a.highestModseq();
        let counter = 0;
        for (const o of ops) {
          const id = ids[o.mb]!;
          const m = model[o.mb]!;
          const live = [...m.keys()].sort((x, y) => x - y);
          const chosen =
            'pick' in o
              ? [...new Set(o.pick.map((i) => live[i]).filter((u) => u !== undefined))]
              : [];
          let expectTx = true;
          if (o.op === 'add') {
            const items = [];
            for (let i = 0; i < o.n; i++)
              items.push({
                message: await t.store.prepareMessage(sampleMessage(counter++)),
                flags: o.flags,
              });
            const r = await a.addMessages(id, items);
            for (const it of items) await it.message.cleanup();
            for (const msg of r.messages) {
              assert.ok(msg.uid > maxUid[o.mb]!, 'UIDs increase');
              maxUid[o.mb] = msg.uid;
              m.set(msg.uid, o.flags);
            }
          } else if (o.op === 'flags') {
            const r = await a.storeFlags(id, chosen, { mode: o.mode, flags: o.flags });
            for (const u of chosen) {
              const f = m.get(u)!;
              m.set(u, o.mode === 'set' ? o.flags : o.mode === 'add' ? f | o.flags : f & ~o.flags);
            }
            expectTx = r.changed.length > 0;
          } else if (o.op === 'expunge') {
            const r = await a.expunge(id, null);
            const want = live.filter((u) => (m.get(u)! & Flag.Deleted) !== 0);
            assert.deepEqual(r.uids, want);
            for (const u of want) m.delete(u);
            expectTx = want.length > 0;
          } else {
            const to = ids[o.to]!;
            const fn = o.op === 'copy' ? a.copyMessages.bind(a) : a.moveMessages.bind(a);
            try {
              const r = await fn(id, chosen, to);
              assert.deepEqual(
                r.srcUids,
                chosen.sort((x, y) => x - y),
              );
              r.dstUids.forEach((u, i) => {
                assert.ok(u > maxUid[o.to]!);
                maxUid[o.to] = u;
                model[o.to]!.set(u, m.get(r.srcUids[i]!)!);
              });
              if (o.op === 'move') for (const u of r.srcUids) m.delete(u);
            } catch (e) {
              assert.ok(chosen.length === 0 || (o.op === 'move' && id === to), String(e));
              assert.ok(isStoreError(e));
              expectTx = false;
            }
          }
          const now = await a.highestModseq();
          assert.equal(now, expectTx ? modseq + 1 : modseq, `one modseq per transaction (${o.op})`);
          modseq = now;
          // Store matches the model, and the counts are exact.
          for (const [i, mid] of ids.entries()) {
            const rows = await a.flagsOf(mid);
            // The cached UID list follows every change.
            assert.deepEqual(
              Array.from(await a.uidArray(mid)),
              rows.map((r) => r.uid),
            );
            assert.deepEqual(
              Array.from((await a.uidsAndFlags(mid)).flags),
              rows.map((r) => r.flags),
            );
            assert.deepEqual(
              rows.map((r) => [r.uid, r.flags]),
              [...model[i]!.entries()].sort((x, y) => x[0] - y[0]),
            );
            const c = (await a.mailboxById(mid))!.counts;
            assert.equal(c.total, rows.length);
            assert.equal(c.deleted, rows.filter((r) => r.flags & Flag.Deleted).length);
            assert.equal(c.unseen, rows.filter((r) => !(r.flags & Flag.Seen)).length);
          }
        }
        watcher.take();
        watcher.unregister();
        await a.settle();
        const report = await a.verify();
        assert.deepEqual(report.problems, []);
      } finally {
        await t.cleanup();
      }
    }),
    { numRuns: 25 },
  );
});
