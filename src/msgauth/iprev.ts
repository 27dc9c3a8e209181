// iprev (RFC 8601 §3): whether the connecting IP's reverse name resolves back to it
// ("forward-confirmed reverse DNS", RFC 8601 §3 and RFC 1912 §2.1), and whether DNSSEC
// authenticated the lookups that decided it.
import { combineStates, trackAuthentic, type DnssecState } from '../dns/dnssec.js';
import { canonicalIP } from '../dns/ip.js';
import { isNotFound, isTemporary, type Resolver } from '../dns/types.js';

/** RFC 8601 §2.7.3 results. */
export type IprevStatus = 'pass' | 'fail' | 'temperror' | 'permerror';

export type IprevResult = {
  status: IprevStatus;
  /** The reverse names, as found (pass: the confirmed one first). */
  names: string[];
  /**
   * Whether the lookups the result rests on were authenticated by DNSSEC, as far as the
   * resolver can tell: for a pass the PTR lookup and the confirming one, else all.
   */
  dnssec: DnssecState;
};

/** At most this many reverse names are looked up forward (as for SPF's ptr, RFC 7208 §4.6.4). */
const MAX_NAMES = 10;

/**
 * Looks up the PTR names of `ip` and the addresses of each: pass when one of them has
 * `ip`; fail when none has; permerror without PTR records; temperror when a lookup failed for a
 * reason that may pass.
 */
export async function verifyIprev(ip: string, resolver: Resolver): Promise<IprevResult> {
  const canon = canonicalIP(ip);
  if (canon === undefined) return { status: 'permerror', names: [], dnssec: 'unknown' };
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2):
  // its reverse name is in in-addr.arpa and its forward records are A records.
  const want = /^::ffff:\d/.test(canon) && canon.includes('.') ? canon.slice(7) : canon;
  const reverse = trackAuthentic(resolver);
  let names: string[];
  try {
    names = await reverse.ptr(want);
  } catch (e) {
    const dnssec = reverse.state();
    // RFC 8601 §2.7.3: no PTR data published is a permerror; fail is for names that do
    // not lead back to the address.
    if (isNotFound(e)) return { status: 'permerror', names: [], dnssec };
    return { status: isTemporary(e) ? 'temperror' : 'permerror', names: [], dnssec };
  }
  const v6 = want.includes(':');
  const checked = names.slice(0, MAX_NAMES);
  const forward = checked.map(() => trackAuthentic(resolver));
  const answers = await Promise.allSettled(
    checked.map((n, i) => (v6 ? forward[i]!.aaaa(n) : forward[i]!.a(n))),
  );
  let temporary = false;
  for (let i = 0; i < checked.length; i++) {
    const a = answers[i]!;
    if (a.status === 'fulfilled') {
      if (a.value.some((x) => canonicalIP(x) === want)) {
        const name = checked[i]!;
        const dnssec = combineStates(reverse.state(), forward[i]!.state());
        return { status: 'pass', names: [name, ...names.filter((n) => n !== name)], dnssec };
      }
    } else if (isTemporary(a.reason)) temporary = true;
  }
  const dnssec = combineStates(reverse.state(), ...forward.map((t) => t.state()));
  return { status: temporary ? 'temperror' : 'fail', names, dnssec };
}
