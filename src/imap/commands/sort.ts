// SORT (RFC 5256 §3), ESORT (RFC 5267 §3: SORT RETURN (...)) and SORT=DISPLAY (RFC
// 5957): the messages a search selects, ordered by sort keys taken from each message's
// stored envelope, date and size, ties broken by sequence number.
import type { Handler } from './types.js';
import type { SelectedSession } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { quote } from '../response.js';
import { parseReturnOptions, type ReturnOption, type SearchKey } from '../searchkeys.js';
import { parseCharsetKeys, searchResponse, searchSelected } from './search.js';
import { casemap } from '../sortkeys.js';
import { progressFor, type Progress } from '../progress.js';
import { requireUids } from '../uidonly.js';
import { decodeHeaderValue, type Address, type Envelope } from '../../message/index.js';
import type { SortRow } from '../../store/index.js';

type SortKey =
  'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
type Criterion = { key: SortKey; reverse: boolean };

const SORT_KEYS = new Set<string>([
  'ARRIVAL',
  'CC',
  'DATE',
  'FROM',
  'SIZE',
  'SUBJECT',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
]);

/** sort-criteria = "(" sort-criterion *(SP sort-criterion) ")" (RFC 5256 §5). */
export function parseSortCriteria(p: Parser): Criterion[] {
  p.expect('(');
  const out: Criterion[] = [];
  do {
    let word = p.atom().toUpperCase();
    let reverse = false;
    if (word === 'REVERSE') {
      reverse = true;
      p.sp();
      word = p.atom().toUpperCase();
    }
    if (!SORT_KEYS.has(word)) throw new ParseError(`unknown sort key ${word}`);
    out.push({ key: word as SortKey, reverse });
  } while (p.take(' '));
  p.expect(')');
  return out;
}

/** Messages per database read. */
const BATCH = 5000;

