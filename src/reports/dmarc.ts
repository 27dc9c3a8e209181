// DMARC aggregate reports as received (RFC 7489 §7.2 and Appendix C): the XML document
// read into typed data, from the document itself, a gzip or zip file, or a whole message
// with one attached. Elements outside the schema are skipped; required fields, IP
// addresses and counts are checked; sizes, records and nesting are bounded.
import { isIP } from 'node:net';
import type { ReceivedDMARCSummary } from '../store/index.js';
import { reportDocument } from './attachment.js';
import { ReportError } from './errors.js';
import { MAX_REPORT_BYTES } from './unpack.js';
import { decodeDocument, MAX_XML_DEPTH, XmlReader } from './xml.js';

export type DMARCReport = {
  /** The feedback version element, '' when absent (RFC 7489 reports have none). */
  version: string;
  metadata: {
    orgName: string;
    email: string;
    extraContactInfo: string;
    reportId: string;
    /** Seconds since the epoch, as in the report. */
    dateRange: { begin: number; end: number };
    errors: string[];
  };
  policy: DMARCPolicyPublished;
  records: DMARCRecord[];
};

/** The published policy the report applied; '' or null for what the report left out. */
export type DMARCPolicyPublished = {
  /** Lower-case. */
  domain: string;
  adkim: string;
  aspf: string;
  p: string;
  sp: string;
  pct: number | null;
  fo: string;
  np: string;
};

export type DMARCRecord = {
  row: {
    sourceIP: string;
    count: number;
    policyEvaluated: {
      disposition: string;
      dkim: string;
      spf: string;
      reasons: { type: string; comment: string }[];
    };
  };
  identifiers: { headerFrom: string; envelopeFrom: string; envelopeTo: string };
  authResults: { dkim: DMARCDKIMResult[]; spf: DMARCSPFResult[] };
};

export type DMARCDKIMResult = {
  domain: string;
  selector: string;
  result: string;
  humanResult: string;
};

export type DMARCSPFResult = { domain: string; scope: string; result: string; humanResult: string };

export type DMARCParseOptions = {
  /** Largest document, decompressed (default 20 MiB). */
  maxBytes?: number;
  /** Most records (default 100,000). */
  maxRecords?: number;
  /** Deepest element nesting (default 32). */
  maxDepth?: number;
};

export const MAX_DMARC_RECORDS = 100_000;
/** Longest text of one field, in characters. */
export const MAX_FIELD_LENGTH = 1024;
/** Most reasons, DKIM results and SPF results per record. */
export const MAX_PER_RECORD = 100;

type Raw = Record<string, string>;
type RawRecord = { fields: Raw; reasons: Raw[]; dkim: Raw[]; spf: Raw[] };

const META = 'feedback/report_metadata/';
const POLICY = 'feedback/policy_published/';
const RECORD = 'feedback/record';
const REASON = 'feedback/record/row/policy_evaluated/reason';
const DKIM = 'feedback/record/auth_results/dkim';
const SPF = 'feedback/record/auth_results/spf';

// Leaf elements, by path, to where their text goes: 'report', the current record's
// fields, or the last reason, DKIM or SPF result of the current record.
const LEAVES = new Map<string, 'report' | 'record' | 'reason' | 'dkim' | 'spf'>([
  ['feedback/version', 'report'],
  ...[
    'org_name',
    'email',
    'extra_contact_info',
    'report_id',
    'date_range/begin',
    'date_range/end',
  ].map((f) => [META + f, 'report'] as const),
  ...['domain', 'adkim', 'aspf', 'p', 'sp', 'pct', 'fo', 'np'].map(
    (f) => [POLICY + f, 'report'] as const,
  ),
  ...[
    'row/source_ip',
    'row/count',
    'row/policy_evaluated/disposition',
    'row/policy_evaluated/dkim',
    'row/policy_evaluated/spf',
    'identifiers/header_from',
    'identifiers/envelope_from',
    'identifiers/envelope_to',
  ].map((f) => [`${RECORD}/${f}`, 'record'] as const),
  [`${REASON}/type`, 'reason'],
  [`${REASON}/comment`, 'reason'],
  ...['domain', 'selector', 'result', 'human_result'].map((f) => [`${DKIM}/${f}`, 'dkim'] as const),
  ...['domain', 'scope', 'result', 'human_result'].map((f) => [`${SPF}/${f}`, 'spf'] as const),
]);

const yieldLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Parses a DMARC aggregate report: its XML document, gzipped or zipped, or a whole
 * message with the report attached.
 */
export async function parseDMARCReport(
  data: Buffer,
  opts: DMARCParseOptions = {},
): Promise<DMARCReport> {
  return parseDMARCXML(
    await reportDocument(data, 'dmarc', opts.maxBytes ?? MAX_REPORT_BYTES),
    opts,
  );
}

/** Parses the XML document of a DMARC aggregate report. */
export async function parseDMARCXML(
  xml: Buffer,
  opts: DMARCParseOptions = {},
): Promise<DMARCReport> {
  const maxBytes = opts.maxBytes ?? MAX_REPORT_BYTES;
  const maxRecords = opts.maxRecords ?? MAX_DMARC_RECORDS;
  if (xml.length > maxBytes) throw new ReportError(`report is larger than ${maxBytes} bytes`);
  const reader = new XmlReader(decodeDocument(xml), opts.maxDepth ?? MAX_XML_DEPTH);
  const report: Raw = {};
  const errors: string[] = [];
  const records: DMARCRecord[] = [];
  let rec: RawRecord | null = null;
  const paths: string[] = [];
  let text: string | null = null;
  let events = 0;
  for (let ev = reader.next(); ev !== null; ev = reader.next()) {
    // Long reports: let other work run now and then.
    if (++events % 20000 === 0) await yieldLoop();
    if (ev.type === 'text') {
      if (text !== null && paths.length === reader.depth) {
        text += ev.text;
        if (text.length > MAX_FIELD_LENGTH * 4) text = text.slice(0, MAX_FIELD_LENGTH * 4);
      }
      continue;
    }
    if (ev.type === 'open') {
      const parent = paths[paths.length - 1];
      if (parent === undefined && ev.name !== 'feedback') {
        throw new ReportError(`root element is <${ev.name}>, not <feedback>`);
      }
      const path = parent === undefined ? ev.name : `${parent}/${ev.name}`;
      paths.push(path);
      text = LEAVES.has(path) || path === `${META}error` ? '' : null;
      if (path === RECORD) {
        if (records.length >= maxRecords) {
          throw new ReportError(`report has more than ${maxRecords} records`);
        }
        rec = { fields: {}, reasons: [], dkim: [], spf: [] };
      } else if (rec && (path === REASON || path === DKIM || path === SPF)) {
        const list = path === REASON ? rec.reasons : path === DKIM ? rec.dkim : rec.spf;
        if (list.length >= MAX_PER_RECORD) {
          throw new ReportError(
            `record ${records.length + 1} has more than ${MAX_PER_RECORD} ${path.slice(RECORD.length + 1)} elements`,
          );
        }
        list.push({});
      }
      continue;
    }
    const path = paths.pop()!;
    if (text !== null) {
      const value = text.trim();
      text = null;
      if (value.length > MAX_FIELD_LENGTH) {
        const name = path.startsWith(`${RECORD}/`)
          ? `record ${records.length + 1}: ${path.slice(RECORD.length + 1)}`
          : path.slice('feedback/'.length);
        throw new ReportError(`${name} is longer than ${MAX_FIELD_LENGTH} characters`);
      }
      if (path === `${META}error`) {
        if (errors.length < MAX_PER_RECORD) errors.push(value);
        continue;
      }
      const where = LEAVES.get(path)!;
      const key = path.slice(path.lastIndexOf('/') + 1);
      if (where === 'report') report[path.slice('feedback/'.length)] = value;
      else if (rec && where === 'record') rec.fields[path.slice(RECORD.length + 1)] = value;
      else if (rec) {
        const list = where === 'reason' ? rec.reasons : where === 'dkim' ? rec.dkim : rec.spf;
        const last = list[list.length - 1];
        if (last) last[key] = value;
      }
    } else if (path === RECORD && rec) {
      records.push(checkRecord(rec, records.length + 1));
      rec = null;
    }
  }
  return checkReport(report, errors, records);
}

function required(raw: Raw, key: string, what = key): string {
  const v = raw[key];
  if (v === undefined || v === '') throw new ReportError(`${what} is missing`);
  return v;
}

