// SEARCH programs (RFC 9051 §6.4.4, RFC 4731 ESEARCH, RFC 5182 SEARCHRES): parsing the
// command's RETURN options, CHARSET and search keys into a tree, binding the tree to the
// selected mailbox, and evaluating it against what is known about one message.
//
// Evaluation is three-valued: a key whose data is not loaded yet (header, text) yields
// UNKNOWN, so a search first runs on cheap database columns and reads message data only
// for messages it cannot decide without it.
import { ParseError, type NumSetSpec, type Parser } from './parser.js';
import { UserError } from './errors.js';
import { flagBit, Flag } from '../store/index.js';

/** Deepest nesting of parentheses, NOT and OR accepted; deeper is a BAD. */
export const MAX_SEARCH_DEPTH = 100;

export type ReturnOption = 'MIN' | 'MAX' | 'ALL' | 'COUNT' | 'SAVE';

/** A parsed search key. Strings are lower-cased for case-insensitive matching. */
export type SearchKey =
  | { op: 'all' }
  | { op: 'none' }
  | { op: 'flag'; bit: number; set: boolean }
  | { op: 'keyword'; name: string; set: boolean }
  | { op: 'larger' | 'smaller'; size: number }
  | {
      op:
        | 'before'
        | 'on'
        | 'since'
        | 'sentbefore'
        | 'senton'
        | 'sentsince'
        | 'savedbefore'
        | 'savedon'
        | 'savedsince';
      day: number;
    }
  /** RFC 8474 §6 EMAILID: the message's row id (-1 for an id that names none). */
  | { op: 'emailid'; id: number }
  /** RFC 7162 §3.1.5 MODSEQ: a modseq at or above `min`. */
  | { op: 'modseq'; min: number }
  /** RFC 5032 OLDER and YOUNGER: internal date before, or at or after, a moment (ms). */
  | { op: 'older' | 'younger'; time: number }
  | { op: 'header'; field: string; value: string }
  | { op: 'body' | 'text'; value: string }
  | { op: 'seq' | 'uid'; set: NumSetSpec }
  /** RFC 8474 §6 THREADID: the messages of a thread (-1 for an id that names none). */
  | { op: 'threadid'; id: number }
  /** \Recent in this session (RFC 3501 §2.3.2). */
  | { op: 'recent' }
  | { op: 'not'; key: SearchKey }
  | { op: 'or'; a: SearchKey; b: SearchKey }
  | { op: 'and'; keys: SearchKey[] };

export interface SearchCommand {
  /** RETURN options (RFC 4731 §3.1); null when the command has no RETURN. */
  returns: Set<ReturnOption> | null;
  /** The CHARSET given, upper-cased, or null. */
  charset: string | null;
  key: SearchKey;
}

type Leaf = Exclude<
  SearchKey,
  { op: 'seq' | 'uid' | 'threadid' | 'recent' | 'not' | 'or' | 'and' }
>;

/** A search key bound to a mailbox: sequence sets resolved to sorted ranges. */
export type Matcher =
  | Leaf
  /** Flat sorted disjoint [lo, hi] pairs of sequence numbers or UIDs. */
  | { op: 'in'; field: 'seq' | 'uid'; ranges: number[] }
  | { op: 'saved'; uids: Set<number> }
  | { op: 'not'; m: Matcher }
  | { op: 'or'; a: Matcher; b: Matcher }
  | { op: 'and'; ms: Matcher[] };

/** What a search needs beyond database columns, in loading order. */
export const Need = { Row: 0, Part: 1, Header: 2, Text: 3 } as const;
export type Need = (typeof Need)[keyof typeof Need];

export interface SearchPlan {
  matcher: Matcher;
  /** The most expensive data any key needs. */
  need: Need;
  /** Whether KEYWORD/UNKEYWORD on non-bit keywords occur (the keyword list is needed). */
  keywords: boolean;
  /** Whether a header-field key occurs (decoded fields are needed, not only text). */
  headerFields: boolean;
  /** Whether a MODSEQ key occurs (RFC 7162 §3.1.5: the response then gives a modseq). */
  modseq: boolean;
}

