// CONDSTORE and QRESYNC (RFC 7162) as a session sees them: whether they are on, turning
// CONDSTORE on from the commands that imply it, and the VANISHED responses that replace
// EXPUNGE once QRESYNC is enabled.
import type { AuthSession, ImapSession } from './session.js';
import { compactSet } from './uids.js';

/** Whether CONDSTORE is on: MODSEQ then goes with every unsolicited FETCH (RFC 7162 §3.1). */
export const condstoreOn = (c: ImapSession): boolean => c.enabled.has('CONDSTORE');

/** Whether QRESYNC is enabled: expunges are then reported as VANISHED (RFC 7162 §3.2.10). */
export const qresyncOn = (c: ImapSession): boolean => c.enabled.has('QRESYNC');

/**
 * A "CONDSTORE enabling command" (RFC 7162 §3.1) turns CONDSTORE on for the rest of the
 * connection. With a mailbox selected, the client learns its HIGHESTMODSEQ now, as the
 * SELECT that opened it may not have been CONDSTORE-aware.
 */
export async function enableCondstore(c: AuthSession): Promise<void> {
  if (condstoreOn(c)) return;
  c.enabled.add('CONDSTORE');
  const sel = c.selected;
  if (!sel) return;
  const n = await c.account.mailboxHighestModseq(sel.mailbox.id);
  c.untagged(`OK [HIGHESTMODSEQ ${n}] CONDSTORE enabled`);
}

/**
 * RFC 7162 §3.2.10 recommends responses of at most 8192 octets; a UID set is cut at a
 * comma well below that.
 */
const MAX_SET_TEXT = 4000;

/** A compact set (ascending numbers) in pieces of at most `max` characters. */
export function compactSetPieces(nums: number[], max = MAX_SET_TEXT): string[] {
  const text = compactSet(nums);
  const out: string[] = [];
  let start = 0;
  while (text.length - start > max) {
    const cut = text.lastIndexOf(',', start + max);
    out.push(text.slice(start, cut));
    start = cut + 1;
  }
  if (start < text.length) out.push(text.slice(start));
  return out;
}

/**
 * "* VANISHED [(EARLIER)] uid-set" (RFC 7162 §3.2.10) for ascending UIDs. Without
 * EARLIER it removes the messages from the client's numbering, like EXPUNGE; with
 * EARLIER it tells of messages the client may remember from an earlier session.
 */
export function sendVanished(c: ImapSession, uids: number[], earlier: boolean): void {
  const kw = earlier ? 'VANISHED (EARLIER) ' : 'VANISHED ';
  for (const piece of compactSetPieces(uids)) c.untagged(kw + piece);
}