function count(v: string, what: string): number {
  if (!/^\d{1,15}$/.test(v)) throw new ReportError(`${what} ${JSON.stringify(v)} is not a count`);
  return Number(v);
}

const DOMAIN = /^[^\s@/\\<>"']{1,253}$/;

function checkReport(r: Raw, errors: string[], records: DMARCRecord[]): DMARCReport {
  const m = 'report_metadata/';
  const begin = count(required(r, `${m}date_range/begin`), `${m}date_range/begin`);
  const end = count(required(r, `${m}date_range/end`), `${m}date_range/end`);
  if (end < begin)
    throw new ReportError(`${m}date_range ends (${end}) before it begins (${begin})`);
  const p = 'policy_published/';
  const domain = required(r, `${p}domain`).toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(domain)) {
    throw new ReportError(`${p}domain ${JSON.stringify(domain)} is not a domain name`);
  }
  let pct: number | null = null;
  if (r[`${p}pct`]) {
    pct = count(r[`${p}pct`]!, `${p}pct`);
    if (pct > 100) throw new ReportError(`${p}pct ${pct} is more than 100`);
  }
  const lower = (k: string) => (r[`${p}${k}`] ?? '').toLowerCase();
  return {
    version: r['version'] ?? '',
    metadata: {
      orgName: required(r, `${m}org_name`),
      email: r[`${m}email`] ?? '',
      extraContactInfo: r[`${m}extra_contact_info`] ?? '',
      reportId: required(r, `${m}report_id`),
      dateRange: { begin, end },
      errors,
    },
    policy: {
      domain,
      adkim: lower('adkim'),
      aspf: lower('aspf'),
      p: lower('p'),
      sp: lower('sp'),
      pct,
      fo: r[`${p}fo`] ?? '',
      np: lower('np'),
    },
    records,
  };
}

function checkRecord(rec: RawRecord, n: number): DMARCRecord {
  const f = rec.fields;
  const what = (k: string) => `record ${n}: ${k}`;
  const ip = required(f, 'row/source_ip', what('row/source_ip'));
  if (isIP(ip) === 0 || ip.includes('%')) {
    throw new ReportError(`${what('row/source_ip')} ${JSON.stringify(ip)} is not an IP address`);
  }
  const lower = (v: string | undefined) => (v ?? '').toLowerCase();
  return {
    row: {
      sourceIP: ip.toLowerCase(),
      count: count(required(f, 'row/count', what('row/count')), what('row/count')),
      policyEvaluated: {
        disposition: lower(f['row/policy_evaluated/disposition']),
        dkim: lower(f['row/policy_evaluated/dkim']),
        spf: lower(f['row/policy_evaluated/spf']),
        reasons: rec.reasons.map((r) => ({ type: lower(r.type), comment: r.comment ?? '' })),
      },
    },
    identifiers: {
      headerFrom: lower(f['identifiers/header_from']),
      envelopeFrom: lower(f['identifiers/envelope_from']),
      envelopeTo: lower(f['identifiers/envelope_to']),
    },
    authResults: {
      dkim: rec.dkim.map((d) => ({
        domain: lower(d.domain),
        selector: d.selector ?? '',
        result: lower(d.result),
        humanResult: d.human_result ?? '',
      })),
      spf: rec.spf.map((s) => ({
        domain: lower(s.domain),
        scope: lower(s.scope),
        result: lower(s.result),
        humanResult: s.human_result ?? '',
      })),
    },
  };
}

/** What a listing shows of a report (the stored summary without its row id and time). */
export type DMARCSummary = Omit<ReceivedDMARCSummary, 'id' | 'received'>;

export function dmarcSummary(r: DMARCReport): DMARCSummary {
  let messages = 0;
  let failed = 0;
  for (const rec of r.records) {
    messages += rec.row.count;
    const pe = rec.row.policyEvaluated;
    if (pe.dkim !== 'pass' && pe.spf !== 'pass') failed += rec.row.count;
  }
  return {
    org: r.metadata.orgName,
    reportId: r.metadata.reportId,
    email: r.metadata.email,
    domain: r.policy.domain,
    start: r.metadata.dateRange.begin * 1000,
    end: r.metadata.dateRange.end * 1000,
    records: r.records.length,
    messages,
    failed,
  };
}