/** The numbering a search is bound to. */
export interface SearchEnv {
  /** Number of messages in the session (the value of "*" for sequence numbers). */
  count: number;
  /** Highest UID in the session, 0 when empty (the value of "*" for UIDs). */
  maxUid: number;
  /** The saved result (RFC 5182), as UIDs; null when none. */
  saved: readonly number[] | null;
  /** UIDs \Recent in the session (IMAP4rev1); none when absent. */
  recent?: ReadonlySet<number>;
  /** UIDs of the mailbox's messages in a thread; none when absent. */
  threadUids?: (threadId: number) => readonly number[];
}

/** What is known about one message; absent members are not loaded yet. */
export interface MessageFacts {
  /** The row id (EMAILID). */
  id: number;
  seq: number;
  uid: number;
  flags: number;
  /** Keywords that are not flag bits (only filled when the plan needs them). */
  keywords: readonly string[];
  internalDate: number;
  /** When the message was saved into the mailbox (RFC 8514). */
  saveDate: number;
  size: number;
  modseq: number;
  /** UTC midnight of the day the Date header names (or of the internal date). */
  sentDay?: number;
  /** Header fields: lower-cased names, decoded and lower-cased values. */
  header?: readonly { name: string; value: string }[];
  /** Decoded, lower-cased text: header lines and body text. */
  text?: { header: string; body: string };
}

export const NO = 0;
export const YES = 1;
export const UNKNOWN = 2;
export type Tri = typeof NO | typeof YES | typeof UNKNOWN;

const DAY = 86_400_000;

// ---- parsing ----

/**
 * Parses everything after "SEARCH ": [RETURN (...)] [CHARSET x] keys, to the end of the
 * command. An unsupported charset is reported (NO [BADCHARSET]) only after the whole
 * command is read, so no literal is left unread. With UTF-8 enabled (RFC 6855 §3,
 * IMAP4rev2) strings are UTF-8 and only CHARSET UTF-8 is accepted.
 */
export async function parseSearch(p: Parser, utf8: boolean): Promise<SearchCommand> {
  const returns = parseReturnOptions(p);
  const { charset, key } = await parseProgram(p);
  checkCharset(charset, utf8);
  return { returns, charset, key };
}

/** "RETURN (opts) " (RFC 4731 §3.1); null when absent. "RETURN ()" means ALL. */
export function parseReturnOptions(p: Parser): Set<ReturnOption> | null {
  if (!p.take('RETURN ')) return null;
  p.expect('(');
  const opts = new Set<ReturnOption>();
  for (let n = 0; !p.take(')'); n++) {
    if (n > 0) p.sp();
    const o = p.atom().toUpperCase();
    if (o !== 'MIN' && o !== 'MAX' && o !== 'ALL' && o !== 'COUNT' && o !== 'SAVE') {
      p.fail(`unknown search return option ${JSON.stringify(o)}`);
    }
    opts.add(o);
  }
  p.sp();
  if (opts.size === 0) opts.add('ALL');
  return opts;
}

/** ["CHARSET" SP charset SP] search-key *(SP search-key), then the end of the command. */
export async function parseProgram(p: Parser): Promise<{ charset: string | null; key: SearchKey }> {
  let charset: string | null = null;
  if (p.take('CHARSET ')) {
    charset = (await p.astring()).toUpperCase();
    p.sp();
  }
  const keys = [await parseKey(p, 0)];
  while (!p.atEnd) {
    p.sp();
    keys.push(await parseKey(p, 0));
  }
  return { charset, key: andOf(keys) };
}

