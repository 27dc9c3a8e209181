// The junk decision for an incoming message, per recipient, with a reason that reaches
// the logs and X-Tidings-Reason. A destination rule comes first: mail from a mailing
// list it names (verified for the list's domain) is accepted, a forward is not judged
// by the forwarder's signals, and a rule may accept what would be refused into a
// mailbox of its own. Then the sender domain's DMARC policy (RFC 7489 §6.6.4): reject refuses the message, quarantine delivers it to Junk, unless the
// recipient's account overrides the policy. Then the sender's reputation with the
// account: a conclusive one accepts or rejects. Then the account's Bayesian content
// filter, then the DNS blocklists of the listener. What is left is accepted as a
// message without known bad signals.
import type { DomainsConfig } from '../config/index.js';
import type { DeliveryFacts } from '../store/index.js';
import { C, SE } from '../smtp/index.js';
import { verifiedDomains, type DmarcOverride, type Verification } from './verify.js';
import type { SenderEvidence } from '../store/index.js';
import { reputationVerdict } from '../junk/reputation.js';
import type { DnsblCheck } from '../msgauth/index.js';
import { ruleName, withinDomain, type MatchedRule } from './rules.js';
import type { Classification } from '../junk/index.js';

export type AnalysisInput = {
  cfg: DomainsConfig;
  account: string;
  /** The destination mailbox from the account's configuration. */
  mailbox: string;
  /** The account's Junk mailbox (by its special-use flag), for quarantined mail. */
  junkMailbox: () => Promise<string>;
  facts: DeliveryFacts;
  size: number;
  /** Verification results (port 25); null for messages not verified. */
  verification: Verification | null;
  /** An override of the DMARC policy for this recipient. */
  dmarcOverride: DmarcOverride;
  /** What the account's own mail says about the sender; null when not looked up. */
  evidence: SenderEvidence | null;
  /** The client address in the listener's DNS blocklists (looked up once per message). */
  blocklists?: { zones: readonly string[]; check: () => Promise<DnsblCheck> } | null;
  /** The destination rule the message matched. */
  rule?: MatchedRule | null;
  /** The account's content filter on this message (classified when first asked). */
  content?: (() => Promise<Classification | null>) | null;
  /** The filter's threshold for this account. */
  junkThreshold?: number;
  /** A number in [-1, 1) that moves the threshold a little (tests fix it). */
  jitter?: () => number;
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
export const REASON_DMARC_POLICY = 'dmarc-policy';
export const REASON_DNSBL = 'dns-blocklisted';
export const REASON_LIST_ALLOW = 'list-allow';
export const REASON_JUNK_CONTENT = 'junk-content';
export const REASON_JUNK_CONTENT_STRICT = 'junk-content-strict';

/**
 * The threshold moves by up to this much either way, per message, so that a sender
 * probing with variations cannot find the exact line (an oracle); after an iprev
 * failure (no forward-confirmed name: typical of botnets) it is at most STRICT.
 */
const JITTER = 0.05;
/** The highest threshold the jitter alone can make (see decide). */
const JITTER_CEILING = 0.999;
const STRICT = 0.25;

/**
 * The reply for a rejection on content or reputation: generic and temporary, so that a
 * spammer learns nothing and a wrongly judged sender retries (and can be let in).
 */
export const JUNK_REJECT = {
  code: C.LocalError,
  secode: SE.OtherMailSystem0,
  errmsg: 'error processing',
} as const;

export async function analyze(input: AnalysisInput): Promise<Analysis> {
  const a = await decide(input);
  const m = input.rule;
  if (!m) return a;
  const text = [...a.reasonText, ruleName(m)];
  const instead = m.rule.accept_rejects_to_mailbox;
  if (!a.accept && instead) {
    return {
      accept: true,
      mailbox: instead,
      reason: a.reason,
      reasonText: [...text, `accepted into ${instead} instead of refused`],
      headers: a.headers,
    };
  }
  // The rule's mailbox, unless the decision chose another (Junk for a quarantine).
  const mailbox =
    a.accept && a.mailbox === input.mailbox ? (m.rule.mailbox ?? a.mailbox) : a.mailbox;
  return { ...a, mailbox, reasonText: text };
}

async function decide(input: AnalysisInput): Promise<Analysis> {
  const v = input.verification;
  const rule = input.rule?.rule;
  const list = rule?.list_allow_domain;
  if (v && list && verifiedDomains(v).some((d) => withinDomain(d, list))) {
    // A mailing list the user subscribed to: it may break DMARC of its posters, and its
    // reputation is the list's.
    return {
      accept: true,
      mailbox: input.mailbox,
      reason: REASON_LIST_ALLOW,
      reasonText: [`verified mailing list ${list}`],
      headers: '',
    };
  }
  // A forward carries the forwarder's signals; the original sender's policy cannot hold.
  const dmarc = rule?.is_forward ? undefined : v?.dmarc;
  if (dmarc && dmarc.status === 'fail' && dmarc.policy !== 'none') {
    const text = [`dmarc policy ${dmarc.policy} of ${dmarc.recordDomain}`];
    if (input.dmarcOverride) {
      text.push(`overridden: ${input.dmarcOverride.type} (${input.dmarcOverride.comment})`);
    } else if (dmarc.policy === 'reject') {
      return {
        accept: false,
        mailbox: input.mailbox,
        reason: REASON_DMARC_POLICY,
        reasonText: text,
        headers: '',
        // RFC 7372 §3.2: X.7.26 multiple authentication checks failed.
        code: C.MailboxUnavailablePerm,
        secode: SE.MultipleAuthFails26,
        errmsg: 'dmarc policy rejects message from this domain',
      };
    } else {
      return {
        accept: true,
        mailbox: await input.junkMailbox(),
        reason: REASON_DMARC_POLICY,
        reasonText: text,
        headers: '',
      };
    }
    return afterPolicy(input, text);
  }
  return afterPolicy(input, []);
}

/** Reputation, then blocklists, then the default. */
async function afterPolicy(input: AnalysisInput, text: string[]): Promise<Analysis> {
  const verdict = input.evidence ? reputationVerdict(input.evidence) : null;
  if (verdict?.junk) {
    return {
      accept: false,
      mailbox: input.mailbox,
      reason: verdict.reason,
      reasonText: [...text, verdict.text],
      headers: '',
      ...JUNK_REJECT,
    };
  }
  if (verdict) {
    return {
      accept: true,
      mailbox: input.mailbox,
      reason: verdict.reason,
      reasonText: [...text, verdict.text],
      headers: '',
    };
  }
  let headers = '';
  const c = input.content ? await input.content() : null;
  if (c) {
    const iprev = input.verification?.iprev.status;
    const iprevFailed = iprev === 'fail' || iprev === 'permerror';
    const base = input.junkThreshold ?? 0.95;
    const jitter = (input.jitter?.() ?? Math.random() * 2 - 1) * JITTER;
    // The jitter never lifts the threshold past 0.999 (unless the account's own is higher):
    // sure junk scores 1.0, and a threshold above it would let it through.
    const threshold = iprevFailed
      ? Math.min(base, STRICT)
      : Math.min(base + jitter, Math.max(base, JITTER_CEILING));
    const words = c.words
      .slice(0, 8)
      .map((w) => `${w.token}:${w.probability.toFixed(2)}`)
      .join(' ');
    if (c.probability >= threshold) {
      return {
        accept: false,
        mailbox: input.mailbox,
        reason: iprevFailed ? REASON_JUNK_CONTENT_STRICT : REASON_JUNK_CONTENT,
        reasonText: [...text, `junk probability ${c.probability.toFixed(3)}`, words],
        headers: '',
        ...JUNK_REJECT,
      };
    }
    headers += `X-Tidings-Junk: probability ${c.probability.toFixed(3)}\r\n`;
  }
  if (input.blocklists) {
    const r = await input.blocklists.check();
    const listed = r.listings[0];
    if (listed) {
      const why = listed.reason ? `: ${listed.reason}` : '';
      return {
        accept: false,
        mailbox: input.mailbox,
        reason: REASON_DNSBL,
        reasonText: [...text, `listed in ${listed.zone}${why}`],
        headers: '',
        ...JUNK_REJECT,
      };
    }
    headers += blocklistHeader(input.blocklists.zones, r);
  }
  return {
    accept: true,
    mailbox: input.mailbox,
    reason: REASON_NO_BAD_SIGNALS,
    reasonText: text,
    headers,
  };
}

/** What the blocklists said of an accepted message, one zone each (not listed, or why not). */
function blocklistHeader(zones: readonly string[], r: DnsblCheck): string {
  const parts = [
    ...r.errors.map((e) => `${e.zone}=${e.status} (${e.reason.replace(/[()\\\r\n]/g, ' ')})`),
    ...r.skipped.map((z) => `${z}=skipped (zone fails its test entries)`),
  ];
  const checked = new Set([...r.errors.map((e) => e.zone), ...r.skipped]);
  return `X-Tidings-DNSBL: ${[...parts, ...zones.filter((z) => !checked.has(z)).map((z) => `${z}=pass`)].join('; ')}\r\n`;
}
