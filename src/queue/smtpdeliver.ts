// Remote delivery over SMTP: route choice, MX lookup (RFC 5321 §5.1, null MX RFC 7505),
// MTA-STS (RFC 8461), REQUIRETLS (RFC 8689), opportunistic STARTTLS with plaintext
// fallback, smarthosts with AUTH, and per-host connection limits.
import { readFile } from 'node:fs/promises';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import {
  DNSError,
  isTemporary,
  lookupIPs,
  lookupMXTargets,
  lookupSystemHost,
  type MXTarget,
  type Resolver,
} from '../dns/index.js';
import type { Logger } from '../log/index.js';
import { matchesMX, type MtaStsLookup, type MtaStsPolicy } from '../msgauth/index.js';
import {
  SmtpClient,
  SmtpClientError,
  type ClientOptions,
  type DeliveryResult,
  type Envelope,
  type TLSMode,
} from '../smtpclient/index.js';
import { HostLimiter } from './hostlimit.js';
import { deliveryMetrics } from './metrics.js';
import { routeFor, routeKey, type Route, type RoutingConfig } from './routing.js';
import type { DeliveryOutcome, Path, QueueMessage, RemoteDeliverer } from './types.js';
import {
  recordTLS,
  reportPolicy,
  sessionFailure,
  type TLSReportScope,
  type TLSResultSink,
} from './tlsresults.js';

export interface MtaStsSource {
  lookup(domain: string): Promise<MtaStsLookup>;
}

export type SmtpDelivererOptions = {
  /** Our name in EHLO. */
  hostname: string;
  resolver: Resolver;
  log: Logger;
  /** Routes and transports; called per delivery so a reload is seen. */
  routing: () => RoutingConfig;
  /** null: MTA-STS is not used. */
  mtaSts: MtaStsSource | null;
  /** Connections at once per destination host; default 5. */
  maxPerHost?: number;
  /** Port of MX hosts; 25 except in tests. */
  mxPort?: number;
  /** Trust anchors for verified TLS to MX hosts (tests); default the system's. */
  tlsCA?: string | Buffer | Array<string | Buffer>;
  connectTimeoutMs?: number;
  clientTimeouts?: ClientOptions['timeouts'];
  /**
   * Addresses of a smarthost given by name; default the system's lookup (hosts file,
   * then DNS). An IP address is used as it is, without lookup.
   */
  lookupHost?: (host: string) => Promise<{ v6: string[]; v4: string[] }>;
  /** Where the TLS results of MX deliveries go, for TLS reports (RFC 8460); none: not kept. */
  tlsResults?: TLSResultSink;
  /** Opens a TCP connection (tests may redirect); default net.connect. */
  connect?: (ip: string, port: number, timeoutMs: number) => Promise<Socket>;
};

/** Outcome of trying one host with one set of messages. */
type HostTry =
  { kind: 'done'; outcomes: DeliveryOutcome[] } | { kind: 'next'; outcome: DeliveryOutcome };

/** A session's TLS: established or not (undefined: no session), and why it failed. */
type SessionTLS = { tls?: boolean; tlsError?: SmtpClientError };

/** How a host's addresses are found. */
type AddressLookup = (host: string) => Promise<{ v6: string[]; v4: string[] }>;

/** How TLS is demanded for a domain's hosts. */
type TLSPlan = {
  mode: TLSMode;
  /** MTA-STS policy in force (enforce, or testing); hosts must match it in enforce. */
  policy: MtaStsPolicy | null;
  enforce: boolean;
};

function outcome(
  ok: boolean,
  permanent: boolean,
  code: number,
  secode: string,
  error: string,
  host: string,
): DeliveryOutcome {
  return { ok, permanent, code, secode, error, host };
}

function failAll(n: number, o: DeliveryOutcome): DeliveryOutcome[] {
  return Array.from({ length: n }, () => o);
}

export class SmtpDeliverer implements RemoteDeliverer {
  private readonly limiter: HostLimiter;
  private readonly log: Logger;

  constructor(private readonly opts: SmtpDelivererOptions) {
    this.limiter = new HostLimiter(opts.maxPerHost ?? 5);
    this.log = opts.log.child({ pkg: 'smtpdeliver' });
  }