/** Charsets accepted: US-ASCII and UTF-8 (RFC 9051 §6.4.4); only UTF-8 once UTF-8 is enabled. */
export function checkCharset(charset: string | null, _utf8: boolean): void {
  if (charset === null) return;
  // RFC 9051 §6.4.4: US-ASCII and UTF-8 must be supported, also in IMAP4rev2 sessions;
  // US-ASCII is a subset of UTF-8.
  const supported = ['UTF-8', 'US-ASCII'];
  if (!supported.includes(charset)) {
    throw new UserError(
      `BADCHARSET (${supported.join(' ')})`,
      `charset ${JSON.stringify(charset)} not supported`,
    );
  }
}

const SEQ_START = '0123456789*$';

function startsSequenceSet(p: Parser): boolean {
  for (const ch of SEQ_START) if (p.peek(ch)) return true;
  return false;
}

const FLAG_KEYS: Record<string, [number, boolean]> = {
  ANSWERED: [Flag.Answered, true],
  DELETED: [Flag.Deleted, true],
  DRAFT: [Flag.Draft, true],
  FLAGGED: [Flag.Flagged, true],
  SEEN: [Flag.Seen, true],
  UNANSWERED: [Flag.Answered, false],
  UNDELETED: [Flag.Deleted, false],
  UNDRAFT: [Flag.Draft, false],
  UNFLAGGED: [Flag.Flagged, false],
  UNSEEN: [Flag.Seen, false],
};

const HEADER_KEYS: Record<string, string> = {
  BCC: 'bcc',
  CC: 'cc',
  FROM: 'from',
  SUBJECT: 'subject',
  TO: 'to',
};

/** One search-key (RFC 9051 §9), nesting bounded by MAX_SEARCH_DEPTH. */
export async function parseKey(p: Parser, depth: number): Promise<SearchKey> {
  if (depth >= MAX_SEARCH_DEPTH) p.fail(`search keys nested deeper than ${MAX_SEARCH_DEPTH}`);
  if (p.take('(')) {
    const keys = [await parseKey(p, depth + 1)];
    while (!p.take(')')) {
      p.sp();
      keys.push(await parseKey(p, depth + 1));
    }
    return andOf(keys);
  }
  if (startsSequenceSet(p)) return { op: 'seq', set: p.sequenceSet(true) };
  const word = p.atom().toUpperCase();
  const fk = FLAG_KEYS[word];
  if (fk) return { op: 'flag', bit: fk[0], set: fk[1] };
  const hk = HEADER_KEYS[word];
  if (hk) {
    p.sp();
    const value = await searchString(p);
    // The empty string is a substring of any value, present or not.
    return value === '' ? { op: 'all' } : { op: 'header', field: hk, value };
  }
  switch (word) {
    case 'ALL':
    case 'SAVEDATESUPPORTED': // RFC 8514 §4: every mailbox here keeps save dates.
      return { op: 'all' };
    // RFC 3501 §6.4.4: \Recent is the session's (none under IMAP4rev2).
    case 'RECENT':
      return { op: 'recent' };
    case 'NEW': // RECENT UNSEEN
      return { op: 'and', keys: [{ op: 'recent' }, { op: 'flag', bit: Flag.Seen, set: false }] };
    case 'OLD': // NOT RECENT
      return { op: 'not', key: { op: 'recent' } };
    case 'KEYWORD':
    case 'UNKEYWORD':
      p.sp();
      return keywordKey(p.flag(), word === 'KEYWORD');
    case 'BEFORE':
    case 'ON':
    case 'SINCE':
    case 'SENTBEFORE':
    case 'SENTON':
    case 'SENTSINCE':
    case 'SAVEDBEFORE': // RFC 8514 §4: the day the message was saved into the mailbox.
    case 'SAVEDON':
    case 'SAVEDSINCE':
      p.sp();
      return { op: word.toLowerCase() as 'before', day: p.date() };
    case 'EMAILID': {
      p.sp();
      const m = /^M([0-9a-z]{1,11})$/.exec(objectId(p));
      return { op: 'emailid', id: m ? parseInt(m[1]!, 36) : -1 };
    }
    case 'THREADID': {
      p.sp();
      const m = /^T([0-9a-z]{1,11})$/.exec(objectId(p));
      return { op: 'threadid', id: m ? parseInt(m[1]!, 36) : -1 };
    }
    case 'OLDER':
    case 'YOUNGER': {
      // RFC 5032 §3: an interval in seconds, counted back from now.
      p.sp();
      const seconds = p.nzNumber();
      return { op: word === 'OLDER' ? 'older' : 'younger', time: Date.now() - seconds * 1000 };
    }
    case 'LARGER':
    case 'SMALLER':
      p.sp();
      return { op: word === 'LARGER' ? 'larger' : 'smaller', size: p.number64() };
    case 'BODY':
    case 'TEXT': {
      p.sp();
      const value = await searchString(p);
      return value === '' ? { op: 'all' } : { op: word === 'BODY' ? 'body' : 'text', value };
    }
    case 'HEADER': {
      p.sp();
      const field = (await p.astring()).toLowerCase();
      if (field === '') p.fail('empty header field name');
      p.sp();
      // RFC 9051 §6.4.4: an empty string matches every message that has the field.
      return { op: 'header', field, value: await searchString(p) };
    }
    case 'MODSEQ':
      return modseqKey(p);
    case 'UID':
      p.sp();
      return { op: 'uid', set: p.sequenceSet(true) };
    case 'NOT':
      p.sp();
      return { op: 'not', key: await parseKey(p, depth + 1) };
    case 'OR': {
      p.sp();
      const a = await parseKey(p, depth + 1);
      p.sp();
      return { op: 'or', a, b: await parseKey(p, depth + 1) };
    }
  }
  throw new ParseError(`unknown search key ${JSON.stringify(word)}`);
}

