// DNS blocklists (RFC 5782): whether a connecting IP address is listed in a DNSBL zone,
// whether a zone answers its test entries as a DNSBL must (§5), and a checker that asks
// the configured zones at once and leaves out those that fail their test.
import { canonicalIP, reverseName } from '../dns/ip.js';
import {
  dnsErrorFromCode,
  isNotFound,
  isTemporary,
  normalizeName,
  type Resolver,
} from '../dns/types.js';
import type { Logger } from '../log/index.js';

/** Named as RFC 8601 §2.7 results are: fail means listed; pass means not listed. */
export type DnsblStatus = 'pass' | 'fail' | 'temperror' | 'permerror';

export type DnsblResult = {
  status: DnsblStatus;
  /** The zone asked, lower-case without trailing dot. */
  zone: string;
  /**
   * fail: the zone's TXT record (RFC 5782 §2.1), sanitised, '' without one; temperror and
   * permerror: what went wrong; pass: ''.
   */
  reason: string;
  /** fail: the 127.0.0.0/8 addresses the zone answered (list codes, §2.3); otherwise []. */
  addresses: string[];
};

/** A TXT reason is cut to this many characters. */
const MAX_REASON_LENGTH = 200;

/**
 * The name to look up for `ip` in `zone` (RFC 5782 §2.1, §2.4): an IPv4 address's octets
 * reversed, an IPv6 address's 32 nibbles reversed, then the zone. An IPv4-mapped IPv6
 * address (RFC 4291 §2.5.5.2, how a dual-stack socket shows an IPv4 client) is looked up
 * as IPv4. Undefined when `ip` is not an IP address.
 */
export function dnsblQueryName(ip: string, zone: string): string | undefined {
  const canon = canonicalIP(ip);
  if (canon === undefined) return undefined;
  const want = /^::ffff:\d/.test(canon) && canon.includes('.') ? canon.slice(7) : canon;
  const rev = reverseName(want);
  if (rev === undefined) return undefined;
  return `${rev.replace(/\.(in-addr|ip6)\.arpa$/, '')}.${normalizeName(zone)}`;
}

// 127.0.0.0/8 (RFC 5782 §2.1), and within it 127.255.255.0/24, which some lists answer
// to say they refused the query (open resolver, too many queries, no such list), not
// that the address is listed.
const inLoopback = (a: string): boolean => /^127\.\d+\.\d+\.\d+$/.test(a);
const isRefusal = (a: string): boolean => a.startsWith('127.255.255.');

/** Printable ASCII only, spaces collapsed, at most MAX_REASON_LENGTH characters. */
function sanitiseReason(texts: readonly string[]): string {
  const joined = texts
    .map((t) =>
      t
        .replace(/[\x00-\x20\x7f]+/g, ' ')
        .replace(/[^\x20-\x7e]/g, '?')
        .trim(),
    )
    .filter((t) => t !== '')
    .join('; ');
  return joined.length > MAX_REASON_LENGTH ? joined.slice(0, MAX_REASON_LENGTH).trimEnd() : joined;
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Looks `ip` up in `zone` with an A query (RFC 5782 §2.1): listed (fail) when the zone
 * answers an address in 127.0.0.0/8, its TXT record then being the reason; pass when the
 * name does not exist. An answer outside 127.0.0.0/8 or in 127.255.255.0/24 lists
 * nothing and is a permerror; a lookup that may succeed later is a temperror.
 */
export function dnsblLookup(ip: string, zone: string, resolver: Resolver): Promise<DnsblResult> {
  return lookup(ip, zone, resolver, true);
}

async function lookup(
  ip: string,
  zone: string,
  resolver: Resolver,
  withReason: boolean,
): Promise<DnsblResult> {
  const z = normalizeName(zone);
  const name = dnsblQueryName(ip, z);
  const result = (status: DnsblStatus, reason = '', addresses: string[] = []): DnsblResult => ({
    status,
    zone: z,
    reason,
    addresses,
  });
  if (name === undefined) return result('permerror', `not an IP address: ${JSON.stringify(ip)}`);
  let answers: string[];
  try {
    answers = await resolver.a(name);
  } catch (e) {
    if (isNotFound(e)) return result('pass');
    return result(isTemporary(e) ? 'temperror' : 'permerror', errorText(e));
  }
  const codes = answers.filter((a) => inLoopback(a) && !isRefusal(a));
  if (codes.length === 0) {
    const refusal = answers.find(isRefusal);
    return result(
      'permerror',
      refusal !== undefined
        ? `${z} refused the query (answered ${refusal})`
        : `${z} answered outside 127.0.0.0/8: ${answers.join(', ')}`,
    );
  }
  let reason = '';
  try {
    if (withReason) reason = sanitiseReason(await resolver.txt(name));
  } catch {
    // The TXT record is optional (RFC 5782 §2.1); the listing stands without it.
  }
  return result('fail', reason, codes);
}

export type DnsblHealth = { healthy: boolean; problem: string };

/**
 * Whether `zone` answers as a DNSBL (RFC 5782 §5): it must list 127.0.0.2 and must not
 * list 127.0.0.1. A zone that lists everything (often a list refusing a public
 * resolver), lists nothing (not a DNSBL, or gone), or cannot be asked is unhealthy, and
 * `problem` says which.
 */
export async function dnsblHealthy(zone: string, resolver: Resolver): Promise<DnsblHealth> {
  const [two, one] = await Promise.all([
    lookup('127.0.0.2', zone, resolver, false),
    lookup('127.0.0.1', zone, resolver, false),
  ]);
  for (const r of [two, one]) {
    if (r.status === 'temperror' || r.status === 'permerror') {
      return { healthy: false, problem: r.reason };
    }
  }
  if (one.status === 'fail') {
    return { healthy: false, problem: `lists the test address 127.0.0.1, as if it listed all` };
  }
  if (two.status !== 'fail') {
    return { healthy: false, problem: 'does not list the test address 127.0.0.2' };
  }
  return { healthy: true, problem: '' };
}

/**
 * A resolver whose lookups fail as temporary (ETIMEOUT) when `ms` pass without an answer,
 * so a zone that never answers costs at most that.
 */
function withTimeout(resolver: Resolver, ms: number): Resolver {
  const limit = <T>(lookup: Promise<T>, name: string, rrtype: string): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(dnsErrorFromCode('ETIMEOUT', name, rrtype)), ms);
    });
    return Promise.race([lookup, timeout]).finally(() => clearTimeout(timer));
  };
  return {
    mx: (n) => limit(resolver.mx(n), n, 'MX'),
    a: (n) => limit(resolver.a(n), n, 'A'),
    aaaa: (n) => limit(resolver.aaaa(n), n, 'AAAA'),
    txt: (n) => limit(resolver.txt(n), n, 'TXT'),
    ptr: (ip) => limit(resolver.ptr(ip), ip, 'PTR'),
    cname: (n) => limit(resolver.cname(n), n, 'CNAME'),
  };
}

