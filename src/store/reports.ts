// Received DMARC aggregate and TLS reports in the global database: one row per report
// with the fields a listing shows, and the whole parsed report as JSON. The store keeps
// the report as given (plain JSON data); parsing and its types belong to src/reports.
import type Database from 'better-sqlite3';

/** What a listing shows of a received DMARC aggregate report. Times are ms since the epoch. */
export type ReceivedDMARCSummary = {
  id: number;
  received: number;
  org: string;
  reportId: string;
  email: string;
  /** The policy_published domain, lower-case. */
  domain: string;
  start: number;
  end: number;
  records: number;
  /** Sum of the records' message counts. */
  messages: number;
  /** Messages for which neither DKIM nor SPF passed in the evaluated policy. */
  failed: number;
};

export type ReceivedDMARCReport = ReceivedDMARCSummary & { report: unknown };

export type NewReceivedDMARCReport = Omit<ReceivedDMARCSummary, 'id' | 'received'> & {
  /** Default: now. */
  received?: number;
  /** The parsed report: plain JSON data. */
  report: unknown;
};

/** What a listing shows of a received TLS report. Times are ms since the epoch. */
export type ReceivedTLSSummary = {
  id: number;
  received: number;
  org: string;
  reportId: string;
  contact: string;
  /** The policy-domain of the first policy, lower-case ('' without policies). */
  domain: string;
  start: number;
  end: number;
  policies: number;
  /** Sums over the policies of the successful and failed session counts. */
  successes: number;
  failures: number;
};

export type ReceivedTLSReport = ReceivedTLSSummary & { report: unknown };

export type NewReceivedTLSReport = Omit<ReceivedTLSSummary, 'id' | 'received'> & {
  received?: number;
  report: unknown;
};

export type ReportListOptions = {
  /** Only reports about this domain (compared lower-case). */
  domain?: string;
  /** At most this many (default 100, at most 10,000). */
  limit?: number;
  /** Skip this many of the newest first. */
  offset?: number;
};

export type AddedReport = {
  id: number;
  /** False when a report with the same org and report id was stored before. */
  added: boolean;
};

export const REPORT_LIST_MAX = 10000;

export type ReportTable = 'dmarc_reports' | 'tls_reports';

const COLUMNS: Record<ReportTable, string[]> = {
  dmarc_reports: ['email', 'records', 'messages', 'failed'],
  tls_reports: ['contact', 'policies', 'successes', 'failures'],
};

const BASE = ['id', 'received', 'org', 'report_id', 'domain', 'range_start', 'range_end'];

function listColumns(t: ReportTable): string {
  return [...BASE, ...COLUMNS[t]].join(', ');
}

function commonColumns(r: NewReceivedDMARCReport | NewReceivedTLSReport) {
  return {
    received: r.received ?? Date.now(),
    org: r.org,
    report_id: r.reportId,
    domain: r.domain.toLowerCase(),
    range_start: r.start,
    range_end: r.end,
    report: JSON.stringify(r.report),
  };
}

export function dmarcColumns(r: NewReceivedDMARCReport): Record<string, unknown> {
  return {
    ...commonColumns(r),
    email: r.email,
    records: r.records,
    messages: r.messages,
    failed: r.failed,
  };
}

export function tlsColumns(r: NewReceivedTLSReport): Record<string, unknown> {
  return {
    ...commonColumns(r),
    contact: r.contact,
    policies: r.policies,
    successes: r.successes,
    failures: r.failures,
  };
}

/** Inserts a report (its columns) unless its (org, report id) is stored already. */
export function addReport(
  db: Database.Database,
  t: ReportTable,
  row: Record<string, unknown>,
): AddedReport {
  const cols = Object.keys(row);
  return db.transaction((): AddedReport => {
    const info = db
      .prepare(
        `INSERT INTO ${t} (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})
         ON CONFLICT (org, report_id) DO NOTHING`,
      )
      .run(row);
    if (info.changes > 0) return { id: Number(info.lastInsertRowid), added: true };
    const id = db
      .prepare(`SELECT id FROM ${t} WHERE org = ? AND report_id = ?`)
      .pluck()
      .get(row.org, row.report_id) as number;
    return { id, added: false };
  })();
}

/** Summaries, newest received first. */
export function listReports(
  db: Database.Database,
  t: ReportTable,
  o: ReportListOptions,
): Record<string, unknown>[] {
  const limit = Math.max(0, Math.min(o.limit ?? 100, REPORT_LIST_MAX));
  const offset = Math.max(0, o.offset ?? 0);
  const where = o.domain !== undefined ? 'WHERE domain = @domain' : '';
  return db
    .prepare(
      `SELECT ${listColumns(t)} FROM ${t} ${where}
       ORDER BY received DESC, id DESC LIMIT @limit OFFSET @offset`,
    )
    .all({
      limit,
      offset,
      ...(o.domain !== undefined ? { domain: o.domain.toLowerCase() } : {}),
    }) as Record<string, unknown>[];
}

export function getReport(
  db: Database.Database,
  t: ReportTable,
  id: number,
): Record<string, unknown> | undefined {
  return db.prepare(`SELECT ${listColumns(t)}, report FROM ${t} WHERE id = ?`).get(id) as
    Record<string, unknown> | undefined;
}

function base(r: Record<string, unknown>) {
  return {
    id: r.id as number,
    received: r.received as number,
    org: r.org as string,
    reportId: r.report_id as string,
  };
}

export function dmarcSummaryFromRow(r: Record<string, unknown>): ReceivedDMARCSummary {
  return {
    ...base(r),
    email: r.email as string,
    domain: r.domain as string,
    start: r.range_start as number,
    end: r.range_end as number,
    records: r.records as number,
    messages: r.messages as number,
    failed: r.failed as number,
  };
}

export function tlsSummaryFromRow(r: Record<string, unknown>): ReceivedTLSSummary {
  return {
    ...base(r),
    contact: r.contact as string,
    domain: r.domain as string,
    start: r.range_start as number,
    end: r.range_end as number,
    policies: r.policies as number,
    successes: r.successes as number,
    failures: r.failures as number,
  };
}
