// Rendering other sessions' changes as untagged responses (RFC 9051 §5.2). Called only
// where sequence numbers may change: before tagged replies (except during non-UID
// FETCH, STORE and SEARCH, RFC 9051 §7.5.1), during IDLE, and at SELECT ("initial" mode,
// which updates the session silently).
import { SYSTEM_FLAGS, type Change } from '../store/index.js';
import type { ImapSession, Selected } from './session.js';
import { astr, flagList, mailboxName } from './response.js';
import { condstoreOn, qresyncOn, sendVanished } from './condstore.js';
import { fetchHead, uidOnly } from './uidonly.js';
import { notifyLimits, treatSelected, type ApplyMode } from './notify.js';

/** FLAGS and PERMANENTFLAGS for the selected mailbox (RFC 9051 §7.3.5, §7.1). */
export function sendFlags(c: ImapSession, sel: Selected): void {
  const flags = [...SYSTEM_FLAGS, ...sel.mailbox.keywords].join(' ');
  c.untagged(`FLAGS (${flags})`);
  c.untagged(
    sel.readonly
      ? 'OK [PERMANENTFLAGS ()] read-only'
      : `OK [PERMANENTFLAGS (${flags} \\*)] flags permitted`,
  );
  sel.keywords = new Set(sel.mailbox.keywords.map((k) => k.toLowerCase()));
}

/**
 * Before a FETCH shows flags with a keyword the client was not told of: FLAGS (and
 * PERMANENTFLAGS) again, listing it. Clients take a keyword they never saw in FLAGS as
 * a protocol error (RFC 9051 §7.3.5: FLAGS lists the flags applicable to the mailbox).
 */
export function announceKeywords(c: ImapSession, keywords: readonly string[]): void {
  const sel = c.selected;
  if (!sel || keywords.every((k) => sel.keywords.has(k.toLowerCase()))) return;
  const known = new Set(sel.mailbox.keywords.map((k) => k.toLowerCase()));
  const extra = keywords.filter((k) => !known.has(k.toLowerCase()));
  // The mailbox's list as last read may lag behind a change just made.
  sel.mailbox = { ...sel.mailbox, keywords: [...sel.mailbox.keywords, ...new Set(extra)] };
  sendFlags(c, sel);
}

/**
 * "* n FETCH (UID u FLAGS (...))" for a flag change or a new message, with its MODSEQ
 * once CONDSTORE is on (RFC 7162 §3.1: every unsolicited FETCH then carries it).
 */
export function flagsFetch(
  c: ImapSession,
  seq: number,
  m: { uid: number; flags: number; keywords: readonly string[]; modseq: number },
): string {
  const modseq = condstoreOn(c) ? ` MODSEQ (${m.modseq})` : '';
  const recent = c.selected?.recent.has(m.uid) ?? false;
  return `${fetchHead(c, seq, m.uid)}FLAGS ${flagList(m.flags, m.keywords, recent)}${modseq})`;
}

/**
 * \Recent (RFC 3501 §2.3.2): an IMAP4rev1 session that has the mailbox open read-write
 * claims the messages up to `upTo` that no session has been told of, so no later session
 * sees them as recent; a read-only one only looks. Returns the UID from which messages
 * are recent for this session; none (Infinity) under IMAP4rev2, which has no \Recent.
 */
function recentFrom(c: ImapSession, sel: Selected, upTo: number): number {
  if (c.rev2 || !c.account) return Infinity;
  return sel.readonly
    ? c.account.recentFromSync(sel.mailbox.id)
    : c.account.claimRecentSync(sel.mailbox.id, upTo);
}

/** New messages (ascending UIDs just added to the session's numbering) that are \Recent. */
export function takeRecent(c: ImapSession, sel: Selected, uids: readonly number[]): void {
  if (uids.length === 0) return;
  const from = recentFrom(c, sel, uids[uids.length - 1] as number);
  for (const u of uids) if (u >= from) sel.recent.add(u);
}

/** At SELECT: the session's messages that are \Recent for it. */
export function takeRecentAtSelect(c: ImapSession, sel: Selected): void {
  if (sel.uids.length === 0) return;
  const from = recentFrom(c, sel, sel.uids.last());
  for (let i = sel.uids.length - 1; i >= 0 && sel.uids.at(i) >= from; i--) {
    sel.recent.add(sel.uids.at(i));
  }
}

