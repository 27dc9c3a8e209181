// The DMARC evaluation of an incoming message for one recipient, kept for the daily
// aggregate report to the From domain (RFC 7489 §7.2): which identifiers aligned, what
// was done (disposition) and why the policy was not applied (override reasons).
import type { Analysis } from './analyze.js';
import { REASON_DMARC_POLICY, REASON_LIST_ALLOW } from './analyze.js';
import type { DmarcOverride, Verification } from './verify.js';
import { organizationalDomain } from '../msgauth/index.js';
import { intervalHours } from '../reports/dmarcsend.js';
import type { DMARCEvaluation } from '../store/index.js';

export type EvaluationInput = {
  verification: Verification;
  analysis: Pick<Analysis, 'accept' | 'reason' | 'mailbox'>;
  /** The mailbox the message would have gone to without a quarantine. */
  mailbox: string;
  override: DmarcOverride;
  isForward: boolean;
  remoteIP: string;
  /** Domains of the recipient, MAIL FROM (or the HELO name without one) and From. */
  envelopeTo: string;
  envelopeFrom: string;
  headerFrom: string;
  /** The destination takes DMARC or TLS reports. */
  reportAddress: boolean;
  /** Whether the account has dealt with the From organisation (asked only when needed). */
  knownDomain: (orgDomain: string) => Promise<boolean>;
  now: number;
};

/**
 * The evaluation to keep, or null: none without a DMARC record asking for aggregate
 * reports, and none for messages refused for reasons other than the DMARC policy (they
 * were not judged by it).
 */
export async function dmarcEvaluation(i: EvaluationInput): Promise<DMARCEvaluation | null> {
  const d = i.verification.dmarc;
  const record = d.record;
  if (!record || record.rua.length === 0) return null;
  const policyReject = !i.analysis.accept && i.analysis.reason === REASON_DMARC_POLICY;
  if (!i.analysis.accept && !policyReject) return null;
  const quarantined =
    i.analysis.accept &&
    i.analysis.reason === REASON_DMARC_POLICY &&
    i.analysis.mailbox !== i.mailbox;
  const overrides: DMARCEvaluation['overrides'] = [];
  if (d.status === 'fail' && d.published !== 'none') {
    if (d.sampledOut) overrides.push({ type: 'sampled_out', comment: '' });
    if (i.override) overrides.push({ type: i.override.type, comment: i.override.comment });
    if (i.isForward) overrides.push({ type: 'forwarded', comment: '' });
    if (i.analysis.reason === REASON_LIST_ALLOW)
      overrides.push({ type: 'mailing_list', comment: '' });
  }
  // Reports are not sent on behalf of strangers: a domain whose forged mail was refused,
  // and that the account never dealt with, gets its evaluation only in a report sent
  // for other reasons (a spammer picking domains must not make us mail them).
  const optional = i.reportAddress || (policyReject && !(await i.knownDomain(d.orgDomain)));
  const fromOrg = organizationalDomain(i.headerFrom);
  const v = i.verification;
  return {
    policyDomain: d.recordDomain,
    evaluated: i.now,
    intervalHours: intervalHours(record.ri),
    optional,
    addresses: record.rua,
    policy: {
      domain: d.recordDomain,
      adkim: record.adkim,
      aspf: record.aspf,
      p: record.p,
      sp: record.sp,
      pct: record.pct,
    },
    sourceIP: i.remoteIP,
    disposition: policyReject ? 'reject' : quarantined ? 'quarantine' : 'none',
    alignedDKIMPass: d.dkimAligned,
    alignedSPFPass: d.spfAligned,
    envelopeTo: i.envelopeTo,
    envelopeFrom: i.envelopeFrom,
    headerFrom: i.headerFrom,
    overrides,
    // Every signature of the From organisation, aligned or not (RFC 7489 §7.2.1.1).
    dkim: v.dkim
      .filter((s) => s.domain !== '' && organizationalDomain(s.domain) === fromOrg)
      .map((s) => ({ domain: s.domain, selector: s.selector, result: s.result })),
    spf: [
      {
        domain: v.spf.domain,
        scope: v.spf.identity === 'helo' ? 'helo' : 'mfrom',
        result: v.spf.status,
      },
    ],
  };
}
