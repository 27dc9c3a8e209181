// Process lifecycle: load the configuration, open the store, start the listeners, follow
// domains.toml changes, and shut down gracefully.
import { dataDirError, listenError, tlsProblems } from './startup.js';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import {
  loadConfigDir,
  watchDomainsConfig,
  type StaticConfig,
  type DomainsConfig,
} from '../config/index.js';
import { Store, scanModes, type ModeScan } from '../store/index.js';
import { createLogger } from '../log/index.js';
import { registry } from '../metrics/index.js';
import { startMetricsServer } from '../http/index.js';
import {
  loadTlsContext,
  RateLimiter,
  ConnectionCounter,
  AuthFailureLimiter,
  quickAckAvailable,
  type Service,
} from '../net/index.js';
import { startImapServer } from '../imap/server.js';
import { startSmtpServer, DeliveryRateLimiter, type SmtpKind } from '../smtpserver/index.js';
import { Queue, queueAdmin, queueFileName } from '../queue/index.js';
import { startCtlServer, type CtlServer } from './ctl.js';
import { dkimSigner, remoteDeliverer, reportSender, type Signer } from './outgoing.js';
import type { ReportSender } from '../reports/sender.js';
import { StubResolver, SystemResolver, localserveResolver, type Resolver } from '../dns/index.js';
import { startInfoServer } from './info.js';
import { importMail, type ImportArgs } from './importexport.js';
import { DnsblChecker } from '../msgauth/index.js';
import { JunkTrainer } from '../junk/index.js';

/** A limit no client reaches. */
const NO_LIMIT = Number.MAX_SAFE_INTEGER;

export type ServerOptions = {
  configDir: string;
  log?: Logger;
  /** Human-readable log lines instead of JSON (localserve). */
  pretty?: boolean;
  /** Skip listener addresses that do not exist on this machine (localserve's ::1). */
  tolerateMissingAddresses?: boolean;
  /** Called after each successful domains.toml reload. */
  onReload?: (cfg: DomainsConfig) => void;
  /** localserve: all mail goes to this account, the queue never leaves the machine. */
  localserve?: { account: string } | null;
  /** DNS resolver; default the one [dns] configures (localserve: a local one). */
  resolver?: Resolver;
  /** Remote delivery settings for tests: MX port, trusted CA, MTA-STS source. */
  outgoing?: Parameters<typeof remoteDeliverer>[3];
  /**
   * Runs once the store is open, before the queue starts and before any listener opens:
   * what it sets up is in place when the first client connects (localserve: the
   * account's password). Start fails if it throws.
   */
  beforeListen?: (server: Server) => Promise<void>;
};

/**
 * The resolver `[dns]` asks for: by default our stub resolver, which can report whether
 * answers were authenticated by DNSSEC (believing the AD bit only from loopback servers,
 * or from all with trust_ad); node:dns with resolver = "system".
 */
export function configuredResolver(dns: StaticConfig['dns']): Resolver {
  const opts = { servers: dns.servers, timeoutMs: dns.timeout, tries: dns.tries };
  return dns.resolver === 'system'
    ? new SystemResolver(opts)
    : new StubResolver({ ...opts, trustAD: dns.trust_ad });
}

/** A running listener. */
export type ListeningService = {
  listener: string;
  service: string;
  host: string;
  port: number;
};

export class Server {
  readonly listening: ListeningService[] = [];
  private services: Service[] = [];
  private watcher: { close(): void } | null = null;
  queue: Queue | null = null;
  /** Sends outgoing DMARC and TLS reports; null under localserve. */
  reports: ReportSender | null = null;
  resolver!: Resolver;
  private sign!: Signer;
  private ctl: CtlServer | null = null;
  private stopping: Promise<void> | null = null;
  /**
   * The walk that fixes modes in the data directory (see start): what it did, partial if
   * the server stopped first; null if it failed.
   */
  dataModes: Promise<ModeScan | null> = Promise.resolve(null);
  /**
   * Why the domains.toml on disk is not loaded, while it is not: meanwhile mail for an
   * address the running version does not know is deferred (451), not refused, since the
   * admin may be adding it.
   */
  domainsProblem: string | null = null;
  private readonly stopWalk = new AbortController();