  /**
   * Messages share file, sender, prefix and account. They are split by route and, for
   * direct delivery, by recipient domain; domains with the same MX hosts and TLS needs
   * share one transaction.
   */
  async deliver(msgs: QueueMessage[], data: () => Readable): Promise<DeliveryOutcome[]> {
    const out: DeliveryOutcome[] = new Array<DeliveryOutcome>(msgs.length);
    const routing = this.opts.routing();
    const byRoute = new Map<string, { route: Route; idx: number[] }>();
    msgs.forEach((m, i) => {
      const route = routeFor(routing, m);
      const key = routeKey(route);
      const g = byRoute.get(key) ?? { route, idx: [] };
      g.idx.push(i);
      byRoute.set(key, g);
    });
    for (const { route, idx } of byRoute.values()) {
      const part = idx.map((i) => msgs[i] as QueueMessage);
      const res =
        route.kind === 'direct'
          ? await this.deliverDirect(part, data)
          : await this.deliverSmarthost(route, part, data);
      idx.forEach((i, j) => (out[i] = res[j] as DeliveryOutcome));
    }
    return out;
  }

  // ---- direct delivery ----

  private async deliverDirect(
    msgs: QueueMessage[],
    data: () => Readable,
  ): Promise<DeliveryOutcome[]> {
    const out: DeliveryOutcome[] = new Array<DeliveryOutcome>(msgs.length);
    // Plan each domain, then join domains with the same hosts and TLS plan.
    const domains = new Map<string, number[]>();
    msgs.forEach((m, i) => {
      const d = m.recipient.domain.toLowerCase();
      domains.set(d, [...(domains.get(d) ?? []), i]);
    });
    const joined = new Map<string, { hosts: MXTarget[]; tls: TLSPlan; idx: number[] }>();
    const optional = msgs.every((m) => m.isReport === true);
    for (const [domain, idx] of domains) {
      const first = msgs[idx[0] as number] as QueueMessage;
      const plan = await this.planDomain(domain, first.requireTLS, optional);
      if ('error' in plan) {
        for (const i of idx) out[i] = plan.error;
        continue;
      }
      const key = JSON.stringify([plan.hosts.map((h) => h.host), plan.tls]);
      const g = joined.get(key);
      if (g) g.idx.push(...idx);
      else joined.set(key, { ...plan, idx: [...idx] });
    }
    for (const g of joined.values()) {
      const part = g.idx.map((i) => msgs[i] as QueueMessage);
      const sink = this.opts.tlsResults;
      const scope: TLSReportScope | null = sink
        ? {
            domains: [...new Set(part.map((m) => m.recipient.domain.toLowerCase()))],
            policy: reportPolicy(g.tls.policy),
            optional,
            sink,
          }
        : null;
      const res = await this.tryHosts(g.hosts, g.tls, part, data, scope);
      g.idx.forEach((i, j) => (out[i] = res[j] as DeliveryOutcome));
    }
    return out;
  }

