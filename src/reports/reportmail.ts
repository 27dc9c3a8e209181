// Sending reports by mail: the reporting URIs of DMARC (RFC 7489 §6.2, §7.1) and TLSRPT
// (RFC 8460 §3) records, the check that an address outside the reported domain agreed
// to receive its reports (RFC 7489 §7.1), and the message that carries a gzipped report
// as an attachment (RFC 7489 §7.2.1.1, RFC 8460 §5.3).
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { isNotFound, type Resolver } from '../dns/index.js';
import { MessageBuilder, formatDate, newMessageId } from '../message/index.js';
import { organizationalDomain } from '../msgauth/index.js';

const gzip = promisify(gzipCb);

/** A mailto reporting address, with the largest report it takes (0: any size). */
export type ReportAddress = { localpart: string; domain: string; maxBytes: number };

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A mailto URI of a rua tag: "mailto:reports@example.com" with an optional size limit
 * "!10m" (RFC 7489 §6.2). null for other schemes and for what is not an address.
 * Percent-encoding is decoded (RFC 6068 §2); query parts are ignored.
 */
export function parseReportURI(uri: string): ReportAddress | null {
  const m = /^mailto:([^!?]+)(?:\?[^!]*)?(?:!(\d{1,15})([kmgt]?))?$/i.exec(uri.trim());
  if (!m) return null;
  let addr: string;
  try {
    addr = decodeURIComponent(m[1]!);
  } catch {
    return null;
  }
  const at = addr.lastIndexOf('@');
  if (at <= 0 || at === addr.length - 1) return null;
  const localpart = addr.slice(0, at);
  const domain = addr.slice(at + 1).toLowerCase();
  if (/[\s<>()[\]\\,;:"]/.test(localpart) || !/^[a-z0-9.-]+$/.test(domain)) return null;
  const maxBytes = m[2] ? Number(m[2]) * (UNITS[(m[3] ?? '').toLowerCase()] ?? 1) : 0;
  return { localpart, domain, maxBytes };
}

/**
 * Whether a reporting address in another organisation than the policy domain agreed to
 * take its reports (RFC 7489 §7.1): "<policy domain>._report._dmarc.<address domain>"
 * has a TXT record starting with "v=DMARC1". A lookup that fails for now counts as no.
 */
export async function acceptsReports(
  resolver: Resolver,
  policyDomain: string,
  addressDomain: string,
): Promise<boolean> {
  if (organizationalDomain(policyDomain) === organizationalDomain(addressDomain)) return true;
  try {
    const txt = await resolver.txt(`${policyDomain}._report._dmarc.${addressDomain}`);
    return txt.some((t) => /^v\s*=\s*DMARC1\s*(;|$)/.test(t.trim()));
  } catch {
    // Not found: no agreement. A failure for now: the report for this period goes to
    // the addresses that are known to agree.
    return false;
  }
}

/** The tags of a TLSRPT record (RFC 8460 §3); null when the text is not one. */
export function parseTLSRPTRecord(txt: string): { rua: string[] } | null {
  const parts = txt.split(';').map((p) => p.trim());
  if (parts[0] !== 'v=TLSRPTv1') return null;
  let rua: string[] | null = null;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    if (p.slice(0, eq).trim() === 'rua') {
      rua = p
        .slice(eq + 1)
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== '');
    }
  }
  return rua && rua.length > 0 ? { rua } : null;
}

/**
 * The reporting URIs of a domain's TLSRPT record ("_smtp._tls.<domain>"); [] when it
 * has none, or more than one (RFC 8460 §3: then none applies). Lookup errors throw.
 */
export async function tlsrptAddresses(resolver: Resolver, domain: string): Promise<string[]> {
  let txt: string[];
  try {
    txt = await resolver.txt(`_smtp._tls.${domain}`);
  } catch (e) {
    if (isNotFound(e)) return [];
    throw e;
  }
  const records = txt.filter((t) => t.startsWith('v=TLSRPTv1'));
  if (records.length !== 1) return [];
  return parseTLSRPTRecord(records[0]!)?.rua ?? [];
}

export type ReportMail = {
  /** Our host name: the submitter, and the domain of the From address. */
  hostname: string;
  to: string;
  subject: string;
  /** Extra header fields (TLS-Report-Domain, ...). */
  headers?: Record<string, string>;
  /** multipart/report with this report-type (RFC 6522), or multipart/mixed without. */
  reportType?: string;
  text: string;
  attachment: { contentType: string; fileName: string; data: Buffer };
  date: Date;
};

/** Base64 in lines of 76 characters (RFC 2045 §6.8). */
function base64Lines(data: Buffer): Buffer {
  const b = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b.length; i += 76) lines.push(b.slice(i, i + 76));
  return Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
}

/** A report message; returns its bytes and Message-ID. */
export function composeReportMail(r: ReportMail): { data: Buffer; messageId: string } {
  const messageId = newMessageId(r.hostname);
  const b = new MessageBuilder()
    .header('From', `postmaster@${r.hostname}`)
    .header('To', r.to)
    .header('Subject', r.subject)
    .header('Message-ID', messageId)
    .header('Date', formatDate(r.date))
    // RFC 3834 §5: automatic mail, not to be answered automatically.
    .header('Auto-Submitted', 'auto-generated');
  for (const [n, v] of Object.entries(r.headers ?? {})) b.header(n, v);
  if (r.reportType) b.multipart('report', { 'report-type': r.reportType });
  else b.multipart('mixed');
  b.textPart(r.text);
  b.part(
    {
      'Content-Type': `${r.attachment.contentType}; name="${r.attachment.fileName}"`,
      'Content-Disposition': `attachment; filename="${r.attachment.fileName}"`,
      'Content-Transfer-Encoding': 'base64',
    },
    base64Lines(r.attachment.data),
  );
  return { data: b.build(), messageId };
}

export function gzipReport(doc: string | Buffer): Promise<Buffer> {
  return gzip(doc);
}

/** A report id that is unique without coordination: the period and random bits. */
export function newReportId(start: number): string {
  return `${Math.floor(start / 1000)}.${randomBytes(6).toString('hex')}`;
}