/** objectid = 1*255(ALPHA / DIGIT / "_" / "-") (RFC 8474 §7). */
function objectId(p: Parser): string {
  const id = p.atom();
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) p.fail(`invalid object id ${JSON.stringify(id)}`);
  return id;
}

async function searchString(p: Parser): Promise<string> {
  return (await p.astring()).toLowerCase();
}

/**
 * RFC 7162 §3.1.5: MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer. The
 * entry names a flag's own modseq; a message here has one modseq for all its flags, so
 * the entry is checked for syntax and then the message's modseq is compared.
 */
async function modseqKey(p: Parser): Promise<SearchKey> {
  p.sp();
  if (p.peek('"')) {
    const entry = (await p.astring()).toLowerCase();
    if (!/^\/flags\/\\?[^\s"\\]+$/.test(entry)) p.fail(`invalid MODSEQ entry name ${entry}`);
    p.sp();
    const type = p.atom().toLowerCase();
    if (type !== 'priv' && type !== 'shared' && type !== 'all')
      p.fail(`invalid MODSEQ entry type ${type}`);
    p.sp();
  }
  return { op: 'modseq', min: p.modSeq() };
}

/** KEYWORD flag-keyword; system flags and well-known keywords are bits. */
function keywordKey(name: string, set: boolean): SearchKey {
  const bit = flagBit(name);
  if (bit) return { op: 'flag', bit, set };
  return { op: 'keyword', name: name.toLowerCase(), set };
}

function andOf(keys: SearchKey[]): SearchKey {
  const flat: SearchKey[] = [];
  for (const k of keys) {
    if (k.op === 'and') flat.push(...k.keys);
    else flat.push(k);
  }
  return flat.length === 1 ? (flat[0] as SearchKey) : { op: 'and', keys: flat };
}

/** Whether `f` holds for some key of the tree. */
export function someKey(k: SearchKey, f: (k: SearchKey) => boolean): boolean {
  if (f(k)) return true;
  switch (k.op) {
    case 'not':
      return someKey(k.key, f);
    case 'or':
      return someKey(k.a, f) || someKey(k.b, f);
    case 'and':
      return k.keys.some((x) => someKey(x, f));
    default:
      return false;
  }
}

// ---- binding ----

/** Binds a key to the session's numbering and saved result; orders AND terms cheap first. */
export function planSearch(key: SearchKey, env: SearchEnv): SearchPlan {
  const plan: SearchPlan = {
    matcher: { op: 'all' },
    need: Need.Row,
    keywords: false,
    headerFields: false,
    modseq: false,
  };
  plan.matcher = bind(key, env, plan);
  return plan;
}

function bind(k: SearchKey, env: SearchEnv, plan: SearchPlan): Matcher {
  switch (k.op) {
    case 'seq':
    case 'uid':
      if (k.set.saved) return { op: 'saved', uids: new Set(env.saved ?? []) };
      return {
        op: 'in',
        field: k.op,
        ranges: toRanges(k.set, k.op === 'seq' ? env.count : env.maxUid),
      };
    case 'recent':
      return { op: 'saved', uids: new Set(env.recent ?? []) };
    case 'threadid':
      return { op: 'saved', uids: new Set(k.id < 0 ? [] : (env.threadUids?.(k.id) ?? [])) };
    case 'not':
      return { op: 'not', m: bind(k.key, env, plan) };
    case 'or':
      return { op: 'or', a: bind(k.a, env, plan), b: bind(k.b, env, plan) };
    case 'and': {
      const ms = k.keys.map((x) => bind(x, env, plan));
      return { op: 'and', ms: ms.sort((a, b) => cost(a) - cost(b)) };
    }
    default:
      notice(k, plan);
      return k;
  }
}

function notice(k: Leaf, plan: SearchPlan): void {
  const n = leafNeed(k);
  if (n > plan.need) plan.need = n;
  if (k.op === 'keyword') plan.keywords = true;
  if (k.op === 'header') plan.headerFields = true;
  if (k.op === 'modseq') plan.modseq = true;
}

function leafNeed(k: Leaf): Need {
  switch (k.op) {
    case 'sentbefore':
    case 'senton':
    case 'sentsince':
      return Need.Part;
    case 'header':
      return Need.Header;
    case 'body':
    case 'text':
      return Need.Text;
    default:
      return Need.Row;
  }
}

function cost(m: Matcher): number {
  switch (m.op) {
    case 'not':
      return cost(m.m);
    case 'or':
      return Math.max(cost(m.a), cost(m.b));
    case 'and':
      return m.ms.reduce((x, y) => Math.max(x, cost(y)), 0);
    case 'in':
    case 'saved':
      return 0;
    default:
      return leafNeed(m);
  }
}

/**
 * Sorted, merged [lo, hi] pairs of a sequence set, "*" being `star`. Numbers beyond the
 * mailbox are kept: they simply match nothing (no BAD in SEARCH).
 */
export function toRanges(set: NumSetSpec, star: number): number[] {
  const pairs = set.ranges.map(([x, y]) => {
    const a = x === -1 ? star : x;
    const b = y === -1 ? star : y;
    return a <= b ? [a, b] : [b, a];
  });
  pairs.sort((p, q) => (p[0] as number) - (q[0] as number));
  const out: number[] = [];
  for (const [lo, hi] of pairs as [number, number][]) {
    const n = out.length;
    if (n > 0 && lo <= (out[n - 1] as number) + 1) out[n - 1] = Math.max(out[n - 1] as number, hi);
    else out.push(lo, hi);
  }
  return out;
}

/** Whether v lies in one of the sorted [lo, hi] pairs. */
export function inRanges(ranges: number[], v: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (v < (ranges[2 * mid] as number)) hi = mid - 1;
    else if (v > (ranges[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}

// ---- evaluation ----

const tri = (b: boolean): Tri => (b ? YES : NO);

/** Evaluates a matcher against a message: YES, NO, or UNKNOWN when data is missing. */
export function evaluate(m: Matcher, f: MessageFacts): Tri {
  switch (m.op) {
    case 'all':
      return YES;
    case 'none':
      return NO;
    case 'flag':
      return tri(((f.flags & m.bit) !== 0) === m.set);
    case 'keyword':
      return tri(f.keywords.some((k) => k.toLowerCase() === m.name) === m.set);
    case 'larger':
      return tri(f.size > m.size);
    case 'smaller':
      return tri(f.size < m.size);
    case 'before':
    case 'on':
    case 'since':
      return compareDay(m.op, utcDay(f.internalDate), m.day);
    case 'savedbefore':
    case 'savedon':
    case 'savedsince':
      return compareDay(m.op.slice(5), utcDay(f.saveDate), m.day);
    case 'emailid':
      return tri(f.id === m.id);
    case 'modseq':
      return tri(f.modseq >= m.min);
    case 'older':
      return tri(f.internalDate < m.time);
    case 'younger':
      return tri(f.internalDate >= m.time);
    case 'sentbefore':
    case 'senton':
    case 'sentsince':
      return f.sentDay === undefined ? UNKNOWN : compareDay(m.op, f.sentDay, m.day);
    case 'header':
      return f.header === undefined ? UNKNOWN : tri(headerHas(f.header, m.field, m.value));
    case 'body':
      return f.text === undefined ? UNKNOWN : tri(f.text.body.includes(m.value));
    case 'text':
      return f.text === undefined
        ? UNKNOWN
        : tri(f.text.header.includes(m.value) || f.text.body.includes(m.value));
    case 'in':
      return tri(inRanges(m.ranges, m.field === 'seq' ? f.seq : f.uid));
    case 'saved':
      return tri(m.uids.has(f.uid));
    case 'not': {
      const r = evaluate(m.m, f);
      return r === UNKNOWN ? UNKNOWN : r === YES ? NO : YES;
    }
    case 'or': {
      const a = evaluate(m.a, f);
      if (a === YES) return YES;
      const b = evaluate(m.b, f);
      if (b === YES) return YES;
      return a === UNKNOWN || b === UNKNOWN ? UNKNOWN : NO;
    }
    case 'and': {
      let unknown = false;
      for (const x of m.ms) {
        const r = evaluate(x, f);
        if (r === NO) return NO;
        if (r === UNKNOWN) unknown = true;
      }
      return unknown ? UNKNOWN : YES;
    }
  }
}

function headerHas(
  fields: readonly { name: string; value: string }[],
  name: string,
  value: string,
): boolean {
  for (const h of fields) if (h.name === name && h.value.includes(value)) return true;
  return false;
}

function compareDay(op: string, day: number, key: number): Tri {
  if (op.endsWith('before')) return tri(day < key);
  if (op.endsWith('on')) return tri(day === key);
  return tri(day >= key);
}

/** UTC midnight of the day of a timestamp (internal dates compare by UTC calendar day). */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY) * DAY;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The calendar day a Date header names, as UTC midnight, or null when unparseable.
 * Time and zone are disregarded (RFC 9051 §6.4.4 SENT*): the day is the one written.
 * Two- and three-digit years are read as RFC 5322 §4.3 says.
 */
export function dateHeaderDay(value: string): number | null {
  const s = value.replace(/\([^()]*\)/g, ' ');
  const m = /(?:^|[\s,])(\d{1,2})\s+([A-Za-z]{3})[A-Za-z]*\.?\s+(\d{2,4})(?=\s|$)/.exec(s);
  if (!m) return null;
  const day = Number(m[1]);
  const month = MONTHS.indexOf((m[2] as string).toLowerCase());
  let year = Number(m[3]);
  if ((m[3] as string).length === 2) year += year < 50 ? 2000 : 1900;
  else if ((m[3] as string).length === 3) year += 1900;
  if (month < 0 || day < 1 || day > 31) return null;
  const t = Date.UTC(year, month, day);
  return new Date(t).getUTCDate() === day ? t : null;
}