export interface DnsblCheckerOptions {
  /** The zones to ask, e.g. ["zen.example.org"]; duplicates are asked once. */
  zones: readonly string[];
  resolver: Resolver;
  log?: Logger;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
  /** Each DNS query's limit; default 10 s. */
  timeoutMs?: number;
  /** How long a zone that passed its test is trusted; default 1 hour. */
  healthyForMs?: number;
  /** How long a zone that failed its test is left out before it is tested again; default 5 minutes. */
  unhealthyForMs?: number;
}

/** What the configured zones say about one address. */
export type DnsblCheck = {
  /** The zones that list it (status fail), in configured order. */
  listings: DnsblResult[];
  /** The zones whose lookup failed (temperror, permerror): they say nothing either way. */
  errors: DnsblResult[];
  /** The zones left out because they failed their test entries (RFC 5782 §5). */
  skipped: string[];
};

type ZoneHealth = { healthy: boolean; until: number };

export const DEFAULT_DNSBL_TIMEOUT_MS = 10_000;
const HEALTHY_FOR_MS = 3600_000;
const UNHEALTHY_FOR_MS = 300_000;

/**
 * Asks the configured zones about an address, all at once. Each zone is first tested
 * (RFC 5782 §5, "SHOULD NOT use any DNSxL domain that does not have correct test entries",
 * §7); the outcome is cached, and a failing zone is left out until a later test passes.
 * A zone turning unhealthy is logged once as a warning, and turning healthy again once.
 */
export class DnsblChecker {
  readonly zones: readonly string[];
  private readonly resolver: Resolver;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly healthyForMs: number;
  private readonly unhealthyForMs: number;
  private readonly health = new Map<string, ZoneHealth>();
  private readonly testing = new Map<string, Promise<boolean>>();

  constructor(opts: DnsblCheckerOptions) {
    this.zones = [...new Set(opts.zones.map(normalizeName))];
    this.resolver = withTimeout(opts.resolver, opts.timeoutMs ?? DEFAULT_DNSBL_TIMEOUT_MS);
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.healthyForMs = opts.healthyForMs ?? HEALTHY_FOR_MS;
    this.unhealthyForMs = opts.unhealthyForMs ?? UNHEALTHY_FOR_MS;
  }

  /** Looks `ip` up in every healthy zone. */
  async check(ip: string): Promise<DnsblCheck> {
    const answers = await Promise.all(
      this.zones.map(async (zone) =>
        (await this.healthy(zone)) ? dnsblLookup(ip, zone, this.resolver) : zone,
      ),
    );
    const out: DnsblCheck = { listings: [], errors: [], skipped: [] };
    for (const a of answers) {
      if (typeof a === 'string') out.skipped.push(a);
      else if (a.status === 'fail') out.listings.push(a);
      else if (a.status !== 'pass') out.errors.push(a);
    }
    return out;
  }

  /** Whether `zone` passed its last test, testing it when that is too old; concurrent callers share one test. */
  private healthy(zone: string): Promise<boolean> {
    const known = this.health.get(zone);
    if (known !== undefined && this.now() < known.until) return Promise.resolve(known.healthy);
    let running = this.testing.get(zone);
    if (running === undefined) {
      running = this.test(zone, known).finally(() => this.testing.delete(zone));
      this.testing.set(zone, running);
    }
    return running;
  }

  private async test(zone: string, before: ZoneHealth | undefined): Promise<boolean> {
    const { healthy, problem } = await dnsblHealthy(zone, this.resolver);
    const ttl = healthy ? this.healthyForMs : this.unhealthyForMs;
    this.health.set(zone, { healthy, until: this.now() + ttl });
    if (!healthy && (before === undefined || before.healthy)) {
      this.log?.warn({ zone, problem }, 'dnsbl zone fails its test entries, not used');
    } else if (healthy && before !== undefined && !before.healthy) {
      this.log?.info({ zone }, 'dnsbl zone passes its test entries again, used');
    }
    return healthy;
  }
}
