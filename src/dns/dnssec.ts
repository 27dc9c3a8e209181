// Whether DNS answers were authenticated by DNSSEC: which resolvers' word is trusted, and
// a wrapper that follows the lookups of one check (iprev, SPF, a DKIM key) to say whether
// everything that check relied on was authenticated.
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIP } from './ip.js';
import {
  AuthenticatingResolver,
  DNSError,
  lookupOf,
  type Authenticated,
  type RecordType,
  type RecordsOf,
  type Resolver,
} from './types.js';

/**
 * The DNSSEC state of a set of answers, as headers report it: "with" when the resolver
 * reports every one authenticated, "without" when it reports one that was not, "unknown"
 * when it cannot tell (or there were none).
 */
export type DnssecState = 'with' | 'without' | 'unknown';

/**
 * Whether the AD bit of a name server's answers may be believed. A stub resolver cannot
 * check the validation done on its behalf, so it "MUST NOT place any reliance" on it
 * unless the data came from a trusted validating resolver over a secure channel (RFC 4035
 * §4.9.3), and must disregard the bit otherwise unless specifically configured to regard
 * it (§4.6): an AD bit from a remote resolver over the network can be set by anyone who
 * can spoof or alter its UDP packets. A resolver on this machine (a loopback address) is
 * trusted; others only when the admin says the path to them is protected
 * (`[dns] trust_ad`).
 */
export function trustsAD(serverIP: string, trustAll: boolean): boolean {
  return trustAll || isLoopback(serverIP);
}

/** 127.0.0.0/8, ::1, and IPv4 loopback mapped into IPv6 (RFC 4291 §2.5.5.2). */
export function isLoopback(ip: string): boolean {
  const canon = canonicalIP(ip);
  if (canon === undefined) return false;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(canon)?.[1] ?? canon;
  if (isIPv4(v4)) return v4.startsWith('127.');
  return isIPv6(canon) && canon === '::1';
}

/**
 * Two answers' authenticity together: false if either is known not authenticated, else
 * unknown if either is unknown, else true.
 */
export function bothAuthentic(a: boolean | undefined, b: boolean | undefined): boolean | undefined {
  if (a === false || b === false) return false;
  if (a === undefined || b === undefined) return undefined;
  return true;
}

/** The state of answers whose authenticity is `all` (see bothAuthentic); none: unknown. */
export function dnssecState(answers: readonly (boolean | undefined)[]): DnssecState {
  if (answers.length === 0) return 'unknown';
  const all = answers.reduce<boolean | undefined>((x, y) => bothAuthentic(x, y), true);
  return all === undefined ? 'unknown' : all ? 'with' : 'without';
}

/**
 * The state of a result decided by several groups of lookups: "without" if any group's
 * is, else "unknown" if any group's is, else "with"; no groups: "unknown".
 */
export function combineStates(...states: DnssecState[]): DnssecState {
  if (states.length === 0) return 'unknown';
  if (states.includes('without')) return 'without';
  return states.includes('unknown') ? 'unknown' : 'with';
}

// Names whose lookups are kept apart for stateOf; further names count in the total only.
const MAX_NAMES = 256;

type Tally = { count: number; authentic: boolean | undefined };

/**
 * A Resolver that passes lookups on and remembers whether each answer, positive or
 * negative, was authenticated. Made per check (trackAuthentic), it answers whether
 * everything that check looked up was.
 */
export class AuthenticTracker extends AuthenticatingResolver {
  private readonly total: Tally = { count: 0, authentic: true };
  private readonly byName = new Map<string, Tally>();

  constructor(private readonly inner: Resolver) {
    super();
  }

  /** True only when at least one answer was seen and every one was authenticated. */
  authentic(): boolean {
    return this.state() === 'with';
  }

  /** The state over every lookup so far ("unknown" before the first). */
  state(): DnssecState {
    return stateOfTally(this.total);
  }

  /**
   * The state over the lookups of one name (as passed: an IP address for PTR),
   * e.g. a DKIM key record's. "unknown" when it was not looked up (or too many other
   * names were).
   */
  stateOf(name: string): DnssecState {
    const t = this.byName.get(name.toLowerCase());
    return t === undefined ? 'unknown' : stateOfTally(t);
  }

  async authenticated<T extends RecordType>(
    type: T,
    name: string,
  ): Promise<Authenticated<RecordsOf[T]>> {
    let answer: Authenticated<RecordsOf[T]>;
    try {
      answer =
        this.inner.authenticated !== undefined
          ? await this.inner.authenticated(type, name)
          : { records: await lookupOf(this.inner, type)(name), authentic: undefined };
    } catch (e) {
      this.note(name, e instanceof DNSError ? e.authentic : undefined);
      throw e;
    }
    this.note(name, answer.authentic);
    return answer;
  }

  private note(name: string, authentic: boolean | undefined): void {
    add(this.total, authentic);
    const key = name.toLowerCase();
    let t = this.byName.get(key);
    if (t === undefined) {
      if (this.byName.size >= MAX_NAMES) return;
      t = { count: 0, authentic: true };
      this.byName.set(key, t);
    }
    add(t, authentic);
  }
}

function add(t: Tally, authentic: boolean | undefined): void {
  t.count++;
  t.authentic = bothAuthentic(t.authentic, authentic);
}

function stateOfTally(t: Tally): DnssecState {
  if (t.count === 0 || t.authentic === undefined) return 'unknown';
  return t.authentic ? 'with' : 'without';
}

/**
 * A resolver for one check: run its lookups through the result, then ask `authentic()`
 * or `state()`. With a resolver that cannot tell (SystemResolver, a MockResolver
 * without `authentic` names) the state is "unknown".
 */
export function trackAuthentic(resolver: Resolver): AuthenticTracker {
  return new AuthenticTracker(resolver);
}
