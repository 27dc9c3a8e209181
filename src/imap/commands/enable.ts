// ENABLE (RFC 5161, RFC 9051 §6.3.1): the client turns on extensions that change how the
// server answers: IMAP4rev2, UTF8=ACCEPT, CONDSTORE and QRESYNC (RFC 7162 §3.2.3), and
// METADATA.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { enableCondstore } from '../condstore.js';

// Capabilities that can be enabled, by upper-case name, with their announced spelling.
// Unknown and unsupported ones are ignored (RFC 5161 §3.1).
const ENABLEABLE = new Map([
  ['IMAP4REV2', 'IMAP4rev2'],
  ['UTF8=ACCEPT', 'UTF8=ACCEPT'],
  ['CONDSTORE', 'CONDSTORE'],
  ['QRESYNC', 'QRESYNC'],
  // Unsolicited METADATA when another session changes an entry (RFC 5464 §4.4.2).
  ['METADATA', 'METADATA'],
  // Only UIDs from here on (RFC 9586).
  ['UIDONLY', 'UIDONLY'],
]);

// RFC 9051 §6.3.1 and RFC 5161 §3.1 ENABLE; syntax RFC 9051 §9 "enable".
export const enable: Handler<AuthSession> = async (c, _tag, p) => {
  const asked: string[] = [];
  do {
    p.sp();
    asked.push(p.atom().toUpperCase());
  } while (!p.atEnd);
  p.end();
  // ENABLED lists only what this command newly enabled (RFC 5161 §3.2).
  const enabled: string[] = [];
  for (const up of asked) {
    const known = ENABLEABLE.get(up);
    if (!known || c.enabled.has(up)) continue;
    // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3); CONDSTORE tells a selected mailbox's
    // HIGHESTMODSEQ when it comes on.
    if (up === 'CONDSTORE' || up === 'QRESYNC') await enableCondstore(c);
    c.enabled.add(up);
    enabled.push(known);
  }
  c.untagged(`ENABLED${enabled.map((x) => ' ' + x).join('')}`);
};
