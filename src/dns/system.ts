// Lookups backed by node:dns: a Resolver asking DNS servers (c-ares; the system's name
// servers or configured ones), and the operating system's own host lookup (getaddrinfo).
import { lookup, Resolver as NodeResolver } from 'node:dns/promises';
import { canonicalIP } from './ip.js';
import {
  DNSError,
  dnsErrorFromCode,
  errorKindOfCode,
  normalizeName,
  type MX,
  type Resolver,
} from './types.js';

export type SystemResolverOptions = {
  /** Name servers, e.g. "192.0.2.53", "127.0.0.1:5353", "[::1]:53"; default: the system's. */
  servers?: string[];
  /** Timeout per try in milliseconds; default 5000. */
  timeoutMs?: number;
  /** Tries per server; default 3. */
  tries?: number;
};

/** Real DNS through node:dns/promises; errors become DNSError. */
export class SystemResolver implements Resolver {
  private readonly node: NodeResolver;

  /** Throws when a server address is invalid. */
  constructor(opts: SystemResolverOptions = {}) {
    this.node = new NodeResolver({ timeout: opts.timeoutMs ?? 5000, tries: opts.tries ?? 3 });
    if (opts.servers !== undefined && opts.servers.length > 0) this.node.setServers(opts.servers);
  }

  async mx(name: string): Promise<MX[]> {
    const records = await this.query('MX', name, () => this.node.resolveMx(name));
    // Node reports the null MX "." (RFC 7505) as exchange "".
    return records.map((r) => ({ exchange: normalizeName(r.exchange), priority: r.priority }));
  }

  async a(name: string): Promise<string[]> {
    return this.query('A', name, () => this.node.resolve4(name));
  }

  async aaaa(name: string): Promise<string[]> {
    return this.query('AAAA', name, () => this.node.resolve6(name));
  }

  async txt(name: string): Promise<string[]> {
    const records = await this.query('TXT', name, () => this.node.resolveTxt(name));
    return records.map((chunks) => chunks.join(''));
  }

  async ptr(ip: string): Promise<string[]> {
    if (canonicalIP(ip) === undefined) throw dnsErrorFromCode('EINVAL', ip, 'PTR');
    const names = await this.query('PTR', ip, () => this.node.reverse(ip));
    return names.map(normalizeName);
  }

  async cname(name: string): Promise<string[]> {
    const names = await this.query('CNAME', name, () => this.node.resolveCname(name));
    return names.map(normalizeName);
  }

  /** Abort every lookup in progress; they reject with a temporary DNSError. */
  cancel(): void {
    this.node.cancel();
  }

  private async query<T>(rrtype: string, name: string, run: () => Promise<T[]>): Promise<T[]> {
    let records: T[];
    try {
      records = await run();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw dnsErrorFromCode(typeof code === 'string' ? code : 'EUNKNOWN', name, rrtype);
    }
    if (records.length === 0) throw dnsErrorFromCode('ENODATA', name, rrtype);
    return records;
  }
}

/**
 * Addresses of a host as every other program on this machine finds them: getaddrinfo
 * through dns.lookup, which reads the hosts file (so "localhost" and names an admin
 * added there work) and then asks DNS, in the order /etc/nsswitch.conf gives. Meant for
 * hosts an admin configures, such as smarthosts; mail to MX hosts uses a Resolver (DNS
 * alone). Rejects with a DNSError.
 */
export async function lookupSystemHost(host: string): Promise<{ v6: string[]; v4: string[] }> {
  let found: { address: string }[];
  try {
    found = await lookup(host, { all: true, order: 'verbatim' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const c = typeof code === 'string' ? code : 'EUNKNOWN';
    // getaddrinfo's EAI_AGAIN: the name server did not answer in time.
    const kind = c === 'EAI_AGAIN' ? 'temporary' : errorKindOfCode(c);
    const what = c === 'ENOTFOUND' ? 'not found in the hosts file or DNS' : c;
    throw new DNSError(`address lookup of ${host}: ${what}`, kind, host, 'A', c);
  }
  const out = { v6: [] as string[], v4: [] as string[] };
  for (const { address } of found) {
    const ip = canonicalIP(address);
    if (ip === undefined) continue;
    const list = ip.includes(':') ? out.v6 : out.v4;
    if (!list.includes(ip)) list.push(ip);
  }
  if (out.v6.length + out.v4.length === 0) throw dnsErrorFromCode('ENODATA', host, 'A');
  return out;
}
