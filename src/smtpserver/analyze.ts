// The junk decision for an incoming message, per recipient, with a reason that reaches
// the logs and X-Tidings-Reason. SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and
// reputation plug in here; until then every message is accepted with the reason a
// message without known bad signals gets.
import type { DomainsConfig } from '../config/index.js';
import type { DeliveryFacts } from '../store/index.js';

export type AnalysisInput = {
  cfg: DomainsConfig;
  account: string;
  /** The destination mailbox from the account's configuration. */
  mailbox: string;
  facts: DeliveryFacts;
  size: number;
};

export type Analysis = {
  accept: boolean;
  mailbox: string;
  /** Short machine-readable reason, e.g. "no-bad-signals"; goes into X-Tidings-Reason. */
  reason: string;
  reasonText: string[];
  /** Extra header lines to prepend (each ending in CRLF). */
  headers: string;
  /** The reply for a rejection. */
  code?: number;
  secode?: string;
  errmsg?: string;
};

export const REASON_NO_BAD_SIGNALS = 'no-bad-signals';

export async function analyze(input: AnalysisInput): Promise<Analysis> {
  return {
    accept: true,
    mailbox: input.mailbox,
    reason: REASON_NO_BAD_SIGNALS,
    reasonText: [],
    headers: '',
  };
}