  /** MX hosts and TLS plan of a domain, or the outcome for all its recipients. */
  private async planDomain(
    domain: string,
    requireTLS: boolean | null,
    optional: boolean,
  ): Promise<{ hosts: MXTarget[]; tls: TLSPlan } | { error: DeliveryOutcome }> {
    let mx;
    try {
      mx = await lookupMXTargets(this.opts.resolver, domain);
    } catch (e) {
      const temp = !(e instanceof DNSError) || isTemporary(e);
      const why = `looking up MX of ${domain}: ${(e as Error).message}`;
      return { error: outcome(false, !temp, 0, temp ? '4.4.3' : '5.1.2', why, '') };
    }
    if (mx.kind === 'nullmx') {
      // RFC 7505 §4.2: 556 5.1.10
      const why = `domain ${domain} does not accept mail (null MX)`;
      return { error: outcome(false, true, 0, '5.1.10', why, '') };
    }
    if (mx.kind === 'nomail') {
      const why = `domain ${domain} has no MX and no address`;
      return { error: outcome(false, true, 0, '5.1.2', why, '') };
    }
    const tls = await this.tlsPlan(domain, requireTLS, optional);
    if ('error' in tls) return tls;
    let hosts = mx.hosts;
    if (tls.policy && tls.enforce) {
      const policy = tls.policy;
      hosts = hosts.filter((h) => matchesMX(policy, h.host));
      if (hosts.length === 0) {
        // RFC 8461 §4.2: no MX host matches the policy: a temporary failure.
        const why = `no MX host of ${domain} matches its MTA-STS policy (${policy.mx.join(', ')})`;
        deliveryMetrics.mtaSts.inc({ result: 'mx-mismatch' });
        const sink = this.opts.tlsResults;
        const scope = sink
          ? { domains: [domain], policy: reportPolicy(policy), optional, sink }
          : null;
        recordTLS(scope, {
          resultType: 'validation-failure',
          sendingMtaIp: '',
          receivingMxHostname: mx.hosts[0]?.host ?? '',
          receivingIp: '',
          failureReasonCode: 'mx-not-in-policy',
        });
        return { error: outcome(false, false, 0, '4.7.5', why, '') };
      }
    } else if (tls.policy) {
      const policy = tls.policy;
      const strays = mx.hosts.filter((h) => !matchesMX(policy, h.host)).map((h) => h.host);
      if (strays.length > 0) {
        // RFC 8461 §5: testing mode only reports.
        this.log.warn({ domain, hosts: strays }, 'MTA-STS testing: MX hosts outside the policy');
        deliveryMetrics.mtaSts.inc({ result: 'testing-mx-mismatch' });
      }
    }
    return { hosts, tls };
  }

  /**
   * RFC 8461 §5: "enforce" demands verified TLS to a listed MX host; "testing" reports.
   * RFC 8689 §4.2.1: REQUIRETLS needs MX hosts authenticated (MTA-STS here; a testing
   * policy counts as enforce) and verified TLS. "TLS-Required: No" (RFC 8689 §5) skips
   * MTA-STS and allows plaintext.
   */
  private async tlsPlan(
    domain: string,
    requireTLS: boolean | null,
    optional: boolean,
  ): Promise<TLSPlan | { error: DeliveryOutcome }> {
    if (requireTLS === false || !this.opts.mtaSts) {
      if (requireTLS === true) return noAuthenticatedMX(domain);
      return { mode: 'opportunistic', policy: null, enforce: false };
    }
    const r = await this.opts.mtaSts.lookup(domain);
    if (r.error) this.log.debug({ domain, error: r.error }, 'MTA-STS lookup');
    const sink = this.opts.tlsResults;
    if (r.failure && sink) {
      const policy = { type: 'sts' as const, strings: [], mxHosts: [] };
      recordTLS(
        { domains: [domain], policy, optional, sink },
        {
          resultType: r.failure,
          sendingMtaIp: '',
          receivingMxHostname: '',
          receivingIp: '',
          failureReasonCode: '',
        },
      );
    }
    const policy = r.policy && r.policy.mode !== 'none' ? r.policy : null;
    if (requireTLS === true) {
      if (!policy) return noAuthenticatedMX(domain);
      return { mode: 'verified', policy, enforce: true };
    }
    if (!policy) return { mode: 'opportunistic', policy: null, enforce: false };
    if (policy.mode === 'enforce') return { mode: 'verified', policy, enforce: true };
    return { mode: 'opportunistic', policy, enforce: false };
  }

  /** Hosts in order; the first that takes the transaction decides. */
  private async tryHosts(
    hosts: MXTarget[],
    tls: TLSPlan,
    msgs: QueueMessage[],
    data: () => Readable,
    scope: TLSReportScope | null,
  ): Promise<DeliveryOutcome[]> {
    let last = outcome(false, false, 0, '4.4.1', 'no MX host could be reached', '');
    let allPermanent = true;
    // MX hosts are found in DNS only: the hosts file of this machine has no say.
    const lookup: AddressLookup = (host) => lookupIPs(this.opts.resolver, host);
    for (const h of hosts) {
      const copts: Omit<ClientOptions, 'socket'> = {
        ehloHostname: this.opts.hostname,
        tlsMode: tls.mode,
        tlsServername: h.host,
        ...(this.opts.tlsCA !== undefined ? { tlsCA: this.opts.tlsCA } : {}),
        ...(this.opts.clientTimeouts ? { timeouts: this.opts.clientTimeouts } : {}),
      };
      const port = this.opts.mxPort ?? 25;
      const r = await this.tryHost(h.host, port, lookup, copts, msgs, data, tls.enforce, scope);
      if (r.kind === 'done') return r.outcomes;
      last = r.outcome;
      allPermanent &&= r.outcome.permanent;
    }
    // A permanent refusal by one host while another was unreachable is retried.
    return failAll(msgs.length, { ...last, permanent: allPermanent && last.permanent });
  }

