// Connection-level failures of the SMTP client.
import type { ReplyInfo } from './types.js';

export type Stage =
  | 'connect'
  | 'greeting'
  | 'ehlo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'rset'
  | 'quit';

export type SmtpClientErrorOptions = {
  permanent?: boolean;
  code?: number;
  secode?: string;
  tlsFailure?: boolean;
  remoteText?: string;
  /** The problem is ours (e.g. reading the message failed), not the server's. */
  local?: boolean;
  cause?: unknown;
};

/**
 * A session or connection failure. Temporary (permanent=false) for timeouts, I/O errors
 * and 4xx replies; permanent for 5xx replies and for policy failures such as a missing
 * STARTTLS when TLS is required.
 */
export class SmtpClientError extends Error {
  override readonly name = 'SmtpClientError';
  readonly stage: Stage;
  readonly permanent: boolean;
  readonly code: number;
  readonly secode: string;
  readonly tlsFailure: boolean;
  readonly remoteText: string;
  readonly local: boolean;

  constructor(stage: Stage, message: string, opts: SmtpClientErrorOptions = {}) {
    super(`${stage}: ${message}`, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.stage = stage;
    this.permanent = opts.permanent ?? false;
    this.code = opts.code ?? 0;
    this.secode = opts.secode ?? '';
    this.tlsFailure = opts.tlsFailure ?? false;
    this.remoteText = opts.remoteText ?? '';
    this.local = opts.local ?? false;
  }

  /** For an unwanted reply: permanent when it is 5xx. */
  static fromReply(
    stage: Stage,
    what: string,
    reply: ReplyInfo,
    opts: SmtpClientErrorOptions = {},
  ): SmtpClientError {
    const code = reply.secode === '' ? `${reply.code}` : `${reply.code} ${reply.secode}`;
    return new SmtpClientError(stage, `${what}: ${code} ${reply.text}`.trimEnd(), {
      permanent: reply.code >= 500 && reply.code < 600,
      code: reply.code,
      secode: reply.secode,
      remoteText: reply.text,
      ...opts,
    });
  }
}
