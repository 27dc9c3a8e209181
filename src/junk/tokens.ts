// The distinct tokens of a message as the tokenizer collects them: words scanned from a
// text (lower-cased, digits collapsed, with bigrams of adjacent words), each hashed to a
// 53-bit key as it is scanned, literal tokens (header fields, link hosts), and their
// texts on demand. See tokenize.ts for what a message's tokens are.
import { getDomain } from 'tldts';

/** Registrable domains of host names recently asked for: hosts recur across messages. */
const domains = new Map<string, string | null>();
const MAX_DOMAINS = 4096;

/** The registrable domain of a host name ("mail.example.co.uk": "example.co.uk"), or null. */
export function registrableDomain(host: string): string | null {
  let d = domains.get(host);
  if (d === undefined) {
    if (domains.size >= MAX_DOMAINS) domains.clear();
    d = getDomain(host);
    domains.set(host, d);
  }
  return d;
}

/** Shortest and longest words kept. */
export const MIN_WORD = 2;
export const MAX_WORD = 40;

// ---- words ----
//
// A word is what /[$€£]?[\p{L}\p{N}]+(?:['’.\-_][\p{L}\p{N}]+)*%?/u matches in the
// lower-cased text: letters and digits, with apostrophes, dots, hyphens and underscores
// inside (so "don't", "e-mail", "example.com" and "3.5" are one word each), a currency
// sign before and a percent sign after. Each run of decimal digits becomes one "#". Han,
// kana and Hangul, written without spaces, give their pairs of characters (cjk()). The
// scanner below does this by hand, hashing as it goes: a 100 KB text then costs well
// under a millisecond, where a regular expression and a set of strings cost several.

const OTHER = 0;
const LETTER = 1;
const DIGIT = 2;
const JOIN = 3;
const CURRENCY = 4;
const PERCENT = 5;
/** Han, kana and Hangul: written without spaces between words (see words()). */
const CJK = 6;
const UNKNOWN = 255;

/** Character classes of UTF-16 code units, filled in on first sight above ASCII. */
const CLASS = new Uint8Array(65536).fill(UNKNOWN);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  CLASS[c] = /[a-zA-Z]/.test(ch) ? LETTER : /\d/.test(ch) ? DIGIT : OTHER;
}
for (const ch of "'’.-_") CLASS[ch.charCodeAt(0)] = JOIN;
for (const ch of '$€£') CLASS[ch.charCodeAt(0)] = CURRENCY;
CLASS[0x25] = PERCENT;
// Surrogates: symbols and emoji outside the BMP are not word characters.
CLASS.fill(OTHER, 0xd800, 0xe000);

/** The class of a code unit not seen before. */
function learnClass(c: number): number {
  const ch = String.fromCharCode(c);
  const v = /\p{Nd}/u.test(ch)
    ? DIGIT
    : /[\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}]/u.test(ch)
      ? CJK
      : /[\p{L}\p{M}\p{N}]/u.test(ch)
        ? LETTER
        : OTHER;
  CLASS[c] = v;
  return v;
}

function classOf(c: number): number {
  const k = CLASS[c] as number;
  return k === UNKNOWN ? learnClass(c) : k;
}

function isWordChar(k: number): boolean {
  return k === LETTER || k === DIGIT;
}
const HASH = 0x23;

/** A word's text as a token: each run of decimal digits collapsed to "#". */
export function collapseDigits(w: string): string {
  return w.replace(/\p{Nd}+/gu, '#');
}

// ---- token keys ----
//
// A token is stored under a 53-bit key hashed from its text: two 32-bit hashes of its
// code units, mixed, give 32 + 21 bits. A bigram "a b" (one space) is keyed by its two
// words, each with the prefix of the first ("subject:free money" by "subject:free" and
// "subject:money"), so the scanner combines the keys of adjacent words without building
// strings.

const M1 = 0x01000193;
const SEED1 = 0x811c9dc5 | 0;
const SEED2 = 0x2f9be6dc | 0;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The key of two mixed 32-bit hashes: 32 bits of one and 21 of the other. */
function keyOf(f1: number, f2: number): number {
  return (f1 >>> 0) * 2097152 + (f2 >>> 11);
}

/** Mixed hashes of a pair from those of its parts (order matters). */
function pair1(a: number, b: number): number {
  return fmix(Math.imul(a, 0x9e3779b1) ^ b);
}
function pair2(a: number, b: number): number {
  return fmix((Math.imul(a, 0x7feb352d) + b) | 0);
}

/** The mixed hashes of a text without spaces. */
function wordHashes(text: string): [number, number] {
  let h1 = SEED1;
  let h2 = SEED2;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, M1);
    h2 = ((h2 << 5) + h2) ^ c;
  }
  return [fmix(h1), fmix(h2)];
}

