// SEARCH and UID SEARCH (RFC 9051 §6.4.4), ESEARCH (RFC 4731), SEARCHRES (RFC 5182).
//
// Messages are searched in batches of the session's UIDs: database columns first (flags,
// keywords, size, internal date); the MIME structure, the header and the decoded text are
// read only for messages the cheaper data cannot decide.
import type { Handler } from './types.js';
import type { AuthSession, SelectedSession, Selected } from '../session.js';
import type { Parser } from '../parser.js';
import type { Account, Message, SearchRow } from '../../store/index.js';
import {
  decodeHeaderValue,
  messageText,
  parseAddressList,
  parseHeaderBlock,
} from '../../message/index.js';
import { compactSet } from '../uids.js';
import { quote } from '../response.js';
import { enableCondstore } from '../condstore.js';
import { progressFor, type Progress } from '../progress.js';
import { requireUids } from '../uidonly.js';
import {
  NO,
  UNKNOWN,
  YES,
  Need,
  dateHeaderDay,
  checkCharset,
  evaluate,
  parseKey,
  parseProgram,
  parseReturnOptions,
  planSearch,
  utcDay,
  type MessageFacts,
  type ReturnOption,
  type SearchKey,
  type SearchPlan,
  someKey,
} from '../searchkeys.js';
import { toFilter, toPredicate } from '../searchfilter.js';

const BATCH = 200;

// RFC 9051 §6.4.4 SEARCH, §6.4.9 UID SEARCH (ESEARCH RFC 4731 §3, SEARCHRES RFC 5182 §2);
// syntax RFC 9051 §9 "search".
export const searchHandler: Handler<SelectedSession> = async (c, tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const returns = parseReturnOptions(p);
  const saving = returns?.has('SAVE') ?? false;
  try {
    const { charset, key } = await parseProgram(p);
    checkCharset(charset, c.utf8);
    // UIDONLY (RFC 9586 §3.4): neither numbers in the answer nor in the keys.
    if (!isUid) requireUids(c, 'SEARCH');
    if (someKey(key, (x) => x.op === 'seq')) requireUids(c, 'a search key');
    const sel = await c.requireSelected();
    // "$" refers to the result saved before this command (RFC 5182 §2.1).
    const plan = planFor(c, sel, key);
    // A CONDSTORE enabling command (RFC 7162 §3.1).
    if (plan.modseq) await enableCondstore(c);
    const found = await runSearch(c, sel, plan, progressFor(c, tag, 'searching'));
    if (returns && saving) sel.searchResult = savedResult(found.uids, returns);
    const modseq = plan.modseq ? await resultModseq(c, sel, found.uids, returns) : 0;
    await respond(c, tag, isUid, returns, isUid ? found.uids : found.seqs, modseq);
  } catch (e) {
    // A failed SEARCH with SAVE leaves an empty saved result (RFC 5182 §2.1).
    if (saving && c.selected) c.selected.searchResult = [];
    throw e;
  }
};

/**
 * The search part of SORT and THREAD: "charset 1*(SP search-key)" (RFC 5256 §5), the
 * charset required and without the CHARSET keyword; to the end of the command.
 */
export async function parseCharsetKeys(p: Parser, utf8: boolean): Promise<SearchKey> {
  const charset = (await p.astring()).toUpperCase();
  const keys: SearchKey[] = [];
  do {
    p.sp();
    keys.push(await parseKey(p, 0));
  } while (!p.atEnd);
  p.end();
  checkCharset(charset, utf8);
  return keys.length === 1 ? (keys[0] as SearchKey) : { op: 'and', keys };
}

/**
 * The messages of the selected mailbox that `key` selects, ascending, and with a MODSEQ
 * key the highest modseq among them (RFC 7162 §3.1.9), else 0.
 */
export async function searchSelected(
  c: SelectedSession,
  key: SearchKey,
): Promise<Found & { modseq: number }> {
  if (someKey(key, (x) => x.op === 'seq')) requireUids(c, 'a search key');
  const sel = await c.requireSelected();
  const plan = planFor(c, sel, key);
  if (plan.modseq) await enableCondstore(c);
  const found = await runSearch(c, sel, plan);
  const modseq = plan.modseq ? await resultModseq(c, sel, found.uids, null) : 0;
  return { ...found, modseq };
}

/**
 * A search bound to a mailbox as the session sees it: its numbering, $, \Recent and
 * the account's threads.
 */
export function planFor(c: AuthSession, sel: Selected, key: SearchKey): SearchPlan {
  return planSearch(key, {
    count: sel.uids.length,
    maxUid: sel.uids.last(),
    saved: sel.searchResult,
    recent: sel.recent,
    threadUids: (id) => c.account.threadUidsSync(sel.mailbox.id, id),
  });
}

/**
 * RFC 7162 §3.1.6, §3.1.10: the highest modseq of the messages a SEARCH with a MODSEQ
 * key returns: of all found, or of those MIN and MAX name when only they are returned.
 */
