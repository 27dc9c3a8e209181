// DNS for `tidings localserve`: answers for hosted domains and localhost without any
// network access.
import { canonicalIP } from './ip.js';
import { dnsErrorFromCode, normalizeName, type MX, type Resolver } from './types.js';

/** SPF record of every local domain: loopback senders pass. */
export const LOCALSERVE_SPF = 'v=spf1 ip4:127.0.0.0/8 ip6:::1 ~all';

/**
 * Hosted domains (read on every lookup, so configuration changes apply at once) and
 * "localhost" get MX localhost, A 127.0.0.1, AAAA ::1 and the SPF TXT record above;
 * 127.0.0.1 and ::1 reverse to "localhost". Everything else is notfound.
 */
export function localserveResolver(hostedDomains: () => string[]): Resolver {
  const isLocal = (name: string): boolean => {
    const n = normalizeName(name);
    return n === 'localhost' || hostedDomains().some((d) => normalizeName(d) === n);
  };
  const answer = <T>(rrtype: string, name: string, records: T[]): Promise<T[]> =>
    isLocal(name)
      ? Promise.resolve(records)
      : Promise.reject(dnsErrorFromCode('ENOTFOUND', name, rrtype));
  return {
    mx: (name) => answer<MX>('MX', name, [{ exchange: 'localhost', priority: 10 }]),
    a: (name) => answer('A', name, ['127.0.0.1']),
    aaaa: (name) => answer('AAAA', name, ['::1']),
    txt: (name) => answer('TXT', name, [LOCALSERVE_SPF]),
    ptr: async (ip) => {
      const canonical = canonicalIP(ip);
      if (canonical === '127.0.0.1' || canonical === '::1') return ['localhost'];
      throw dnsErrorFromCode(canonical === undefined ? 'EINVAL' : 'ENOTFOUND', ip, 'PTR');
    },
    cname: (name) =>
      Promise.reject(dnsErrorFromCode(isLocal(name) ? 'ENODATA' : 'ENOTFOUND', name, 'CNAME')),
  };
}
