// Reports: DMARC aggregate reports (RFC 7489) and SMTP TLS reports (RFC 8460) received
// from other mail systems, parsed and stored in the global database. ingestReport is
// what delivery and `tidings report ... import` call.
import type { GlobalDB, Store } from '../store/index.js';
import type { ReportKind } from './attachment.js';
import { dmarcSummary, parseDMARCReport, type DMARCReport, type DMARCSummary } from './dmarc.js';
import { parseTLSReport, tlsSummary, type TLSReport, type TLSSummary } from './tls.js';

import { ReportError } from './errors.js';

export { ReportError, isReportError } from './errors.js';
export { findReportAttachment, kindLabel, reportDocument } from './attachment.js';
export type { Attachment, ReportKind } from './attachment.js';
export { MAX_REPORT_BYTES, MAX_ZIP_ENTRIES } from './unpack.js';
export {
  MAX_DMARC_RECORDS,
  dmarcSummary,
  parseDMARCReport,
  parseDMARCXML,
  type DMARCDKIMResult,
  type DMARCParseOptions,
  type DMARCPolicyPublished,
  type DMARCRecord,
  type DMARCReport,
  type DMARCSPFResult,
  type DMARCSummary,
} from './dmarc.js';
export {
  parseTLSJSON,
  parseTLSReport,
  tlsSummary,
  type TLSFailureDetails,
  type TLSParseOptions,
  type TLSPolicyResult,
  type TLSPolicyType,
  type TLSReport,
  type TLSSummary,
} from './tls.js';

/** What ingestReport stored. `added` is false when the report had been stored before. */
export type IngestResult =
  | ({ kind: 'dmarc'; id: number; added: boolean; report: DMARCReport } & DMARCSummary)
  | ({ kind: 'tls'; id: number; added: boolean; report: TLSReport } & TLSSummary);

export type IngestOptions = {
  /** When the report was received, ms since the epoch (default: now). */
  received?: number;
  /**
   * Whether a report about this domain is wanted (delivery: only our own domains);
   * otherwise a ReportError, and nothing is stored.
   */
  forDomain?: (domain: string) => boolean;
};

/**
 * Parses a received report (a whole message with the report attached, or the report
 * file itself: XML or JSON, gzip, or for DMARC zip) and stores it unless it was stored
 * before. Resolves once a new report is on disk; a report that cannot be read is a
 * ReportError saying what was wrong, and nothing is stored.
 */
function wanted(domain: string, opts: IngestOptions): void {
  if (opts.forDomain && !opts.forDomain(domain)) {
    throw new ReportError(
      `report about ${domain || 'no domain'}, which is not a domain of this server`,
    );
  }
}

export async function ingestReport(
  kind: ReportKind,
  message: Buffer,
  store: Store | GlobalDB,
  opts: IngestOptions = {},
): Promise<IngestResult> {
  const db = 'global' in store ? store.global : store;
  if (kind === 'dmarc') {
    const report = await parseDMARCReport(message);
    const s = dmarcSummary(report);
    wanted(s.domain, opts);
    const a = await db.addReceivedDMARCReport({ ...s, received: opts.received, report });
    return { kind, ...a, report, ...s };
  }
  const report = await parseTLSReport(message);
  const s = tlsSummary(report);
  wanted(s.domain, opts);
  const a = await db.addReceivedTLSReport({ ...s, received: opts.received, report });
  return { kind, ...a, report, ...s };
}
