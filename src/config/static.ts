// tidings.toml: static settings (hostname, data directory, limits, delays, listeners).
// A restart applies changes.
import { isIP } from 'node:net';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, ProblemList } from './errors.js';
import { normalizeDomain } from './names.js';
import {
  domainName,
  duration,
  filePath,
  nonNegativeInt,
  port,
  positiveInt,
  size,
  tiers,
} from './fields.js';
import { addIssues, problemText, schemaKeys } from './issues.js';
import { parseToml, readConfigText } from './toml.js';

type Tiers = [number, number, number];

const KiB = 1024;
const MiB = 1024 * KiB;

/** An IPv4 or IPv6 address in canonical text form; undefined for anything else. */
function canonicalIP(v: string): string | undefined {
  const family = isIP(v);
  if (family === 0) return undefined;
  return family === 4 ? v : new URL(`http://[${v}]/`).hostname.slice(1, -1);
}

/** An IPv4 or IPv6 address in canonical text form. */
const ipAddress = z.string().transform((v, ctx): string => {
  const ip = canonicalIP(v);
  if (ip === undefined) {
    ctx.addIssue({ code: 'custom', message: `invalid IP address ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ip;
});

/**
 * A host to connect to: an IP address (canonical form), or a domain name (lower-case
 * ASCII) that is looked up when connecting.
 */
const hostOrIP = z.string().transform((v, ctx): string => {
  const ip = canonicalIP(v);
  if (ip !== undefined) return ip;
  const r = normalizeDomain(v);
  if ('problem' in r) {
    ctx.addIssue({ code: 'custom', message: `expected a host name or IP address: ${r.problem}` });
    return z.NEVER;
  }
  return r.domain;
});

const certKey = z.strictObject({ cert_file: filePath, key_file: filePath });
export type CertKeyPair = z.output<typeof certKey>;

/** `cert_file` + `key_file`, and/or `keys = [{cert_file, key_file}, ...]`, normalised to `keys`. */
const tls = z
  .strictObject({
    cert_file: filePath.optional(),
    key_file: filePath.optional(),
    keys: z.array(certKey).min(1).optional(),
  })
  .transform((v, ctx): { keys: CertKeyPair[] } => {
    const keys = [...(v.keys ?? [])];
    if (v.cert_file !== undefined && v.key_file !== undefined) {
      keys.unshift({ cert_file: v.cert_file, key_file: v.key_file });
    } else if (v.cert_file !== undefined || v.key_file !== undefined) {
      const missing = v.cert_file === undefined ? 'cert_file' : 'key_file';
      const present = v.cert_file === undefined ? 'key_file' : 'cert_file';
      ctx.addIssue({ code: 'custom', path: [missing], message: `required when ${present} is set` });
      return z.NEVER;
    }
    if (keys.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs cert_file and key_file, or keys' });
      return z.NEVER;
    }
    return { keys };
  });

/** The SASL mechanisms a listener can enable (the server's whole set). */
export const SASL_MECHANISM_NAMES = [
  'SCRAM-SHA-256-PLUS',
  'SCRAM-SHA-256',
  'SCRAM-SHA-1-PLUS',
  'SCRAM-SHA-1',
  'CRAM-MD5',
  'PLAIN',
  'LOGIN',
  'EXTERNAL',
] as const;

/**
 * The mechanisms a login listener announces and accepts; absent means all. Some clients
 * pick a -PLUS mechanism they cannot complete; leaving those out helps them.
 */
const authMechanisms = z
  .array(
    z
      .string()
      .transform((v) => v.toUpperCase())
      .pipe(z.enum(SASL_MECHANISM_NAMES)),
  )
  .min(1)
  .optional();

function service(defaultPort: number) {
  return { enabled: z.boolean().default(false), port: port.default(defaultPort) };
}

const listener = z.strictObject({
  ips: z
    .array(ipAddress)
    .min(1)
    .default(() => ['0.0.0.0', '::']),
  hostname: domainName.optional(),
  tls: tls.optional(),
  smtp: z
    .strictObject({
      ...service(25),
      require_starttls: z.boolean().default(false),
      no_require_tls: z.boolean().default(false),
      first_time_sender_delay: duration.optional(),
      dnsbls: z.array(domainName).default(() => []),
    })
    .prefault({}),
  submission: z
    .strictObject({
      ...service(587),
      no_require_starttls: z.boolean().default(false),
      auth_mechanisms: authMechanisms,
    })
    .prefault({}),
  submissions: z.strictObject({ ...service(465), auth_mechanisms: authMechanisms }).prefault({}),
  imap: z
    .strictObject({
      ...service(143),
      no_require_starttls: z.boolean().default(false),
      auth_mechanisms: authMechanisms,
    })
    .prefault({}),
  imaps: z.strictObject({ ...service(993), auth_mechanisms: authMechanisms }).prefault({}),
  http: z.strictObject(service(80)).prefault({}),
  metrics: z.strictObject(service(8010)).prefault({}),
});

const imapLimits = z.strictObject({
  // Our limits, as RFC 9051 sets none: lines of 64 KiB, more than the 8192 octets RFC
  // 7162 §4 asks servers to accept and room for an ID command at RFC 2971 §3.3's maxima
  // (30 fields with values of 1024 octets: about 32 KiB, quoted); literals of 100 KiB each, 1000 KiB and 1000 per command, so a
  // client cannot make us buffer without bound (APPEND's messages are bounded by quota).
  max_line_length: z
    .number()
    .int()
    .min(1024)
    .default(64 * KiB),
  max_literal_size: size.default(100 * KiB),
  max_literal_total: size.default(1000 * KiB),
  max_literals: positiveInt.default(1000),
  max_connections: tiers.default(() => [30, 90, 270] as Tiers),
  connection_rate_per_minute: tiers.default(() => [300, 900, 2700] as Tiers),
});

const smtpLimits = z.strictObject({
  // RFC 5321 §4.5.3.1.4: 512-octet command lines, which extensions may raise; we take
  // 2048 so MAIL and RCPT parameters fit, and close the connection after a longer one
  max_line_length: z.number().int().min(512).default(2048),
  // RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted
  max_recipients: z.number().int().min(100).default(1000),
  max_received_headers: positiveInt.default(100),
  max_bad_transactions: positiveInt.default(10),
  max_connections: tiers.default(() => [30, 90, 270] as Tiers),
  connection_rate_per_minute: tiers.default(() => [300, 900, 2700] as Tiers),
});

const limits = z.strictObject({
  max_message_size: size.pipe(z.number().min(1)).default(100 * MiB),
  default_quota: size.default(0),
  default_quota_messages: nonNegativeInt.default(0),
  max_outgoing_messages_per_day: positiveInt.default(1000),
  max_first_time_recipients_per_day: positiveInt.default(200),
  failed_auth_per_minute: tiers.default(() => [10, 30, 90] as Tiers),
  failed_auth_per_day: tiers.default(() => [50, 150, 450] as Tiers),
  imap: imapLimits.prefault({}),
  smtp: smtpLimits.prefault({}),
});

const delays = z.strictObject({
  first_time_sender: duration.default(15_000),
  auth_fail: duration.default(1000),
  bad_client: duration.default(1000),
  // Before rejecting a message whose recipients are all unknown: guessing addresses
  // becomes slow (our policy; RFC 5321 leaves the timing to the server)
  unknown_recipients: duration.default(5000),
});

export const logLevels = [
  'error',
  'warn',
  'info',
  'debug',
  'trace',
  'traceauth',
  'tracedata',
] as const;

// A smarthost: the queue hands messages to it instead of the recipients' MX hosts.
const transport = z.strictObject({
  // A name is looked up as the system does (hosts file, then DNS); an IP address is used
  // as it is, and a verified certificate must then name that address.
  host: hostOrIP,
  // Default: 465 with tls "implicit", 587 with "starttls", 25 otherwise.
  port: port.optional(),
  // "starttls": STARTTLS required (submission, RFC 6409); "implicit": TLS from the first
  // byte (RFC 8314 §3.3); "opportunistic": STARTTLS when offered; "none": plaintext.
  tls: z.enum(['starttls', 'implicit', 'opportunistic', 'none']).default('starttls'),
  // Verify the host's certificate (WebPKI, or ca_file).
  verify_certificate: z.boolean().default(true),
  ca_file: filePath.optional(),
  username: z.string().min(1).optional(),
  password_file: filePath.optional(),
});

const route = z.strictObject({
  // Empty lists match everything; a route applies when every non-empty list matches.
  from_domains: z.array(domainName).default(() => []),
  to_domains: z.array(domainName).default(() => []),
  accounts: z.array(z.string()).default(() => []),
  // A name from [transports], or "direct" for MX delivery.
  transport: z.string(),
});

const queue = z.strictObject({
  // Delivery attempts in progress at once, and connections per destination host.
  max_concurrent: positiveInt.default(20),
  max_per_host: positiveInt.default(5),
  // RFC 5321 §4.5.4.1: retry after at least 30 minutes is suggested; 7.5 minutes doubling.
  retry_base: duration.default(7.5 * 60_000),
  give_up_after: duration.default(5 * 24 * 3600_000),
  delay_dsn_after: duration.default(4 * 3600_000),
  // Fetch MTA-STS policies and enforce them (RFC 8461).
  mta_sts: z.boolean().default(true),
});

/** A name server: an IP address, optionally with a port ("192.0.2.53:5353", "[::1]:53"). */
const nameServer = z.string().refine(
  (v) => {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(v) ?? /^([^:]+)(?::(\d+))?$/.exec(v);
    const ip = m ? m[1]! : v;
    const portText = m?.[2];
    if (portText !== undefined && !(Number(portText) >= 1 && Number(portText) <= 65535))
      return false;
    return isIP(m ? ip : v) !== 0;
  },
  {
    message:
      'expected an IP address, optionally with a port: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53"',
  },
);

// The DNS servers for every lookup: MX, SPF, DKIM, DMARC, MTA-STS, blocklists.
const dns = z.strictObject({
  // Empty: the system's (/etc/resolv.conf). A local validating resolver gives DNSSEC.
  servers: z.array(nameServer).default(() => []),
  // Per try; each server is tried this often.
  timeout: duration.default(5000),
  tries: positiveInt.default(3),
  // "stub": our own resolver, which sees the AD bit (DNSSEC); "system": node:dns, which
  // cannot.
  resolver: z.enum(['stub', 'system']).default('stub'),
  // Believe the AD bit from non-loopback servers too (RFC 4035 §4.9.3: only over a
  // protected path).
  trust_ad: z.boolean().default(false),
});

// Verification of incoming mail (port 25).
const incoming = z.strictObject({
  // ARC sealers whose valid chain overrides a DMARC failure, for every account.
  trusted_arc_sealers: z.array(domainName).default(() => []),
  // Each verification's limit (a DNS server that never answers gives a temperror).
  verify_timeout: duration.default(60_000),
});

// Reports this server sends to other domains.
const reports = z.strictObject({
  outgoing_dmarc: z.boolean().default(true),
  outgoing_tls: z.boolean().default(true),
  // Received DMARC and TLS reports are removed this many days after they arrived.
  keep_received_days: positiveInt.default(365),
});

const staticSchema = z.strictObject({
  hostname: domainName,
  data_dir: filePath.default('../data'),
  log_level: z.enum(logLevels).default('info'),
  limits: limits.prefault({}),
  delays: delays.prefault({}),
  listeners: z.record(z.string(), listener),
  queue: queue.prefault({}),
  incoming: incoming.prefault({}),
  reports: reports.prefault({}),
  dns: dns.prefault({}),
  transports: z.record(z.string(), transport).default(() => ({})),
  routes: z.array(route).default(() => []),
});

/** Every key name in tidings.toml. */
export const staticKeys = schemaKeys(staticSchema);

type RawStatic = z.output<typeof staticSchema>;
type RawListener = z.output<typeof listener>;

export type LogLevel = (typeof logLevels)[number];
export type Limits = RawStatic['limits'];
export type Delays = RawStatic['delays'];
export type QueueConfig = RawStatic['queue'];
export type TransportConfig = RawStatic['transports'][string] & { port: number };
export type RouteConfig = RawStatic['routes'][number];
export type ListenerConfig = Omit<RawListener, 'smtp'> & {
  smtp: RawListener['smtp'] & { first_time_sender_delay: number };
};
/** tidings.toml after validation: defaults filled in, paths absolute, durations in ms. */
export type StaticConfig = Omit<RawStatic, 'listeners' | 'transports'> & {
  listeners: Record<string, ListenerConfig>;
  transports: Record<string, TransportConfig>;
};

export const serviceNames = [
  'smtp',
  'submission',
  'submissions',
  'imap',
  'imaps',
  'http',
  'metrics',
] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Whether a service on this listener needs a certificate. */
function needsTls(l: RawListener, s: ServiceName): boolean {
  switch (s) {
    case 'submissions':
    case 'imaps':
      return true;
    case 'submission':
    case 'imap':
      return !l[s].no_require_starttls;
    case 'smtp':
      return l.smtp.require_starttls;
    default:
      return false;
  }
}

const listenerName = /^[A-Za-z0-9_-]{1,64}$/;

function checkListener(name: string, l: RawListener, problems: ProblemList): void {
  if (!listenerName.test(name)) {
    problems.add(['listeners', name], 'listener names use letters, digits, "-" and "_"');
  }
  const seenIps = new Set<string>();
  l.ips.forEach((ip, i) => {
    if (seenIps.has(ip)) problems.add(['listeners', name, 'ips', i], `duplicate IP ${ip}`);
    seenIps.add(ip);
  });
  for (const s of serviceNames) {
    if (l[s].enabled && needsTls(l, s) && !l.tls) {
      const why = s === 'submission' || s === 'imap' ? ' (or set no_require_starttls)' : '';
      problems.add(
        ['listeners', name, s],
        `requires TLS but the listener has no [listeners.${name}.tls] table${why}`,
      );
    }
  }
}

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

/** Two enabled services must not bind the same address and port (a wildcard covers its family). */
function checkPortClashes(cfg: RawStatic, problems: ProblemList): void {
  const bound: { ip: string; port: number; where: string }[] = [];
  for (const [name, l] of Object.entries(cfg.listeners)) {
    for (const s of serviceNames) {
      if (!l[s].enabled) continue;
      const p = l[s].port;
      if (p === 0) continue; // each bind of port 0 gets its own free port
      for (const ip of l.ips) {
        const clash = bound.find(
          (b) =>
            b.port === p &&
            (b.ip === ip || (isIP(b.ip) === isIP(ip) && (isWildcard(b.ip) || isWildcard(ip)))),
        );
        if (clash) {
          problems.add(
            ['listeners', name, s, 'port'],
            `port ${p} on ${ip} is also used by ${clash.where} on ${clash.ip}`,
          );
          break;
        }
        bound.push({ ip, port: p, where: `listeners.${name}.${s}` });
      }
    }
  }
}

function checkStatic(cfg: RawStatic, problems: ProblemList): void {
  const names = Object.keys(cfg.listeners);
  if (names.length === 0) problems.add(['listeners'], 'at least one listener is required');
  for (const name of names) checkListener(name, cfg.listeners[name] as RawListener, problems);
  checkPortClashes(cfg, problems);
  const imap = cfg.limits.imap;
  if (imap.max_literal_size > imap.max_literal_total) {
    problems.add(['limits', 'imap', 'max_literal_size'], 'must not exceed max_literal_total');
  }
  checkTransports(cfg, problems);
  checkDns(cfg, problems);
}

function checkDns(cfg: RawStatic, problems: ProblemList): void {
  if (!cfg.dns.trust_ad) return;
  if (cfg.dns.resolver === 'system') {
    problems.add(
      ['dns', 'trust_ad'],
      'needs resolver = "stub": the system resolver cannot see the AD bit',
    );
  } else if (cfg.dns.servers.length === 0) {
    // Trusting whatever /etc/resolv.conf names (a DHCP-assigned resolver, say) would let
    // anyone on the path forge authenticated answers.
    problems.add(['dns', 'trust_ad'], 'needs servers: list the resolvers whose AD bit to trust');
  }
}

function checkTransports(cfg: RawStatic, problems: ProblemList): void {
  for (const [name, t] of Object.entries(cfg.transports)) {
    if (!listenerName.test(name) || name === 'direct') {
      problems.add(
        ['transports', name],
        'transport names use letters, digits, "-" and "_"; "direct" is reserved',
      );
    }
    if ((t.username === undefined) !== (t.password_file === undefined)) {
      problems.add(['transports', name], 'username and password_file go together');
    }
    if (t.username !== undefined && t.tls === 'none') {
      problems.add(
        ['transports', name, 'tls'],
        'authentication needs TLS; "none" would send the password in plaintext',
      );
    }
  }
  cfg.routes.forEach((r, i) => {
    if (r.transport !== 'direct' && !(r.transport in cfg.transports)) {
      problems.add(['routes', i, 'transport'], `unknown transport ${JSON.stringify(r.transport)}`);
    }
  });
}

function defaultPort(tls: RawStatic['transports'][string]['tls']): number {
  return tls === 'implicit' ? 465 : tls === 'starttls' ? 587 : 25;
}

function finish(cfg: RawStatic, dir: string): StaticConfig {
  const listeners: Record<string, ListenerConfig> = {};
  for (const [name, l] of Object.entries(cfg.listeners)) {
    const smtp = {
      ...l.smtp,
      first_time_sender_delay: l.smtp.first_time_sender_delay ?? cfg.delays.first_time_sender,
    };
    const out: ListenerConfig = { ...l, smtp };
    if (l.tls) {
      out.tls = {
        keys: l.tls.keys.map((k) => ({
          cert_file: resolve(dir, k.cert_file),
          key_file: resolve(dir, k.key_file),
        })),
      };
    }
    listeners[name] = out;
  }
  const transports: Record<string, TransportConfig> = {};
  for (const [name, t] of Object.entries(cfg.transports)) {
    transports[name] = {
      ...t,
      port: t.port ?? defaultPort(t.tls),
      ...(t.ca_file !== undefined ? { ca_file: resolve(dir, t.ca_file) } : {}),
      ...(t.password_file !== undefined ? { password_file: resolve(dir, t.password_file) } : {}),
    };
  }
  return { ...cfg, data_dir: resolve(dir, cfg.data_dir), listeners, transports };
}

/**
 * Validates tidings.toml text. `file` names the file in errors; relative paths resolve
 * against its directory. Throws ConfigError listing every problem.
 */
export function parseStaticConfig(text: string, file: string): StaticConfig {
  const data = parseToml(file, text);
  const problems = new ProblemList();
  const r = staticSchema.safeParse(data, { error: problemText });
  if (!r.success) {
    addIssues(problems, r.error, staticSchema);
    throw new ConfigError(file, problems.items);
  }
  checkStatic(r.data, problems);
  problems.throwIfAny(file);
  return finish(r.data, dirname(resolve(file)));
}

/** Reads and validates tidings.toml. Never writes anything. */
export function loadStaticConfig(path: string): StaticConfig {
  return parseStaticConfig(readConfigText(path), path);
}