  private constructor(
    readonly configDir: string,
    readonly staticConfig: StaticConfig,
    public domains: DomainsConfig,
    readonly store: Store,
    readonly log: Logger,
  ) {}

  static async start(opts: ServerOptions): Promise<Server> {
    const { static: st, domains } = loadConfigDir(opts.configDir);
    const tlsProblem = tlsProblems(st, join(opts.configDir, 'tidings.toml'));
    if (tlsProblem) throw tlsProblem;
    const log = opts.log ?? createLogger({ level: st.log_level, pretty: opts.pretty });
    let current = domains;
    // Data written by older versions, or restored from a backup, may be readable by
    // other users. The data directory itself is made 0700 first, before anything is
    // opened: that alone shuts every other user out of all of it. Fixing each path
    // below it reads every message file's inode, which takes a while for a million
    // of them, so that walk runs beside the listeners instead of delaying them.
    let rootModes: ModeScan;
    let store: Store;
    try {
      rootModes = await scanModes(st.data_dir, { fix: true, depth: 0 });
      store = await Store.open({
        dataDir: st.data_dir,
        cleanup: true,
        quota: (account) => current.accounts[account]?.quota || st.limits.default_quota,
        messageQuota: (account) =>
          current.accounts[account]?.quota_messages || st.limits.default_quota_messages,
        initialMailboxes: (account) =>
          current.accounts[account]?.initial_mailboxes ?? current.initial_mailboxes,
        // Each account's junk filter learns from what its user does (see JunkTrainer).
        onAccountOpen: (a) => {
          const settings = current.accounts[a.name]?.junk_filter;
          if (!settings?.enabled) return;
          JunkTrainer.start(store, a, settings, log).catch((e: unknown) => {
            log.error({ err: e, account: a.name }, 'starting junk filter training');
          });
        },
      });
    } catch (e) {
      throw dataDirError(e, st.data_dir);
    }
    const server = new Server(opts.configDir, st, domains, store, log);
    server.resolver =
      opts.resolver ??
      (opts.localserve
        ? localserveResolver(() => Object.keys(server.domains.domains))
        : configuredResolver(st.dns));
    server.sign = dkimSigner(() => server.domains);
    try {
      await opts.beforeListen?.(server);
      const sign = server.sign;
      server.queue = await Queue.open({
        store,
        domains: () => server.domains,
        hostname: st.hostname,
        log,
        localserve: opts.localserve ?? null,
        remote: opts.localserve
          ? null
          : remoteDeliverer(st, server.resolver, log, opts.outgoing, store),
        maxConcurrent: st.queue.max_concurrent,
        backoffBaseMs: st.queue.retry_base,
        maxAgeMs: st.queue.give_up_after,
        delayDSNAfterMs: st.queue.delay_dsn_after,
        sign: (domain, data) => sign(domain, data),
      });
      server.queue.start();
      const queue = server.queue;
      if (!opts.localserve) {
        server.reports = reportSender(st, store, queue, sign, server.resolver, log);
        server.reports.start();
      }
      server.ctl = await startCtlServer(
        st.data_dir,
        (op, args, progress) => {
          if (op === 'backup') {
            return store.backup(String(args.dir), {
              queueFile: queueFileName,
              copy: args.copy === true,
            });
          }
          if (op === 'import') {
            const a = args as ImportArgs;
            return importMail(store, a.account, a.mailbox, a.paths, progress, a.mode);
          }
          return queueAdmin(queue, op, args);
        },
        log,
      );
      server.dataModes = server.fixDataModes(rootModes);
      await server.startListeners(opts);
    } catch (e) {
      await server.stop();
      throw e;
    }
    server.watcher = watchDomainsConfig(
      join(opts.configDir, 'domains.toml'),
      (cfg) => {
        current = cfg;
        server.domains = cfg;
        server.domainsProblem = null;
        log.info('domains.toml reloaded');
        opts.onReload?.(cfg);
      },
      (err) => {
        server.domainsProblem = err.message;
        log.error(
          { err: err.message },
          'domains.toml not reloaded, keeping the running version; mail for addresses it does not know is deferred until the file is fixed',
        );
      },
      { running: () => server.domains },
    );
    return server;
  }

