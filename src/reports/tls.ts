// SMTP TLS reports as received (RFC 8460 §4): the JSON document read into typed data,
// from the document itself, gzipped (application/tlsrpt+gzip), or a whole message with
// one attached. Nesting and array sizes are checked before JSON.parse sees the text;
// required fields, counts, dates and IP addresses are checked after.
import { isIP } from 'node:net';
import type { ReceivedTLSSummary } from '../store/index.js';
import { reportDocument } from './attachment.js';
import { ReportError } from './errors.js';
import { MAX_REPORT_BYTES } from './unpack.js';

export type TLSReport = {
  organizationName: string;
  /** RFC 3339 date-times, as in the report. */
  dateRange: { startDatetime: string; endDatetime: string };
  contactInfo: string;
  reportId: string;
  policies: TLSPolicyResult[];
};

export type TLSPolicyType = 'sts' | 'tlsa' | 'no-policy-found';

export type TLSPolicyResult = {
  policy: {
    policyType: TLSPolicyType;
    policyString: string[];
    /** Lower-case. */
    policyDomain: string;
    mxHost: string[];
  };
  summary: { totalSuccessfulSessionCount: number; totalFailureSessionCount: number };
  failureDetails: TLSFailureDetails[];
};

/** One kind of failure (RFC 8460 §4.3); '' for what the report left out. */
export type TLSFailureDetails = {
  resultType: string;
  sendingMtaIp: string;
  receivingMxHostname: string;
  receivingMxHelo: string;
  receivingIp: string;
  failedSessionCount: number;
  additionalInformation: string;
  failureReasonCode: string;
};

export type TLSParseOptions = {
  /** Largest document, decompressed (default 20 MiB). */
  maxBytes?: number;
  /** Deepest nesting of objects and arrays (default 8; a report needs 5). */
  maxDepth?: number;
  /** Most members of one array or object (default 100,000). */
  maxMembers?: number;
};

export const MAX_JSON_DEPTH = 8;
export const MAX_JSON_MEMBERS = 100_000;
/** Longest string of one field, in characters. */
export const MAX_STRING_LENGTH = 4096;

const POLICY_TYPES = new Set<string>(['sts', 'tlsa', 'no-policy-found']);

/**
 * Parses an SMTP TLS report: its JSON document, gzipped, or a whole message with the
 * report attached.
 */
export async function parseTLSReport(data: Buffer, opts: TLSParseOptions = {}): Promise<TLSReport> {
  return parseTLSJSON(await reportDocument(data, 'tls', opts.maxBytes ?? MAX_REPORT_BYTES), opts);
}

/** Parses the JSON document of a TLS report. */
export function parseTLSJSON(json: Buffer, opts: TLSParseOptions = {}): TLSReport {
  const maxBytes = opts.maxBytes ?? MAX_REPORT_BYTES;
  if (json.length > maxBytes) throw new ReportError(`report is larger than ${maxBytes} bytes`);
  const text = json.toString('utf8');
  checkShape(text, opts.maxDepth ?? MAX_JSON_DEPTH, opts.maxMembers ?? MAX_JSON_MEMBERS);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new ReportError(`report is not valid JSON: ${(e as Error).message}`);
  }
  return checkReport(v);
}

/**
 * Refuses JSON nested deeper than maxDepth or with an array or object of more than
 * maxMembers members, in one pass over the text, before anything is allocated for it.
 */
function checkShape(s: string, maxDepth: number, maxMembers: number): void {
  const members: number[] = [];
  let inString = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
      continue;
    }
    switch (c) {
      case 0x22:
        inString = true;
        break;
      case 0x7b /* { */:
      case 0x5b /* [ */:
        if (members.length >= maxDepth) {
          throw new ReportError(`JSON is nested more than ${maxDepth} deep`);
        }
        members.push(1);
        break;
      case 0x7d /* } */:
      case 0x5d /* ] */:
        members.pop();
        break;
      case 0x2c /* , */:
        if (members.length > 0) {
          const n = members[members.length - 1]! + 1;
          if (n > maxMembers) {
            throw new ReportError(`JSON array or object has more than ${maxMembers} members`);
          }
          members[members.length - 1] = n;
        }
        break;
    }
  }
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Obj {
  if (!isObj(v))
    throw new ReportError(`${what} is ${v === undefined ? 'missing' : 'not an object'}`);
  return v;
}

function str(o: Obj, key: string, what: string, needed: boolean): string {
  const v = o[key];
  if (v === undefined || v === null || v === '') {
    if (needed) throw new ReportError(`${what}${key} is missing`);
    return '';
  }
  if (typeof v !== 'string') throw new ReportError(`${what}${key} is not a string`);
  if (v.length > MAX_STRING_LENGTH) {
    throw new ReportError(`${what}${key} is longer than ${MAX_STRING_LENGTH} characters`);
  }
  return v;
}