export async function resultModseq(
  c: AuthSession,
  sel: Selected,
  uids: number[],
  returns: Set<ReturnOption> | null,
): Promise<number> {
  if (uids.length === 0) return 0;
  // The messages the response names: MIN and MAX alone name only those.
  return c.account.maxModseq(sel.mailbox.id, returns ? savedResult(uids, returns) : uids);
}

// ---- evaluation over the store ----

export type Found = { uids: number[]; seqs: number[] };

const NO_KEYWORDS: readonly string[] = [];

/** The messages a search plan selects, ascending (exported for SORT). */
export async function runSearch(
  c: AuthSession,
  sel: Selected,
  plan: SearchPlan,
  progress?: Progress,
): Promise<Found> {
  const account = c.account as Account;
  const uids = sel.uids;
  const found: Found = { uids: [], seqs: [] };
  // Keys on flags and numbers only: a loop over the account's cached flags.
  const pred = toPredicate(plan.matcher);
  if (pred) {
    const cache = await account.uidsAndFlags(sel.mailbox.id);
    let j = 0;
    for (let i = 0; i < uids.length; i++) {
      const u = uids.at(i);
      while (j < cache.uids.length && (cache.uids[j] as number) < u) j++;
      if (j >= cache.uids.length) break;
      // Only messages in both the session's numbering and the database.
      if (cache.uids[j] === u && pred(cache.flags[j] as number, u, i + 1)) {
        found.uids.push(u);
        found.seqs.push(i + 1);
      }
    }
    return found;
  }
  // Keys on flags, sizes, dates and UIDs only: one query returns just the matches.
  const filter = toFilter(plan.matcher, uids);
  if (filter) {
    const matches = await account.matchingUids(sel.mailbox.id, filter);
    // Only messages in the session's numbering.
    for (const uid of matches) {
      const i = uids.indexOf(uid);
      if (i >= 0) {
        found.uids.push(uid);
        found.seqs.push(i + 1);
      }
    }
    return found;
  }
  for (let i = 0; i < uids.length; i += BATCH) {
    await progress?.tick(i, uids.length);
    const end = Math.min(uids.length, i + BATCH);
    const rows = await account.searchRows(sel.mailbox.id, uids.at(i), uids.at(end - 1));
    const batch: { f: MessageFacts; v: number }[] = [];
    const pending: MessageFacts[] = [];
    let j = i;
    for (const r of rows) {
      // Only messages in the session's numbering; rows expunged in the database are absent.
      while (j < end && uids.at(j) < r.uid) j++;
      if (j >= end || uids.at(j) !== r.uid) continue;
      const f = factsOf(r, j + 1, plan);
      const v = evaluate(plan.matcher, f);
      if (v === NO) continue;
      batch.push({ f, v });
      if (v === UNKNOWN) pending.push(f);
    }
    const decided =
      pending.length > 0 ? await decide(account, sel.mailbox.id, plan, pending) : null;
    for (const { f, v } of batch) {
      if (v === YES || decided?.has(f.uid)) {
        found.uids.push(f.uid);
        found.seqs.push(f.seq);
      }
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return found;
}

function factsOf(r: SearchRow, seq: number, plan: SearchPlan): MessageFacts {
  return {
    id: r.id,
    seq,
    uid: r.uid,
    flags: r.flags,
    keywords: plan.keywords ? r.keywords : NO_KEYWORDS,
    internalDate: r.internalDate,
    saveDate: r.saveDate,
    size: r.size,
    modseq: r.modseq,
  };
}

/** Loads more data for undecided messages, step by step; returns the UIDs that match. */
async function decide(
  account: Account,
  mailboxId: number,
  plan: SearchPlan,
  pending: MessageFacts[],
): Promise<Set<number>> {
  const matched = new Set<number>();
  const messages = new Map<number, Message>();
  for (const m of await account.messages(
    mailboxId,
    pending.map((f) => f.uid),
  ))
    messages.set(m.uid, m);
  for (const f of pending) {
    const m = messages.get(f.uid);
    if (!m) continue; // expunged meanwhile
    if (await decideOne(account, plan, f, m)) matched.add(f.uid);
  }
  return matched;
}

async function decideOne(
  account: Account,
  plan: SearchPlan,
  f: MessageFacts,
  m: Message,
): Promise<boolean> {
  // SENT* use the Date header; without a usable one, the internal date.
  const date = m.part.envelope?.date;
  f.sentDay = (date !== undefined ? dateHeaderDay(date) : null) ?? utcDay(m.internalDate);
  let v = evaluate(plan.matcher, f);
  if (v !== UNKNOWN || plan.need < Need.Header) return v === YES;
  const header = await account.readMessage(m, m.part.headerStart, m.part.bodyStart);
  if (plan.headerFields) {
    f.header = parseHeaderBlock(header).map((h) => {
      const name = h.name.toLowerCase();
      let value = decodeHeaderValue(h.value);
      if (ADDRESS_FIELDS.has(name)) value += addressForms(h.value);
      return { name, value: value.toLowerCase() };
    });
    v = evaluate(plan.matcher, f);
    if (v !== UNKNOWN || plan.need < Need.Text) return v === YES;
  }
  const read = (start: number, end: number) =>
    start === m.part.headerStart && end === m.part.bodyStart
      ? Promise.resolve(header)
      : account.readMessage(m, start, end);
  const text = await messageText(read, m.part);
  f.text = { header: text.header.toLowerCase(), body: text.body.toLowerCase() };
  return evaluate(plan.matcher, f) === YES;
}

/** Fields holding addresses: FROM, TO, CC and BCC search them (RFC 9051 §6.4.4). */
const ADDRESS_FIELDS = new Set(['from', 'to', 'cc', 'bcc', 'sender', 'reply-to']);

/**
 * The addresses of a field as users write them, one per line after the field's text:
 * "local@domain" with comments and folding gone and the local part unquoted, and the
 * display name decoded. So SEARCH FROM "john smith@example.com" finds
 * '"john smith"@example.com', and "john@example.com" finds "john(x)@(y)example.com"
 * (RFC 5322 §3.4, §4.4 obsolete forms included).
 */
function addressForms(raw: string): string {
  let out = '';
  for (const a of parseAddressList(raw)) {
    if (a.name !== null) out += `\n${decodeHeaderValue(a.name)}`;
    if (a.mailbox === null || a.host === null) continue;
    const local = /^".*"$/s.test(a.mailbox)
      ? a.mailbox.slice(1, -1).replace(/\\(.)/gs, '$1')
      : a.mailbox;
    out += `\n${local}@${a.host}\n${a.mailbox}@${a.host}`;
  }
  return out;
}

// ---- results ----

/**
 * The UIDs a result names: MIN and/or MAX alone name only those, and save only those
 * (RFC 5182 §2.1).
 */
function savedResult(uids: number[], returns: Set<ReturnOption>): number[] {
  const minMaxOnly =
    !returns.has('ALL') && !returns.has('COUNT') && (returns.has('MIN') || returns.has('MAX'));
  if (!minMaxOnly || uids.length === 0) return uids;
  const out: number[] = [];
  if (returns.has('MIN')) out.push(uids[0] as number);
  const last = uids[uids.length - 1] as number;
  if (returns.has('MAX') && out[0] !== last) out.push(last);
  return out;
}

async function respond(
  c: SelectedSession,
  tag: string,
  isUid: boolean,
  returns: Set<ReturnOption> | null,
  nums: number[],
  modseq: number,
): Promise<void> {
  if (returns === null && !c.rev2) return searchResponse(c, 'SEARCH', nums, modseq);
  // IMAP4rev2 answers ESEARCH ALL when no RETURN is given (RFC 9051 §6.4.4).
  const opts = returns ?? new Set<ReturnOption>(['ALL']);
  // SAVE alone returns nothing (RFC 5182 §2.1).
  if (opts.size === 1 && opts.has('SAVE')) return;
  const uid = isUid ? ' UID' : '';
  c.untagged(`ESEARCH (TAG ${quote(tag)})${uid}${esearchItems(nums, opts, modseq)}`);
}

/** The result items of an ESEARCH response (RFC 4731 §3.1), each after a space. */
export function esearchItems(nums: number[], opts: Set<ReturnOption>, modseq: number): string {
  const items: string[] = [];
  if (opts.has('MIN') && nums.length > 0) items.push(`MIN ${nums[0]}`);
  if (opts.has('MAX') && nums.length > 0) items.push(`MAX ${nums[nums.length - 1]}`);
  if (opts.has('COUNT')) items.push(`COUNT ${nums.length}`);
  if (opts.has('ALL') && nums.length > 0) items.push(`ALL ${compactSet(nums)}`);
  if (modseq > 0) items.push(`MODSEQ ${modseq}`);
  return items.map((x) => ' ' + x).join('');
}

/**
 * "* SEARCH n n n" (RFC 3501 §7.2.5) or "* SORT n n n" (RFC 5256 §4), with "(MODSEQ m)"
 * after a MODSEQ key found messages (RFC 7162 §3.1.6, §3.1.9); written in pieces so a
 * long list streams.
 */
export async function searchResponse(
  c: SelectedSession,
  name: 'SEARCH' | 'SORT',
  nums: number[],
  modseq: number,
): Promise<void> {
  c.send(`* ${name}`);
  for (let i = 0; i < nums.length; i += 1000) {
    c.send(' ' + nums.slice(i, i + 1000).join(' '));
    await c.flushIfLarge();
  }
  c.send(modseq > 0 ? ` (MODSEQ ${modseq})\r\n` : '\r\n');
}
