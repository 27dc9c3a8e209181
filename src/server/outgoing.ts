// Outgoing mail pieces the server assembles from the configuration: DKIM signing of
// submitted messages and DSNs, and remote delivery (routes, MX, MTA-STS).
import type { Readable } from 'node:stream';
import type { DomainsConfig, StaticConfig } from '../config/index.js';
import type { Resolver } from '../dns/index.js';
import type { Logger } from '../log/index.js';
import { DkimKeyCache, MtaStsCache, dkimSign, signersFor } from '../msgauth/index.js';
import { SmtpDeliverer } from '../queue/index.js';

export type Signer = (fromDomain: string, data: Buffer | (() => Readable)) => Promise<string>;

/** Signs with the From domain's configured selectors (none configured: ''). */
export function dkimSigner(domains: () => DomainsConfig): Signer {
  const keys = new DkimKeyCache();
  return async (fromDomain, data) => {
    const signers = await signersFor(domains(), fromDomain, keys);
    return signers.length === 0 ? '' : dkimSign(data, signers);
  };
}

export function remoteDeliverer(
  st: StaticConfig,
  resolver: Resolver,
  log: Logger,
  overrides: { mxPort?: number; tlsCA?: string | Buffer; mtaSts?: MtaStsCache | null } = {},
): SmtpDeliverer {
  const mtaSts =
    overrides.mtaSts !== undefined
      ? overrides.mtaSts
      : st.queue.mta_sts
        ? new MtaStsCache({ resolver, log })
        : null;
  return new SmtpDeliverer({
    hostname: st.hostname,
    resolver,
    log,
    routing: () => ({ routes: st.routes, transports: st.transports }),
    mtaSts,
    maxPerHost: st.queue.max_per_host,
    ...(overrides.mxPort !== undefined ? { mxPort: overrides.mxPort } : {}),
    ...(overrides.tlsCA !== undefined ? { tlsCA: overrides.tlsCA } : {}),
  });
}
