// Outgoing mail pieces the server assembles from the configuration: DKIM signing of
// submitted messages and DSNs, remote delivery (routes, MX, MTA-STS, TLS results), and
// the reports this server sends.
import type { Readable } from 'node:stream';
import type { DomainsConfig, StaticConfig } from '../config/index.js';
import type { Resolver } from '../dns/index.js';
import type { Logger } from '../log/index.js';
import { DkimKeyCache, MtaStsCache, dkimSign, signersFor } from '../msgauth/index.js';
import { SmtpDeliverer, type Queue } from '../queue/index.js';
import { ReportSender } from '../reports/sender.js';
import type { Store } from '../store/index.js';

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
  store?: Store,
): SmtpDeliverer {
  const global = store?.global;
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
    ...(global && st.reports.outgoing_tls
      ? {
          tlsResults: (r) => {
            global.addTLSResult(r).catch((err: unknown) => {
              log.error({ err }, 'keeping tls result for tls report');
            });
          },
        }
      : {}),
    ...(overrides.mxPort !== undefined ? { mxPort: overrides.mxPort } : {}),
    ...(overrides.tlsCA !== undefined ? { tlsCA: overrides.tlsCA } : {}),
  });
}

/**
 * Sends the DMARC and TLS reports the configuration asks for, from postmaster@<hostname>,
 * signed when the host name's domain has DKIM keys; queued as reports, so that their
 * failure makes no DSN and their own TLS results ask for no report back.
 */
export function reportSender(
  st: StaticConfig,
  store: Store,
  queue: Queue,
  sign: Signer,
  resolver: Resolver,
  log: Logger,
): ReportSender {
  return new ReportSender({
    hostname: st.hostname,
    global: store.global,
    resolver,
    log,
    dmarc: st.reports.outgoing_dmarc,
    tls: st.reports.outgoing_tls,
    keepReceivedMs: st.reports.keep_received_days * 24 * 3600_000,
    enqueue: async (data, m) => {
      const signature = await sign(st.hostname, data);
      const p = await store.prepareMessage(data);
      try {
        await queue.add(p.path, [
          {
            sender: { localpart: 'postmaster', domain: st.hostname },
            recipient: { localpart: m.to.localpart, domain: m.to.domain },
            account: '',
            has8bit: false,
            smtputf8: false,
            messageId: m.messageId,
            subject: m.subject,
            requireTLS: null,
            prefix: Buffer.from(signature, 'utf8'),
            isDSN: true,
            isReport: true,
          },
        ]);
      } finally {
        await p.cleanup();
      }
    },
  });
}