/** The key a token's text is stored under. */
export function tokenKey(text: string): number {
  const sp = text.indexOf(' ');
  if (sp < 0) {
    const [f1, f2] = wordHashes(text);
    return keyOf(f1, f2);
  }
  const first = text.slice(0, sp);
  const prefix = first.slice(0, first.lastIndexOf(':') + 1);
  const [a1, a2] = wordHashes(first);
  const [b1, b2] = wordHashes(prefix + text.slice(sp + 1));
  return keyOf(pair1(a1, b1), pair2(a2, b2));
}

/** Int32 entries per token in Tokens.meta. */
const META = 8;

/**
 * The distinct tokens of a message: their keys, and their texts on demand (for the few
 * that decide a classification, for tests and for display).
 */
export class Tokens {
  private n = 0;
  private keyArr: Float64Array;
  /**
   * Per token, META entries: the hash that picked its slot (for rehashing), its source,
   * its word's start and end, the second word's (-1: none), and the indexes of the
   * tokens of its words (itself, or a pair's two words; -1: none).
   */
  private meta: Int32Array;
  private readonly literals = new Map<number, string>();
  /** Source texts and the prefix their words carry. */
  private readonly sources: { text: string; prefix: string }[] = [];
  /** Open-addressing set of keys: slot → token index + 1 (0: empty). */
  private slots: Int32Array;
  private mask: number;

  /** `expected` sizes the tables for about that many tokens; they grow as needed. */
  constructor(
    readonly max: number,
    expected = 256,
  ) {
    let cap = 64;
    while (cap < Math.min(max, expected)) cap *= 2;
    // One allocation for the three tables (grown apart from each other later).
    const buf = new ArrayBuffer(cap * 8 + cap * META * 4 + cap * 2 * 4);
    this.keyArr = new Float64Array(buf, 0, cap);
    this.meta = new Int32Array(buf, cap * 8, cap * META);
    this.slots = new Int32Array(buf, cap * 8 + cap * META * 4, cap * 2);
    this.mask = cap * 2 - 1;
  }

  get size(): number {
    return this.n;
  }

  get full(): boolean {
    return this.n >= this.max;
  }

  /** The keys of the tokens, in the order they were found. */
  get keys(): Float64Array {
    return this.keyArr.subarray(0, this.n);
  }

  /** The text of token i. */
  text(i: number): string {
    const lit = this.literals.get(i);
    if (lit !== undefined) return lit;
    const m = this.meta;
    const at = i * META;
    const s = this.sources[m[at + 1] as number] as { text: string; prefix: string };
    const w1 = collapseDigits(s.text.slice(m[at + 2], m[at + 3]));
    if ((m[at + 4] as number) < 0) return s.prefix + w1;
    return `${s.prefix}${w1} ${collapseDigits(s.text.slice(m[at + 4], m[at + 5]))}`;
  }

  /**
   * The tokens that are the words of token i, as indexes: [i, -1] for a word (or any
   * token not a pair), the two words for a pair. A pair and its words are mostly the
   * same evidence (see classify.ts).
   */
  parts(i: number): [number, number] {
    const at = i * META;
    return [this.meta[at + 6] as number, this.meta[at + 7] as number];
  }

  /** The texts of all tokens. */
  strings(): string[] {
    return Array.from({ length: this.n }, (_, i) => this.text(i));
  }

  /**
   * Adds a key unless present: returns the new index, -2 - the index when present, or
   * -1 when full. `f1` is the first mixed hash, which picks the slot.
   */
  private insert(f1: number, key: number): number {
    let slot = f1 & this.mask;
    for (;;) {
      const at = this.slots[slot] as number;
      if (at === 0) break;
      if (this.keyArr[at - 1] === key) return -1 - at;
      slot = (slot + 1) & this.mask;
    }
    if (this.n >= this.max) return -1;
    const i = this.n++;
    if (i === this.keyArr.length) this.grow();
    this.slots[slot] = i + 1;
    this.keyArr[i] = key;
    this.meta[i * META] = f1;
    this.meta[i * META + 6] = i;
    this.meta[i * META + 7] = -1;
    // At most half full, so probes stay short.
    if (this.n * 2 > this.slots.length) this.rehash();
    return i;
  }

