// Can a MAIL FROM domain receive replies and DSNs? RFC 5321 §5.1 and RFC 7505.
import { DNSError, isNotFound, isTemporary, type Resolver } from './types.js';

/**
 * ok: has a usable MX or an implicit MX (A/AAAA); nullmx: publishes a null MX;
 * nxdomain: the domain does not exist; nomail: no MX and no address, or a definite DNS
 * error; temperror: DNS failed temporarily.
 */
export type MailDomainCheck = 'ok' | 'nullmx' | 'nxdomain' | 'nomail' | 'temperror';

/** Check a domain name (not an address literal) used in MAIL FROM. */
export async function checkMailFromDomain(r: Resolver, domain: string): Promise<MailDomainCheck> {
  try {
    const mxs = await r.mx(domain);
    // RFC 7505 §3: a null MX is the domain's only record; other hosts still take mail.
    return mxs.some((mx) => mx.exchange !== '') ? 'ok' : 'nullmx';
  } catch (e) {
    if (!(e instanceof DNSError)) throw e;
    if (isTemporary(e)) return 'temperror';
    if (!isNotFound(e)) return 'nomail';
  }
  // RFC 5321 §5.1: without MX records the domain itself is the implicit MX.
  const [v4, v6] = await Promise.allSettled([r.a(domain), r.aaaa(domain)]);
  for (const s of [v4, v6])
    if (s.status === 'rejected' && !(s.reason instanceof DNSError)) throw s.reason;
  if (hasAddress(v4) || hasAddress(v6)) return 'ok';
  if (failedTemporarily(v4) || failedTemporarily(v6)) return 'temperror';
  return nxdomain(v4) && nxdomain(v6) ? 'nxdomain' : 'nomail';
}

/** The name does not exist at all (NXDOMAIN), rather than lacking records of a type. */
function nxdomain(r: PromiseSettledResult<string[]>): boolean {
  return r.status === 'rejected' && (r.reason as DNSError).code === 'ENOTFOUND';
}

function hasAddress(r: PromiseSettledResult<string[]>): boolean {
  return r.status === 'fulfilled' && r.value.length > 0;
}

function failedTemporarily(r: PromiseSettledResult<string[]>): boolean {
  return r.status === 'rejected' && isTemporary(r.reason);
}
