// Resolver interface shared by every module that needs DNS, and its typed error.

/** How a lookup failed: no such name or no records of the type; worth retrying; definite. */
export type DNSErrorKind = 'notfound' | 'temporary' | 'permanent';

/**
 * A failed DNS lookup. `name` is the queried name (or IP for reverse lookups) and
 * `rrtype` the record type ("MX", "A", ...). `code` is the underlying reason when known,
 * e.g. "ENOTFOUND" (NXDOMAIN), "ENODATA" (no records of the type), "ESERVFAIL".
 */
export class DNSError extends Error {
  /**
   * For a resolver that can tell (see Resolver.authenticated): whether this negative
   * answer (NXDOMAIN, NODATA) or failure was authenticated by DNSSEC; a failure without an
   * authenticated answer is false. Undefined: the resolver cannot tell.
   */
  authentic: boolean | undefined = undefined;

  constructor(
    message: string,
    readonly kind: DNSErrorKind,
    override readonly name: string,
    readonly rrtype: string,
    readonly code: string = '',
  ) {
    super(message);
  }
}

/** The name or the record type does not exist (NXDOMAIN or NODATA). */
export function isNotFound(e: unknown): boolean {
  return e instanceof DNSError && e.kind === 'notfound';
}

/** The lookup may succeed later (SERVFAIL, timeout, refused, network trouble). */
export function isTemporary(e: unknown): boolean {
  return e instanceof DNSError && e.kind === 'temporary';
}

/** One MX record; `exchange` is lower-case without trailing dot, "" for a null MX (RFC 7505). */
export type MX = { exchange: string; priority: number };

/** What each lookup gives, by record type. */
export type RecordsOf = {
  MX: MX[];
  A: string[];
  AAAA: string[];
  TXT: string[];
  PTR: string[];
  CNAME: string[];
};
export type RecordType = keyof RecordsOf;

/**
 * Records with whether DNSSEC authenticated them: true when a trusted validating
 * resolver said so (the AD bit, RFC 4035 §3.2.3), false when it did not, undefined when
 * the resolver cannot tell.
 */
export type Authenticated<T> = { records: T; authentic: boolean | undefined };

/**
 * DNS lookups. Every method rejects with a DNSError; an empty answer is kind 'notfound'.
 * CNAMEs are followed for every type but CNAME itself.
 */
export interface Resolver {
  mx(name: string): Promise<MX[]>;
  a(name: string): Promise<string[]>;
  aaaa(name: string): Promise<string[]>;
  /** One string per TXT record, its character-strings joined. */
  txt(name: string): Promise<string[]>;
  /** Reverse lookup of an IPv4 or IPv6 address; names without trailing dot. */
  ptr(ip: string): Promise<string[]>;
  cname(name: string): Promise<string[]>;
  /**
   * Only in resolvers that may know whether answers were authenticated by DNSSEC: the
   * lookup of the method for `type` (`name` an IP address for PTR) with that state; a
   * DNSError it rejects with carries the state in `authentic`. Use trackAuthentic rather
   * than calling it.
   */
  authenticated?<T extends RecordType>(type: T, name: string): Promise<Authenticated<RecordsOf[T]>>;
}

/**
 * A resolver whose every lookup is its `authenticated` one, the records taken from it:
 * the record methods are written once here.
 */
export abstract class AuthenticatingResolver implements Resolver {
  abstract authenticated<T extends RecordType>(
    type: T,
    name: string,
  ): Promise<Authenticated<RecordsOf[T]>>;

  private async records<T extends RecordType>(type: T, name: string): Promise<RecordsOf[T]> {
    return (await this.authenticated(type, name)).records;
  }
  mx(name: string): Promise<MX[]> {
    return this.records('MX', name);
  }
  a(name: string): Promise<string[]> {
    return this.records('A', name);
  }
  aaaa(name: string): Promise<string[]> {
    return this.records('AAAA', name);
  }
  txt(name: string): Promise<string[]> {
    return this.records('TXT', name);
  }
  ptr(ip: string): Promise<string[]> {
    return this.records('PTR', ip);
  }
  cname(name: string): Promise<string[]> {
    return this.records('CNAME', name);
  }
}

/** The method of a Resolver that looks up records of a type. */
export function lookupOf<T extends RecordType>(
  r: Resolver,
  type: T,
): (name: string) => Promise<RecordsOf[T]> {
  const method = type.toLowerCase() as Lowercase<RecordType>;
  return (name) => r[method](name) as Promise<RecordsOf[T]>;
}

/** Lower-case a domain name and drop one trailing dot; "." becomes "". */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA']);
const TEMPORARY_CODES = new Set([
  'ESERVFAIL',
  'ETIMEOUT',
  'ECONNREFUSED',
  'EREFUSED',
  'ECANCELLED',
]);

/** The kind of a node:dns error code ("ENOTFOUND", "ESERVFAIL", ...). */
export function errorKindOfCode(code: string): DNSErrorKind {
  if (NOT_FOUND_CODES.has(code)) return 'notfound';
  return TEMPORARY_CODES.has(code) ? 'temporary' : 'permanent';
}

const DESCRIPTIONS: Record<string, string> = {
  ENOTFOUND: 'domain does not exist (NXDOMAIN)',
  ENODATA: 'no records of this type',
  ESERVFAIL: 'server failure (SERVFAIL)',
  ETIMEOUT: 'timed out',
  ECONNREFUSED: 'connection refused',
  EREFUSED: 'query refused (REFUSED)',
  ECANCELLED: 'query cancelled',
  EFORMERR: 'server rejected the query as malformed (FORMERR)',
  ENOTIMP: 'server does not implement the query (NOTIMP)',
  EBADRESP: 'malformed reply',
  EBADNAME: 'malformed domain name',
  EINVAL: 'invalid argument',
};

/** A DNSError for a node:dns error code, with a readable message. */
export function dnsErrorFromCode(code: string, name: string, rrtype: string): DNSError {
  const what = DESCRIPTIONS[code] ?? code;
  return new DNSError(
    `${rrtype} lookup of ${name}: ${what}`,
    errorKindOfCode(code),
    name,
    rrtype,
    code,
  );
}
