// The classifier's arithmetic: Robinson's f(w), the chi-square tail, Fisher's and
// Graham's combinations, and the choice of deciding tokens on small made-up corpora.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chi2Q,
  classifyCounts,
  combineFisher,
  combineGraham,
  tokenProbability,
} from './classify.js';

const close = (a: number, b: number, eps = 1e-9) =>
  assert.ok(Math.abs(a - b) < eps, `${a} is not ${b}`);

test("Robinson's f(w): s = 0.45 and x = 0.5 by default, or as given", () => {
  close(tokenProbability(0, 1, 1, 1), (0.225 + 1) / 1.45);
  close(tokenProbability(0, 1, 1, 1, 1), 0.75); // (0.5 + 1) / 2
  close(tokenProbability(1, 1, 1, 1), 0.5);
  close(tokenProbability(0, 0, 5, 5), 0.5); // unknown: the prior
  close(tokenProbability(10, 0, 10, 10, 1), 0.5 / 11);
  // Frequencies, not counts: 1 of 10 ham against 1 of 1 spam.
  close(tokenProbability(1, 1, 10, 1, 1), (0.5 + 2 * (1 / 1.1)) / 3);
  // More evidence pulls further from the prior.
  assert.ok(tokenProbability(0, 100, 100, 100) > tokenProbability(0, 3, 100, 100));
  close(tokenProbability(0, 3, 100, 100, 2, 0.4), (0.8 + 3) / 5);
  assert.equal(tokenProbability(2, 1, 0, 3), 0.5); // nothing to compare with
});

test('chi-square upper tail', () => {
  close(chi2Q(0, 2), 1);
  close(chi2Q(3, 2), Math.exp(-1.5));
  close(chi2Q(10, 4), Math.exp(-5) * 6);
  close(chi2Q(20, 6), Math.exp(-10) * (1 + 10 + 50));
  assert.ok(chi2Q(1000, 10) < 1e-100);
});

test('Fisher and Graham combinations', () => {
  close(combineFisher([]), 0.5);
  close(combineFisher([0.9, 0.1]), 0.5);
  close(combineFisher([0.5]), 0.5);
  assert.ok(combineFisher([0.99, 0.99, 0.99]) > 0.99);
  assert.ok(combineFisher([0.01, 0.01, 0.01]) < 0.01);
  // Symmetric: swapping spam and ham evidence mirrors the result.
  close(combineFisher([0.8, 0.3, 0.95]) + combineFisher([0.2, 0.7, 0.05]), 1);
  // Strong evidence both ways is "unsure", near 0.5, where Graham's product is certain.
  const mixed = [0.99, 0.99, 0.99, 0.99, 0.01, 0.01, 0.01];
  assert.ok(Math.abs(combineFisher(mixed) - 0.5) < 0.3);
  close(combineGraham(mixed), 0.99);
  close(combineGraham([0.9]), 0.9);
  close(combineGraham([0.9, 0.9]), 0.81 / (0.81 + 0.01));
  close(combineGraham([]), 0.5);
});

/** A made-up message: token texts with their ham and spam counts. */
function counted(rows: [string, number, number][]) {
  return {
    tokens: { size: rows.length, text: (i: number) => (rows[i] as [string, number, number])[0] },
    counts: { ham: rows.map((r) => r[1]), spam: rows.map((r) => r[2]) },
  };
}

test('the deciding tokens: most interesting first, unknown and neutral ones skipped', () => {
  const totals = { ham: 10, spam: 10 };
  const { tokens, counts } = counted([
    ['meeting', 9, 0],
    ['viagra', 0, 9],
    ['the', 9, 9],
    ['unseen', 0, 0],
    ['cheap', 1, 6],
    ['money', 0, 2],
  ]);
  const r = classifyCounts(tokens, counts, totals);
  assert.deepEqual(
    r.words.map((w) => w.token),
    ['meeting', 'viagra', 'money', 'cheap'],
  );
  close(r.words[0]!.probability, 0.225 / 9.45);
  close(r.words[1]!.probability, 1 - 0.225 / 9.45);
  assert.deepEqual(r.words[3], {
    token: 'cheap',
    probability: (0.225 + 7 * (0.6 / 0.7)) / 7.45,
    ham: 1,
    spam: 6,
  });
  close(r.probability, combineFisher(r.words.map((w) => w.probability)));
  // Only the most interesting ones count.
  const two = classifyCounts(tokens, counts, totals, { maxWords: 2 });
  assert.deepEqual(
    two.words.map((w) => w.token),
    ['meeting', 'viagra'],
  );
  close(two.probability, 0.5);
  const graham = classifyCounts(tokens, counts, totals, { combine: 'graham' });
  close(graham.probability, combineGraham(graham.words.map((w) => w.probability)));
});

test('junk at the threshold; no verdict without both kinds of training', () => {
  const { tokens, counts } = counted([
    ['winner', 0, 40],
    ['prize', 0, 30],
    ['claim', 1, 25],
    ['hello', 20, 18],
  ]);
  const r = classifyCounts(tokens, counts, { ham: 40, spam: 40 });
  assert.ok(r.probability > 0.99, String(r.probability));
  assert.equal(r.spam, true);
  assert.equal(classifyCounts(tokens, counts, { ham: 40, spam: 40 }, { threshold: 1 }).spam, false);
  const untrained = classifyCounts(tokens, counts, { ham: 0, spam: 40 });
  assert.deepEqual([untrained.probability, untrained.spam, untrained.words], [0.5, false, []]);
  const none = classifyCounts(counted([]).tokens, counted([]).counts, { ham: 3, spam: 3 });
  assert.deepEqual([none.probability, none.spam, none.words], [0.5, false, []]);
});

test('each word counts once: a pair and the words in it are one piece of evidence', () => {
  const totals = { ham: 10, spam: 10 };
  const { tokens, counts } = counted([
    ['free money', 0, 9],
    ['free', 0, 8],
    ['money', 0, 7],
    ['hello', 10, 0],
    ['subject:free', 0, 6],
    ['subject:free offer', 0, 5],
  ]);
  const tiled = classifyCounts(tokens, counts, totals);
  assert.deepEqual(
    tiled.words.map((w) => w.token),
    ['hello', 'free money', 'subject:free'],
  );
  const all = classifyCounts(tokens, counts, totals, { tile: false });
  assert.deepEqual(
    all.words.map((w) => w.token),
    ['hello', 'free money', 'free', 'money', 'subject:free', 'subject:free offer'],
  );
  assert.ok(all.probability > tiled.probability);
});

test('at most maxWords decide, the most interesting first, ties in message order', () => {
  const totals = { ham: 100, spam: 100 };
  const rows: [string, number, number][] = [];
  for (let i = 0; i < 200; i++) rows.push([`spam${i}`, 0, 1 + (i % 50)]);
  rows.push(['ham', 100, 0]);
  const { tokens, counts } = counted(rows);
  const r = classifyCounts(tokens, counts, totals);
  assert.equal(r.words.length, 150);
  assert.deepEqual(
    r.words.slice(0, 6).map((w) => w.token),
    ['ham', 'spam49', 'spam99', 'spam149', 'spam199', 'spam48'],
  );
  assert.equal(classifyCounts(tokens, counts, totals, { maxWords: 25 }).words.length, 25);
  // Tokens too close to 0.5 never decide, however few the others.
  const weak = counted([
    ['a', 5, 6],
    ['b', 6, 5],
  ]);
  assert.deepEqual(classifyCounts(weak.tokens, weak.counts, totals).words, []);
});
