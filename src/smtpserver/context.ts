// What an SMTP listener needs from the rest of the server.
import type { Readable } from 'node:stream';
import type { Store } from '../store/index.js';
import type { DomainsConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type {
  AuthFailureLimiter,
  ConnectionCounter,
  RateLimiter,
  TlsServerOptions,
} from '../net/index.js';
import type { Resolver } from '../dns/index.js';
import type { DnsblChecker } from '../msgauth/index.js';
import type { DeliveryRateLimiter } from './ratelimit.js';
import type { NewQueueMessage, QueueMessage } from '../queue/index.js';

/** The part of the outgoing queue the SMTP server uses. */
export interface QueueAdder {
  add(file: string, msgs: NewQueueMessage[]): Promise<QueueMessage[]>;
}

export type SmtpKind = 'smtp' | 'submission' | 'submissions';

export type SmtpLimits = {
  maxLineLength: number;
  maxRecipients: number;
  maxReceivedHeaders: number;
  maxBadTransactions: number;
  maxMessageSize: number;
  /** The server-wide default; a smaller listener limit gives x.2.3 instead of x.3.4. */
  defaultMaxMessageSize: number;
  /** Per account: messages and first-time recipients per day (submission). */
  maxOutgoingPerDay: number;
  maxFirstTimeRecipientsPerDay: number;
};

export type SmtpDelays = {
  /** Backoff unit after the third failed authentication. */
  authFail: number;
  /** Slow mode: pause before each read and between written bytes. */
  badClient: number;
  /** Before accepting mail from a sender without history (port 25 only). */
  firstTimeSender: number;
  /** Before rejecting a message whose recipients are all unknown. */
  unknownRecipients: number;
  /** How long a localserve "timeout" localpart hangs. */
  localserveTimeout: number;
};

export type SmtpTimeouts = {
  /**
   * Each read and write. 30 s by default, our policy: shorter than the 5 minutes RFC 5321
   * §4.5.3.2.7 suggests between commands, so idle clients do not hold connections.
   */
  io: number;
  /** A whole DATA or BDAT command including delivery. */
  data: number;
};

export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = { io: 30_000, data: 30 * 60_000 };

export type SmtpContext = {
  kind: SmtpKind;
  store: Store;
  domains: () => DomainsConfig;
  hostname: string;
  tls: TlsServerOptions | null;
  /** AUTH of any mechanism, and submission, are refused unless TLS is active. */
  requireTLSForAuth: boolean;
  /**
   * Why the configuration on disk could not be loaded, while it cannot: recipients the
   * running configuration does not know are then deferred, not refused.
   */
  configProblem?: () => string | null;
  /** The SASL mechanisms enabled on this listener; null or absent is all of them. */
  authMechanisms?: readonly string[] | null;
  /** RCPT is refused on plaintext connections (port 25 with require_starttls). */
  requireTLSForDelivery: boolean;
  /** Announce and accept REQUIRETLS (RFC 8689). */
  requireTLSExtension: boolean;
  /**
   * The DNS blocklists (RFC 5782) the connecting address of incoming mail (port 25) is
   * looked up in, for messages nothing else decided; one checker per listener, so that
   * zone health is tested once for all connections. Absent is none.
   */
  dnsbl?: Pick<DnsblChecker, 'check' | 'zones'> | null;
  limits: SmtpLimits;
  delays: SmtpDelays;
  timeouts?: Partial<SmtpTimeouts>;
  limiters: {
    rate: RateLimiter;
    connections: ConnectionCounter;
    authFailures: AuthFailureLimiter;
    /** Incoming messages and bytes per minute per account and /32 or /64 network. */
    delivery: DeliveryRateLimiter;
  };
  resolver: Resolver;
  /** Verification of incoming mail (port 25); absent means the defaults. */
  verification?: {
    /** Each verification's limit in ms (a timeout is a temperror). */
    timeoutMs?: number;
    /**
     * ARC sealers (d= of the last ARC-Seal) whose valid chain overrides a DMARC failure
     * for every account (RFC 8617 §7.2.1); accounts can add their own.
     */
    trustedArcSealers?: readonly string[];
    /** The time for DKIM x= checks (tests). */
    now?: () => Date;
    /** A number in [0, 100) for DMARC pct sampling (tests). */
    sample?: () => number;
    /** The time DMARC evaluations are kept at, ms (tests). */
    evaluatedAt?: () => number;
    /** A number in [-1, 1) moving the junk threshold (tests). */
    jitter?: () => number;
  };
  /** Keep DMARC evaluations of incoming mail for outgoing aggregate reports (RFC 7489 §7.2). */
  dmarcReports?: boolean;
  queue: QueueAdder;
  /**
   * DKIM signatures (RFC 6376) for a submitted message from `fromDomain`: header fields
   * to prepend, '' when the domain signs nothing.
   */
  dkimSign?: (fromDomain: string, data: () => Readable) => Promise<string>;
  log: Logger;
  /** Development mode: every recipient goes to one account; special localparts fail. */
  localserve: { account: string } | null;
  isShuttingDown: () => boolean;
};