  private async startListeners(opts: ServerOptions): Promise<void> {
    const st = this.staticConfig;
    // One set of limiters per process: limits apply across listeners, so switching ports
    // or protocols gains an abuser nothing.
    const authFailures = new AuthFailureLimiter({
      perMinute: st.limits.failed_auth_per_minute,
      perDay: st.limits.failed_auth_per_day,
    });
    // localserve is a development tool: a test suite opening many connections or sending
    // mail in bursts must not be throttled like an attacker.
    const unlimited: [number, number, number] | null = opts.localserve
      ? [NO_LIMIT, NO_LIMIT, NO_LIMIT]
      : null;
    const imapLimiters = {
      rate: new RateLimiter({
        windowMs: 60_000,
        limits: unlimited ?? st.limits.imap.connection_rate_per_minute,
      }),
      connections: new ConnectionCounter({ limits: unlimited ?? st.limits.imap.max_connections }),
      authFailures,
    };
    const smtpShared = {
      rate: new RateLimiter({
        windowMs: 60_000,
        limits: unlimited ?? st.limits.smtp.connection_rate_per_minute,
      }),
      connections: new ConnectionCounter({ limits: unlimited ?? st.limits.smtp.max_connections }),
      authFailures,
      delivery: opts.localserve
        ? new DeliveryRateLimiter({ messages: NO_LIMIT, bytes: NO_LIMIT })
        : new DeliveryRateLimiter(),
      resolver: this.resolver,
    };
    if (process.platform === 'linux' && !quickAckAvailable()) {
      this.log.warn(
        'native addon not built (run npm install with a C compiler): clients that send a command in two writes wait 40 ms per command',
      );
    }
    for (const [name, l] of Object.entries(st.listeners)) {
      const hostname = l.hostname ?? st.hostname;
      const tls = l.tls ? loadTlsContext(l.tls.keys) : null;
      for (const ip of l.ips) {
        const start = async (service: string, port: number, make: () => Promise<Service>) => {
          try {
            const s = await make();
            this.services.push(s);
            this.listening.push({ listener: name, service, host: ip, port: s.port });
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (opts.tolerateMissingAddresses && code === 'EADDRNOTAVAIL') {
              this.log.warn(
                { ip, port, service },
                'address not available on this machine, skipped',
              );
              return;
            }
            throw listenError(e, { configDir: this.configDir, listener: name, service, ip, port });
          }
        };
        const svc = l as unknown as Record<string, { enabled: boolean; port: number } | undefined>;
        for (const kind of ['imap', 'imaps'] as const) {
          const c = l[kind];
          if (!c.enabled) continue;
          await start(kind, c.port, () =>
            startImapServer(
              {
                store: this.store,
                domains: () => this.domains,
                hostname,
                tls,
                service: kind,
                noRequireSTARTTLS: kind === 'imap' && l.imap.no_require_starttls,
                authMechanisms: c.auth_mechanisms ?? null,
                limits: {
                  maxLineLength: st.limits.imap.max_line_length,
                  maxLiteralSize: st.limits.imap.max_literal_size,
                  maxLiteralTotal: st.limits.imap.max_literal_total,
                  maxLiterals: st.limits.imap.max_literals,
                  maxMessageSize: st.limits.max_message_size,
                },
                delays: { authFail: st.delays.auth_fail, badClient: st.delays.bad_client },
                limiters: imapLimiters,
                log: this.log,
              },
              ip,
              c.port,
            ),
          );
        }
        for (const kind of ['smtp', 'submission', 'submissions'] as const) {
          const c = svc[kind];
          if (!c?.enabled) continue;
          await start(kind, c.port, () => this.startSmtp(kind, name, ip, c.port, smtpShared, opts));
        }
        if (l.http?.enabled) {
          const port = l.http.port;
          await start('http', port, () => startInfoServer({ host: ip, port, hostname }));
        }
        if (l.metrics?.enabled) {
          const port = l.metrics.port;
          await start('metrics', port, () =>
            startMetricsServer({ host: ip, port, registry, log: this.log }),
          );
        }
      }
    }
  }

