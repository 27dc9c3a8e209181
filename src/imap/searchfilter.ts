// SEARCH programs the store answers without reading message rows one by one: as a
// filter on indexed columns (flags, size, dates, UIDs, modseq) run as one query, or as a
// predicate over the account's cached flag bits. Either is null when a key needs more.
import { inRanges, type Matcher } from './searchkeys.js';
import type { MessageFilter } from '../store/index.js';

/** Beyond this many UID ranges a filter is not worth building: evaluate in JS. */
const MAX_FILTER_RANGES = 64;

/**
 * The matcher as a store filter on flags, size, internal date and UID, or null when a key
 * needs more (keywords, headers, text, sent dates) or is impractical for the store.
 * Sequence ranges are translated to UID ranges through the session's numbering, which is
 * sorted, so each is one UID interval; numbers beyond the mailbox match nothing.
 */
export function toFilter(
  m: Matcher,
  session: { length: number; at(i: number): number },
): MessageFilter | null {
  switch (m.op) {
    case 'all':
    case 'none':
      return { op: m.op };
    case 'flag':
      return { op: 'flag', bit: m.bit, set: m.set };
    case 'larger':
    case 'smaller':
      return { op: m.op, size: m.size };
    case 'before':
    case 'since':
    case 'on':
    case 'savedbefore':
    case 'savedsince':
    case 'savedon':
      return { op: m.op, day: m.day };
    // The store compares internal dates to the millisecond.
    case 'older':
      return { op: 'before', day: m.time };
    case 'younger':
      return { op: 'since', day: m.time };
    case 'modseq':
      return { op: 'modseq', min: m.min };
    case 'in': {
      if (m.ranges.length / 2 > MAX_FILTER_RANGES) return null;
      const ranges: number[] = [];
      for (let i = 0; i < m.ranges.length; i += 2) {
        let lo = m.ranges[i] as number;
        let hi = m.ranges[i + 1] as number;
        if (m.field === 'seq') {
          lo = Math.max(lo, 1);
          hi = Math.min(hi, session.length);
          if (lo > hi) continue;
          lo = session.at(lo - 1);
          hi = session.at(hi - 1);
        }
        ranges.push(lo, hi);
      }
      return { op: 'uids', ranges };
    }
    case 'not': {
      const f = toFilter(m.m, session);
      return f && { op: 'not', filter: f };
    }
    case 'or': {
      const a = toFilter(m.a, session);
      const b = a && toFilter(m.b, session);
      return b && { op: 'or', a: a!, b };
    }
    case 'and': {
      const filters: MessageFilter[] = [];
      for (const k of m.ms) {
        const f = toFilter(k, session);
        if (!f) return null;
        filters.push(f);
      }
      return { op: 'and', filters };
    }
    default:
      return null;
  }
}

/** A search on flags, UIDs and sequence numbers only, compiled to a function. */
export type FlagPredicate = (flags: number, uid: number, seq: number) => boolean;

/**
 * The matcher as a predicate over flag bits, UID and sequence number, or null when a
 * key needs anything else (size, dates, keywords, headers, text).
 */
export function toPredicate(m: Matcher): FlagPredicate | null {
  switch (m.op) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'flag': {
      const bit = m.bit;
      return m.set ? (f) => (f & bit) !== 0 : (f) => (f & bit) === 0;
    }
    case 'in': {
      const r = m.ranges;
      return m.field === 'uid' ? (_f, u) => inRanges(r, u) : (_f, _u, s) => inRanges(r, s);
    }
    case 'saved': {
      const set = m.uids;
      return (_f, u) => set.has(u);
    }
    case 'not': {
      const a = toPredicate(m.m);
      return a && ((f, u, s) => !a(f, u, s));
    }
    case 'or': {
      const a = toPredicate(m.a);
      const b = a && toPredicate(m.b);
      return a && b && ((f, u, s) => a(f, u, s) || b(f, u, s));
    }
    case 'and': {
      const ps: FlagPredicate[] = [];
      for (const k of m.ms) {
        const p = toPredicate(k);
        if (!p) return null;
        ps.push(p);
      }
      // The usual one or two keys without a loop per message.
      if (ps.length === 1) return ps[0]!;
      if (ps.length === 2) {
        const [a, b] = ps as [FlagPredicate, FlagPredicate];
        return (f, u, s) => a(f, u, s) && b(f, u, s);
      }
      return (f, u, s) => ps.every((p) => p(f, u, s));
    }
    default:
      return null;
  }
}
