// The DNS records a mail domain should publish, and their BIND zone-file form.
import { domainToASCII } from 'node:url';
import { checkMxPattern, MAX_AGE_LIMIT, type MtaStsMode } from './mtasts.js';

export type DnsRecordType = 'MX' | 'TXT' | 'CNAME' | 'A';

/**
 * One record to publish. `name` is absolute with a trailing dot; `value` is the record
 * data as written after the type in a zone file, except TXT values, which are the plain
 * text (formatZone quotes and splits them).
 */
export interface DnsRecord {
  name: string;
  type: DnsRecordType;
  value: string;
  comment: string;
}

export interface DnsRecordsInput {
  domain: string;
  /** This server's host name (MX target, EHLO name). */
  hostname: string;
  /** DKIM selectors with their TXT values (see dkimRecord). */
  selectors: ReadonlyArray<{ name: string; record: string }>;
  mtaSTS?: { id: string; mode: MtaStsMode; mx: readonly string[]; maxAgeSeconds: number };
  reportAddress?: { dmarc?: string; tlsrpt?: string };
}

/** The input to dnsRecords is unusable; the message says which part and why. */
export class DnsRecordsError extends Error {
  override readonly name = 'DnsRecordsError';
}

const labelPattern = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function asciiName(name: string, what: string): string {
  const ascii = domainToASCII(name.replace(/\.$/, '')).toLowerCase();
  if (ascii === '' || !ascii.split('.').every((l) => labelPattern.test(l))) {
    throw new DnsRecordsError(`invalid ${what} ${JSON.stringify(name)}`);
  }
  return ascii;
}

// URI characters that need no escaping in a mailto: address; "," and "!" have meanings
// in DMARC and TLSRPT URI lists (RFC 7489 §6.4), so they are escaped like the rest.
const mailtoSafe = /^[A-Za-z0-9.@_+=~-]$/;

function mailto(address: string, what: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) {
    throw new DnsRecordsError(`invalid ${what} address ${JSON.stringify(address)}`);
  }
  const domain = asciiName(address.slice(at + 1), `${what} address domain`);
  let local = '';
  for (const b of Buffer.from(address.slice(0, at), 'utf8')) {
    const c = String.fromCharCode(b);
    local +=
      b < 0x80 && mailtoSafe.test(c) ? c : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return `mailto:${local}@${domain}`;
}