  /** One host (MX or smarthost): its addresses in turn, within its connection limit. */
  private async tryHost(
    host: string,
    port: number,
    lookup: AddressLookup,
    copts: Omit<ClientOptions, 'socket'>,
    msgs: QueueMessage[],
    data: () => Readable,
    enforce = false,
    scope: TLSReportScope | null = null,
  ): Promise<HostTry> {
    let ips: string[];
    try {
      const a = await lookup(host);
      ips = interleave(a.v6, a.v4);
    } catch (e) {
      const why = `looking up address of ${host}: ${(e as Error).message}`;
      return { kind: 'next', outcome: outcome(false, false, 0, '4.4.3', why, host) };
    }
    const release = await this.limiter.acquire(host);
    try {
      let last: DeliveryOutcome = outcome(false, false, 0, '4.4.1', 'no address', host);
      for (const ip of ips) {
        const r = await this.tryAddress(host, ip, port, copts, msgs, data, enforce, scope);
        if (r.kind === 'done') return r;
        last = r.outcome;
      }
      return { kind: 'next', outcome: last };
    } finally {
      release();
    }
  }

  private async tryAddress(
    host: string,
    ip: string,
    port: number,
    copts: Omit<ClientOptions, 'socket'>,
    msgs: QueueMessage[],
    data: () => Readable,
    enforce: boolean,
    scope: TLSReportScope | null,
  ): Promise<HostTry> {
    let r = await this.session(ip, port, host, copts, msgs, data);
    // RFC 8460 §4.3: each session that tried TLS, as it went (not the plaintext retry).
    if (r.tlsError) recordTLS(scope, sessionFailure(r.tlsError, host, ip));
    else if (r.tls === true) recordTLS(scope, null);
    else if (r.tls === false && copts.tlsMode !== 'none') {
      recordTLS(scope, {
        resultType: 'starttls-not-supported',
        sendingMtaIp: '',
        receivingMxHostname: host,
        receivingIp: ip,
        failureReasonCode: '',
      });
    }
    if (r.kind === 'next' && r.tlsFailure && copts.tlsMode === 'opportunistic') {
      // RFC 7435 §3: opportunistic security falls back to plaintext.
      this.log.info({ host, ip, error: r.outcome.error }, 'STARTTLS failed, retrying without TLS');
      deliveryMetrics.tlsFallback.inc();
      r = await this.session(ip, port, host, { ...copts, tlsMode: 'none' }, msgs, data);
    }
    if (r.kind === 'next' && r.tlsFailure && enforce) {
      deliveryMetrics.mtaSts.inc({ result: 'tls-failure' });
      // RFC 8461 §5: a host failing the policy (no STARTTLS) is skipped and the message
      // waits for a retry. With REQUIRETLS the failure is final: RFC 8689 §5, 5.7.30.
      if (r.outcome.permanent) {
        const o = r.outcome;
        const requireTLS = msgs[0]?.requireTLS === true;
        r = { ...r, outcome: requireTLS ? { ...o, secode: '5.7.30' } : { ...o, permanent: false } };
      }
    }
    return r;
  }

  // ---- smarthost ----

