// The selected mailbox's message numbering: a sorted UID list where the message sequence
// number is index + 1 (RFC 9051 §2.3.1.2). Kept in a Uint32Array so a session on a
// 100,000-message mailbox costs 400 KB, not megabytes of boxed numbers.
import { ParseError, type NumSetSpec } from './parser.js';

export class UidList {
  private a: Uint32Array;
  private n = 0;

  constructor(uids: ArrayLike<number> = []) {
    this.a = new Uint32Array(Math.max(16, uids.length));
    this.a.set(uids);
    this.n = uids.length;
  }

  get length(): number {
    return this.n;
  }

  /** UID at 0-based index. */
  at(i: number): number {
    return this.a[i] as number;
  }

  last(): number {
    return this.n > 0 ? (this.a[this.n - 1] as number) : 0;
  }

  /** 0-based index of a UID, or -1. */
  indexOf(uid: number): number {
    let lo = 0;
    let hi = this.n - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.a[mid] as number;
      if (v === uid) return mid;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Appends a UID above every UID in the list; anything else is a broken invariant. */
  append(uid: number): void {
    if (this.n > 0 && uid <= (this.a[this.n - 1] as number)) {
      throw new Error(`uid ${uid} not above last uid ${this.last()}`);
    }
    if (this.n === this.a.length) {
      const b = new Uint32Array(this.a.length * 2);
      b.set(this.a);
      this.a = b;
    }
    this.a[this.n++] = uid;
  }

  /** Removes a UID; returns its 0-based index (its sequence number minus one), or -1. */
  remove(uid: number): number {
    const i = this.indexOf(uid);
    if (i < 0) return -1;
    this.a.copyWithin(i, i + 1, this.n);
    this.n--;
    return i;
  }

  /**
   * Removes UIDs in one pass. For each UID given (ascending), the 0-based index it had
   * when its turn came, earlier removals counted (its sequence number minus one for an
   * EXPUNGE response), or -1 when it is not in the list.
   */
  removeMany(uids: readonly number[]): number[] {
    const out: number[] = [];
    let w = 0;
    let k = 0;
    for (let r = 0; r < this.n; r++) {
      const v = this.a[r] as number;
      while (k < uids.length && (uids[k] as number) < v) {
        out.push(-1);
        k++;
      }
      if (k < uids.length && uids[k] === v) {
        // Its index once the earlier ones are gone: the number kept before it.
        out.push(w);
        k++;
        continue;
      }
      this.a[w++] = v;
    }
    while (k++ < uids.length) out.push(-1);
    this.n = w;
    return out;
  }

  toArray(): number[] {
    return Array.from(this.a.subarray(0, this.n));
  }
}

/**
 * Message sequence numbers of a sequence set (RFC 9051 §9 sequence-set), ascending and
 * without duplicates. "*" is the highest number; on an empty mailbox, or for a number
 * above the message count, the set is a syntax error (the reference answers BAD).
 */
export function resolveSeqs(
  spec: NumSetSpec,
  count: number,
  saved: number[] | null,
  uids: UidList,
): number[] {
  if (spec.saved) return savedToSeqs(saved, uids);
  const out = new Set<number>();
  for (const [x, y] of spec.ranges) {
    const a = x === -1 ? count : x;
    const b = y === -1 ? count : y;
    if (a === 0 || b === 0) throw new ParseError('* used on empty mailbox');
    if (a > count || b > count)
      throw new ParseError(
        `message sequence number ${Math.max(a, b)} above number of messages ${count}`,
      );
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((p, q) => p - q);
}

/**
 * UIDs of a UID set that exist in the session's list, ascending. "*" is the highest UID
 * (RFC 9051 §6.4.9: a range with "*" always includes the last message); UIDs that do
 * not exist are ignored.
 */
export function resolveUids(spec: NumSetSpec, uids: UidList, saved: number[] | null): number[] {
  if (spec.saved) return (saved ?? []).filter((u) => uids.indexOf(u) >= 0);
  const max = uids.last();
  const out: number[] = [];
  const seen = new Set<number>();
  for (const [x, y] of spec.ranges) {
    const a = x === -1 ? max : x;
    const b = y === -1 ? max : y;
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const add = (u: number) => {
      if (!seen.has(u)) {
        seen.add(u);
        out.push(u);
      }
    };
    if (hi - lo < uids.length) {
      for (let u = lo; u <= hi; u++) if (uids.indexOf(u) >= 0) add(u);
    } else {
      // Wide range: walk the list instead of the numbers.
      for (let i = 0; i < uids.length; i++) {
        const u = uids.at(i);
        if (u >= lo && u <= hi) add(u);
      }
    }
  }
  return out.sort((p, q) => p - q);
}

function savedToSeqs(saved: number[] | null, uids: UidList): number[] {
  const out: number[] = [];
  for (const u of saved ?? []) {
    const i = uids.indexOf(u);
    if (i >= 0) out.push(i + 1);
  }
  return out.sort((p, q) => p - q);
}

/** Compact set text: [1,2,3,5] -> "1:3,5" (RFC 9051 sequence-set). Input ascending. */
export function compactSet(nums: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < nums.length) {
    const start = nums[i] as number;
    let end = start;
    while (i + 1 < nums.length && nums[i + 1] === end + 1) end = nums[++i] as number;
    parts.push(start === end ? `${start}` : `${start}:${end}`);
    i++;
  }
  return parts.join(',');
}
