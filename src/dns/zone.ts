// A validated, normalised index of a MockZone, shared by MockResolver and TestDNSServer.
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIP, reverseName } from './ip.js';
import { normalizeName, type MX } from './types.js';

/**
 * Records by owner name. Names match case-insensitively, ignoring a trailing dot. `ptr`
 * is keyed by IP address. `fail` makes lookups fail: key is a name ("example.org", any
 * type) or "TYPE name" ("MX example.org"); for PTR the name may be the IP address.
 */
export type MockZone = {
  mx?: Record<string, MX[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
  txt?: Record<string, string[]>;
  ptr?: Record<string, string[]>;
  cname?: Record<string, string[]>;
  fail?: Record<string, 'temporary' | 'permanent'>;
  /**
   * Signed zones: answers for these names and every name below them, negative ones too,
   * are authenticated by DNSSEC (the AD bit, RFC 4035 §3.2.3); an answer through a CNAME
   * chain is when every name on it is. An IP address stands for its reverse name. Without
   * this key, MockResolver cannot tell (state unknown) and TestDNSServer never sets AD.
   */
  authentic?: string[];
};

/** The record types a zone holds, with their record data. */
export type ZoneRecords = {
  A: string[];
  AAAA: string[];
  MX: MX[];
  TXT: string[];
  PTR: string[];
  CNAME: string[];
};
export type ZoneType = keyof ZoneRecords;

/** A zone entry is unusable (bad name, address or priority). */
export class ZoneError extends TypeError {
  override readonly name = 'ZoneError';
}

// RFC 1035 §2.3.4: labels up to 63 octets, names up to 255 octets on the wire.
function checkName(name: string, where: string, allowRoot = false): string {
  const n = normalizeName(name);
  if (n === '') {
    if (allowRoot) return n;
    throw new ZoneError(`${where}: empty name`);
  }
  let wire = 1;
  for (const label of n.split('.')) {
    const len = Buffer.byteLength(label);
    if (len === 0 || len > 63)
      throw new ZoneError(`${where}: bad label in ${JSON.stringify(name)}`);
    wire += len + 1;
  }
  if (wire > 255) throw new ZoneError(`${where}: name too long: ${JSON.stringify(name)}`);
  return n;
}

function checkIP(ip: string, where: string, v6: boolean): string {
  const ok = v6 ? isIPv6(ip) : isIPv4(ip);
  if (!ok) throw new ZoneError(`${where}: not an IPv${v6 ? 6 : 4} address: ${JSON.stringify(ip)}`);
  return canonicalIP(ip) ?? ip;
}

function checkMX(mx: MX, where: string): MX {
  const { priority } = mx;
  if (!Number.isInteger(priority) || priority < 0 || priority > 65535) {
    throw new ZoneError(`${where}: MX priority must be 0-65535, got ${String(priority)}`);
  }
  return { exchange: checkName(mx.exchange, where, true), priority };
}

// The owner name for a ptr key (an IP address) or a fail key's name part.
function ptrOwner(key: string, where: string): string {
  const owner = reverseName(key);
  if (owner === undefined) throw new ZoneError(`${where}: ptr key is not an IP address`);
  return owner;
}

/** A zone checked and indexed by normalised owner name. */
export class ZoneIndex {
  private readonly data: { [T in ZoneType]: Map<string, ZoneRecords[T]> } = {
    A: new Map(),
    AAAA: new Map(),
    MX: new Map(),
    TXT: new Map(),
    PTR: new Map(),
    CNAME: new Map(),
  };
  private readonly names = new Set<string>();
  private readonly failures = new Map<string, 'temporary' | 'permanent'>();
  /** Names of signed zones; undefined when the zone says nothing about DNSSEC. */
  private readonly signed: Set<string> | undefined;

  /** Throws ZoneError for an unusable entry. */
  constructor(zone: MockZone) {
    this.addAll('A', zone.a, (v, w) => v.map((ip) => checkIP(ip, w, false)));
    this.addAll('AAAA', zone.aaaa, (v, w) => v.map((ip) => checkIP(ip, w, true)));
    this.addAll('MX', zone.mx, (v, w) => v.map((mx) => checkMX(mx, w)));
    this.addAll('TXT', zone.txt, (v) => [...v]);
    this.addAll('CNAME', zone.cname, (v, w) => v.map((n) => checkName(n, w)));
    for (const [ip, names] of Object.entries(zone.ptr ?? {})) {
      const where = `ptr ${ip}`;
      this.add(
        'PTR',
        ptrOwner(ip, where),
        names.map((n) => checkName(n, where)),
      );
    }
    for (const [key, kind] of Object.entries(zone.fail ?? {})) this.addFailure(key, kind);
    this.signed = zone.authentic?.reduce((set, name) => {
      const where = `authentic ${name}`;
      return set.add(
        canonicalIP(name) !== undefined ? ptrOwner(name, where) : checkName(name, where),
      );
    }, new Set<string>());
  }

  /** Whether the zone says which names are signed (has `authentic`). */
  get knowsAuthenticity(): boolean {
    return this.signed !== undefined;
  }

  /** Whether answers for a normalised name are authenticated: it or a parent is signed. */
  isAuthentic(owner: string): boolean {
    if (this.signed === undefined) return false;
    for (let n = owner; ; n = n.slice(n.indexOf('.') + 1)) {
      if (this.signed.has(n)) return true;
      if (!n.includes('.')) return false;
    }
  }

  private addAll<T extends ZoneType>(
    type: T,
    entries: Record<string, ZoneRecords[T]> | undefined,
    check: (values: ZoneRecords[T], where: string) => ZoneRecords[T],
  ): void {
    for (const [name, values] of Object.entries(entries ?? {})) {
      const where = `${type.toLowerCase()} ${name}`;
      this.add(type, checkName(name, where), check(values, where));
    }
  }

  private add<T extends ZoneType>(type: T, owner: string, values: ZoneRecords[T]): void {
    if (values.length === 0) return;
    const map = this.data[type] as Map<string, ZoneRecords[T]>;
    map.set(owner, [...(map.get(owner) ?? []), ...values] as ZoneRecords[T]);
    // RFC 8020: a name with descendants exists even without records of its own.
    for (let n = owner; n !== ''; n = n.slice(n.indexOf('.') + 1 || n.length)) this.names.add(n);
  }

  private addFailure(key: string, kind: 'temporary' | 'permanent'): void {
    if (kind !== 'temporary' && kind !== 'permanent') {
      throw new ZoneError(`fail ${key}: must be "temporary" or "permanent"`);
    }
    const space = key.indexOf(' ');
    const type = space < 0 ? '' : key.slice(0, space).toUpperCase();
    const rest = space < 0 ? key : key.slice(space + 1);
    const owner = canonicalIP(rest) !== undefined ? ptrOwner(rest, key) : checkName(rest, key);
    this.failures.set(`${type} ${owner}`, kind);
  }

  /** Records of a type at a normalised name, or undefined when there are none. */
  lookup<T extends ZoneType>(type: T, owner: string): ZoneRecords[T] | undefined {
    return (this.data[type] as Map<string, ZoneRecords[T]>).get(owner);
  }

  /** Whether a normalised name has records of any type, or names below it do. */
  exists(owner: string): boolean {
    return this.names.has(owner);
  }

  /** The configured failure for a type ("MX", "TYPE65", ...) at a normalised name. */
  failure(type: string, owner: string): 'temporary' | 'permanent' | undefined {
    return this.failures.get(`${type} ${owner}`) ?? this.failures.get(` ${owner}`);
  }
}
