// MTA-STS for outgoing delivery (RFC 8461): policy discovery, parsing, caching and MX
// matching. The policy is fetched over HTTPS with certificate verification, no redirects
// and a size limit.
import { request } from 'node:https';
import type { LookupAddress, LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { domainToASCII } from 'node:url';
import { isNotFound, type Resolver } from '../dns/types.js';
import type { Logger } from '../log/index.js';

export type MtaStsMode = 'enforce' | 'testing' | 'none';

/** A policy; `mx` patterns are lower-case without trailing dot; `id` is from the TXT record. */
export type MtaStsPolicy = {
  mode: MtaStsMode;
  mx: string[];
  maxAgeSeconds: number;
  id: string;
};

/** A policy file or TXT record is not valid. */
export class MtaStsPolicyError extends Error {
  override readonly name = 'MtaStsPolicyError';
}

/** A policy could not be fetched (transport, status, content type or size). */
export class MtaStsFetchError extends Error {
  override readonly name = 'MtaStsFetchError';
}

// RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year).
export const MAX_AGE_LIMIT = 31_557_600;
// RFC 8461 §3.3: a 64 KiB limit and a 60 second timeout are suggested.
export const MAX_POLICY_BYTES = 64 * 1024;
const FETCH_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_ENTRIES = 10_000;

const labelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// RFC 8461 §3.1 and §3.2: extension field names.
const fieldNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

/** Lower-case ASCII host name without trailing dot, or "" when invalid. */
function normalizeHost(name: string): string {
  const bare = name.endsWith('.') ? name.slice(0, -1) : name;
  const ascii = /^[\x00-\x7f]*$/.test(bare) ? bare.toLowerCase() : domainToASCII(bare);
  return ascii.split('.').every((l) => labelPattern.test(l)) ? ascii : '';
}

/** A valid mx pattern ("host.example" or "*.example") in normal form, else undefined. */
export function checkMxPattern(pattern: string): string | undefined {
  const wild = pattern.startsWith('*.');
  const host = normalizeHost(wild ? pattern.slice(2) : pattern);
  if (host === '') return undefined;
  return wild ? `*.${host}` : host;
}

function parsePolicyLines(text: string): { fields: Map<string, string>; mx: string[] } {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const raw of text.split('\n')) {
    const line = (raw.endsWith('\r') ? raw.slice(0, -1) : raw).replace(/[ \t]+$/, '');
    if (line === '') continue;
    const colon = line.indexOf(':');
    const key = colon < 0 ? '' : line.slice(0, colon);
    if (!fieldNamePattern.test(key)) {
      throw new MtaStsPolicyError(`invalid policy line ${JSON.stringify(line.slice(0, 80))}`);
    }
    const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
    if (key === 'mx') {
      const p = checkMxPattern(value);
      if (p === undefined) throw new MtaStsPolicyError(`invalid mx ${JSON.stringify(value)}`);
      if (!mx.includes(p)) mx.push(p);
    } else if (!fields.has(key)) {
      // RFC 8461 §3.2: of a duplicated field other than mx, the first is used.
      fields.set(key, value);
    }
  }
  return { fields, mx };
}

/**
 * Parses a policy file (RFC 8461 §3.2): CRLF or LF lines, "version: STSv1", a mode,
 * max_age 0-31557600, mx patterns (at least one unless mode is none); unknown fields are
 * ignored. Throws MtaStsPolicyError.
 */
export function parsePolicy(text: string, id = ''): MtaStsPolicy {
  const { fields, mx } = parsePolicyLines(text);
  const version = fields.get('version');
  if (version !== 'STSv1') {
    throw new MtaStsPolicyError(
      version === undefined ? 'missing version' : `unknown version ${JSON.stringify(version)}`,
    );
  }
  const mode = fields.get('mode');
  if (mode === undefined) throw new MtaStsPolicyError('missing mode');
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') {
    throw new MtaStsPolicyError(`invalid mode ${JSON.stringify(mode)}`);
  }
  const age = fields.get('max_age');
  if (age === undefined) throw new MtaStsPolicyError('missing max_age');
  if (!/^[0-9]{1,10}$/.test(age) || Number(age) > MAX_AGE_LIMIT) {
    throw new MtaStsPolicyError(`invalid max_age ${JSON.stringify(age)}: 0 to ${MAX_AGE_LIMIT}`);
  }
  if (mx.length === 0 && mode !== 'none') throw new MtaStsPolicyError('missing mx');
  return { mode, mx, maxAgeSeconds: Number(age), id };
}

