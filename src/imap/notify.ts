// NOTIFY (RFC 5465): which events a session asked to hear of, for which mailboxes, and
// the responses for events outside the selected mailbox (STATUS, LIST, METADATA). The
// selected mailbox's own events (EXISTS, EXPUNGE, FETCH) are rendered by changes.ts,
// which asks here whether to send, hold or drop each one.
//
// Holding is what keeps a session consistent: a change the client did not ask to hear
// of now (an expunge under SELECTED-DELAYED between commands, any message event when the
// selected mailbox is in no filter) stays out of the session's numbering, and the files
// of the messages it removed stay on disk, until it can be told. Peers drop such changes
// and adjust their numbering silently, so the client's message numbers stop matching.
import type { Change } from '../store/index.js';
import type { AuthSession, ImapSession, Selected } from './session.js';
import type { MailboxFilter, NotifyEvent, NotifySpec } from './notifyspec.js';
import { astr, mailboxName } from './response.js';
import { condstoreOn } from './condstore.js';
import { statusLineOf } from './commands/mailboxstatus.js';

/** Every event RFC 5465 §5 names, by its lower-case name. */
export const EVENTS: ReadonlyMap<string, NotifyEvent> = new Map(
  (
    [
      'MessageNew',
      'MessageExpunge',
      'FlagChange',
      'AnnotationChange',
      'MailboxName',
      'SubscriptionChange',
      'MailboxMetadataChange',
      'ServerMetadataChange',
    ] as const
  ).map((e) => [e.toLowerCase(), e]),
);

/** The events this server reports; AnnotationChange needs per-message annotations (RFC 5257). */
export const SUPPORTED: readonly NotifyEvent[] = [
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'MailboxName',
  'SubscriptionChange',
  'MailboxMetadataChange',
  'ServerMetadataChange',
];

export const MESSAGE_EVENTS: ReadonlySet<NotifyEvent> = new Set([
  'MessageNew',
  'MessageExpunge',
  'FlagChange',
  'AnnotationChange',
]);

/** NOTIFY NONE (RFC 5465 §3): no events at all. */
export const NOTIFY_NONE: NotifySpec = { selected: null, groups: [] };

/** Selected-mailbox changes held back before NOTIFICATIONOVERFLOW ends NOTIFY (§5.8). */
export const notifyLimits = { heldMax: 10_000 };

const under = (name: string, root: string) => name === root || name.startsWith(root + '/');

/** Whether a filter names a mailbox (RFC 5465 §6). */
export function filterMatches(
  f: MailboxFilter,
  name: string,
  subscribed: ReadonlySet<string>,
): boolean {
  switch (f.kind) {
    case 'personal':
      return true;
    case 'inboxes':
      // §6.4: where new mail is delivered: Inbox and what is below it.
      return under(name, 'Inbox');
    case 'subscribed':
      return subscribed.has(name);
    case 'subtree':
      return f.names.some((root) => under(name, root));
    case 'mailboxes':
      return f.names.includes(name);
  }
}

/**
 * Whether an event in a mailbox other than the selected one is to be reported. The
 * groups are tried in order: one whose filter names the mailbox and lists the event
 * decides yes; one that names it with NONE decides no; any other leaves it to the next.
 */
export function wants(
  spec: NotifySpec,
  name: string,
  event: NotifyEvent,
  subscribed: ReadonlySet<string>,
): boolean {
  for (const g of spec.groups) {
    if (!filterMatches(g.filter, name, subscribed)) continue;
    if (g.events.size === 0) return false;
    if (g.events.has(event)) return true;
  }
  return false;
}

/** How a change to the selected mailbox is treated now. */
export type Treatment = 'send' | 'hold' | 'drop';

/**
 * When changes are applied: at SELECT (silently), when the session's own command adds to
 * the selected mailbox (everything before it is told), at a point where a command may
 * report anything (before a tagged reply, in IDLE), or between commands (NOTIFY only).
 */
export type ApplyMode = 'initial' | 'own' | 'sync' | 'async';

/**
 * What to do with a change to the selected mailbox under the session's NOTIFY. Without
 * NOTIFY everything is sent (at the points RFC 9051 §7.5.1 allows, which the caller
 * keeps). Additions held back stay ahead of later changes to the same messages.
 */
export function treatSelected(
  c: ImapSession,
  sel: Selected,
  kind: 'addUID' | 'removeUIDs' | 'flags',
  mode: ApplyMode,
): Treatment {
  const spec = c.notify;
  if (spec === null || mode === 'own' || mode === 'initial') return 'send';
  const events = spec.selected?.events;
  // Only the changes that follow an addition need to know of one held back.
  const heldAdds = () => sel.held.some((h) => h.kind === 'addUID');
  switch (kind) {
    case 'addUID':
      return events?.has('MessageNew') ? 'send' : 'hold';
    case 'removeUIDs':
      if (!events?.has('MessageExpunge') || heldAdds()) return 'hold';
      // §6.2: SELECTED-DELAYED holds expunges while no command is running.
      return spec.selected?.delayed && mode === 'async' ? 'hold' : 'send';
    case 'flags':
      // A change to a message the client has not been told of waits with its addition.
      if (heldAdds()) return 'hold';
      return events?.has('FlagChange') ? 'send' : 'drop';
  }
}

