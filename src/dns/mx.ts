// Delivery targets for a recipient domain (RFC 5321 §5.1, RFC 7505).
import {
  DNSError,
  isNotFound,
  isTemporary,
  normalizeName,
  type MX,
  type Resolver,
} from './types.js';

/** A host to deliver to; `implicit` when the domain has no MX and is its own target. */
export type MXTarget = { host: string; priority: number; implicit: boolean };

export type MXLookup =
  { kind: 'hosts'; hosts: MXTarget[] } | { kind: 'nullmx' } | { kind: 'nomail' };

export type MXLookupOptions = {
  /** Uniform [0, 1) source for shuffling equal priorities; default Math.random. */
  random?: () => number;
};

/**
 * MX hosts by ascending priority, equal priorities in random order, each host once;
 * without MX the domain itself if it has an address. Rejects with the DNSError of a
 * temporary failure, or of a permanent one that leaves no answer.
 */
export async function lookupMXTargets(
  r: Resolver,
  domain: string,
  opts: MXLookupOptions = {},
): Promise<MXLookup> {
  let mxs: MX[];
  try {
    mxs = await r.mx(domain);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    return implicitMX(r, domain);
  }
  // RFC 7505 §3: a null MX means no mail; stray null records beside real hosts are ignored.
  const real = mxs.filter((mx) => mx.exchange !== '');
  if (real.length === 0) return { kind: 'nullmx' };
  return { kind: 'hosts', hosts: orderTargets(real, opts.random ?? Math.random) };
}

// RFC 5321 §5.1: with no MX, the domain is treated as its own MX of preference 0.
async function implicitMX(r: Resolver, domain: string): Promise<MXLookup> {
  try {
    await lookupIPs(r, domain);
  } catch (e) {
    if (isNotFound(e)) return { kind: 'nomail' };
    throw e;
  }
  return { kind: 'hosts', hosts: [{ host: normalizeName(domain), priority: 0, implicit: true }] };
}

// RFC 5321 §5.1: lowest preference first, equal preferences randomised.
function orderTargets(mxs: MX[], random: () => number): MXTarget[] {
  const sorted = [...mxs].sort((x, y) => x.priority - y.priority);
  for (let start = 0; start < sorted.length;) {
    let end = start + 1;
    while (end < sorted.length && sorted[end]?.priority === sorted[start]?.priority) end++;
    shuffle(sorted, start, end, random);
    start = end;
  }
  const seen = new Set<string>();
  const hosts: MXTarget[] = [];
  for (const mx of sorted) {
    const host = normalizeName(mx.exchange);
    if (seen.has(host)) continue;
    seen.add(host);
    hosts.push({ host, priority: mx.priority, implicit: false });
  }
  return hosts;
}

// Fisher-Yates over items[start, end).
function shuffle<T>(items: T[], start: number, end: number, random: () => number): void {
  for (let i = end - 1; i > start; i--) {
    const j = start + Math.floor(random() * (i - start + 1));
    const a = items[i] as T;
    items[i] = items[j] as T;
    items[j] = a;
  }
}

/**
 * Addresses of a host in both families. A family without records gives []; rejects when
 * no address was found: with the temporary error if either lookup failed temporarily,
 * else a permanent one if any, else the notfound error.
 */
export async function lookupIPs(
  r: Resolver,
  host: string,
): Promise<{ v6: string[]; v4: string[] }> {
  const [v6, v4] = await Promise.allSettled([r.aaaa(host), r.a(host)]);
  const addrs = { v6: settledValue(v6), v4: settledValue(v4) };
  if (addrs.v6.length + addrs.v4.length > 0) return addrs;
  const errors = [v6, v4].flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  throw (
    errors.find(isTemporary) ??
    errors.find((e) => !isNotFound(e)) ??
    errors[0] ??
    new DNSError(`no addresses for ${host}`, 'notfound', host, 'A', 'ENODATA')
  );
}

function settledValue(s: PromiseSettledResult<string[]>): string[] {
  return s.status === 'fulfilled' ? s.value : [];
}