/** EXISTS for messages added to the session's numbering, and RECENT for rev1 (RFC 3501 §7.3.2). */
function announceCounts(c: ImapSession, sel: Selected): void {
  c.untagged(`${sel.uids.length} EXISTS`);
  if (!c.rev2) c.untagged(`${sel.recent.size} RECENT`);
}

/**
 * Messages this session's own command put into its selected mailbox (APPEND, COPY or
 * MOVE there): into the numbering, \Recent claimed, then EXISTS (and RECENT).
 */
export function addOwn(c: ImapSession, sel: Selected, uids: readonly number[]): void {
  for (const u of uids) sel.uids.append(u);
  takeRecent(c, sel, uids);
  announceCounts(c, sel);
}

/**
 * Takes expunged UIDs out of the session's numbering and tells the client: EXPUNGE per
 * message (RFC 9051 §7.5.1), or one VANISHED once QRESYNC is enabled (RFC 7162 §3.2.10).
 * UIDs the session does not know are skipped.
 */
export function reportExpunged(c: ImapSession, sel: Selected, uids: readonly number[]): void {
  const sorted = [...uids].sort((a, b) => a - b);
  const at = sel.uids.removeMany(sorted);
  const vanished: number[] = [];
  sorted.forEach((uid, k) => {
    const i = at[k] as number;
    if (i < 0) return;
    sel.recent.delete(uid);
    // UIDONLY: expunges are always VANISHED (RFC 9586 §3.2).
    if (qresyncOn(c) || uidOnly(c)) vanished.push(uid);
    else c.untagged(`${i + 1} EXPUNGE`);
  });
  if (vanished.length > 0) sendVanished(c, vanished, false);
}

/**
 * Applies changes from other sessions to this one and queues what the client is told.
 * The selected mailbox's changes are treated as NOTIFY asks (sent, held or dropped, see
 * notify.ts); with NOTIFY on, other mailboxes' events are queued for deliverQueued.
 */
