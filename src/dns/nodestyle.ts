// A `(name, rrtype) => records` function shaped like node:dns/promises `resolve`, for
// libraries that take such a resolver (SPF, DKIM, DMARC and MTA-STS verification).
import { canonicalIP, ipFromReverseName } from './ip.js';
import { DNSError, normalizeName, type MX, type Resolver } from './types.js';

/** Records as node:dns/promises `resolve` returns them for one type. */
export type NodeStyleRecords = string[] | string[][] | MX[];

/** node:dns error codes for DNSErrors that carry none. */
const CODE_OF_KIND = { notfound: 'ENOTFOUND', temporary: 'ESERVFAIL', permanent: 'EFORMERR' };

/**
 * Resolve like node:dns/promises `resolve(name, rrtype)` through `r`: TXT gives one
 * single-string array per record; PTR takes an IP or its reverse name. Failures reject
 * with an Error whose `code` is a node:dns code (ENOTFOUND, ENODATA, ESERVFAIL, ...).
 */
export function nodeStyleResolve(
  r: Resolver,
): (name: string, rrtype?: string) => Promise<NodeStyleRecords> {
  return async (name, rrtype = 'A') => {
    try {
      return await resolveType(r, name, rrtype.toUpperCase());
    } catch (e) {
      throw e instanceof DNSError ? withNodeCode(e) : e;
    }
  };
}

async function resolveType(r: Resolver, name: string, rrtype: string): Promise<NodeStyleRecords> {
  switch (rrtype) {
    case 'A':
      return r.a(name);
    case 'AAAA':
      return r.aaaa(name);
    case 'MX':
      return r.mx(name);
    case 'TXT':
      return (await r.txt(name)).map((t) => [t]);
    case 'CNAME':
      return r.cname(name);
    case 'PTR':
      return r.ptr(canonicalIP(name) ?? ipFromReverseName(normalizeName(name)) ?? name);
    default:
      throw new DNSError(
        `${rrtype} lookup of ${name}: type not supported`,
        'permanent',
        name,
        rrtype,
        'ENOTIMP',
      );
  }
}

function withNodeCode(e: DNSError): Error & { code: string; hostname: string } {
  const err = new Error(e.message) as Error & { code: string; hostname: string };
  err.code = e.code !== '' ? e.code : CODE_OF_KIND[e.kind];
  err.hostname = e.name;
  return err;
}
