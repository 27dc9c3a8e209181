// What an IMAP listener gives its connections: the store and configuration, TLS, limits,
// delays, limiters and timeouts.
import type {
  AuthFailureLimiter,
  ConnectionCounter,
  RateLimiter,
  TlsServerOptions,
} from '../net/index.js';
import type { Logger } from '../log/index.js';
import type { Store } from '../store/index.js';
import type { DomainsConfig } from '../config/index.js';

export type ImapLimits = {
  maxLineLength: number;
  maxLiteralSize: number;
  maxLiteralTotal: number;
  maxLiterals: number;
  /** Largest message APPEND accepts (announced as APPENDLIMIT). */
  maxMessageSize: number;
};

export type ImapContext = {
  store: Store;
  domains: () => DomainsConfig;
  hostname: string;
  /** TLS settings: implicit TLS (imaps) or STARTTLS; null when the listener has none. */
  tls: TlsServerOptions | null;
  service: 'imap' | 'imaps';
  noRequireSTARTTLS: boolean;
  /** The SASL mechanisms enabled on this listener; null or absent is all of them. */
  authMechanisms?: readonly string[] | null;
  limits: ImapLimits;
  /**
   * Delays in ms (0 in tests): auth failure backoff, slow-mode byte delay, and how long a
   * command runs before it reports its progress, and then between reports (RFC 9585;
   * default 10 s).
   */
  delays: { authFail: number; badClient: number; inProgress?: number };
  limiters: { rate: RateLimiter; connections: ConnectionCounter; authFailures: AuthFailureLimiter };
  log: Logger;
  isShuttingDown: () => boolean;
  /**
   * Read and write limits in ms. Authenticated clients may idle for 30 minutes, the least
   * RFC 9051 §5.4 allows; 30 s before that is ample for a client and little for an abuser.
   */
  timeouts?: Partial<Timeouts>;
};

export type Timeouts = {
  /** Waiting for a command before and after authentication (an IDLE too). */
  readPreauth: number;
  readAuth: number;
  /** Reading a literal. */
  literal: number;
  /** Each write, before and after authentication. */
  writePreauth: number;
  writeAuth: number;
};

export const DEFAULT_TIMEOUTS: Timeouts = {
  readPreauth: 30_000,
  readAuth: 30 * 60_000,
  literal: 30_000,
  writePreauth: 30_000,
  writeAuth: 5 * 60_000,
};