/** A list of strings; a single string is taken as a list of one, as some reporters send. */
function strings(o: Obj, key: string, what: string): string[] {
  const v = o[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    if (typeof x !== 'string') throw new ReportError(`${what}${key}[${i}] is not a string`);
    if (x.length > MAX_STRING_LENGTH) {
      throw new ReportError(`${what}${key}[${i}] is longer than ${MAX_STRING_LENGTH} characters`);
    }
    return x;
  });
}

function count(o: Obj, key: string, what: string): number {
  const v = o[key];
  if (v === undefined) throw new ReportError(`${what}${key} is missing`);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new ReportError(`${what}${key} ${JSON.stringify(v)} is not a count`);
  }
  return v;
}

function ip(o: Obj, key: string, what: string): string {
  const v = str(o, key, what, false);
  if (v !== '' && (isIP(v) === 0 || v.includes('%'))) {
    throw new ReportError(`${what}${key} ${JSON.stringify(v)} is not an IP address`);
  }
  return v.toLowerCase();
}

const DATETIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i;

function datetime(o: Obj, key: string, what: string): { text: string; ms: number } {
  const text = str(o, key, what, true);
  const ms = Date.parse(text);
  if (!DATETIME.test(text) || Number.isNaN(ms)) {
    throw new ReportError(`${what}${key} ${JSON.stringify(text)} is not an RFC 3339 date-time`);
  }
  return { text, ms };
}

function checkReport(v: unknown): TLSReport {
  const r = obj(v, 'report');
  const dr = obj(r['date-range'], 'date-range');
  const start = datetime(dr, 'start-datetime', 'date-range/');
  const end = datetime(dr, 'end-datetime', 'date-range/');
  if (end.ms < start.ms) {
    throw new ReportError(`date-range ends (${end.text}) before it begins (${start.text})`);
  }
  const policies = r.policies;
  if (!Array.isArray(policies)) {
    throw new ReportError(`policies is ${policies === undefined ? 'missing' : 'not an array'}`);
  }
  return {
    organizationName: str(r, 'organization-name', '', true),
    dateRange: { startDatetime: start.text, endDatetime: end.text },
    contactInfo: str(r, 'contact-info', '', false),
    reportId: str(r, 'report-id', '', true),
    policies: policies.map((p, i) => checkPolicy(p, `policies[${i}]`)),
  };
}

function checkPolicy(v: unknown, at: string): TLSPolicyResult {
  const pr = obj(v, at);
  const p = obj(pr.policy, `${at}/policy`);
  const what = `${at}/policy/`;
  const type = str(p, 'policy-type', what, true);
  if (!POLICY_TYPES.has(type)) {
    throw new ReportError(
      `${what}policy-type ${JSON.stringify(type)} is not sts, tlsa or no-policy-found`,
    );
  }
  const s = obj(pr.summary, `${at}/summary`);
  const fd = pr['failure-details'];
  if (fd !== undefined && !Array.isArray(fd)) {
    throw new ReportError(`${at}/failure-details is not an array`);
  }
  return {
    policy: {
      policyType: type as TLSPolicyType,
      policyString: strings(p, 'policy-string', what),
      policyDomain: str(p, 'policy-domain', what, true).toLowerCase().replace(/\.$/, ''),
      mxHost: strings(p, 'mx-host', what),
    },
    summary: {
      totalSuccessfulSessionCount: count(s, 'total-successful-session-count', `${at}/summary/`),
      totalFailureSessionCount: count(s, 'total-failure-session-count', `${at}/summary/`),
    },
    failureDetails: (fd ?? []).map((d: unknown, i: number) => {
      const w = `${at}/failure-details[${i}]/`;
      const o = obj(d, w.slice(0, -1));
      return {
        resultType: str(o, 'result-type', w, true),
        sendingMtaIp: ip(o, 'sending-mta-ip', w),
        receivingMxHostname: str(o, 'receiving-mx-hostname', w, false),
        receivingMxHelo: str(o, 'receiving-mx-helo', w, false),
        receivingIp: ip(o, 'receiving-ip', w),
        failedSessionCount: count(o, 'failed-session-count', w),
        additionalInformation: str(o, 'additional-information', w, false),
        failureReasonCode: str(o, 'failure-reason-code', w, false),
      };
    }),
  };
}

/** What a listing shows of a report (the stored summary without its row id and time). */
export type TLSSummary = Omit<ReceivedTLSSummary, 'id' | 'received'>;

export function tlsSummary(r: TLSReport): TLSSummary {
  let successes = 0;
  let failures = 0;
  for (const p of r.policies) {
    successes += p.summary.totalSuccessfulSessionCount;
    failures += p.summary.totalFailureSessionCount;
  }
  return {
    org: r.organizationName,
    reportId: r.reportId,
    contact: r.contactInfo,
    domain: r.policies[0]?.policy.policyDomain ?? '',
    start: Date.parse(r.dateRange.startDatetime),
    end: Date.parse(r.dateRange.endDatetime),
    policies: r.policies.length,
    successes,
    failures,
  };
}