export function applyChanges(c: ImapSession, taken: Change[], mode: ApplyMode): void {
  const sel = c.selected;
  const initial = mode === 'initial';
  let changes = taken;
  if (sel && sel.held.length > 0) {
    changes = initial ? taken : [...sel.held, ...taken];
    sel.held = [];
  }
  let added: { uid: number; flags: number; keywords: string[]; modseq: number }[] = [];
  const fetchAtts = c.notify?.selected?.fetch ?? null;

  const flushAdds = () => {
    if (added.length === 0 || !sel) return;
    const before = sel.uids.length;
    for (const a of added) sel.uids.append(a.uid);
    // At SELECT the new messages are claimed with the rest.
    if (!initial) {
      takeRecent(
        c,
        sel,
        added.map((a) => a.uid),
      );
      announceKeywords(
        c,
        added.flatMap((a) => a.keywords),
      );
      // One EXISTS for a run of additions, then their flags (RFC 9051 §7.4.1), or what
      // NOTIFY's MessageNew asks for (RFC 5465 §5.1), fetched after this.
      announceCounts(c, sel);
      if (fetchAtts && mode !== 'own') for (const a of added) sel.notifyFetch.push(a.uid);
      else added.forEach((a, i) => c.untagged(flagsFetch(c, before + i + 1, a)));
    }
    added = [];
  };
  // With NOTIFY, a change outside the selected mailbox is for deliverQueued.
  const queue = (ch: Change) => {
    if (c.notify) c.notifyQueue.push(ch);
    return c.notify !== null;
  };
  const treat = (ch: Change & { kind: 'addUID' | 'removeUIDs' | 'flags' }) => {
    if (!sel) return 'drop';
    const t = treatSelected(c, sel, ch.kind, mode);
    if (t === 'hold') sel.held.push(ch);
    return t;
  };

  for (const ch of changes) {
    // Additions in a row (also across commits) give one EXISTS; only a change that is
    // rendered ends the run.
    if (ch.kind !== 'addUID' && renders(ch)) flushAdds();
    switch (ch.kind) {
      case 'addUID':
        if (!sel || ch.mailboxId !== sel.mailbox.id) queue(ch);
        else if (ch.uid > sel.uids.last() && treat(ch) === 'send') {
          added.push({ uid: ch.uid, flags: ch.flags, keywords: ch.keywords, modseq: ch.modseq });
        }
        break;
      case 'removeUIDs':
        if (!sel || ch.mailboxId !== sel.mailbox.id) queue(ch);
        else if (initial) {
          sel.uids.removeMany([...ch.uids].sort((a, b) => a - b));
          for (const uid of ch.uids) sel.recent.delete(uid);
        } else if (treat(ch) === 'send') {
          reportExpunged(c, sel, ch.uids);
          for (const uid of ch.uids) sel.recent.delete(uid);
        }
        break;
      case 'flags':
        if (!sel || ch.mailboxId !== sel.mailbox.id) queue(ch);
        else if (!initial && treat(ch) === 'send') {
          const i = sel.uids.indexOf(ch.uid);
          if (i >= 0) {
            announceKeywords(c, ch.keywords);
            c.untagged(flagsFetch(c, i + 1, ch));
          }
        }
        break;
      case 'addMailbox':
        if (!queue(ch))
          c.untagged(`LIST (${ch.specialUse ?? ''}) "/" ${mailboxName(ch.name, c.utf8)}`);
        break;
      case 'removeMailbox':
        // Older clients would read a LIST for a deleted mailbox as a new one.
        if (!queue(ch) && c.rev2)
          c.untagged(`LIST (\\NonExistent) "/" ${mailboxName(ch.name, c.utf8)}`);
        break;
      case 'renameMailbox': {
        if (sel && sel.mailbox.id === ch.mailboxId)
          sel.mailbox = { ...sel.mailbox, name: ch.newName };
        if (queue(ch)) break;
        const old = c.rev2 ? ` ("OLDNAME" (${mailboxName(ch.oldName, c.utf8)}))` : '';
        c.untagged(`LIST (${ch.specialUse ?? ''}) "/" ${mailboxName(ch.newName, c.utf8)}${old}`);
        break;
      }
      case 'addSubscription':
        if (!queue(ch)) c.untagged(`LIST (\\Subscribed) "/" ${mailboxName(ch.name, c.utf8)}`);
        break;
      case 'removeSubscription':
        queue(ch);
        break;
      case 'annotation':
        // RFC 5464 §4.4.2: the entry that changed, without its value, to a session that
        // enabled METADATA; "" for the server's (the account's) entries.
        if (!queue(ch) && c.enabled.has('METADATA'))
          c.untagged(`METADATA ${mailboxName(ch.mailboxName, c.utf8)} ${astr(ch.key, false)}`);
        break;
      default:
        // Counts, special use and keywords are not announced: clients ask for them
        // (STATUS, LIST), and the unsolicited FLAGS that could report some is optional.
        break;
    }
  }
  flushAdds();
  if (sel && sel.held.length > notifyLimits.heldMax) overflow(c, sel);
}

/**
 * Too much held back (RFC 5465 §5.8): NOTIFICATIONOVERFLOW, and NOTIFY ends; what was
 * held is told at the next point a command may report it, as without NOTIFY.
 */
/**
 * The session leaves its selected mailbox (SELECT of another, CLOSE, UNSELECT, logout):
 * what was held back for it goes, and the message files it kept are released.
 */
export function leaveSelected(c: ImapSession): void {
  const sel = c.selected;
  if (!sel) return;
  c.session?.release(sel.heldRemovals);
  sel.heldRemovals = [];
  sel.held = [];
  c.selected = null;
}

function overflow(c: ImapSession, sel: Selected): void {
  c.untagged('OK [NOTIFICATIONOVERFLOW] too many changes held back, NOTIFY is off');
  c.notify = null;
  c.notifyQueue = [];
  sel.notifyFetch = [];
}

function renders(ch: Change): boolean {
  switch (ch.kind) {
    case 'mailboxCounts':
    case 'mailboxSpecialUse':
    case 'mailboxKeywords':
    case 'removeSubscription':
      return false;
    case 'annotation':
      return true;
    default:
      return true;
  }
}
