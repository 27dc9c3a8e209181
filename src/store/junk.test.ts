// The junk filter database: counts, idempotent training and untraining, totals, the
// pruning bound, reset, file modes, and what a second connection sees.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Store } from './store.js';
import { tempStore } from './testutil.js';
import type { JunkDB } from './junk.js';

const keys = (...n: number[]) => Float64Array.from(n);

async function counts(db: JunkDB, ...k: number[]) {
  const c = await db.counts(keys(...k));
  return { totals: c.totals, ham: [...c.ham], spam: [...c.spam] };
}

async function withFilter(fn: (db: JunkDB, store: Store, dir: string) => Promise<void>) {
  const t = await tempStore();
  try {
    await t.store.account('alice');
    await fn(await t.store.junkFilter('alice'), t.store, t.dir);
  } finally {
    await t.cleanup();
  }
}

test('a filter needs an existing account; its database is private', async () => {
  await withFilter(async (_db, store, dir) => {
    await assert.rejects(store.junkFilter('bob'), /no account bob/);
    await assert.rejects(store.junkFilter('../x'), /invalid account name/);
    assert.equal(await store.junkFilter('alice'), _db, 'opened once');
    const st = await stat(join(dir, 'accounts', 'alice', 'junk.db'));
    assert.equal(st.mode & 0o777, 0o600);
  });
});

test('training counts tokens and messages; unknown tokens count zero', async () => {
  await withFilter(async (db) => {
    assert.deepEqual(await counts(db, 1, 2), {
      totals: { ham: 0, spam: 0 },
      ham: [0, 0],
      spam: [0, 0],
    });
    const r = await db.train([
      { key: 'a', tokens: keys(1, 2), spam: false },
      { key: 'b', tokens: keys(2, 3), spam: true },
      { key: 'c', tokens: keys(2), spam: true },
    ]);
    assert.deepEqual(r, { added: 3, changed: 0, unchanged: 0 });
    assert.deepEqual(await counts(db, 1, 2, 3, 4), {
      totals: { ham: 1, spam: 2 },
      ham: [1, 1, 0, 0],
      spam: [0, 2, 1, 0],
    });
    assert.equal(await db.trainedAs('a'), 'ham');
    assert.equal(await db.trainedAs('b'), 'spam');
    assert.equal(await db.trainedAs('z'), null);
  });
});

test('training is idempotent; training the other way untrains first', async () => {
  await withFilter(async (db) => {
    await db.train([{ key: 'm', tokens: keys(1, 2), spam: false }]);
    // Cached counts must follow the writes.
    assert.deepEqual((await counts(db, 1, 2)).ham, [1, 1]);
    assert.deepEqual(await db.train([{ key: 'm', tokens: keys(1, 2), spam: false }]), {
      added: 0,
      changed: 0,
      unchanged: 1,
    });
    assert.deepEqual(await counts(db, 1, 2), {
      totals: { ham: 1, spam: 0 },
      ham: [1, 1],
      spam: [0, 0],
    });
    assert.deepEqual(await db.train([{ key: 'm', tokens: keys(1, 2), spam: true }]), {
      added: 0,
      changed: 1,
      unchanged: 0,
    });
    assert.deepEqual(await counts(db, 1, 2), {
      totals: { ham: 0, spam: 1 },
      ham: [0, 0],
      spam: [1, 1],
    });
    // The same key twice in one call counts once.
    await db.train([
      { key: 'n', tokens: keys(3), spam: true },
      { key: 'n', tokens: keys(3), spam: true },
    ]);
    assert.deepEqual((await counts(db, 3)).spam, [1]);
  });
});

test('untraining removes the counts; tokens at zero are deleted', async () => {
  await withFilter(async (db) => {
    await db.train([
      { key: 'a', tokens: keys(1, 2), spam: true },
      { key: 'b', tokens: keys(2), spam: true },
    ]);
    assert.equal(await db.untrain([{ key: 'a', tokens: keys(1, 2) }]), 1);
    assert.equal(await db.untrain([{ key: 'a', tokens: keys(1, 2) }]), 0, 'only once');
    assert.deepEqual(await counts(db, 1, 2), {
      totals: { ham: 0, spam: 1 },
      ham: [0, 0],
      spam: [0, 1],
    });
    assert.equal((await db.stats()).tokens, 1);
    assert.equal(await db.trainedAs('a'), null);
    // Tokens that were never trained stay at zero.
    await db.train([{ key: 'c', tokens: keys(5), spam: false }]);
    await db.untrain([{ key: 'c', tokens: keys(5, 6) }]);
    assert.deepEqual(await counts(db, 5, 6), {
      totals: { ham: 0, spam: 1 },
      ham: [0, 0],
      spam: [0, 0],
    });
  });
});

