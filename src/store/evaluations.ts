// What outgoing reports are made of, in the global database: DMARC evaluations of
// incoming messages (for aggregate reports to the From domain, RFC 7489 §7.2) and TLS
// results of outgoing deliveries (for TLS reports to the recipient domain, RFC 8460),
// kept until the report about their period is sent. Evaluations are one row each; TLS
// results are counted per domain, day, policy and kind of failure, so a busy day of
// deliveries costs a few rows.
import type Database from 'better-sqlite3';

/** One incoming message as DMARC judged it, for one recipient. Times are ms since the epoch. */
export type DMARCEvaluation = {
  /** The domain whose DMARC record applied, lower-case. */
  policyDomain: string;
  evaluated: number;
  /** Length of the reporting period, in hours; a divisor of 24. */
  intervalHours: number;
  /**
   * Included in a report, but no reason by itself to send one (messages to report
   * addresses, policy rejects from domains the account never dealt with).
   */
  optional: boolean;
  /** The record's rua URIs. */
  addresses: string[];
  policy: { domain: string; adkim: string; aspf: string; p: string; sp: string; pct: number };
  sourceIP: string;
  disposition: 'none' | 'quarantine' | 'reject';
  alignedDKIMPass: boolean;
  alignedSPFPass: boolean;
  envelopeTo: string;
  envelopeFrom: string;
  headerFrom: string;
  /** Why the policy was not applied (RFC 7489 Appendix C PolicyOverrideType). */
  overrides: { type: string; comment: string }[];
  dkim: { domain: string; selector: string; result: string }[];
  spf: { domain: string; scope: 'helo' | 'mfrom'; result: string }[];
};

/** Evaluations of one policy domain in one reporting period. */
export type DMARCPeriod = {
  policyDomain: string;
  intervalHours: number;
  start: number;
  end: number;
  count: number;
  /** Every evaluation in it is optional. */
  optionalOnly: boolean;
};

/** The policy a TLS result was judged by (RFC 8460 §4.3). */
export type TLSResultPolicy = {
  type: 'sts' | 'tlsa' | 'no-policy-found';
  strings: string[];
  mxHosts: string[];
};

/** A failure of one TLS session (RFC 8460 §4.3 failure-details). */
export type TLSResultFailure = {
  resultType: string;
  sendingMtaIp: string;
  receivingMxHostname: string;
  receivingIp: string;
  failureReasonCode: string;
};

/** The outcome of one TLS session (or policy lookup) towards a recipient domain. */
export type TLSResult = {
  /** The recipient domain, lower-case. */
  policyDomain: string;
  /** When, ms since the epoch; results are kept per UTC day. */
  time: number;
  /** A delivery of a report itself: no reason by itself to send a report. */
  optional: boolean;
  policy: TLSResultPolicy;
  /** null: a successful session. */
  failure: TLSResultFailure | null;
};

/** The results of one policy domain on one UTC day, counted. */
export type TLSDayResults = {
  policyDomain: string;
  /** "YYYY-MM-DD". */
  day: string;
  policies: {
    policy: TLSResultPolicy;
    successes: number;
    failures: { failure: TLSResultFailure; count: number }[];
  }[];
};

export type TLSDay = { policyDomain: string; day: string; optionalOnly: boolean };

const HOUR = 3600_000;

/** The UTC day of a time, "YYYY-MM-DD". */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function addDMARCEvaluation(db: Database.Database, e: DMARCEvaluation): void {
  const data = { ...e } as Partial<DMARCEvaluation>;
  delete data.policyDomain;
  delete data.evaluated;
  delete data.intervalHours;
  delete data.optional;
  db.prepare(
    `INSERT INTO dmarc_evaluations (policy_domain, evaluated, interval_hours, optional, data)
     VALUES (?, ?, ?, ?, ?)`,
  ).run(
    e.policyDomain.toLowerCase(),
    e.evaluated,
    e.intervalHours,
    e.optional ? 1 : 0,
    JSON.stringify(data),
  );
}

