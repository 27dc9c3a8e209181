// The Received trace header (RFC 5321 §4.4) with the protocol types of RFC 3848 and
// RFC 6531 §3.7.3.
import { formatDate } from '../message/compose.js';
import type { SmtpConn } from './conn.js';

function literal(ip: string): string {
  const v = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return v.includes(':') ? `[IPv6:${v}]` : `[${v}]`;
}

/** "ESMTPSA", "UTF8SMTPS", "SMTP", ... */
export function withProtocol(c: SmtpConn, smtputf8: boolean): string {
  if (!c.hello?.ehlo) return 'SMTP';
  const base = smtputf8 ? 'UTF8SMTP' : 'ESMTP';
  return `${base}${c.tlsActive ? 'S' : ''}${c.account ? 'A' : ''}`;
}

/**
 * A Received header line (with CRLF). Submission hides the client's name and address
 * (the user's address is theirs to keep, RFC 5321 §7.6): the header names only this server.
 */
export function receivedHeader(
  c: SmtpConn,
  opts: { forRcpt?: string; smtputf8: boolean; requireTLS: boolean; date?: Date },
): string {
  const host = c.ctx.hostname;
  const from = c.submission
    ? host
    : `${c.hello?.ipLiteral ? literal(c.hello.ipLiteral) : (c.hello?.domain?.ascii ?? 'unknown')} (${literal(c.remoteIP)})`;
  const by = c.submission ? host : `${host} (${literal(c.localIP)})`;
  const tls = c.tlsDescription();
  const parts = [
    `Received: from ${from} by ${by} via tcp`,
    `\twith ${withProtocol(c, opts.smtputf8)}${opts.requireTLS ? ' (requiretls)' : ''} id ${c.cid}${tls ? ` (${tls})` : ''}`,
  ];
  if (opts.forRcpt) parts.push(`\tfor <${opts.forRcpt}>`);
  parts[parts.length - 1] += `; ${formatDate(opts.date ?? new Date())}`;
  return parts.join('\r\n') + '\r\n';
}
