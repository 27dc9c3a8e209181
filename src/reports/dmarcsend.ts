// Outgoing DMARC aggregate reports (RFC 7489 §7.2): the XML document (Appendix C) of
// one policy domain's evaluations in one reporting period, identical rows counted once,
// and the message that carries it gzipped (§7.2.1.1).
import type { DMARCEvaluation, DMARCPeriod } from '../store/index.js';
import { composeReportMail, gzipReport, newReportId } from './reportmail.js';

/** Reporting periods are whole hours that divide a day, so periods align to UTC days. */
const PERIOD_HOURS = [1, 2, 3, 4, 6, 8, 12, 24];

/**
 * The reporting period for a record's ri (seconds; RFC 7489 §6.3): the shortest period
 * of whole hours dividing 24 that is at least ri, one day at most (§7.2: at least daily
 * reports are expected, shorter ones on a best-effort basis).
 */
export function intervalHours(riSeconds: number): number {
  const h = Math.ceil(Math.max(riSeconds, 0) / 3600);
  return PERIOD_HOURS.find((p) => p >= h) ?? 24;
}

const XML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

function esc(s: string | number): string {
  // Control characters other than tab and line breaks are not allowed in XML 1.0.
  return String(s)
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '')
    .replace(/[&<>"']/g, (c) => XML_ESCAPES[c] as string);
}

function el(name: string, value: string | number): string {
  return `<${name}>${esc(value)}</${name}>`;
}

/** The row fields that make evaluations the same record. */
function recordKey(e: DMARCEvaluation): string {
  return JSON.stringify([
    e.sourceIP,
    e.disposition,
    e.alignedDKIMPass,
    e.alignedSPFPass,
    e.overrides,
    e.envelopeTo,
    e.headerFrom,
    e.dkim,
    e.spf,
  ]);
}

export type Submitter = { org: string; email: string };

/** The aggregate report document of a period's evaluations (at least one). */
export function dmarcReportXML(
  evals: DMARCEvaluation[],
  period: Pick<DMARCPeriod, 'start' | 'end'>,
  submitter: Submitter,
  reportId: string,
): string {
  const last = evals[evals.length - 1];
  if (!last) throw new Error('a DMARC report needs evaluations');
  const groups = new Map<string, { e: DMARCEvaluation; n: number }>();
  for (const e of evals) {
    const k = recordKey(e);
    const g = groups.get(k);
    if (g) g.n++;
    else groups.set(k, { e, n: 1 });
  }
  // The policy as most recently published (RFC 7489 §7.2.1: the policy applied).
  const p = last.policy;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feedback>',
    '<report_metadata>',
    el('org_name', submitter.org),
    el('email', submitter.email),
    el('report_id', reportId),
    `<date_range>${el('begin', Math.floor(period.start / 1000))}${el('end', Math.floor(period.end / 1000) - 1)}</date_range>`,
    '</report_metadata>',
    '<policy_published>',
    el('domain', p.domain),
    el('adkim', p.adkim),
    el('aspf', p.aspf),
    el('p', p.p),
    el('sp', p.sp),
    el('pct', p.pct),
    '</policy_published>',
  ];
  for (const { e, n } of groups.values()) {
    out.push('<record>', '<row>', el('source_ip', e.sourceIP), el('count', n));
    out.push(
      '<policy_evaluated>',
      el('disposition', e.disposition),
      el('dkim', e.alignedDKIMPass ? 'pass' : 'fail'),
      el('spf', e.alignedSPFPass ? 'pass' : 'fail'),
    );
    for (const o of e.overrides) {
      out.push(
        `<reason>${el('type', o.type)}${o.comment ? el('comment', o.comment) : ''}</reason>`,
      );
    }
    out.push('</policy_evaluated>', '</row>', '<identifiers>');
    if (e.envelopeTo) out.push(el('envelope_to', e.envelopeTo));
    out.push(el('header_from', e.headerFrom), '</identifiers>', '<auth_results>');
    for (const d of e.dkim) {
      out.push(
        `<dkim>${el('domain', d.domain)}${d.selector ? el('selector', d.selector) : ''}${el('result', d.result)}</dkim>`,
      );
    }
    // RFC 7489 Appendix C: at least one SPF result; "none" without an identity checked.
    const spf =
      e.spf.length > 0 ? e.spf : [{ domain: e.envelopeFrom, scope: 'mfrom', result: 'none' }];
    for (const s of spf) {
      out.push(
        `<spf>${el('domain', s.domain)}${el('scope', s.scope)}${el('result', s.result)}</spf>`,
      );
    }
    out.push('</auth_results>', '</record>');
  }
  out.push('</feedback>', '');
  return out.join('\n');
}

/** The report message to one address: the document gzipped, as RFC 7489 §7.2.1.1 names it. */
export async function dmarcReportMail(o: {
  hostname: string;
  to: string;
  period: DMARCPeriod;
  evals: DMARCEvaluation[];
  now: Date;
  reportId?: string;
}): Promise<{
  data: Buffer;
  messageId: string;
  subject: string;
  reportId: string;
  gzipped: number;
}> {
  const reportId = o.reportId ?? newReportId(o.period.start);
  const submitter = { org: o.hostname, email: `postmaster@${o.hostname}` };
  const xml = dmarcReportXML(o.evals, o.period, submitter, reportId);
  const gz = await gzipReport(xml);
  const begin = Math.floor(o.period.start / 1000);
  const end = Math.floor(o.period.end / 1000) - 1;
  const domain = o.period.policyDomain;
  const fileName = `${o.hostname}!${domain}!${begin}!${end}.xml.gz`;
  const n = o.evals.length;
  const text =
    `This is a DMARC aggregate report (RFC 7489) for ${domain}, from ${o.hostname}.\n\n` +
    `Period: ${new Date(o.period.start).toISOString()} to ${new Date(o.period.end).toISOString()}\n` +
    `Messages evaluated: ${n}\n` +
    `Report-ID: ${reportId}\n`;
  const subject = `Report Domain: ${domain} Submitter: ${o.hostname} Report-ID: <${reportId}>`;
  const mail = composeReportMail({
    hostname: o.hostname,
    to: o.to,
    // RFC 7489 §7.2.1.1: the subject names the domain, submitter and report id.
    subject,
    text,
    attachment: { contentType: 'application/gzip', fileName, data: gz },
    date: o.now,
  });
  return { ...mail, subject, reportId, gzipped: gz.length };
}