/** Every period with evaluations that ended at or before `now`, oldest first. */
export function dmarcPeriods(db: Database.Database, now: number): DMARCPeriod[] {
  const rows = db
    .prepare(
      `SELECT policy_domain, interval_hours, evaluated / (interval_hours * ${HOUR}) AS slot,
              count(*) AS n, min(optional) AS opt
       FROM dmarc_evaluations GROUP BY policy_domain, interval_hours, slot ORDER BY slot`,
    )
    .all() as {
    policy_domain: string;
    interval_hours: number;
    slot: number;
    n: number;
    opt: number;
  }[];
  const out: DMARCPeriod[] = [];
  for (const r of rows) {
    const len = r.interval_hours * HOUR;
    const start = r.slot * len;
    if (start + len > now) continue;
    out.push({
      policyDomain: r.policy_domain,
      intervalHours: r.interval_hours,
      start,
      end: start + len,
      count: r.n,
      optionalOnly: r.opt === 1,
    });
  }
  return out;
}

/** The evaluations of a period, in the order they were made. */
export function dmarcEvaluations(db: Database.Database, p: DMARCPeriod): DMARCEvaluation[] {
  const rows = db
    .prepare(
      `SELECT * FROM dmarc_evaluations
       WHERE policy_domain = ? AND interval_hours = ? AND evaluated >= ? AND evaluated < ?
       ORDER BY id`,
    )
    .all(p.policyDomain, p.intervalHours, p.start, p.end) as Record<string, unknown>[];
  return rows.map((r) => ({
    ...(JSON.parse(r.data as string) as DMARCEvaluation),
    policyDomain: r.policy_domain as string,
    evaluated: r.evaluated as number,
    intervalHours: r.interval_hours as number,
    optional: r.optional === 1,
  }));
}

export function removeDMARCEvaluations(db: Database.Database, p: DMARCPeriod): number {
  return db
    .prepare(
      `DELETE FROM dmarc_evaluations
       WHERE policy_domain = ? AND interval_hours = ? AND evaluated >= ? AND evaluated < ?`,
    )
    .run(p.policyDomain, p.intervalHours, p.start, p.end).changes;
}

/** Counts one TLS result. */
export function addTLSResult(db: Database.Database, r: TLSResult): void {
  db.prepare(
    `INSERT INTO tls_results (policy_domain, day, policy, failure, optional, count)
     VALUES (?, ?, ?, ?, ?, 1)
     ON CONFLICT (policy_domain, day, policy, failure, optional) DO UPDATE SET count = count + 1`,
  ).run(
    r.policyDomain.toLowerCase(),
    utcDay(r.time),
    JSON.stringify(r.policy),
    r.failure ? JSON.stringify(r.failure) : '',
    r.optional ? 1 : 0,
  );
}

/** Domains and days with results, for days before `beforeDay`, oldest first. */
export function tlsDays(db: Database.Database, beforeDay: string): TLSDay[] {
  const rows = db
    .prepare(
      `SELECT policy_domain, day, min(optional) AS opt FROM tls_results WHERE day < ?
       GROUP BY policy_domain, day ORDER BY day, policy_domain`,
    )
    .all(beforeDay) as { policy_domain: string; day: string; opt: number }[];
  return rows.map((r) => ({
    policyDomain: r.policy_domain,
    day: r.day,
    optionalOnly: r.opt === 1,
  }));
}

export function tlsDayResults(db: Database.Database, d: TLSDay): TLSDayResults {
  const rows = db
    .prepare(
      `SELECT policy, failure, sum(count) AS n FROM tls_results
       WHERE policy_domain = ? AND day = ? GROUP BY policy, failure ORDER BY policy, failure`,
    )
    .all(d.policyDomain, d.day) as { policy: string; failure: string; n: number }[];
  const byPolicy = new Map<string, TLSDayResults['policies'][number]>();
  for (const r of rows) {
    let p = byPolicy.get(r.policy);
    if (!p) {
      p = { policy: JSON.parse(r.policy) as TLSResultPolicy, successes: 0, failures: [] };
      byPolicy.set(r.policy, p);
    }
    if (r.failure === '') p.successes += r.n;
    else p.failures.push({ failure: JSON.parse(r.failure) as TLSResultFailure, count: r.n });
  }
  return { policyDomain: d.policyDomain, day: d.day, policies: [...byPolicy.values()] };
}

export function removeTLSResults(db: Database.Database, d: TLSDay): number {
  return db
    .prepare('DELETE FROM tls_results WHERE policy_domain = ? AND day = ?')
    .run(d.policyDomain, d.day).changes;
}
