// The junk probability of a message from the counts of its tokens, after Paul Graham's
// "A Plan for Spam" and Gary Robinson's refinements: each token's spam probability is
// Robinson's f(w), its ratio of spam to ham frequency pulled towards x = 0.5 by the
// strength s = 1 of that prior; the 25 tokens furthest from 0.5, each word counted once
// (a pair and the words in it are one piece of evidence), decide, combined with Fisher's
// chi-square method (Robinson's, as in SpamBayes) or Graham's product formula.

export type CombineMethod = 'fisher' | 'graham';

export type ClassifyParams = {
  /** At or above this probability a message is junk. */
  threshold: number;
  /** Tokens that decide: the most interesting ones, at most this many. */
  maxWords: number;
  /** Tokens with f(w) closer than this to 0.5 are ignored. */
  minDeviation: number;
  /** Robinson's strength of the prior, and the prior itself. */
  s: number;
  x: number;
  combine: CombineMethod;
  /**
   * Count each word once: a pair ("free money") and the words in it ("free", "money")
   * are mostly the same evidence, and counting it twice or thrice lets a run of
   * marketing phrases outvote everything else (such as a known sender).
   */
  tile: boolean;
};

export const CLASSIFY_DEFAULTS: ClassifyParams = {
  threshold: 0.95,
  maxWords: 25,
  minDeviation: 0.1,
  s: 1,
  x: 0.5,
  combine: 'fisher',
  tile: true,
};

/** A deciding token with its probability and counts. */
export type Word = { token: string; probability: number; ham: number; spam: number };

export type Classification = {
  /** Probability that the message is junk, 0..1; 0.5 without any training. */
  probability: number;
  /** Whether it is at or above the threshold. */
  spam: boolean;
  /** The deciding tokens, most interesting first. */
  words: Word[];
};

/**
 * Robinson's f(w): the spam probability of a token seen in `ham` of `nham` ham messages
 * and `spam` of `nspam` spam messages.
 */
export function tokenProbability(
  ham: number,
  spam: number,
  nham: number,
  nspam: number,
  s = 1,
  x = 0.5,
): number {
  const n = ham + spam;
  if (n === 0 || nham === 0 || nspam === 0) return x;
  const hr = Math.min(1, ham / nham);
  const sr = Math.min(1, spam / nspam);
  const p = sr / (hr + sr);
  return (s * x + n * p) / (s + n);
}

/**
 * The upper tail of the chi-square distribution with v (even) degrees of freedom:
 * the probability of a value of at least x2.
 */
export function chi2Q(x2: number, v: number): number {
  const m = x2 / 2;
  let term = Math.exp(-m);
  let sum = term;
  for (let i = 1; i < v / 2; i++) {
    term *= m / i;
    sum += term;
  }
  return Math.min(1, sum);
}

/**
 * Fisher's method as Robinson applies it: how far the probabilities are from being
 * uniformly spread, towards spam (S) and towards ham (H); the result is (1 + S - H) / 2.
 */
export function combineFisher(probs: readonly number[]): number {
  const n = probs.length;
  if (n === 0) return 0.5;
  let lnSpam = 0;
  let lnHam = 0;
  for (const p of probs) {
    lnSpam += Math.log(1 - p);
    lnHam += Math.log(p);
  }
  const S = 1 - chi2Q(-2 * lnSpam, 2 * n);
  const H = 1 - chi2Q(-2 * lnHam, 2 * n);
  return (1 + S - H) / 2;
}

/** Graham's formula: Π p / (Π p + Π (1 - p)), in logarithms so it cannot underflow. */
export function combineGraham(probs: readonly number[]): number {
  if (probs.length === 0) return 0.5;
  let d = 0;
  for (const p of probs) d += Math.log(1 - p) - Math.log(p);
  return 1 / (1 + Math.exp(d));
}

/** The words of a token: itself, or the two of a pair, each with the pair's prefix. */
function wordsOf(token: string): string[] {
  const sp = token.indexOf(' ');
  if (sp < 0) return [token];
  const first = token.slice(0, sp);
  return [first, first.slice(0, first.lastIndexOf(':') + 1) + token.slice(sp + 1)];
}

/** What classify needs of a message's tokens. */
export interface TokenTexts {
  readonly size: number;
  text(i: number): string;
  /**
   * The tokens that are token i's words: [i, -1], or a pair's two words. Without it,
   * the words are told from the texts.
   */
  parts?(i: number): readonly [number, number];
}

/**
 * Classifies a message from its tokens' counts (ham[i], spam[i] for token i) and the
 * numbers of ham and spam messages trained. Without both ham and spam training the
 * probability is 0.5 and the message is not junk.
 */
export function classifyCounts(
  tokens: TokenTexts,
  counts: { ham: ArrayLike<number>; spam: ArrayLike<number> },
  totals: { ham: number; spam: number },
  params: Partial<ClassifyParams> = {},
): Classification {
  const p = { ...CLASSIFY_DEFAULTS, ...params };
  if (totals.ham === 0 || totals.spam === 0) {
    return { probability: 0.5, spam: 0.5 >= p.threshold, words: [] };
  }
  // The most interesting tokens: a bounded list kept sorted by deviation from 0.5, with
  // room for those that tiling skips.
  const room = p.tile ? p.maxWords * 4 : p.maxWords;
  let best: { i: number; prob: number; dev: number }[] = [];
  for (let i = 0; i < tokens.size; i++) {
    const h = counts.ham[i] as number;
    const s = counts.spam[i] as number;
    if (h + s === 0) continue;
    const prob = tokenProbability(h, s, totals.ham, totals.spam, p.s, p.x);
    const dev = Math.abs(prob - 0.5);
    if (dev < p.minDeviation) continue;
    if (best.length === room && dev <= (best[best.length - 1] as { dev: number }).dev) {
      continue;
    }
    let at = best.length;
    while (at > 0 && (best[at - 1] as { dev: number }).dev < dev) at--;
    best.splice(at, 0, { i, prob, dev });
    if (best.length > room) best.pop();
  }
  if (p.tile) {
    const used = new Set<number | string>();
    best = best.filter((b) => {
      const words: readonly (number | string)[] = tokens.parts
        ? tokens.parts(b.i).filter((w) => w >= 0)
        : wordsOf(tokens.text(b.i));
      if (words.some((w) => used.has(w))) return false;
      for (const w of words) used.add(w);
      return true;
    });
  }
  best = best.slice(0, p.maxWords);
  const probs = best.map((b) => b.prob);
  const probability = p.combine === 'graham' ? combineGraham(probs) : combineFisher(probs);
  return {
    probability,
    spam: probability >= p.threshold,
    words: best.map((b) => ({
      token: tokens.text(b.i),
      probability: b.prob,
      ham: counts.ham[b.i] as number,
      spam: counts.spam[b.i] as number,
    })),
  };
}
