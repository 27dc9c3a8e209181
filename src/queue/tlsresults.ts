// TLS results of outgoing deliveries for SMTP TLS reports (RFC 8460 §4): the policy a
// recipient domain's sessions were held to, and what kind of failure a failed session
// or policy lookup was (§4.3 result types).
import type { MtaStsPolicy } from '../msgauth/index.js';
import type { TLSResult, TLSResultFailure, TLSResultPolicy } from '../store/index.js';

/** Where delivery hands the TLS result of each session and policy lookup. */
export type TLSResultSink = (r: TLSResult) => void;

/** What a session's results are recorded against. */
export type TLSReportScope = {
  domains: string[];
  policy: TLSResultPolicy;
  /** The messages are reports themselves. */
  optional: boolean;
  sink: TLSResultSink;
};

/** The policy as RFC 8460 §4.3 reports it: an MTA-STS policy's lines, or none found. */
export function reportPolicy(p: MtaStsPolicy | null): TLSResultPolicy {
  if (!p) return { type: 'no-policy-found', strings: [], mxHosts: [] };
  return {
    type: 'sts',
    strings: [
      'version: STSv1',
      `mode: ${p.mode}`,
      ...p.mx.map((m) => `mx: ${m}`),
      `max_age: ${p.maxAgeSeconds}`,
    ],
    mxHosts: [...p.mx],
  };
}

/** Node's codes for certificate problems, by the result type they are (RFC 8460 §4.3.1). */
const CERT_CODES: Record<string, string> = {
  CERT_HAS_EXPIRED: 'certificate-expired',
  CERT_NOT_YET_VALID: 'certificate-expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate-host-mismatch',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'certificate-not-trusted',
  SELF_SIGNED_CERT_IN_CHAIN: 'certificate-not-trusted',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'certificate-not-trusted',
  UNABLE_TO_GET_ISSUER_CERT: 'certificate-not-trusted',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'certificate-not-trusted',
  CERT_UNTRUSTED: 'certificate-not-trusted',
  CERT_REVOKED: 'certificate-not-trusted',
};

/** The error codes along an error's causes. */
function codes(e: unknown): string[] {
  const out: string[] = [];
  for (let x = e, i = 0; x instanceof Error && i < 5; x = x.cause, i++) {
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string') out.push(code);
  }
  return out;
}

/**
 * The failure of a session whose TLS went wrong: STARTTLS missing or refused, or the
 * handshake failed (a certificate problem named by its result type, anything else a
 * validation failure with the TLS library's code).
 */
export function sessionFailure(
  e: { stage: string; message: string; code?: number; cause?: unknown },
  mxHost: string,
  ip: string,
): TLSResultFailure {
  const base = { sendingMtaIp: '', receivingMxHostname: mxHost, receivingIp: ip };
  if (/does not offer STARTTLS|STARTTLS refused/.test(e.message)) {
    return { ...base, resultType: 'starttls-not-supported', failureReasonCode: '' };
  }
  const all = codes(e.cause);
  const cert = all.map((c) => CERT_CODES[c]).find((t) => t !== undefined);
  if (cert) return { ...base, resultType: cert, failureReasonCode: all[all.length - 1] ?? '' };
  return {
    ...base,
    resultType: 'validation-failure',
    failureReasonCode: all[all.length - 1] ?? '',
  };
}

/** Records one result for every domain of the scope. */
export function recordTLS(
  s: TLSReportScope | null,
  failure: TLSResultFailure | null,
  time = Date.now(),
): void {
  if (!s) return;
  for (const d of s.domains) {
    s.sink({ policyDomain: d, time, optional: s.optional, policy: s.policy, failure });
  }
}