  private startSmtp(
    kind: SmtpKind,
    listenerName: string,
    ip: string,
    port: number,
    shared: {
      rate: RateLimiter;
      connections: ConnectionCounter;
      authFailures: AuthFailureLimiter;
      delivery: DeliveryRateLimiter;
      resolver: Resolver;
    },
    opts: ServerOptions,
  ): Promise<Service> {
    const st = this.staticConfig;
    const l = st.listeners[listenerName]!;
    const tls = l.tls ? loadTlsContext(l.tls.keys) : null;
    const submission = kind !== 'smtp';
    // Per-port TLS requirements: submission needs TLS for AUTH and mail unless the
    // listener says no_require_starttls (RFC 8314 §3, RFC 3207 §4); port 25 only with
    // require_starttls, as RFC 3207 §4 bars a public MX from demanding it.
    const requireTLS =
      kind === 'submissions' || (kind === 'submission' && !l.submission.no_require_starttls);
    return startSmtpServer(
      {
        kind,
        store: this.store,
        domains: () => this.domains,
        hostname: l.hostname ?? st.hostname,
        tls,
        requireTLSForAuth: submission ? requireTLS : true,
        configProblem: () => this.domainsProblem,
        authMechanisms: kind === 'smtp' ? null : (l[kind].auth_mechanisms ?? null),
        requireTLSForDelivery: submission ? requireTLS : l.smtp.require_starttls,
        requireTLSExtension: submission || !l.smtp.no_require_tls,
        dnsbl:
          submission || l.smtp.dnsbls.length === 0
            ? null
            : new DnsblChecker({
                zones: l.smtp.dnsbls,
                resolver: shared.resolver,
                log: this.log,
                timeoutMs: st.incoming.verify_timeout,
              }),
        limits: {
          maxLineLength: st.limits.smtp.max_line_length,
          maxRecipients: st.limits.smtp.max_recipients,
          maxReceivedHeaders: st.limits.smtp.max_received_headers,
          maxBadTransactions: st.limits.smtp.max_bad_transactions,
          maxMessageSize: st.limits.max_message_size,
          defaultMaxMessageSize: st.limits.max_message_size,
          maxOutgoingPerDay: st.limits.max_outgoing_messages_per_day,
          maxFirstTimeRecipientsPerDay: st.limits.max_first_time_recipients_per_day,
        },
        delays: {
          authFail: st.delays.auth_fail,
          badClient: st.delays.bad_client,
          firstTimeSender: submission ? 0 : l.smtp.first_time_sender_delay,
          unknownRecipients: st.delays.unknown_recipients,
          localserveTimeout: 3600_000,
        },
        limiters: shared,
        resolver: shared.resolver,
        verification: {
          timeoutMs: st.incoming.verify_timeout,
          trustedArcSealers: st.incoming.trusted_arc_sealers,
        },
        dmarcReports: st.reports.outgoing_dmarc && !opts.localserve,
        queue: this.queue!,
        dkimSign: this.sign,
        log: this.log,
        localserve: opts.localserve ?? null,
      },
      ip,
      port,
    );
  }

  /**
   * Walks the data directory, making directories 0700 and everything else 0600; logs
   * one warning with the number of paths changed, if any (root: the result for the
   * data directory itself, fixed before the server started).
   */
  private async fixDataModes(root: ModeScan): Promise<ModeScan | null> {
    const dataDir = this.staticConfig.data_dir;
    let r: ModeScan;
    try {
      r = await scanModes(dataDir, { fix: true, signal: this.stopWalk.signal });
    } catch (err) {
      this.log.error({ err, dataDir }, 'checking the modes in the data directory failed');
      return null;
    }
    r.wrong += root.wrong;
    r.fixed += root.fixed;
    r.failed += root.failed;
    if (root.error !== undefined) r.error = root.error;
    if (r.fixed > 0 || r.failed > 0) {
      this.log.warn(
        { dataDir, fixed: r.fixed, failed: r.failed, ...(r.error ? { error: r.error } : {}) },
        `fixed the modes of ${r.fixed} paths in the data directory (directories 0700, files 0600)` +
          (r.failed > 0 ? `; ${r.failed} paths could not be checked or changed` : ''),
      );
    }
    return r;
  }

  /** Closes listeners, lets in-flight work finish, and closes the databases cleanly. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.stopWalk.abort();
        this.watcher?.close();
        await Promise.allSettled(this.services.map((s) => s.close()));
        await this.ctl?.close();
        await this.reports?.stop();
        await this.queue?.stop();
        await this.dataModes;
        await this.store.close();
      })();
    }
    return this.stopping;
  }
}
