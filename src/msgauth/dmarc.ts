// DMARC (RFC 7489): the policy record of the From domain (or of its organisational
// domain, by the public suffix list), identifier alignment of the SPF and DKIM passes,
// and the policy to apply with pct sampling. Written here rather than taken from
// mailauth, whose verifier never enforces strict alignment.
import { getDomain } from 'tldts';
import { isNotFound, type Resolver } from '../dns/types.js';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

/** A parsed DMARC record (RFC 7489 §6.3), defaults filled in. */
export type DmarcRecord = {
  p: DmarcPolicy;
  /** Policy for subdomains; p when absent. */
  sp: DmarcPolicy;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  pct: number;
  rua: string[];
  ruf: string[];
  /** Aggregate report interval in seconds. */
  ri: number;
  fo: string;
};

/** The dmarc method's results in Authentication-Results (RFC 7489 §11.2). */
export type DmarcStatus = 'pass' | 'fail' | 'none' | 'temperror' | 'permerror';

export type DmarcResult = {
  status: DmarcStatus;
  /** The From domain. */
  domain: string;
  /** Its organisational domain. */
  orgDomain: string;
  /** The record found (status pass or fail), and where. */
  record: DmarcRecord | null;
  recordDomain: string;
  /** The published policy that applies to this From domain (sp for a subdomain). */
  published: DmarcPolicy;
  /**
   * What to do with the message: the published policy on fail, lowered one step when
   * pct sampled it out (RFC 7489 §6.6.4); "none" on pass, none and errors.
   */
  policy: DmarcPolicy;
  /** The policy was lowered by pct. */
  sampledOut: boolean;
  /** Which aligned identifiers passed. */
  spfAligned: boolean;
  dkimAligned: boolean;
};

const ORG_OPTIONS = { allowPrivateDomains: true } as const;

/**
 * The organisational domain (RFC 7489 §3.2): the public suffix plus one label. A name
 * that is itself a public suffix, or unknown to the list, is its own.
 */
export function organizationalDomain(domain: string): string {
  const d = domain.toLowerCase().replace(/\.$/, '');
  return getDomain(d, ORG_OPTIONS) ?? d;
}

/** Whether two domains align (RFC 7489 §3.1): equal (strict) or same organisation (relaxed). */
export function aligned(a: string, b: string, mode: 'r' | 's'): boolean {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x === y) return true;
  return mode === 'r' && organizationalDomain(x) === organizationalDomain(y);
}

const POLICIES = new Set(['none', 'quarantine', 'reject']);

/**
 * Parses a DMARC record; null when it is not one (no v=DMARC1 first), or when it has no
 * valid p and no rua to report to (RFC 7489 §6.6.3 step 6: with a valid rua it counts as
 * p=none).
 */
export function parseDmarcRecord(txt: string): DmarcRecord | null {
  const tags = new Map<string, string>();
  const parts = txt.split(';').map((s) => s.trim());
  // RFC 7489 §6.4 ABNF: the tag name "v" is case-insensitive, the value "DMARC1" is not.
  if (!/^[vV]\s*=\s*DMARC1$/.test(parts[0] ?? '')) return null;
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const k = part.slice(0, eq).trim().toLowerCase();
    if (!tags.has(k)) tags.set(k, part.slice(eq + 1).trim());
  }
  const uris = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => /^mailto:[^@\s]+@[^@\s]+$/i.test(u.replace(/!\d+[kmgt]?$/i, '')));
  const rua = uris(tags.get('rua'));
  const p = tags.get('p')?.toLowerCase();
  const sp = tags.get('sp')?.toLowerCase();
  let policy: DmarcPolicy;
  let subPolicy: DmarcPolicy;
  if (p !== undefined && POLICIES.has(p) && (sp === undefined || POLICIES.has(sp))) {
    policy = p as DmarcPolicy;
    subPolicy = (sp ?? p) as DmarcPolicy;
  } else if (rua.length > 0) {
    policy = subPolicy = 'none';
  } else return null;
  const pct = Number(tags.get('pct') ?? '100');
  const ri = Number(tags.get('ri') ?? '86400');
  return {
    p: policy,
    sp: subPolicy,
    adkim: tags.get('adkim')?.toLowerCase() === 's' ? 's' : 'r',
    aspf: tags.get('aspf')?.toLowerCase() === 's' ? 's' : 'r',
    pct: Number.isInteger(pct) && pct >= 0 && pct <= 100 ? pct : 100,
    rua,
    ruf: uris(tags.get('ruf')),
    ri: Number.isInteger(ri) && ri > 0 ? ri : 86400,
    fo: tags.get('fo') ?? '0',
  };
}

