// Outgoing SMTP TLS reports (RFC 8460): the JSON document (§4) of one recipient
// domain's TLS results on one UTC day, and the message that carries it gzipped (§5.3).
import type { TLSDayResults } from '../store/index.js';
import { composeReportMail, gzipReport, newReportId } from './reportmail.js';

/** The report document of a day's results. */
export function tlsReportJSON(
  r: TLSDayResults,
  submitter: { org: string; contact: string },
  reportId: string,
): string {
  const doc = {
    'organization-name': submitter.org,
    'date-range': {
      'start-datetime': `${r.day}T00:00:00Z`,
      'end-datetime': `${r.day}T23:59:59Z`,
    },
    'contact-info': submitter.contact,
    'report-id': reportId,
    policies: r.policies.map((p) => ({
      policy: {
        'policy-type': p.policy.type,
        ...(p.policy.strings.length > 0 ? { 'policy-string': p.policy.strings } : {}),
        'policy-domain': r.policyDomain,
        ...(p.policy.mxHosts.length > 0 ? { 'mx-host': p.policy.mxHosts } : {}),
      },
      summary: {
        'total-successful-session-count': p.successes,
        'total-failure-session-count': p.failures.reduce((n, f) => n + f.count, 0),
      },
      ...(p.failures.length > 0
        ? {
            'failure-details': p.failures.map(({ failure: f, count }) => ({
              'result-type': f.resultType,
              ...(f.sendingMtaIp ? { 'sending-mta-ip': f.sendingMtaIp } : {}),
              ...(f.receivingMxHostname ? { 'receiving-mx-hostname': f.receivingMxHostname } : {}),
              ...(f.receivingIp ? { 'receiving-ip': f.receivingIp } : {}),
              'failed-session-count': count,
              ...(f.failureReasonCode ? { 'failure-reason-code': f.failureReasonCode } : {}),
            })),
          }
        : {}),
    })),
  };
  return JSON.stringify(doc, null, 1);
}

/** The gzipped report (RFC 8460 §5.3): what is mailed as an attachment or posted. */
export async function tlsReportFile(
  hostname: string,
  r: TLSDayResults,
  id?: string,
): Promise<{ reportId: string; gz: Buffer; fileName: string }> {
  const reportId = id ?? newReportId(Date.parse(`${r.day}T00:00:00Z`));
  const json = tlsReportJSON(r, { org: hostname, contact: `postmaster@${hostname}` }, reportId);
  const gz = await gzipReport(json);
  const begin = Date.parse(`${r.day}T00:00:00Z`) / 1000;
  const end = begin + 86399;
  return {
    reportId,
    gz,
    fileName: `${hostname}!${r.policyDomain}!${begin}!${end}!${reportId}.json.gz`,
  };
}

/** The report message to one address (RFC 8460 §5.3). */
export async function tlsReportMail(o: {
  hostname: string;
  to: string;
  results: TLSDayResults;
  now: Date;
  reportId?: string;
}): Promise<{
  data: Buffer;
  messageId: string;
  subject: string;
  reportId: string;
  gzipped: number;
}> {
  const r = o.results;
  const { reportId, gz, fileName } = await tlsReportFile(o.hostname, r, o.reportId);
  const successes = r.policies.reduce((n, p) => n + p.successes, 0);
  const failures = r.policies.reduce((n, p) => n + p.failures.reduce((m, f) => m + f.count, 0), 0);
  const text =
    `This is an SMTP TLS report (RFC 8460) for ${r.policyDomain}, from ${o.hostname}.\n\n` +
    `Day (UTC): ${r.day}\n` +
    `Successful TLS sessions: ${successes}\n` +
    `Failed TLS sessions: ${failures}\n` +
    `Report-ID: ${reportId}\n`;
  const subject = `Report Domain: ${r.policyDomain} Submitter: ${o.hostname} Report-ID: <${reportId}>`;
  const mail = composeReportMail({
    hostname: o.hostname,
    to: o.to,
    subject,
    headers: {
      'TLS-Report-Domain': r.policyDomain,
      'TLS-Report-Submitter': o.hostname,
    },
    reportType: 'tlsrpt',
    text,
    attachment: { contentType: 'application/tlsrpt+gzip', fileName, data: gz },
    date: o.now,
  });
  return { ...mail, subject, reportId, gzipped: gz.length };
}