/** Whether the session sends events between commands (a NOTIFY with anything to report). */
export function notifiesAsync(spec: NotifySpec | null): boolean {
  return spec !== null && (spec.selected !== null || spec.groups.some((g) => g.events.size > 0));
}

/** The STATUS items reported for an event in another mailbox (RFC 5465 §5.1 to §5.3). */
function statusAttrs(c: ImapSession, counts: boolean): string[] {
  const attrs = counts ? ['MESSAGES', 'UIDNEXT', 'UNSEEN'] : ['UIDVALIDITY', 'UNSEEN'];
  // §5.2, §5.3: HIGHESTMODSEQ too once CONDSTORE is on.
  if (condstoreOn(c)) attrs.push('HIGHESTMODSEQ');
  return attrs;
}

/** NOTIFY SET STATUS (§3.1): the status of each mailbox a message event could come from. */
export async function initialStatus(c: AuthSession, spec: NotifySpec): Promise<void> {
  const withMessages: NotifySpec = {
    selected: null,
    groups: spec.groups.filter((g) => [...g.events].some((e) => MESSAGE_EVENTS.has(e))),
  };
  if (withMessages.groups.length === 0) return;
  const subs = new Set(await c.account.subscriptions());
  for (const mb of await c.account.mailboxes()) {
    if (mb.id === c.selected?.mailbox.id) continue;
    const any = ['MessageNew', 'MessageExpunge', 'FlagChange'] as const;
    if (!any.some((e) => wants(withMessages, mb.name, e, subs))) continue;
    const attrs = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN'];
    if (condstoreOn(c)) attrs.push('HIGHESTMODSEQ');
    c.untagged(await statusLineOf(c, mb, attrs));
  }
}

/**
 * Responses for the queued events of other mailboxes and the mailbox list: LIST for
 * names and subscriptions (§5.4, §5.5), METADATA (§5.6, §5.7), and one STATUS per
 * mailbox for its message events, after the rest.
 */
export async function deliverQueued(c: AuthSession, queued: Change[]): Promise<void> {
  const spec = c.notify;
  if (spec === null || queued.length === 0) return;
  const subs = spec.groups.some((g) => g.filter.kind === 'subscribed')
    ? new Set(await c.account.subscriptions())
    : new Set<string>();
  const want = (name: string, e: NotifyEvent) => wants(spec, name, e, subs);
  const name = (n: string) => mailboxName(n, c.utf8);
  const status = new Map<number, boolean>();
  for (const ch of queued) {
    switch (ch.kind) {
      case 'addUID':
      case 'removeUIDs':
      case 'flags': {
        const mb = await c.account.mailboxById(ch.mailboxId);
        if (!mb || mb.id === c.selected?.mailbox.id) break;
        const counts = ch.kind !== 'flags';
        const event =
          ch.kind === 'addUID' ? 'MessageNew' : counts ? 'MessageExpunge' : 'FlagChange';
        if (want(mb.name, event)) status.set(mb.id, counts || (status.get(mb.id) ?? false));
        break;
      }
      case 'addMailbox':
        if (want(ch.name, 'MailboxName'))
          c.untagged(`LIST (${ch.specialUse ?? ''}) "/" ${name(ch.name)}`);
        break;
      case 'removeMailbox':
        if (want(ch.name, 'MailboxName')) c.untagged(`LIST (\\NonExistent) "/" ${name(ch.name)}`);
        break;
      case 'renameMailbox':
        // §5.4: OLDNAME says what the mailbox was called.
        if (want(ch.oldName, 'MailboxName') || want(ch.newName, 'MailboxName')) {
          c.untagged(
            `LIST (${ch.specialUse ?? ''}) "/" ${name(ch.newName)} ("OLDNAME" (${name(ch.oldName)}))`,
          );
        }
        break;
      case 'addSubscription':
        if (want(ch.name, 'SubscriptionChange'))
          c.untagged(`LIST (\\Subscribed) "/" ${name(ch.name)}`);
        break;
      case 'removeSubscription':
        if (want(ch.name, 'SubscriptionChange')) c.untagged(`LIST () "/" ${name(ch.name)}`);
        break;
      case 'annotation': {
        // "" is the server (the account): ServerMetadataChange, whatever the filters.
        const yes =
          ch.mailboxName === ''
            ? spec.groups.some((g) => g.events.has('ServerMetadataChange'))
            : want(ch.mailboxName, 'MailboxMetadataChange');
        if (yes) c.untagged(`METADATA ${name(ch.mailboxName)} ${astr(ch.key, false)}`);
        break;
      }
      default:
        break;
    }
  }
  for (const [id, counts] of status) {
    const mb = await c.account.mailboxById(id);
    if (mb) c.untagged(await statusLineOf(c, mb, statusAttrs(c, counts)));
  }
}
