// Errors a command handler raises; the connection turns them into replies.

/**
 * An SMTP error reply. `user` errors are the client's doing (logged at info); others
 * are ours (logged as errors). `close` ends the connection after the reply.
 */
export class SmtpError extends Error {
  constructor(
    readonly code: number,
    readonly secode: string | null,
    message: string,
    readonly opts: { user?: boolean; close?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
  }

  get user(): boolean {
    return this.opts.user ?? true;
  }
}

/** A client error: `code secode message`. */
export function userError(code: number, secode: string, message: string): SmtpError {
  return new SmtpError(code, secode, message, { user: true });
}

/** A client error after which the connection is closed. */
export function fatalError(code: number, secode: string, message: string): SmtpError {
  return new SmtpError(code, secode, message, { user: true, close: true });
}

/** A failure on our side. */
export function serverError(
  code: number,
  secode: string,
  message: string,
  cause?: unknown,
): SmtpError {
  return new SmtpError(code, secode, message, { user: false, cause });
}

/** Ends the connection without a reply (I/O failure, or the reply was already sent). */
export class CloseConnection extends Error {}
