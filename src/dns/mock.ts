// In-memory resolver for tests: answers from a MockZone, following CNAMEs like a recursive
// resolver does, and reporting DNSSEC authenticity when the zone names signed zones.
import { canonicalIP, reverseName } from './ip.js';
import {
  DNSError,
  dnsErrorFromCode,
  lookupOf,
  normalizeName,
  type Authenticated,
  type MX,
  type RecordType,
  type RecordsOf,
  type Resolver,
} from './types.js';
import { ZoneIndex, type MockZone, type ZoneRecords, type ZoneType } from './zone.js';

export type { MockZone } from './zone.js';

// RFC 1034 §3.6.2: chains are followed; a bound stops loops.
const MAX_CNAME_HOPS = 8;

/** A Resolver answering from a MockZone; the zone can be replaced or edited between lookups. */
export class MockResolver implements Resolver {
  private zone: MockZone;
  private index: ZoneIndex;

  /** Throws ZoneError for an unusable zone entry. */
  constructor(zone: MockZone) {
    this.zone = zone;
    this.index = new ZoneIndex(zone);
  }

  /** Replace the zone. */
  setZone(zone: MockZone): void {
    this.index = new ZoneIndex(zone);
    this.zone = zone;
  }

  /** Edit the zone in place (or return a new one); takes effect for later lookups. */
  update(fn: (zone: MockZone) => MockZone | void): void {
    this.setZone(fn(this.zone) ?? this.zone);
  }

  async mx(name: string): Promise<MX[]> {
    return this.resolve('MX', name, name).map((m) => ({ ...m }));
  }

  async a(name: string): Promise<string[]> {
    return [...this.resolve('A', name, name)];
  }

  async aaaa(name: string): Promise<string[]> {
    return [...this.resolve('AAAA', name, name)];
  }

  async txt(name: string): Promise<string[]> {
    return [...this.resolve('TXT', name, name)];
  }

  async ptr(ip: string): Promise<string[]> {
    const owner = canonicalIP(ip) === undefined ? undefined : reverseName(ip);
    if (owner === undefined) throw dnsErrorFromCode('EINVAL', ip, 'PTR');
    return [...this.resolve('PTR', owner, ip)];
  }

  async cname(name: string): Promise<string[]> {
    return [...this.resolve('CNAME', name, name)];
  }

  /**
   * The lookup of the method for `type` (so a test that replaces a method is obeyed),
   * with its authenticity by the zone's `authentic` names; undefined without them.
   */
  async authenticated<T extends RecordType>(
    type: T,
    name: string,
  ): Promise<Authenticated<RecordsOf[T]>> {
    const authentic = this.authenticOf(type, name);
    try {
      return { records: await lookupOf(this, type)(name), authentic };
    } catch (e) {
      if (e instanceof DNSError) e.authentic = authentic;
      throw e;
    }
  }

  // Whether every name on the way to the answer is in a signed zone; a failure is not.
  private authenticOf(type: RecordType, name: string): boolean | undefined {
    const index = this.index;
    if (!index.knowsAuthenticity) return undefined;
    const ip = type === 'PTR' ? canonicalIP(name) : undefined;
    let owner = ip !== undefined ? (reverseName(ip) ?? '') : normalizeName(name);
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      if (!index.isAuthentic(owner) || index.failure(type, owner) !== undefined) return false;
      if (index.lookup(type, owner) !== undefined) return true;
      const target = type === 'CNAME' ? undefined : index.lookup('CNAME', owner)?.[0];
      if (target === undefined) return true;
      owner = target;
    }
    return false;
  }

  // Records of `type` at `name` or at the end of its CNAME chain; `shown` names the error.
  private resolve<T extends ZoneType>(type: T, name: string, shown: string): ZoneRecords[T] {
    let owner = normalizeName(name);
    for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      const failure = this.index.failure(type, owner);
      if (failure !== undefined) {
        throw dnsErrorFromCode(failure === 'temporary' ? 'ESERVFAIL' : 'EFORMERR', shown, type);
      }
      const records = this.index.lookup(type, owner);
      if (records !== undefined) return records;
      const target = type === 'CNAME' ? undefined : this.index.lookup('CNAME', owner)?.[0];
      if (target === undefined) {
        throw dnsErrorFromCode(this.index.exists(owner) ? 'ENODATA' : 'ENOTFOUND', shown, type);
      }
      owner = target;
    }
    throw new DNSError(
      `${type} lookup of ${shown}: CNAME chain longer than ${MAX_CNAME_HOPS}`,
      'permanent',
      shown,
      type,
      'ECNAMELOOP',
    );
  }
}
