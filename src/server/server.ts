// Process lifecycle: load the configuration, open the store, start the listeners, follow
// domains.toml changes, and shut down gracefully.
import { join } from 'node:path';
import type { Logger } from '../log/index.js';
import {
  loadConfigDir,
  watchDomainsConfig,
  type StaticConfig,
  type DomainsConfig,
} from '../config/index.js';
import { Store } from '../store/index.js';
import { createLogger } from '../log/index.js';
import { registry } from '../metrics/index.js';
import { startMetricsServer } from '../http/index.js';
import {
  loadTlsContext,
  RateLimiter,
  ConnectionCounter,
  AuthFailureLimiter,
} from '../net/index.js';
import { startImapServer } from '../imap/server.js';
import { startPlaceholder, type Service } from './placeholder.js';
import { startInfoServer } from './info.js';

export type ServerOptions = {
  configDir: string;
  log?: Logger;
  /** Human-readable log lines instead of JSON (localserve). */
  pretty?: boolean;
  /** Skip listener addresses that do not exist on this machine (localserve's ::1). */
  tolerateMissingAddresses?: boolean;
  /** Called after each successful domains.toml reload. */
  onReload?: (cfg: DomainsConfig) => void;
};

export type ListeningService = {
  listener: string;
  service: string;
  host: string;
  port: number;
  /** Accepts connections but only answers "not available yet" (protocol not in this build). */
  placeholder: boolean;
};

export class Server {
  readonly listening: ListeningService[] = [];
  private services: Service[] = [];
  private watcher: { close(): void } | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(
    readonly configDir: string,
    readonly staticConfig: StaticConfig,
    public domains: DomainsConfig,
    readonly store: Store,
    readonly log: Logger,
  ) {}

  static async start(opts: ServerOptions): Promise<Server> {
    const { static: st, domains } = loadConfigDir(opts.configDir);
    const log = opts.log ?? createLogger({ level: st.log_level, pretty: opts.pretty });
    let current = domains;
    const store = await Store.open({
      dataDir: st.data_dir,
      cleanup: true,
      quota: (account) => current.accounts[account]?.quota || st.limits.default_quota,
      initialMailboxes: (account) =>
        current.accounts[account]?.initial_mailboxes ?? current.initial_mailboxes,
    });
    const server = new Server(opts.configDir, st, domains, store, log);
    try {
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
        log.info('domains.toml reloaded');
        opts.onReload?.(cfg);
      },
      (err) =>
        log.error({ err: err.message }, 'domains.toml not reloaded, keeping the running version'),
    );
    return server;
  }

  private async startListeners(opts: ServerOptions): Promise<void> {
    const st = this.staticConfig;
    // One set of limiters per process: limits apply across listeners (spec/imap.md §2.2).
    const authFailures = new AuthFailureLimiter({
      perMinute: st.limits.failed_auth_per_minute,
      perDay: st.limits.failed_auth_per_day,
    });
    const imapLimiters = {
      rate: new RateLimiter({
        windowMs: 60_000,
        limits: st.limits.imap.connection_rate_per_minute,
      }),
      connections: new ConnectionCounter({ limits: st.limits.imap.max_connections }),
      authFailures,
    };
    for (const [name, l] of Object.entries(st.listeners)) {
      const hostname = l.hostname ?? st.hostname;
      const tls = l.tls ? loadTlsContext(l.tls.keys) : null;
      for (const ip of l.ips) {
        const start = async (
          service: string,
          port: number,
          make: () => Promise<Service>,
          placeholder = false,
        ) => {
          try {
            const s = await make();
            this.services.push(s);
            this.listening.push({ listener: name, service, host: ip, port: s.port, placeholder });
          } catch (e) {
            const code = (e as NodeJS.ErrnoException).code;
            if (opts.tolerateMissingAddresses && code === 'EADDRNOTAVAIL') {
              this.log.warn(
                { ip, port, service },
                'address not available on this machine, skipped',
              );
              return;
            }
            throw new Error(
              `listener ${name}: ${service} on ${ip} port ${port}: ${(e as Error).message}`,
            );
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
          const implicitTLS = kind === 'submissions';
          await start(
            kind,
            c.port,
            () =>
              startPlaceholder({
                protocol: 'smtp',
                host: ip,
                port: c.port,
                hostname,
                tls: implicitTLS ? tls : null,
                log: this.log,
              }),
            true,
          );
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

  /** Closes listeners, lets in-flight work finish, and closes the databases cleanly. */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        this.watcher?.close();
        await Promise.allSettled(this.services.map((s) => s.close()));
        await this.store.close();
      })();
    }
    return this.stopping;
  }
}