  private async deliverSmarthost(
    route: Extract<Route, { kind: 'smarthost' }>,
    msgs: QueueMessage[],
    data: () => Readable,
  ): Promise<DeliveryOutcome[]> {
    const t = route.transport;
    const verified = t.verify_certificate && t.tls !== 'none' && t.tls !== 'opportunistic';
    if (msgs.some((m) => m.requireTLS === true) && !verified) {
      const why = `REQUIRETLS needs verified TLS, which transport ${route.name} does not use`;
      return failAll(msgs.length, outcome(false, true, 0, '5.7.30', why, t.host));
    }
    let password = '';
    if (t.password_file !== undefined) {
      try {
        password = (await readFile(t.password_file, 'utf8')).split(/\r?\n/)[0] ?? '';
      } catch (e) {
        const why = `transport ${route.name}: reading ${t.password_file}: ${(e as Error).message}`;
        return failAll(msgs.length, outcome(false, false, 0, '4.3.5', why, t.host));
      }
    }
    let ca: Buffer | undefined;
    if (t.ca_file !== undefined) {
      try {
        ca = await readFile(t.ca_file);
      } catch (e) {
        const why = `transport ${route.name}: reading ${t.ca_file}: ${(e as Error).message}`;
        return failAll(msgs.length, outcome(false, false, 0, '4.3.5', why, t.host));
      }
    }
    const mode: TLSMode =
      t.tls === 'none'
        ? 'none'
        : t.tls === 'opportunistic'
          ? 'opportunistic'
          : t.verify_certificate
            ? 'verified'
            : 'required';
    const copts: Omit<ClientOptions, 'socket'> = {
      ehloHostname: this.opts.hostname,
      tlsMode: t.tls === 'implicit' && !t.verify_certificate ? 'required' : mode,
      implicitTLS: t.tls === 'implicit',
      tlsServername: t.host,
      ...(ca ? { tlsCA: ca } : {}),
      ...(t.username !== undefined ? { auth: { username: t.username, password } } : {}),
      ...(this.opts.clientTimeouts ? { timeouts: this.opts.clientTimeouts } : {}),
    };
    const r = await this.tryHost(t.host, t.port, this.smarthostLookup, copts, msgs, data);
    return r.kind === 'done' ? r.outcomes : failAll(msgs.length, r.outcome);
  }

  /**
   * A smarthost's addresses: an IP address as written; a name as the system resolves it,
   * so "localhost" and names in the hosts file work.
   */
  private readonly smarthostLookup: AddressLookup = async (host) => {
    const family = isIP(host);
    if (family === 4) return { v6: [], v4: [host] };
    if (family === 6) return { v6: [host], v4: [] };
    return (this.opts.lookupHost ?? lookupSystemHost)(host);
  };

  // ---- one SMTP session ----

  private async session(
    ip: string,
    port: number,
    host: string,
    copts: Omit<ClientOptions, 'socket'>,
    msgs: QueueMessage[],
    data: () => Readable,
  ): Promise<HostTry & { tlsFailure?: boolean } & SessionTLS> {
    const started = Date.now();
    let socket: Socket;
    try {
      socket = await (this.opts.connect ?? dial)(ip, port, this.opts.connectTimeoutMs ?? 30_000);
    } catch (e) {
      const why = `connecting to ${host} (${ip} port ${port}): ${(e as Error).message}`;
      deliveryMetrics.connections.inc({ result: 'connect-error' });
      return { kind: 'next', outcome: outcome(false, false, 0, '4.4.1', why, host) };
    }
    let client: SmtpClient | null = null;
    try {
      client = await SmtpClient.connect({ ...copts, socket });
      const env = envelope(msgs);
      const res = await client.deliver(env, data);
      void client.quit().catch(() => undefined);
      deliveryMetrics.connections.inc({ result: 'ok' });
      deliveryMetrics.duration.observe((Date.now() - started) / 1000);
      return { ...this.fromResult(res, host, msgs), tls: client.tls !== null };
    } catch (e) {
      client?.close();
      socket.destroy();
      if (!(e instanceof SmtpClientError)) {
        if (e instanceof TypeError) {
          // A caller error (e.g. a non-ASCII address without SMTPUTF8): retrying cannot help.
          const o = outcome(false, true, 0, '5.6.7', e.message, host);
          return { kind: 'done', outcomes: failAll(msgs.length, o) };
        }
        throw e;
      }
      deliveryMetrics.connections.inc({ result: e.tlsFailure ? 'tls-error' : e.stage });
      const tlsState: SessionTLS = e.tlsFailure
        ? { tlsError: e }
        : client
          ? { tls: client.tls !== null }
          : {};
      // A refused login to a smarthost is a configuration problem to fix, not a reason
      // to return the message: it is retried.
      const permanent = e.permanent && e.stage !== 'auth';
      const o = outcome(false, permanent, e.code, e.secode, clientError(e, host), host);
      // Errors about the message itself end the attempt; others move on to the next host.
      if (e.permanent && (e.stage === 'mail' || e.stage === 'rcpt' || e.stage === 'data')) {
        return { kind: 'done', outcomes: failAll(msgs.length, o), ...tlsState };
      }
      return { kind: 'next', outcome: o, tlsFailure: e.tlsFailure, ...tlsState };
    }
  }

