// UIDONLY (RFC 9586): once enabled, the session speaks in UIDs alone. Commands that
// name messages by number are refused with BAD [UIDREQUIRED], FETCH responses become
// "* uid UIDFETCH (...)", and expunges are VANISHED, so the server need not keep a
// numbering the client never uses.
import type { ImapSession } from './session.js';
import { ParseError } from './parser.js';

export const uidOnly = (c: ImapSession): boolean => c.enabled.has('UIDONLY');

/** Refuses a command or key that uses message numbers (RFC 9586 §3). */
export function requireUids(c: ImapSession, what: string): void {
  if (uidOnly(c)) throw new ParseError(`${what} uses message numbers; use UIDs`, 'UIDREQUIRED');
}

/**
 * The start of a FETCH response, without "* ": "seq FETCH (UID uid " or, under UIDONLY,
 * "uid UIDFETCH (" (RFC 9586 §3.3: the UID is the response's number, not an item).
 */
export function fetchHead(c: ImapSession, seq: number, uid: number): string {
  return uidOnly(c) ? `${uid} UIDFETCH (` : `${seq} FETCH (UID ${uid} `;
}
