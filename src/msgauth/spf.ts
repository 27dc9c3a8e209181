// SPF (RFC 7208) for incoming mail: the MAIL FROM identity, or the HELO identity when
// MAIL FROM is empty (§2.4). The evaluation (mechanisms, macros, the 10-lookup and
// 2-void-lookup limits of §4.6.4) is mailauth's, through the project's resolver; the
// explanation of a fail (§6.2), which mailauth does not fetch, is ours; so is whether
// DNSSEC authenticated the lookups of the evaluation.
import { trackAuthentic, type DnssecState } from '../dns/dnssec.js';
import { nodeStyleResolve } from '../dns/nodestyle.js';
import type { Resolver } from '../dns/types.js';

/** RFC 7208 §2.6 results. */
export type SpfStatus =
  'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror';

export type SpfResult = {
  status: SpfStatus;
  /** Which identity was checked (RFC 7208 §2.3, §2.4). */
  identity: 'mailfrom' | 'helo';
  /** The domain checked: of MAIL FROM, or the HELO name. */
  domain: string;
  /** The address checked: MAIL FROM, or postmaster@<helo> for the HELO identity. */
  sender: string;
  /** A human-readable comment for the headers. */
  comment: string;
  /** On fail: the domain's explanation (RFC 7208 §6.2), sanitised; else "". */
  explanation: string;
  /**
   * Whether every lookup of the evaluation (not of the explanation, which does not change
   * the result) was authenticated by DNSSEC, as far as the resolver can tell.
   */
  dnssec: DnssecState;
};

export type SpfInput = {
  ip: string;
  /** MAIL FROM without brackets, "" for the null path. */
  mailFrom: string;
  /** The EHLO/HELO name (a domain, or an address literal). */
  helo: string;
  /** Our host name, for %{r} and comments. */
  receiver: string;
};

const STATUSES = new Set<string>([
  'pass',
  'fail',
  'softfail',
  'neutral',
  'none',
  'temperror',
  'permerror',
]);

/** The longest explanation kept (it comes from the sender's DNS). */
const MAX_EXPLANATION = 800;

export async function verifySpf(input: SpfInput, resolver: Resolver): Promise<SpfResult> {
  const identity = input.mailFrom ? 'mailfrom' : 'helo';
  // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2);
  // mailauth checks it as IPv4, and so must the explanation's %{i}.
  const ip = /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(input.ip) ? input.ip.slice(7) : input.ip;
  const helo = input.helo;
  // RFC 7208 §2.3: a HELO address literal is no identity to check.
  if (identity === 'helo' && (helo === '' || helo.startsWith('['))) {
    return {
      status: 'none',
      identity,
      domain: helo,
      sender: '',
      comment: 'no domain to check',
      explanation: '',
      dnssec: 'unknown',
    };
  }
  const sender = input.mailFrom || `postmaster@${helo}`;
  const { spf } = await import('mailauth/lib/spf/index.js');
  const tracked = trackAuthentic(resolver);
  const r = await spf({
    sender,
    ip,
    helo: helo.startsWith('[') ? undefined : helo,
    mta: input.receiver,
    resolver: spfResolve(tracked),
  });
  const status = (STATUSES.has(r.status.result) ? r.status.result : 'none') as SpfStatus;
  let explanation = '';
  if (status === 'fail' && r.rr) {
    explanation = await explain(r.rr, { sender, ip, helo, mta: input.receiver }, resolver);
  }
  return {
    status,
    identity,
    domain: r.domain,
    sender,
    comment: r.status.comment ?? '',
    explanation,
    dnssec: tracked.state(),
  };
}

/**
 * The resolver for mailauth. A DNS failure other than "no such name or records" is a
 * temperror wherever it happens (RFC 7208 §4.4, §5.2), but mailauth ignores failures
 * that carry no spfResult inside include: and redirect=, going on as if the included
 * record did not match: it gets one here.
 */
function spfResolve(resolver: Resolver): (name: string, rrtype?: string) => Promise<unknown> {
  const lookup = nodeStyleResolve(resolver);
  return async (name, rrtype) => {
    try {
      return await lookup(name, rrtype);
    } catch (e) {
      const err = e as Error & { code?: unknown; spfResult?: unknown };
      if (err.code !== 'ENOTFOUND' && err.code !== 'ENODATA') {
        err.spfResult = { error: 'temperror', text: err.message };
      }
      throw err;
    }
  };
}

/** Redirects followed to find the record of an explanation, as many as lookups allowed. */
const MAX_REDIRECTS = 10;

/**
 * The explanation named by the exp= modifier (RFC 7208 §6.2) of the record that gave
 * the fail: its macros expanded, the TXT record fetched (any failure means no
 * explanation), its macros expanded again; then non-printable characters dropped and the
 * length bounded, since it is the sender's text. mailauth reports the first record
 * evaluated, so a redirect= it followed is followed here too: §6.2 says the target's
 * exp= applies, not the original's.
 */
async function explain(
  record: string,
  values: { sender: string; ip: string; helo: string; mta: string },
  resolver: Resolver,
  redirects = 0,
): Promise<string> {
  try {
    const { default: macro } = await import('mailauth/lib/spf/macro.js');
    const terms = record.trim().split(/\s+/).slice(1);
    const redirect = terms.find((t) => /^redirect=/i.test(t));
    const mechanisms = terms.filter((t) => !/^[a-z][a-z0-9_.-]*=/i.test(t));
    // §6.1: redirect= is followed when no mechanism matched, and never with "all".
    if (redirect && !mechanisms.some((t) => /^[-+~?]?all$/i.test(t))) {
      // A fail from a "-" mechanism of this record would use this record's exp=; which
      // of the two gave the fail is not known, so there is no explanation.
      if (mechanisms.some((t) => t.startsWith('-')) || redirects >= MAX_REDIRECTS) return '';
      const target = macro(redirect.slice('redirect='.length), values).replace(/\.$/, '');
      const records = (await resolver.txt(target)).filter((t) => /^v=spf1(\s|$)/i.test(t));
      if (records.length !== 1) return '';
      return await explain(records[0]!, values, resolver, redirects + 1);
    }
    const m = /(?:^|\s)exp=(\S+)/i.exec(record);
    if (!m) return '';
    const name = macro(m[1]!, values);
    const txt = await resolver.txt(name);
    // §6.2: anything but exactly one record means no explanation.
    if (txt.length !== 1) return '';
    return sanitize(macro(txt[0]!, values));
  } catch {
    return '';
  }
}

function sanitize(s: string): string {
  const printable = s.replace(/[^\x20-\x7e]/g, '');
  return printable.slice(0, MAX_EXPLANATION);
}