  /**
   * Per-recipient outcomes. A temporary refusal of the whole transaction (MAIL, or the
   * data reply for every recipient) lets the next host try (RFC 5321 §5.1).
   */
  private fromResult(res: DeliveryResult, host: string, msgs: QueueMessage[]): HostTry {
    const outs = res.recipients.map((r) => {
      // The host's own reply text: the code and host are kept beside it, and a DSN
      // shows "code text" with the host as Remote-MTA (RFC 3464 §2.3.5, §2.3.6). A
      // reply the client made up itself (e.g. REQUIRETLS impossible) is not the host's:
      // no reply code, so a DSN gives no Diagnostic-Code.
      const said = r.reply.local ? `${host}: ${r.reply.text}` : r.reply.text;
      const o = outcome(
        r.ok,
        !r.ok && r.permanent,
        r.reply.local ? 0 : r.reply.code,
        r.reply.secode,
        r.ok ? r.reply.text : said,
        host,
      );
      return r.ok && res.dsnPassedOn ? { ...o, dsnPassedOn: true } : o;
    });
    const mailTemp = res.mail.code >= 400 && res.mail.code < 500;
    const dataTemp = res.data !== null && res.data.code >= 400 && res.data.code < 500;
    if ((mailTemp || dataTemp) && outs.every((o) => !o.ok && !o.permanent)) {
      return { kind: 'next', outcome: outs[0] ?? outcome(false, false, 0, '', '', host) };
    }
    return { kind: 'done', outcomes: msgs.map((_, i) => outs[i] as DeliveryOutcome) };
  }
}

function noAuthenticatedMX(domain: string): { error: DeliveryOutcome } {
  // RFC 8689 §4.2.1: without DNSSEC or MTA-STS the MX hosts cannot be trusted.
  const why = `REQUIRETLS: the MX hosts of ${domain} cannot be authenticated (no MTA-STS policy)`;
  return { error: outcome(false, true, 0, '5.7.30', why, '') };
}

function clientError(e: SmtpClientError, host: string): string {
  return e.code > 0 ? `${e.remoteText} (in reply to ${e.stage})` : `${host}: ${e.message}`;
}

function envelope(msgs: QueueMessage[]): Envelope {
  const first = msgs[0] as QueueMessage;
  return {
    // The client quotes localparts where needed; it takes them unquoted.
    from: first.sender ? rawAddress(first.sender) : null,
    recipients: msgs.map((m) => ({
      address: rawAddress(m.recipient),
      ...(m.dsn?.notify !== undefined ? { notify: m.dsn.notify } : {}),
      ...(m.dsn?.orcpt !== undefined ? { orcpt: m.dsn.orcpt } : {}),
    })),
    size: first.size,
    has8bit: first.has8bit,
    smtputf8: first.smtputf8,
    requireTLS: first.requireTLS === true,
    ...(first.dsn?.ret !== undefined ? { ret: first.dsn.ret } : {}),
    ...(first.dsn?.envid !== undefined ? { envid: first.dsn.envid } : {}),
  };
}

function rawAddress(p: Path): string {
  return `${p.localpart}@${p.domain}`;
}

/** IPv6 and IPv4 addresses alternating, IPv6 first. */
function interleave(v6: string[], v4: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < Math.max(v6.length, v4.length); i++) {
    if (i < v6.length) out.push(v6[i] as string);
    if (i < v4.length) out.push(v4[i] as string);
  }
  return out;
}

function dial(ip: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // Commands are small writes awaiting replies: Nagle's delay would stall each one.
    const s = netConnect({ host: ip, port, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no connection within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      // Until the client takes the socket over, an error must not go unhandled.
      s.on('error', () => undefined);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