/** Keys read from the envelope's addresses. */
const ADDRESS_KEYS = new Set<SortKey>(['CC', 'FROM', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

type Item = { uid: number; seq: number; values: (string | number)[] };

/** The addr-mailbox of the first address (RFC 5256 §3 CC, FROM, TO); "" without one. */
function firstMailbox(list: Address[] | undefined): string {
  const a = list?.find((x) => x.host !== null && x.mailbox !== null);
  return a?.mailbox ? casemap(a.mailbox.replace(/^"(.*)"$/s, '$1')) : '';
}

/**
 * RFC 5957 §3 DISPLAYFROM/DISPLAYTO: the first address's display name, decoded, or
 * without one its addr-spec.
 */
function firstDisplay(list: Address[] | undefined): string {
  const a = list?.find((x) => x.host !== null && x.mailbox !== null);
  if (!a) return '';
  const name = a.name ? decodeHeaderValue(a.name).trim() : '';
  return casemap(name !== '' ? name : `${a.mailbox}@${a.host}`);
}

function sortValue(k: SortKey, r: SortRow, env: Envelope | undefined): string | number {
  switch (k) {
    case 'ARRIVAL':
      return r.internalDate;
    case 'DATE':
      // RFC 5256 §3 DATE: without a valid Date, the internal date (as stored).
      return r.sentDate;
    case 'SIZE':
      return r.size;
    case 'SUBJECT':
      // RFC 5256 §2.1 base subject, as stored.
      return casemap(r.subjectBase);
    case 'FROM':
      return firstMailbox(env?.from);
    case 'TO':
      return firstMailbox(env?.to);
    case 'CC':
      return firstMailbox(env?.cc);
    case 'DISPLAYFROM':
      return firstDisplay(env?.from);
    case 'DISPLAYTO':
      return firstDisplay(env?.to);
  }
}

/**
 * The search's messages in sort order, as UIDs and sequence numbers, and with a MODSEQ
 * key their highest modseq (else 0).
 */
async function sorted(
  c: SelectedSession,
  criteria: Criterion[],
  key: SearchKey,
  progress: Progress,
): Promise<{ items: Item[]; modseq: number }> {
  const sel = await c.requireSelected();
  const found = await searchSelected(c, key);
  // Dates, size and subject are columns; only the address keys need the envelope.
  const needEnvelope = criteria.some((x) => ADDRESS_KEYS.has(x.key));
  const items: Item[] = [];
  for (let i = 0; i < found.uids.length; i += BATCH) {
    await progress.tick(i, found.uids.length);
    const uids = found.uids.slice(i, i + BATCH);
    const rows = await c.account.sortRows(sel.mailbox.id, uids, needEnvelope);
    const byUid = new Map(rows.map((r) => [r.uid, r]));
    uids.forEach((uid, j) => {
      const r = byUid.get(uid);
      if (!r) return;
      const env = r.envelope ?? undefined;
      items.push({
        uid,
        seq: found.seqs[i + j] as number,
        values: criteria.map((x) => sortValue(x.key, r, env)),
      });
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  items.sort((a, b) => {
    for (let k = 0; k < criteria.length; k++) {
      const x = a.values[k] as string | number;
      const y = b.values[k] as string | number;
      if (x === y) continue;
      const cmp = x < y ? -1 : 1;
      return criteria[k]!.reverse ? -cmp : cmp;
    }
    // RFC 5256 §3: ties go by sequence number, whatever REVERSE says.
    return a.seq - b.seq;
  });
  return { items, modseq: found.modseq };
}

/** A list in its order, ascending runs written as ranges (RFC 5267 §3.2 ALL). */
function orderedSet(nums: number[]): string {
  const out: string[] = [];
  for (let i = 0; i < nums.length;) {
    let j = i;
    while (j + 1 < nums.length && nums[j + 1] === (nums[j] as number) + 1) j++;
    out.push(j > i ? `${nums[i]}:${nums[j]}` : `${nums[i]}`);
    i = j + 1;
  }
  return out.join(',');
}

// RFC 5256 §3 SORT and UID SORT, RFC 5267 §3 SORT RETURN; syntax RFC 5256 §5 "sort",
// RFC 5267 §4.
export const sortHandler: Handler<SelectedSession> = async (c, tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const returns = parseReturnOptions(p);
  const criteria = parseSortCriteria(p);
  p.sp();
  const key = await parseCharsetKeys(p, c.utf8);
  if (returns?.has('SAVE')) throw new ParseError('SAVE is not supported with SORT');
  if (!isUid) requireUids(c, 'SORT');
  const { items, modseq } = await sorted(c, criteria, key, progressFor(c, tag, 'sorting'));
  const nums = items.map((x) => (isUid ? x.uid : x.seq));
  // RFC 7162 §3.1.9: "(MODSEQ n)" when a MODSEQ key found messages.
  if (returns === null) return searchResponse(c, 'SORT', nums, modseq);
  const opts = returns.size === 0 ? new Set<ReturnOption>(['ALL']) : returns;
  const parts: string[] = [];
  // RFC 5267 §3.2: MIN and MAX are the first and last in sort order.
  if (opts.has('MIN') && nums.length > 0) parts.push(`MIN ${nums[0]}`);
  if (opts.has('MAX') && nums.length > 0) parts.push(`MAX ${nums[nums.length - 1]}`);
  if (opts.has('COUNT')) parts.push(`COUNT ${nums.length}`);
  if (opts.has('ALL') && nums.length > 0) parts.push(`ALL ${orderedSet(nums)}`);
  // RFC 7162 §3.1.10 with RFC 5267: the highest modseq of the messages found.
  if (modseq > 0) parts.push(`MODSEQ ${modseq}`);
  const uid = isUid ? ' UID' : '';
  c.untagged(`ESEARCH (TAG ${quote(tag)})${uid}${parts.map((x) => ' ' + x).join('')}`);
};
