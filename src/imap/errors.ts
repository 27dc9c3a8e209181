// Command errors. A ParseError (parser.ts) is a syntax error: BAD. A UserError is the
// client's doing: NO with an optional response code (RFC 9051 §7.1). Anything else is a
// server error: NO, logged with its stack. I/O errors close the connection quietly.
import { isStoreError, type StoreError } from '../store/index.js';

export class UserError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UserError';
  }
}

/** Maps store errors to IMAP response codes (RFC 5530, RFC 9051 §7.1). */
export function fromStoreError(e: unknown): unknown {
  if (!isStoreError(e)) return e;
  const se = e as StoreError;
  const code: Record<string, string> = {
    nonexistent: 'NONEXISTENT',
    alreadyexists: 'ALREADYEXISTS',
    haschildren: 'HASCHILDREN',
    cannot: 'CANNOT',
    overquota: 'OVERQUOTA',
    notfound: '',
    invalid: 'CANNOT',
    toomany: 'METADATA TOOMANY',
    toolarge: 'METADATA MAXSIZE',
  };
  return new UserError(code[se.code] ?? '', se.message);
}

/** Raised to end the connection without a reply (I/O errors, protocol violations). */
export class CloseConnection extends Error {}

/** A fatal condition whose BYE is already queued. */
export class FatalReply extends Error {}