type Lookup =
  { kind: 'found'; record: DmarcRecord; domain: string } | { kind: 'none' } | { kind: 'temperror' };

/**
 * The DMARC record at _dmarc.<domain>: exactly one v=DMARC1 record counts (§6.6.3).
 * "unusable" when there are v=DMARC1 records, but not exactly one usable one.
 */
async function recordAt(
  domain: string,
  resolver: Resolver,
): Promise<Lookup | { kind: 'unusable' }> {
  let txt: string[];
  try {
    txt = await resolver.txt(`_dmarc.${domain}`);
  } catch (e) {
    return isNotFound(e) ? { kind: 'none' } : { kind: 'temperror' };
  }
  const candidates = txt.filter((t) => /^[vV]\s*=\s*DMARC1\s*(;|$)/.test(t));
  if (candidates.length === 0) return { kind: 'none' };
  if (candidates.length !== 1) return { kind: 'unusable' };
  const record = parseDmarcRecord(candidates[0]!);
  return record ? { kind: 'found', record, domain } : { kind: 'unusable' };
}

/**
 * Policy discovery (RFC 7489 §6.6.3): the From domain, then, only when it has no DMARC
 * record at all, its organisational domain. Several records, or one without a usable
 * policy, end the discovery with none (steps 3, 6 and 7).
 */
export async function lookupDmarc(domain: string, resolver: Resolver): Promise<Lookup> {
  const d = domain.toLowerCase();
  let found = await recordAt(d, resolver);
  const org = organizationalDomain(d);
  if (found.kind === 'none' && org !== d) found = await recordAt(org, resolver);
  return found.kind === 'unusable' ? { kind: 'none' } : found;
}

export type DmarcInput = {
  /** The RFC5322.From domain (ASCII). */
  fromDomain: string;
  /** The domain SPF checked, when SPF passed (MAIL FROM or HELO). */
  spfPassDomain: string | null;
  /** d= of every passing DKIM signature. */
  dkimPassDomains: string[];
  /** A number in [0, 100) for pct sampling (tests fix it). */
  sample?: number;
};

/** A result without a record: none, or an error (a lookup that failed or took too long). */
export function dmarcWithout(status: 'none' | 'temperror', fromDomain: string): DmarcResult {
  const domain = fromDomain.toLowerCase();
  return {
    status,
    domain,
    orgDomain: organizationalDomain(domain),
    record: null,
    recordDomain: '',
    published: 'none',
    policy: 'none',
    sampledOut: false,
    spfAligned: false,
    dkimAligned: false,
  };
}

/** Evaluates DMARC for a message (RFC 7489 §6.6). */
export async function verifyDmarc(input: DmarcInput, resolver: Resolver): Promise<DmarcResult> {
  const domain = input.fromDomain.toLowerCase();
  const base = dmarcWithout('none', domain);
  const found = await lookupDmarc(domain, resolver);
  if (found.kind === 'temperror') return { ...base, status: 'temperror' };
  if (found.kind === 'none') return base;
  const r = found.record;
  const spfAligned = input.spfPassDomain !== null && aligned(input.spfPassDomain, domain, r.aspf);
  const dkimAligned = input.dkimPassDomains.some((d) => aligned(d, domain, r.adkim));
  const published = found.domain !== domain ? r.sp : r.p;
  const out: DmarcResult = {
    ...base,
    record: r,
    recordDomain: found.domain,
    published,
    spfAligned,
    dkimAligned,
  };
  if (spfAligned || dkimAligned) return { ...out, status: 'pass' };
  let policy = published;
  let sampledOut = false;
  const sample = input.sample ?? Math.random() * 100;
  if (policy !== 'none' && sample >= r.pct) {
    // §6.6.4: a message not sampled gets the next less strict policy.
    policy = policy === 'reject' ? 'quarantine' : 'none';
    sampledOut = true;
  }
  return { ...out, status: 'fail', policy, sampledOut };
}
