// Resolver backed by node:dns (c-ares): the system's name servers or configured ones.
import { Resolver as NodeResolver } from 'node:dns/promises';
import { canonicalIP } from './ip.js';
import { dnsErrorFromCode, normalizeName, type MX, type Resolver } from './types.js';

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
