// Address lookups on a loaded domains.toml, as used for RCPT TO and sender checks.
import type { AliasConfig, DestinationConfig, DomainsConfig } from './domains.js';
import { canonicalLocalpart } from './domains.js';
import { normalizeDomain } from './names.js';

/** An alias member: the account and destination its address belongs to. */
export interface AliasMember {
  account: string;
  destination: DestinationConfig;
  canonical: string;
}

export type AddressResolution =
  | {
      kind: 'account';
      account: string;
      destination: DestinationConfig;
      /** The configured destination key: "localpart@domain", or "@domain" for a catch-all. */
      destinationAddress: string;
      /** The address with catch-all suffix removed and case folded as the domain says. */
      canonical: string;
    }
  | { kind: 'alias'; alias: AliasConfig; canonical: string; members: AliasMember[] }
  | { kind: 'unknown-user'; domain: string }
  | { kind: 'unknown-domain'; domain: string };

interface Index {
  destinations: Map<string, { account: string; destination: DestinationConfig }>;
}

const indexes = new WeakMap<DomainsConfig, Index>();

function indexOf(cfg: DomainsConfig): Index {
  let idx = indexes.get(cfg);
  if (!idx) {
    idx = { destinations: new Map() };
    for (const [account, a] of Object.entries(cfg.accounts)) {
      for (const [addr, destination] of Object.entries(a.destinations)) {
        idx.destinations.set(addr, { account, destination });
      }
    }
    indexes.set(cfg, idx);
  }
  return idx;
}

function splitAddress(address: string | { localpart: string; domain: string }) {
  if (typeof address !== 'string') return address;
  const at = address.lastIndexOf('@');
  return at < 0
    ? { localpart: address, domain: '' }
    : { localpart: address.slice(0, at), domain: address.slice(at + 1) };
}

/**
 * Finds where mail for an address goes. The localpart is cut at the first catch-all
 * separator of its domain and folded to lower case unless the domain is case-sensitive;
 * a "@domain" destination catches addresses not otherwise configured. The config must
 * not be modified after it is first used here (lookups are cached per config object).
 */
export function resolveAddress(
  cfg: DomainsConfig,
  address: string | { localpart: string; domain: string },
): AddressResolution {
  const parts = splitAddress(address);
  const dom = normalizeDomain(parts.domain);
  if ('problem' in dom) return { kind: 'unknown-domain', domain: parts.domain };
  const d = cfg.domains[dom.domain];
  if (!d) return { kind: 'unknown-domain', domain: dom.domain };
  const lp = canonicalLocalpart(d, parts.localpart.normalize('NFC'), true);
  const canonical = `${lp}@${dom.domain}`;
  const idx = indexOf(cfg);
  const alias = cfg.aliases[canonical];
  if (lp !== '' && alias) {
    const members = alias.members.flatMap((m): AliasMember[] => {
      const hit = idx.destinations.get(m);
      return hit ? [{ ...hit, canonical: m }] : [];
    });
    return { kind: 'alias', alias, canonical, members };
  }
  const exact = lp === '' ? undefined : idx.destinations.get(canonical);
  // Postmaster at any domain reaches the configured postmaster, unless it is an address
  // of its own; a catch-all does not take it (RFC 5321 §4.5.1).
  if (!exact && lp.toLowerCase() === 'postmaster') {
    const pm = postmasterTarget(cfg, `postmaster@${dom.domain}`);
    if (pm) return pm;
  }
  const destinationAddress = exact ? canonical : `@${dom.domain}`;
  const hit = exact ?? idx.destinations.get(destinationAddress);
  if (!hit) return { kind: 'unknown-user', domain: dom.domain };
  return { kind: 'account', ...hit, destinationAddress, canonical };
}

/**
 * The configured postmaster (domains.toml [postmaster]) as the target of `canonical`,
 * or null when none is configured. Also for a bare "<postmaster>" (RFC 5321 §4.1.1.3).
 */
export function postmasterTarget(
  cfg: DomainsConfig,
  canonical: string,
): Extract<AddressResolution, { kind: 'account' }> | null {
  const pm = cfg.postmaster;
  if (!pm) return null;
  return {
    kind: 'account',
    account: pm.account,
    destination: { mailbox: pm.mailbox, rules: [] },
    destinationAddress: canonical,
    canonical,
  };
}

/** The configured destination addresses of an account ("@domain" for catch-alls). */
export function accountAddresses(cfg: DomainsConfig, account: string): string[] {
  const a = cfg.accounts[account];
  return a ? Object.keys(a.destinations) : [];
}
