// Which SASL mechanisms a listener announces and accepts on one connection, for IMAP and
// SMTP alike: the one place that decides whether a login may happen without TLS.
//
// The rule (stricter than many servers, which allow CRAM-MD5 and SCRAM in cleartext):
// unless the listener is configured to allow it, no mechanism at all is usable before
// TLS. A challenge-response mechanism keeps the password from an eavesdropper, but not
// the mail that is read or submitted over the same connection afterwards.
import { MECHANISMS } from '../sasl/index.js';

export type AuthPolicy = {
  /** Authentication of any kind needs TLS (the default for every listener). */
  requireTLS: boolean;
  /** The mechanisms the admin enabled on this listener; null is all of them. */
  mechanisms: readonly string[] | null;
};

/** What the connection can offer a mechanism. */
export type AuthConnState = {
  tls: boolean;
  /** A TLS client certificate identified an account (EXTERNAL). */
  certificate: boolean;
};

/** Why a mechanism is not usable on this connection. */
export type MechanismRefusal =
  /** TLS is required for any authentication on this listener and is not active. */
  | 'tls-required'
  /** The mechanism binds to the TLS channel (-PLUS) or to its certificate (EXTERNAL). */
  | 'needs-tls'
  /** EXTERNAL without a client certificate that identifies an account. */
  | 'no-certificate'
  /** Known, but not enabled on this listener (or not offered by this protocol). */
  | 'disabled'
  | 'unknown';

/** The protocols' mechanism sets: IMAP has its own LOGIN command instead of SASL LOGIN. */
const PROTOCOL_EXCLUDES: Record<'imap' | 'smtp', readonly string[]> = {
  imap: ['LOGIN'],
  smtp: [],
};

/** ASCII-only upper-casing, so that "plaın" does not become "PLAIN". */
const upper = (s: string) => s.replace(/[a-z]/g, (c) => c.toUpperCase());

/** The reason mechanism `name` cannot be used now, or null when it can. */
export function mechanismRefusal(
  protocol: 'imap' | 'smtp',
  policy: AuthPolicy,
  state: AuthConnState,
  name: string,
): MechanismRefusal | null {
  const mech = upper(name);
  if (!MECHANISMS.includes(mech)) return 'unknown';
  if (PROTOCOL_EXCLUDES[protocol].includes(mech)) return 'disabled';
  if (policy.mechanisms && !policy.mechanisms.includes(mech)) return 'disabled';
  if (policy.requireTLS && !state.tls) return 'tls-required';
  if ((mech.endsWith('-PLUS') || mech === 'EXTERNAL') && !state.tls) return 'needs-tls';
  if (mech === 'EXTERNAL' && !state.certificate) return 'no-certificate';
  return null;
}

/**
 * The mechanisms to announce, strongest first; EXTERNAL leads when a certificate already
 * identified the account, since a client that finds it first needs no password.
 */
export function announcedMechanisms(
  protocol: 'imap' | 'smtp',
  policy: AuthPolicy,
  state: AuthConnState,
): string[] {
  const usable = MECHANISMS.filter((m) => mechanismRefusal(protocol, policy, state, m) === null);
  return usable.includes('EXTERNAL')
    ? ['EXTERNAL', ...usable.filter((m) => m !== 'EXTERNAL')]
    : usable;
}