test('the token table is pruned to 90% of its bound, rarest and oldest first', async () => {
  await withFilter(async (db) => {
    db.maxTokens = 100;
    // Tokens 1..20 are common (in every message); 1000.. are rare, one message each.
    const common = Array.from({ length: 20 }, (_, i) => i + 1);
    let rare = 1000;
    for (let m = 0; m < 30; m++) {
      const own = Array.from({ length: 10 }, () => rare++);
      await db.train([{ key: `m${m}`, tokens: keys(...common, ...own), spam: m % 2 === 0 }]);
      const s = await db.stats();
      assert.ok(s.tokens <= 100, `${s.tokens} tokens after message ${m}`);
    }
    const c = await counts(db, ...common);
    assert.deepEqual(
      c.ham.map((h, i) => h + (c.spam[i] as number)),
      common.map(() => 30),
      'common tokens are kept',
    );
    // The newest rare tokens survive, the oldest are gone.
    const newest = await counts(db, rare - 1);
    const oldest = await counts(db, 1000);
    assert.equal((newest.ham[0] as number) + (newest.spam[0] as number), 1);
    assert.equal((oldest.ham[0] as number) + (oldest.spam[0] as number), 0);
    assert.equal((await db.stats()).spamMessages, 15);
  });
});

test('a large table is pruned by a sample, to about 90% of its bound', async () => {
  await withFilter(async (db) => {
    db.maxTokens = 60_000;
    const common = Array.from({ length: 20 }, (_, i) => i + 1);
    // Rare tokens spread over the key range, as hashes are.
    const rare = (m: number) =>
      Array.from(
        { length: 1000 },
        (_, i) => Math.floor((((m * 1000 + i) * 0.6180339887) % 1) * (2 ** 53 - 1024)) + 1024,
      );
    for (let m = 0; m < 80; m++) {
      await db.train([{ key: `m${m}`, tokens: keys(...common, ...rare(m)), spam: m % 2 === 0 }]);
      const s = await db.stats();
      assert.ok(s.tokens <= 60_000, `${s.tokens} tokens after message ${m}`);
    }
    const left = (await db.stats()).tokens;
    assert.ok(left > 45_000, `${left} tokens left`);
    const c = await counts(db, ...common);
    assert.deepEqual(
      c.ham.map((h, i) => h + (c.spam[i] as number)),
      common.map(() => 80),
    );
    const sum = async (k: number[]) => {
      const r = await counts(db, ...k);
      return r.ham.reduce((a, h, i) => a + h + (r.spam[i] as number), 0);
    };
    assert.equal(await sum(rare(0)), 0, 'the oldest rare tokens are gone');
    assert.equal(await sum(rare(79)), 1000, 'the newest are kept');
  });
});

test('large calls are split into several transactions, each item whole', async () => {
  await withFilter(async (db) => {
    const items = Array.from({ length: 30 }, (_, m) => ({
      key: `k${m}`,
      tokens: Float64Array.from({ length: 5000 }, (_, i) => m * 5000 + i + 1),
      spam: true,
    }));
    assert.deepEqual(await db.train(items), { added: 30, changed: 0, unchanged: 0 });
    const s = await db.stats();
    assert.equal(s.tokens, 150_000);
    assert.equal(s.trainedMessages, 30);
  });
});

test('another connection sees the training; reset forgets everything', async () => {
  await withFilter(async (db, _store, dir) => {
    await db.train([{ key: 'a', tokens: keys(7), spam: true }]);
    assert.deepEqual((await counts(db, 7, 8)).spam, [1, 0]);
    // A CLI command beside the server: its own store on the same data directory.
    const other = await Store.open({ dataDir: dir });
    try {
      const db2 = await other.junkFilter('alice');
      await db2.train([
        { key: 'b', tokens: keys(7, 8), spam: true },
        { key: 'c', tokens: keys(9), spam: false },
      ]);
      assert.deepEqual(await counts(db, 7, 8), {
        totals: { ham: 1, spam: 2 },
        ham: [0, 0],
        spam: [2, 1],
      });
      await db.reset();
      assert.deepEqual(await counts(db2, 7, 8, 9), {
        totals: { ham: 0, spam: 0 },
        ham: [0, 0, 0],
        spam: [0, 0, 0],
      });
      assert.deepEqual(await db2.stats(), {
        hamMessages: 0,
        spamMessages: 0,
        tokens: 0,
        trainedMessages: 0,
        maxTokens: 500_000,
        bytes: (await db2.stats()).bytes,
      });
      assert.equal(await db2.trainedAs('b'), null);
    } finally {
      await other.close();
    }
  });
});

test('verify: a trained database is consistent; damaged totals and counts are reported', async () => {
  await withFilter(async (db, _store, dir) => {
    await db.train([
      { key: 'a', tokens: keys(1, 2), spam: true },
      { key: 'b', tokens: keys(2, 3), spam: false },
    ]);
    await db.train([{ key: 'b', tokens: keys(2, 3), spam: true }]);
    await db.untrain([{ key: 'a', tokens: keys(1, 2) }]);
    assert.deepEqual(await db.verify(), []);
    // Damage, as a crashed tool or a hand edit might leave it, through another connection.
    const raw = new Database(join(dir, 'accounts', 'alice', 'junk.db'));
    raw.exec('UPDATE totals SET spam = spam + 3');
    raw.exec('UPDATE tokens SET ham = 99 WHERE rowid = (SELECT min(rowid) FROM tokens)');
    raw.close();
    const problems = await db.verify();
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(
      problems[0]!,
      /^junk\.db: totals say 0 ham and 4 spam, the trained messages 0 and 1$/,
    );
    assert.match(problems[1]!, /^junk\.db: 1 tokens with counts beyond the trained messages/);
  });
});