/**
 * The id of a policy from the TXT records at _mta-sts.<domain> (RFC 8461 §3.1), undefined
 * when none starts with "v=STSv1". Throws MtaStsPolicyError unless exactly one does and it
 * has an id of 1-32 letters and digits.
 */
export function parseStsRecords(txts: readonly string[]): string | undefined {
  const sts = txts.filter((t) => /^v=STSv1[ \t]*(?:;|$)/.test(t));
  if (sts.length === 0) return undefined;
  if (sts.length > 1) throw new MtaStsPolicyError(`${sts.length} "v=STSv1" TXT records`);
  const fields = new Map<string, string>();
  for (const part of (sts[0] as string).split(';')) {
    const field = part.replace(/^[ \t]+|[ \t]+$/g, '');
    if (field === '') continue;
    const m = /^([^=]*)=([\x21-\x3a\x3c\x3e-\x7e]+)$/.exec(field);
    if (!m || !fieldNamePattern.test(m[1] as string)) {
      throw new MtaStsPolicyError(`invalid TXT record field ${JSON.stringify(field)}`);
    }
    if (!fields.has(m[1] as string)) fields.set(m[1] as string, m[2] as string);
  }
  const id = fields.get('id');
  if (id === undefined || !/^[A-Za-z0-9]{1,32}$/.test(id)) {
    throw new MtaStsPolicyError(`TXT record without a valid id: ${JSON.stringify(sts[0])}`);
  }
  return id;
}

/**
 * Whether `mxHost` is allowed by the policy's mx patterns (RFC 8461 §4.1): exact match, or
 * "*.suffix" matching exactly one extra leftmost label; case-insensitive, trailing dots
 * ignored. The mode is not consulted.
 */
export function matchesMX(policy: Pick<MtaStsPolicy, 'mx'>, mxHost: string): boolean {
  const host = normalizeHost(mxHost);
  if (host === '') return false;
  for (const raw of policy.mx) {
    const pattern = checkMxPattern(raw);
    if (pattern === undefined) continue;
    if (!pattern.startsWith('*.')) {
      if (pattern === host) return true;
      continue;
    }
    const suffix = pattern.slice(1);
    const first = host.slice(0, -suffix.length);
    if (host.endsWith(suffix) && first !== '' && !first.includes('.')) return true;
  }
  return false;
}

/** Fetches `url` over HTTPS: status, Content-Type and body; rejects on transport errors. */
export type MtaStsFetch = (
  url: string,
  opts: { timeoutMs: number; maxBytes: number },
) => Promise<{ status: number; contentType: string; body: string }>;

export interface HttpsFetchOptions {
  /** Trusted CA certificates instead of the system's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Addresses of the policy host; default the system resolver. */
  resolver?: Resolver;
  /**
   * Test seam: where to connect for a URL's host name instead of that name on port 443.
   * The certificate is still verified for the URL's host name.
   */
  connectTo?: (host: string) => { host: string; port: number };
}

/** A node:net lookup function that asks `resolver` (A and AAAA) instead of the system. */
export function resolverLookup(resolver: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    void Promise.allSettled([resolver.a(hostname), resolver.aaaa(hostname)]).then(([a, aaaa]) => {
      const all: LookupAddress[] = [];
      if (a.status === 'fulfilled') all.push(...a.value.map((address) => ({ address, family: 4 })));
      if (aaaa.status === 'fulfilled')
        all.push(...aaaa.value.map((address) => ({ address, family: 6 })));
      const first = all[0];
      if (first === undefined) {
        const err: NodeJS.ErrnoException = new Error(`no addresses for ${hostname}`);
        err.code = 'ENOTFOUND';
        callback(err, '', 0);
      } else if (options.all) callback(null, all);
      else callback(null, first.address, first.family);
    });
  };
}