  /** Doubles the slot table. */
  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let i = 0; i < this.n; i++) {
      let slot = (this.meta[i * META] as number) & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = i + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }

  /** Doubles the token arrays. */
  private grow(): void {
    const keys = new Float64Array(this.keyArr.length * 2);
    keys.set(this.keyArr);
    this.keyArr = keys;
    const meta = new Int32Array(this.meta.length * 2);
    meta.set(this.meta);
    this.meta = meta;
  }

  /** Adds a token given as text. */
  add(text: string): void {
    const key = tokenKey(text);
    const i = this.insert((key % 4294967296) | 0, key);
    if (i >= 0) this.literals.set(i, text);
  }

  /**
   * Adds a word, or a pair (s2 >= 0) of the words that are tokens w1 and w2. Returns
   * the token's index, new or not, or -1 when full.
   */
  private addWord(
    f1: number,
    key: number,
    src: number,
    s1: number,
    e1: number,
    s2 = -1,
    e2 = -1,
    w1 = -1,
    w2 = -1,
  ): number {
    const i = this.insert(f1, key);
    if (i < 0) return i === -1 ? -1 : -2 - i;
    const at = i * META;
    const m = this.meta;
    m[at + 1] = src;
    m[at + 2] = s1;
    m[at + 3] = e1;
    m[at + 4] = s2;
    m[at + 5] = e2;
    if (s2 >= 0) {
      m[at + 6] = w1;
      m[at + 7] = w2;
    }
    return i;
  }

  /**
   * Adds the words of a text, each with `prefix`, and (with `bigrams`) each pair of
   * adjacent words. Words outside 2..40 characters break the chain of pairs; a longer
   * one leaves a "skip:" token with its first character and its length in tens. With
   * `capitals`, words of at least 3 characters written in capitals ("FREE", "URGENT")
   * are also kept apart with their case, as "caps:WORD" (200 at most).
   */
  words(text: string, prefix: string, bigrams: boolean, capitals = false): void {
    const s = text.toLowerCase();
    // Capitals are told by comparing with the lower-cased text at the same positions.
    let capsLeft = capitals && s.length === text.length ? 200 : 0;
    const src = this.sources.push({ text: s, prefix }) - 1;
    let p1 = SEED1;
    let p2 = SEED2;
    for (let i = 0; i < prefix.length; i++) {
      p1 = Math.imul(p1 ^ prefix.charCodeAt(i), M1);
      p2 = ((p2 << 5) + p2) ^ prefix.charCodeAt(i);
    }
    const n = s.length;
    // The previous word, when it can start a bigram (prevEnd >= 0); its hashes are q1, q2.
    let prevStart = -1;
    let prevEnd = -1;
    let i = 0;
    while (i < n) {
      let c = s.charCodeAt(i);
      // Fast path: skip what cannot start a word.
      if (c < 128 ? c < 48 && c !== 36 : false) {
        i++;
        continue;
      }
      let k = c >= 97 && c <= 122 ? LETTER : classOf(c);
      if (k === CJK) {
        i = this.cjk(s, i, p1, p2, src);
        if (this.n >= this.max) return;
        prevEnd = -1;
        continue;
      }
      if (k !== LETTER && k !== DIGIT) {
        if (k !== CURRENCY || i + 1 >= n || !isWordChar(classOf(s.charCodeAt(i + 1)))) {
          i++;
          continue;
        }
      }
      const start = i;
      let h1 = p1;
      let h2 = p2;
      let len = 0;
      let inDigits = false;
      while (i < n) {
        c = s.charCodeAt(i);
        // Fast path: ASCII letters.
        if (c >= 97 && c <= 122) {
          inDigits = false;
          i++;
          len++;
          h1 = Math.imul(h1 ^ c, M1);
          h2 = ((h2 << 5) + h2) ^ c;
          continue;
        }
        k = classOf(c);
        if (k === LETTER) {
          inDigits = false;
        } else if (k === DIGIT) {
          i++;
          if (inDigits) continue;
          inDigits = true;
          c = HASH;
          len++;
          h1 = Math.imul(h1 ^ c, M1);
          h2 = ((h2 << 5) + h2) ^ c;
          continue;
        } else if (
          (k === CURRENCY && i === start) ||
          (k === JOIN && i > start && i + 1 < n && isWordChar(classOf(s.charCodeAt(i + 1))))
        ) {
          inDigits = false;
        } else if (k === PERCENT && i > start) {
          i++;
          len++;
          h1 = Math.imul(h1 ^ c, M1);
          h2 = ((h2 << 5) + h2) ^ c;
          break;
        } else break;
        i++;
        len++;
        h1 = Math.imul(h1 ^ c, M1);
        h2 = ((h2 << 5) + h2) ^ c;
      }
      if (len < MIN_WORD || len > MAX_WORD) {
        if (len > MAX_WORD) {
          this.add(`${prefix}skip:${s[start]}${Math.min(9, Math.floor(len / 10))}0`);
        }
        prevEnd = -1;
        continue;
      }
      // Capitals: the first character differs from its lower case, then the word.
      if (capsLeft > 0 && len >= 3 && text.charCodeAt(start) !== s.charCodeAt(start)) {
        const w = text.slice(start, i);
        if (w === w.toUpperCase()) {
          capsLeft--;
          this.add(`${prefix}caps:${collapseDigits(w)}`);
        }
      }
      this.word(h1, h2, src, start, i, bigrams ? prevStart : -1, prevEnd);
      if (this.n >= this.max) return;
      prevStart = start;
      prevEnd = i;
    }
  }

  /**
   * A run of Han, kana or Hangul from `start`: Chinese and Japanese put no spaces between
   * words, so a run is taken as its overlapping pairs of characters (a lone character
   * as itself), which catch most words without a dictionary, as other filters do.
   * Returns where the run ends.
   */
  private cjk(s: string, start: number, p1: number, p2: number, src: number): number {
    let end = start;
    while (end < s.length && end - start < 1000 && classOf(s.charCodeAt(end)) === CJK) end++;
    const last = end - start === 1 ? start : end - 2;
    for (let j = start; j <= last && this.n < this.max; j++) {
      const to = Math.min(j + 2, end);
      let h1 = p1;
      let h2 = p2;
      for (let x = j; x < to; x++) {
        const c = s.charCodeAt(x);
        h1 = Math.imul(h1 ^ c, M1);
        h2 = ((h2 << 5) + h2) ^ c;
      }
      this.word(h1, h2, src, j, to, -1, -1);
    }
    // A run longer than the bound goes on as the next one.
    return end;
  }

  // The hashes and token index of the previous word, for the next bigram (see word()).
  private q1 = 0;
  private q2 = 0;
  private qi = -1;

  /**
   * Adds a word given its hash streams, and the bigram with the previous word when
   * prevStart >= 0. Apart from words() so the engine inlines the mixing here.
   */
  private word(
    h1: number,
    h2: number,
    src: number,
    start: number,
    end: number,
    prevStart: number,
    prevEnd: number,
  ): void {
    const f1 = fmix(h1);
    const f2 = fmix(h2);
    const w = this.addWord(f1, keyOf(f1, f2), src, start, end);
    if (prevStart >= 0 && prevEnd >= 0 && w >= 0 && this.qi >= 0) {
      const g1 = pair1(this.q1, f1);
      const key = keyOf(g1, pair2(this.q2, f2));
      this.addWord(g1, key, src, prevStart, prevEnd, start, end, this.qi, w);
    }
    this.q1 = f1;
    this.q2 = f2;
    this.qi = w;
  }

  /** A host as "url:host" and its registrable domain as "url:domain". */
  host(host: string): void {
    const h = host.toLowerCase().replace(/\.+$/, '');
    if (h === '' || !h.includes('.')) return;
    this.add(`url:${h}`);
    const d = /^[\d.]+$/.test(h) ? null : registrableDomain(h);
    if (d && d !== h) this.add(`url:${d}`);
  }

  /** Link hosts found by a regexp (the host in its first group); 100 at most. */
  links(text: string, re: RegExp, seen: Set<string>): void {
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const h = (m[1] as string).toLowerCase();
      if (seen.has(h)) continue;
      if (seen.size >= 100) return;
      seen.add(h);
      this.host(h);
    }
  }

  /** Adds the host at `from` in text (letters, digits, dots and hyphens), unless seen. */
  private hostAt(text: string, from: number, seen: Set<string>): void {
    let end = from;
    while (end < text.length && end - from < 253) {
      const c = text.charCodeAt(end) | 0x20;
      if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 0x2e || c === 0x2d) end++;
      else break;
    }
    if (end === from || !isWordChar(classOf(text.charCodeAt(from)))) return;
    const h = text.slice(from, end).toLowerCase();
    if (seen.has(h) || seen.size >= 100) return;
    seen.add(h);
    this.host(h);
  }

  /** Hosts of http(s) links and bare "www." names in plain text; 100 at most. */
  textLinks(text: string, seen: Set<string>): void {
    for (let at = text.indexOf('://'); at >= 0; at = text.indexOf('://', at + 3)) {
      let b = at;
      if ((text.charCodeAt(b - 1) | 0x20) === 0x73) b--; // https
      if (text.slice(b - 4, b).toLowerCase() !== 'http') continue;
      if (b > 4 && isWordChar(classOf(text.charCodeAt(b - 5)))) continue;
      this.hostAt(text, at + 3, seen);
    }
    for (let at = text.indexOf('www.'); at >= 0; at = text.indexOf('www.', at + 4)) {
      const before = at > 0 ? text.charCodeAt(at - 1) : 0x20;
      // Inside a URL (found above) or a longer word.
      if (before === 0x2f || before === 0x2e || isWordChar(classOf(before))) continue;
      this.hostAt(text, at, seen);
    }
  }
}
