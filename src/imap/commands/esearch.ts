// ESEARCH (RFC 7377 MULTISEARCH): one search over several mailboxes, chosen by the
// filters of RFC 5465 (selected, inboxes, personal, subscribed, subtree, subtree-one,
// mailboxes), without selecting them. Each mailbox with matches gets its own ESEARCH
// response, in UIDs, naming the mailbox and its UIDVALIDITY.
import type { Handler } from './types.js';
import { newSelected, type AuthSession, type Selected } from '../session.js';
import type { Parser } from '../parser.js';
import { ParseError } from '../parser.js';
import { UidList } from '../uids.js';
import { mailboxName, quote } from '../response.js';
import { enableCondstore } from '../condstore.js';
import { progressFor } from '../progress.js';
import { requireUids } from '../uidonly.js';
import {
  checkCharset,
  parseProgram,
  parseReturnOptions,
  someKey,
  type ReturnOption,
  type SearchKey,
} from '../searchkeys.js';
import { esearchItems, planFor, resultModseq, runSearch } from './search.js';
import type { Mailbox } from '../../store/index.js';

type Source =
  | { kind: 'selected' | 'inboxes' | 'personal' | 'subscribed' }
  | { kind: 'subtree' | 'subtree-one' | 'mailboxes'; names: string[] };

const SIMPLE = new Set(['selected', 'selected-delayed', 'inboxes', 'personal', 'subscribed']);

/** one-or-more-mailbox = mailbox / "(" mailbox *(SP mailbox) ")" (RFC 5465 §8). */
export async function mailboxList(p: Parser): Promise<string[]> {
  if (!p.take('(')) return [await p.mailbox()];
  const out = [await p.mailbox()];
  while (p.take(' ')) out.push(await p.mailbox());
  p.expect(')');
  return out;
}

/** "IN" SP "(" filter-mailboxes *(SP filter-mailboxes) ")" (RFC 7377 §5). */
async function parseSources(p: Parser): Promise<Source[]> {
  p.expect('(');
  const out: Source[] = [];
  do {
    if (p.peek('(')) p.fail('scope options are not supported');
    const w = p.atom().toLowerCase();
    if (SIMPLE.has(w)) {
      // "selected-delayed" asks NOTIFY to hold events back; for a search it is "selected".
      out.push({ kind: w === 'selected-delayed' ? 'selected' : (w as 'selected') });
    } else if (w === 'subtree' || w === 'subtree-one' || w === 'mailboxes') {
      p.sp();
      out.push({ kind: w, names: await mailboxList(p) });
    } else p.fail(`unknown mailbox filter ${w}`);
  } while (p.take(' '));
  p.expect(')');
  return out;
}

/** Whether a key uses message numbers or the saved result, which name no other mailbox. */
const usesSelected = (k: SearchKey) =>
  someKey(k, (x) => x.op === 'seq' || (x.op === 'uid' && x.set.saved));

const under = (name: string, root: string) => name === root || name.startsWith(root + '/');

/** The mailboxes the filters name, each once, by name. */
async function resolve(c: AuthSession, sources: Source[]): Promise<Mailbox[]> {
  const all = await c.account.mailboxes();
  const byName = new Map(all.map((m) => [m.name, m]));
  const subscribed = new Set(await c.account.subscriptions());
  const found = new Map<number, Mailbox>();
  const add = (m: Mailbox | undefined) => m && found.set(m.id, m);
  for (const s of sources) {
    switch (s.kind) {
      case 'selected':
        if (!c.selected) throw new ParseError('"selected" without a selected mailbox');
        add(byName.get(c.selected.mailbox.name));
        break;
      case 'inboxes':
        // RFC 5465 §6.4: where new mail is delivered: Inbox and below it.
        for (const m of all) if (under(m.name, 'Inbox')) add(m);
        break;
      case 'personal':
        for (const m of all) add(m);
        break;
      case 'subscribed':
        for (const m of all) if (subscribed.has(m.name)) add(m);
        break;
      default:
        for (const raw of s.names) {
          // Names as the client wrote them; Inbox in any case (RFC 9051 §5.1).
          const root = (await c.account.mailbox(raw))?.name;
          if (!root) continue; // A name that exists not is a search that finds nothing.
          if (s.kind === 'mailboxes') {
            add(byName.get(root));
            continue;
          }
          // The mailbox and what is below it: all levels, or one (subtree-one, RFC 7377 §2).
          const depth = root.split('/').length;
          for (const m of all) {
            if (!under(m.name, root)) continue;
            if (s.kind === 'subtree' || m.name.split('/').length <= depth + 1) add(m);
          }
        }
    }
  }
  return [...found.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The session's view of the mailbox when selected; otherwise one read for this search. */
async function viewOf(c: AuthSession, mb: Mailbox): Promise<Selected> {
  if (c.selected?.mailbox.id === mb.id) return c.requireSelected();
  const uids = new UidList(await c.account.uidArray(mb.id));
  return newSelected(mb, true, uids);
}

// RFC 7377 §2 ESEARCH; syntax RFC 7377 §5 "esearch" (RETURN: RFC 4731 §3.1).
export const esearchHandler: Handler<AuthSession> = async (c, tag, p) => {
  p.sp();
  let sources: Source[] = [{ kind: 'selected' }];
  if (p.take('IN ')) {
    sources = await parseSources(p);
    p.sp();
  }
  const returns = parseReturnOptions(p) ?? new Set<ReturnOption>(['ALL']);
  const { charset, key } = await parseProgram(p);
  p.end();
  checkCharset(charset, c.utf8);
  if (someKey(key, (x) => x.op === 'seq')) requireUids(c, 'a search key');
  const boxes = await resolve(c, sources);
  const onlySelected = boxes.length === 1 && boxes[0]!.id === c.selected?.mailbox.id;
  // RFC 7377 §2: message numbers and "$" mean something in the selected mailbox only.
  if (!onlySelected && usesSelected(key))
    throw new ParseError('message numbers and $ only search the selected mailbox');
  if (returns.has('SAVE') && !onlySelected)
    throw new ParseError('SAVE only with the selected mailbox alone');
  const progress = progressFor(c, tag, 'searching');
  for (const mb of boxes) {
    const sel = await viewOf(c, mb);
    const plan = planFor(c, sel, key);
    if (plan.modseq) await enableCondstore(c);
    const found = await runSearch(c, sel, plan, progress);
    if (returns.has('SAVE')) sel.searchResult = found.uids;
    // RFC 7377 §2.1: mailboxes without matches get no response.
    if (found.uids.length === 0) continue;
    const modseq = plan.modseq ? await resultModseq(c, sel, found.uids, returns) : 0;
    const items = esearchItems(found.uids, returns, modseq);
    if (returns.size === 1 && returns.has('SAVE')) continue;
    c.untagged(
      `ESEARCH (TAG ${quote(tag)} MAILBOX ${mailboxName(mb.name, c.utf8)} UIDVALIDITY ${mb.uidvalidity}) UID${items}`,
    );
    await c.flushIfLarge();
  }
};