/**
 * An MtaStsFetch over node:https: GET without following redirects, certificate verified
 * for the URL's host name, body limited to `maxBytes` (rejects when larger), whole request
 * limited to `timeoutMs`. Bodies of non-200 responses are not read.
 */
export function httpsFetch(opts: HttpsFetchOptions = {}): MtaStsFetch {
  return (url, { timeoutMs, maxBytes }) =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      if (u.protocol !== 'https:') throw new MtaStsFetchError(`${url}: not an https URL`);
      const target = opts.connectTo?.(u.hostname) ?? { host: u.hostname, port: 443 };
      const fail = (msg: string) => {
        const err = new MtaStsFetchError(`${url}: ${msg}`);
        reject(err);
        req.destroy(err);
      };
      const req = request(
        {
          host: target.host,
          port: target.port,
          path: u.pathname + u.search,
          servername: u.hostname,
          headers: { host: u.host, accept: 'text/plain' },
          agent: false,
          ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
          ...(opts.resolver ? { lookup: resolverLookup(opts.resolver) } : {}),
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const contentType = res.headers['content-type'] ?? '';
          if (status !== 200) {
            res.resume();
            resolve({ status, contentType, body: '' });
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBytes) fail(`policy is larger than ${maxBytes} bytes`);
            else chunks.push(chunk);
          });
          res.on('end', () => {
            resolve({ status, contentType, body: Buffer.concat(chunks, size).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      const timer = setTimeout(() => fail(`no response within ${timeoutMs} ms`), timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', (e) =>
        reject(e instanceof MtaStsFetchError ? e : new MtaStsFetchError(`${url}: ${e.message}`)),
      );
      req.end();
    });
}

export interface MtaStsCacheOptions {
  resolver: Resolver;
  /** Default httpsFetch with `resolver`, `httpsCA` and `connectTo`. */
  fetch?: MtaStsFetch;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  log?: Logger;
  /** CA certificates for the default fetch instead of the system's. */
  httpsCA?: HttpsFetchOptions['ca'];
  /** Test seam for the default fetch; see HttpsFetchOptions. */
  connectTo?: HttpsFetchOptions['connectTo'];
  /** Domains kept; the least recently stored are dropped first. Default 10000. */
  maxEntries?: number;
  /** Policy fetch timeout; default 60 s. */
  timeoutMs?: number;
}

/** A lookup outcome: the policy to apply, or null with `error` when discovery failed. */
export interface MtaStsLookup {
  policy: MtaStsPolicy | null;
  error?: string;
  /**
   * What a TLS report calls the failure (RFC 8460 §4.3.2) when the domain publishes
   * MTA-STS but no policy could be had; absent for DNS trouble.
   */
  failure?: 'sts-policy-fetch-error' | 'sts-policy-invalid';
}

interface CacheEntry {
  policy: MtaStsPolicy;
  expiresAt: number;
}

/** The media type of a Content-Type value, lower-case, without parameters. */
function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

/**
 * Policies of recipient domains, discovered and cached per RFC 8461 §3 and §5.1: the TXT
 * record is checked on every lookup; the policy is fetched only when its id differs from
 * the cached one or nothing valid is cached; a cached policy is used until max_age passes
 * when the TXT record is missing or its lookup or the fetch fails.
 */
export class MtaStsCache {
  private readonly resolver: Resolver;
  private readonly fetch: MtaStsFetch;
  private readonly clock: () => number;
  private readonly log: Logger | undefined;
  private readonly maxEntries: number;
  private readonly timeoutMs: number;
  private readonly entries = new Map<string, CacheEntry>();
  private readonly pending = new Map<string, Promise<MtaStsLookup>>();

  constructor(opts: MtaStsCacheOptions) {
    this.resolver = opts.resolver;
    this.fetch =
      opts.fetch ??
      httpsFetch({
        resolver: opts.resolver,
        ...(opts.httpsCA !== undefined ? { ca: opts.httpsCA } : {}),
        ...(opts.connectTo ? { connectTo: opts.connectTo } : {}),
      });
    this.clock = opts.clock ?? Date.now;
    this.log = opts.log;
    this.maxEntries = opts.maxEntries ?? DEFAULT_MAX_ENTRIES;
    this.timeoutMs = opts.timeoutMs ?? FETCH_TIMEOUT_MS;
  }

  /** Number of cached policies (expired ones included until looked up). */
  get size(): number {
    return this.entries.size;
  }

  /** The policy for mail to `domain`; concurrent lookups of a domain share one discovery. */
  lookup(domain: string): Promise<MtaStsLookup> {
    const d = normalizeHost(domain);
    if (d === '') {
      return Promise.resolve({ policy: null, error: `invalid domain ${JSON.stringify(domain)}` });
    }
    const running = this.pending.get(d);
    if (running) return running;
    const p = this.discover(d).finally(() => this.pending.delete(d));
    this.pending.set(d, p);
    return p;
  }

  private cached(domain: string): MtaStsPolicy | undefined {
    const e = this.entries.get(domain);
    if (e === undefined) return undefined;
    if (e.expiresAt > this.clock()) return e.policy;
    this.entries.delete(domain);
    return undefined;
  }

  private async discover(domain: string): Promise<MtaStsLookup> {
    const cached = this.cached(domain);
    let id: string | undefined;
    try {
      id = parseStsRecords(await this.resolver.txt(`_mta-sts.${domain}`));
    } catch (e) {
      // RFC 8461 §5.1: without a valid TXT record a cached policy stays in force.
      if (cached) return { policy: cached };
      if (isNotFound(e)) return { policy: null };
      const msg = e instanceof Error ? e.message : String(e);
      const error = `MTA-STS TXT record of ${domain}: ${msg}`;
      if (e instanceof MtaStsPolicyError)
        return { policy: null, error, failure: 'sts-policy-invalid' };
      return { policy: null, error };
    }
    if (id === undefined || (cached && cached.id === id)) return { policy: cached ?? null };
    try {
      const policy = await this.fetchPolicy(domain, id);
      this.store(domain, policy);
      return { policy };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (cached) {
        this.log?.warn({ domain, err: msg }, 'mta-sts policy fetch failed, using cached policy');
        return { policy: cached };
      }
      return {
        policy: null,
        error: `MTA-STS policy of ${domain}: ${msg}`,
        failure: e instanceof MtaStsPolicyError ? 'sts-policy-invalid' : 'sts-policy-fetch-error',
      };
    }
  }

  private async fetchPolicy(domain: string, id: string): Promise<MtaStsPolicy> {
    const url = `https://mta-sts.${domain}/.well-known/mta-sts.txt`;
    const res = await this.fetch(url, { timeoutMs: this.timeoutMs, maxBytes: MAX_POLICY_BYTES });
    // RFC 8461 §3.3: only 200 responses count; redirects are not followed.
    if (res.status !== 200) {
      const redirect = res.status >= 300 && res.status < 400 ? ' (redirects are not followed)' : '';
      throw new MtaStsFetchError(`${url}: HTTP status ${res.status}${redirect}`);
    }
    if (mediaType(res.contentType) !== 'text/plain') {
      throw new MtaStsFetchError(
        `${url}: content type ${JSON.stringify(res.contentType)}, not text/plain`,
      );
    }
    if (Buffer.byteLength(res.body) > MAX_POLICY_BYTES) {
      throw new MtaStsFetchError(`${url}: policy is larger than ${MAX_POLICY_BYTES} bytes`);
    }
    return parsePolicy(res.body, id);
  }

  private store(domain: string, policy: MtaStsPolicy): void {
    this.entries.delete(domain);
    this.entries.set(domain, { policy, expiresAt: this.clock() + policy.maxAgeSeconds * 1000 });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
  }
}
