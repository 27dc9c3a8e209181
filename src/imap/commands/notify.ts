// NOTIFY (RFC 5465): the client says which events it wants to hear of, for the selected
// mailbox and for others, and hears of them as they happen, between commands too. What
// the events are and how they are told is in ../notify.ts.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { UserError } from '../errors.js';
import type { Parser } from '../parser.js';
import { parseFetchAtts, type FetchItem } from '../fetchatt.js';
import { uidOnly } from '../uidonly.js';
import { mailboxList } from './esearch.js';
import { EVENTS, MESSAGE_EVENTS, NOTIFY_NONE, SUPPORTED, initialStatus } from '../notify.js';
import type { MailboxFilter, NotifyEvent, NotifySpec } from '../notifyspec.js';

/** Mailbox names a NOTIFY may list in all (each is matched against every event). */
export const MAX_NOTIFY_NAMES = 1000;

type Events = { events: Set<NotifyEvent>; unknown: string[]; fetch: FetchItem[] | null };

/** events = "(" event *(SP event) ")" / "NONE" (RFC 5465 §8). */
async function parseEvents(p: Parser): Promise<Events> {
  const out: Events = { events: new Set(), unknown: [], fetch: null };
  if (!p.take('(')) {
    if (p.atom().toUpperCase() !== 'NONE') p.fail('expected event list or NONE');
    return out;
  }
  do {
    const word = p.atom();
    const ev = EVENTS.get(word.toLowerCase());
    if (!ev) out.unknown.push(word);
    else {
      if (out.events.has(ev)) p.fail(`event ${ev} given twice`);
      out.events.add(ev);
    }
    // message-event: "MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"].
    if (ev === 'MessageNew' && p.rest.startsWith(' (')) {
      p.sp();
      out.fetch = await parseFetchAtts(p);
    }
  } while (p.take(' '));
  p.expect(')');
  return out;
}

type Group = { filter: MailboxFilter | 'selected' | 'selected-delayed' } & Events;

/** event-group = "(" filter-mailboxes SP events ")" (RFC 5465 §8). */
async function parseGroup(p: Parser): Promise<Group> {
  p.expect('(');
  const word = p.atom().toLowerCase();
  let filter: Group['filter'];
  switch (word) {
    case 'selected':
    case 'selected-delayed':
    case 'inboxes':
    case 'personal':
    case 'subscribed':
      filter = word === 'selected' || word === 'selected-delayed' ? word : { kind: word };
      break;
    case 'subtree':
    case 'mailboxes':
      p.sp();
      filter = { kind: word, names: await mailboxList(p) };
      break;
    default:
      p.fail(`unknown mailbox filter ${word}`);
  }
  p.sp();
  const events = await parseEvents(p);
  p.expect(')');
  return { filter, ...events };
}

/** The rules of RFC 5465 §5 and §6 that the grammar does not carry: BAD when broken. */
function checkGroup(p: Parser, g: Group): void {
  const e = g.events;
  // §5: MessageNew and MessageExpunge go together; FlagChange and AnnotationChange need both.
  if (e.has('MessageNew') !== e.has('MessageExpunge'))
    p.fail('MessageNew and MessageExpunge go together');
  if ((e.has('FlagChange') || e.has('AnnotationChange')) && !e.has('MessageNew'))
    p.fail('FlagChange needs MessageNew and MessageExpunge');
  const selected = g.filter === 'selected' || g.filter === 'selected-delayed';
  // §6.1, §6.2: only message events about the selected mailbox.
  if (selected && [...e].some((x) => !MESSAGE_EVENTS.has(x)))
    p.fail(`${g.filter} takes message events only`);
  if (!selected && g.fetch) p.fail('fetch attributes are for the selected mailbox');
}

// RFC 5465 §3 NOTIFY; syntax §8 "notify".
export const notify: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const how = p.atom().toUpperCase();
  if (how === 'NONE') {
    p.end();
    c.notify = NOTIFY_NONE;
    return;
  }
  if (how !== 'SET') p.fail('expected SET or NONE');
  p.sp();
  let status = false;
  if (!p.peek('(')) {
    if (p.atom().toUpperCase() !== 'STATUS') p.fail('expected STATUS or an event group');
    status = true;
    p.sp();
  }
  const groups: Group[] = [];
  do groups.push(await parseGroup(p));
  while (p.take(' '));
  p.end();

  let names = 0;
  for (const g of groups) {
    checkGroup(p, g);
    if (typeof g.filter !== 'string' && 'names' in g.filter) names += g.filter.names.length;
  }
  const selected = groups.filter((g) => g.filter === 'selected' || g.filter === 'selected-delayed');
  if (selected.length > 1) p.fail('more than one selected or selected-delayed group');
  // §5.9: NO [BADEVENT] with the events this server reports.
  const unsupported = groups.flatMap((g) => [
    ...g.unknown,
    ...[...g.events].filter((e) => !SUPPORTED.includes(e)),
  ]);
  if (unsupported.length > 0) {
    throw new UserError(
      `BADEVENT (${SUPPORTED.join(' ')})`,
      `event ${unsupported[0]} is not supported`,
    );
  }
  if (names > MAX_NOTIFY_NAMES)
    throw new UserError('LIMIT', `more than ${MAX_NOTIFY_NAMES} mailboxes`);

  const sel = selected[0];
  let fetch = sel?.fetch ?? null;
  // The new message's UID is always told (as for UID FETCH), except under UIDONLY, where
  // it numbers the response (RFC 9586 §3.3).
  if (fetch && !uidOnly(c) && !fetch.some((i) => i.kind === 'uid'))
    fetch = [{ kind: 'uid' }, ...fetch];
  const spec: NotifySpec = {
    selected: sel
      ? { events: sel.events, delayed: sel.filter === 'selected-delayed', fetch }
      : null,
    groups: groups.flatMap((g) =>
      typeof g.filter === 'string' ? [] : [{ filter: g.filter, events: g.events }],
    ),
  };
  // §3.1: STATUS for the mailboxes the new filters cover, before the tagged OK.
  if (status) await initialStatus(c, spec);
  c.notify = spec;
};
