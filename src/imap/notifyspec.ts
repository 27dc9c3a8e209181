// What a NOTIFY command asked for (RFC 5465): the events, per mailbox filter, and for the
// selected mailbox. The behaviour is in notify.ts; this is the data a session carries.
import type { FetchItem } from './fetchatt.js';

export type NotifyEvent =
  | 'MessageNew'
  | 'MessageExpunge'
  | 'FlagChange'
  | 'AnnotationChange'
  | 'MailboxName'
  | 'SubscriptionChange'
  | 'MailboxMetadataChange'
  | 'ServerMetadataChange';

/** filter-mailboxes other than the selected mailbox (RFC 5465 §6). */
export type MailboxFilter =
  | { kind: 'inboxes' | 'personal' | 'subscribed' }
  | { kind: 'subtree' | 'mailboxes'; names: string[] };

/** An event group; no events is NONE: nothing about these mailboxes. */
export type NotifyGroup = { filter: MailboxFilter; events: ReadonlySet<NotifyEvent> };

export type NotifySpec = {
  /** The SELECTED or SELECTED-DELAYED group; null when the command had none. */
  selected: {
    events: ReadonlySet<NotifyEvent>;
    /** SELECTED-DELAYED: expunges wait for a command that may report them (§6.2). */
    delayed: boolean;
    /** MessageNew's fetch attributes; null for the default (UID and FLAGS). */
    fetch: FetchItem[] | null;
  } | null;
  groups: NotifyGroup[];
};
