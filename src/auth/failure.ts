// Why a login failed, in terms neither IMAP nor SMTP: each protocol turns a reason into its
// own reply with one table, while how the attempt is recorded and whether it counts
// against the client (slow mode, the failed-auth limiter) is decided here, once.
import type { LoginResult } from '../store/index.js';

export type FailureReason =
  /** The listener requires TLS for any authentication (or for passwords) and it is off. */
  | 'tls-required'
  /** The mechanism binds to the TLS channel (-PLUS) or its certificate (EXTERNAL). */
  | 'needs-tls'
  /** EXTERNAL without a client certificate that identifies an account. */
  | 'no-certificate'
  /** Not a mechanism this listener offers. */
  | 'unsupported'
  /** A client response that is not base64. */
  | 'bad-base64'
  /** The client cancelled the exchange with "*" (RFC 4422 §3.5). */
  | 'aborted'
  /** Too many failures against the account from networks it does not log in from. */
  | 'throttled'
  /** A malformed mechanism message; `message` says what was wrong. */
  | 'bad-protocol'
  /** The account's stored secrets predate this mechanism: the password must be set again. */
  | 'missing-secrets'
  | 'unknown-user'
  | 'authz-failed'
  | 'bad-credentials'
  /** SCRAM-PLUS channel binding data differs: a possible man in the middle. */
  | 'bad-channel-binding'
  /** The channel binding type the client asked for is not available here. */
  | 'channel-binding-unavailable'
  /** Something other than an empty line answered the server's final data. */
  | 'final-not-empty'
  /** A client certificate identified one account and the exchange named another. */
  | 'certificate-mismatch'
  /** The account may not log in; `message` is the admin's reason. */
  | 'login-disabled';

/** How a failure is recorded (null: not at all) and whether it counts against the client. */
export const OUTCOMES: Record<FailureReason, { result: LoginResult | null; counted: boolean }> = {
  // Counted: a client that keeps sending credentials in the clear is slowed down like one
  // that guesses them.
  'tls-required': { result: 'badprotocol', counted: true },
  'needs-tls': { result: 'badprotocol', counted: true },
  'no-certificate': { result: 'badprotocol', counted: false },
  unsupported: { result: null, counted: false },
  'bad-base64': { result: 'badprotocol', counted: true },
  aborted: { result: 'aborted', counted: false },
  throttled: { result: 'ratelimited', counted: true },
  'bad-protocol': { result: 'badprotocol', counted: true },
  // Not the client's fault.
  'missing-secrets': { result: 'error', counted: false },
  'unknown-user': { result: 'badcredentials', counted: true },
  'authz-failed': { result: 'badcredentials', counted: true },
  'bad-credentials': { result: 'badcredentials', counted: true },
  'bad-channel-binding': { result: 'badchannelbinding', counted: true },
  'channel-binding-unavailable': { result: 'badprotocol', counted: false },
  'final-not-empty': { result: 'badprotocol', counted: true },
  'certificate-mismatch': { result: 'badcredentials', counted: true },
  'login-disabled': { result: 'logindisabled', counted: false },
};

/** A failed login: the reason, the mechanism (upper case) and any detail for the reply. */
export class AuthFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly mechanism: string,
    message: string = reason,
  ) {
    super(message);
  }
}