function mtaStsRecords(
  domain: string,
  hostname: string,
  sts: NonNullable<DnsRecordsInput['mtaSTS']>,
): { records: DnsRecord[]; policy: string } {
  if (!/^[A-Za-z0-9]{1,32}$/.test(sts.id)) {
    throw new DnsRecordsError(
      `invalid MTA-STS id ${JSON.stringify(sts.id)}: 1-32 letters or digits`,
    );
  }
  const age = sts.maxAgeSeconds;
  if (!Number.isInteger(age) || age < 0 || age > MAX_AGE_LIMIT) {
    throw new DnsRecordsError(`invalid MTA-STS max age ${age}: 0 to ${MAX_AGE_LIMIT} seconds`);
  }
  const mx = sts.mx.map((m) => {
    const p = checkMxPattern(m);
    if (p === undefined) throw new DnsRecordsError(`invalid MTA-STS mx ${JSON.stringify(m)}`);
    return p;
  });
  if (mx.length === 0 && sts.mode !== 'none') {
    throw new DnsRecordsError('MTA-STS mode enforce or testing needs at least one mx');
  }
  // RFC 8461 §3.2: the policy file, CRLF-separated "key: value" lines.
  const lines = ['version: STSv1', `mode: ${sts.mode}`, ...mx.map((m) => `mx: ${m}`)];
  lines.push(`max_age: ${age}`);
  const url = `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
  return {
    policy: lines.join('\r\n') + '\r\n',
    records: [
      {
        name: `_mta-sts.${domain}.`,
        type: 'TXT',
        value: `v=STSv1; id=${sts.id}`,
        comment: `MTA-STS (RFC 8461): ${domain} has a policy; change the id whenever the policy changes.`,
      },
      {
        name: `mta-sts.${domain}.`,
        type: 'CNAME',
        value: `${hostname}.`,
        comment: `MTA-STS policy host: serves ${url}; needs a TLS certificate for mta-sts.${domain}.`,
      },
    ],
  };
}

function dmarcRecord(domain: string, address: string | undefined): DnsRecord {
  let value = 'v=DMARC1; p=reject';
  let comment = `DMARC (RFC 7489): reject mail from ${domain} that passes neither aligned SPF nor aligned DKIM.`;
  if (address !== undefined) {
    const uri = mailto(address, 'DMARC report');
    value += `; rua=${uri}`;
    comment += ` Aggregate reports go to ${address}`;
    const reportDomain = uri.slice(uri.lastIndexOf('@') + 1);
    // RFC 7489 §7.1: another domain must agree to receive the reports.
    comment +=
      reportDomain === domain
        ? '.'
        : `; ${reportDomain} must publish ${domain}._report._dmarc.${reportDomain}. TXT "v=DMARC1".`;
  }
  return { name: `_dmarc.${domain}.`, type: 'TXT', value, comment };
}

/**
 * The records to publish for `domain` served by `hostname`, in zone order, and the
 * MTA-STS policy file body ("" without mtaSTS). Throws DnsRecordsError for bad input.
 */
export function dnsRecords(input: DnsRecordsInput): { records: DnsRecord[]; mtaSTSPolicy: string } {
  const domain = asciiName(input.domain, 'domain');
  const host = asciiName(input.hostname, 'host name');
  const records: DnsRecord[] = [
    {
      name: `${domain}.`,
      type: 'MX',
      value: `10 ${host}.`,
      comment: `Mail for ${domain} is delivered to ${host}.`,
    },
    // "mx" authorizes the MX hosts' addresses, which is where this server sends from; no
    // addresses are known here. "~all" rather than "-all": DMARC decides, and mail
    // forwarded by others is not refused on SPF alone.
    {
      name: `${domain}.`,
      type: 'TXT',
      value: 'v=spf1 mx ~all',
      comment: `SPF (RFC 7208): the hosts in the MX record of ${domain} send its mail.`,
    },
  ];
  if (host !== domain) {
    records.push({
      name: `${host}.`,
      type: 'TXT',
      value: 'v=spf1 a ~all',
      comment: `SPF for ${host} itself: bounces have an empty MAIL FROM, so their SPF check uses the EHLO name (RFC 7208 section 2.3).`,
    });
  }
  for (const sel of input.selectors) {
    const name = asciiName(sel.name, 'DKIM selector');
    records.push({
      name: `${name}._domainkey.${domain}.`,
      type: 'TXT',
      value: sel.record,
      comment: `DKIM public key for selector ${name} (RFC 6376 section 3.6.2).`,
    });
  }
  records.push(dmarcRecord(domain, input.reportAddress?.dmarc));
  let mtaSTSPolicy = '';
  if (input.mtaSTS) {
    const sts = mtaStsRecords(domain, host, input.mtaSTS);
    records.push(...sts.records);
    mtaSTSPolicy = sts.policy;
  }
  const tlsrpt = input.reportAddress?.tlsrpt;
  if (tlsrpt !== undefined) {
    const uri = mailto(tlsrpt, 'TLS report');
    records.push({
      name: `_smtp._tls.${domain}.`,
      type: 'TXT',
      value: `v=TLSRPTv1; rua=${uri}`,
      comment: `TLS reporting (RFC 8460): reports on TLS problems delivering to ${domain} go to ${tlsrpt}.`,
    });
  }
  return { records, mtaSTSPolicy };
}

/**
 * A TXT value in zone-file syntax: quoted character-strings of at most 255 octets each
 * (RFC 1035 §3.3.14), with '"' and '\' escaped and other non-printable octets as \DDD.
 */
export function txtZoneValue(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  const parts: string[] = [];
  for (let pos = 0; pos === 0 || pos < bytes.length; pos += 255) {
    let s = '';
    for (const b of bytes.subarray(pos, pos + 255)) {
      if (b === 0x22 || b === 0x5c) s += '\\' + String.fromCharCode(b);
      else if (b >= 0x20 && b < 0x7f) s += String.fromCharCode(b);
      else s += '\\' + b.toString().padStart(3, '0');
    }
    parts.push(`"${s}"`);
  }
  return parts.join(' ');
}

const COMMENT_WIDTH = 76;

/** Comment text in lines of at most COMMENT_WIDTH characters where words allow. */
function wrap(text: string): string[] {
  const lines: string[] = [];
  for (const para of text.split('\n')) {
    if (para === '') continue;
    let line = '';
    for (const word of para.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > COMMENT_WIDTH) {
        lines.push(line);
        line = word;
      } else line = line === '' ? word : `${line} ${word}`;
    }
    lines.push(line);
  }
  return lines;
}

/** BIND zone-file text: each record preceded by its comment lines, records apart by a blank line. */
export function formatZone(records: readonly DnsRecord[]): string {
  return records
    .map((r) => {
      const comment = wrap(r.comment)
        .map((l) => `; ${l}\n`)
        .join('');
      const value = r.type === 'TXT' ? txtZoneValue(r.value) : r.value;
      return `${comment}${r.name} IN ${r.type} ${value}\n`;
    })
    .join('\n');
}
