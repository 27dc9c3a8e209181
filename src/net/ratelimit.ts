// In-memory limiters keyed by a remote IP at three masked levels: IPv4 /32, /26, /21
// and IPv6 /64, /48, /32. A client is refused when any of its three classes is full.
// Time is always passed in (milliseconds) so behaviour is testable without timers.
import { isIPv4, isIPv6 } from 'node:net';

export type MaskedIPs = [string, string, string];

const V4_BITS = [32, 26, 21] as const;
const V6_BITS = [64, 48, 32] as const;

export class InvalidIPError extends TypeError {
  constructor(ip: string) {
    super(`invalid IP address ${JSON.stringify(ip)}`);
    this.name = 'InvalidIPError';
  }
}

/**
 * The three rate-limiting classes of an address, as masked addresses in text form.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as IPv4.
 */
export function maskIP(ip: string): MaskedIPs {
  if (isIPv4(ip)) return maskV4(parseV4(ip));
  const pct = ip.indexOf('%'); // zone id, as in fe80::1%eth0
  const addr = pct >= 0 ? ip.slice(0, pct) : ip;
  if (!isIPv6(addr)) throw new InvalidIPError(ip);
  const g = parseV6(addr);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return maskV4((((g[6] ?? 0) << 16) | (g[7] ?? 0)) >>> 0);
  }
  return [
    formatV6(maskV6(g, V6_BITS[0])),
    formatV6(maskV6(g, V6_BITS[1])),
    formatV6(maskV6(g, V6_BITS[2])),
  ];
}

function parseV4(ip: string): number {
  let n = 0;
  for (const part of ip.split('.')) n = (n * 256 + Number(part)) >>> 0;
  return n;
}

function maskV4(n: number): MaskedIPs {
  const out = V4_BITS.map((bits) => {
    const m = (n & (bits === 32 ? 0xffffffff : ~(0xffffffff >>> bits))) >>> 0;
    return `${m >>> 24}.${(m >>> 16) & 255}.${(m >>> 8) & 255}.${m & 255}`;
  });
  return out as MaskedIPs;
}

/** Eight 16-bit groups of a syntactically valid IPv6 address. */
function parseV6(ip: string): number[] {
  let s = ip;
  if (s.includes('.')) {
    // Embedded IPv4 in the last 32 bits (RFC 4291 §2.2, form 3): rewrite as two groups.
    const at = s.lastIndexOf(':');
    const v4 = parseV4(s.slice(at + 1));
    s = `${s.slice(0, at + 1)}${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head, rest] = splitDouble(s);
  const hs = head === '' ? [] : head.split(':').map((h) => parseInt(h, 16));
  if (rest === undefined) return hs;
  const rs = rest === '' ? [] : rest.split(':').map((h) => parseInt(h, 16));
  return [...hs, ...new Array<number>(8 - hs.length - rs.length).fill(0), ...rs];
}

function splitDouble(s: string): [string, string | undefined] {
  const i = s.indexOf('::');
  if (i < 0) return [s, undefined];
  return [s.slice(0, i), s.slice(i + 2)];
}

function maskV6(groups: number[], bits: number): number[] {
  return groups.map((g, i) => {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    return keep === 0 ? 0 : g & (0xffff << (16 - keep)) & 0xffff;
  });
}

/** RFC 5952 §4: lower case, no leading zeros, longest run of 2+ zero groups as "::". */
function formatV6(groups: number[]): string {
  let bestAt = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestAt, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestAt < 0) return hex.join(':');
  return `${hex.slice(0, bestAt).join(':')}::${hex.slice(bestAt + bestLen).join(':')}`;
}

export interface RateLimiterOptions {
  /** Length of a counting window; counts reset when a new window starts. */
  windowMs: number;
  /** Maximum per window for the /32 (v4) or /64 (v6) class, then the two wider classes. */
  limits: [number, number, number];
  /** Upper bound on tracked addresses per class within one window. */
  maxEntries?: number;
}

/** Counts events per masked IP class in fixed windows of `windowMs`. */
export class RateLimiter {
  private readonly windowMs: number;
  private readonly limits: readonly [number, number, number];
  private readonly maxEntries: number;
  private window = -1;
  private readonly counts: [Map<string, number>, Map<string, number>, Map<string, number>] = [
    new Map(),
    new Map(),
    new Map(),
  ];

  constructor(opts: RateLimiterOptions) {
    if (!(opts.windowMs > 0)) throw new RangeError('windowMs must be positive');
    this.windowMs = opts.windowMs;
    this.limits = opts.limits;
    this.maxEntries = opts.maxEntries ?? 100_000;
  }

  /** Whether `n` more events for `ip` would stay within every class limit. */
  canAdd(ip: string, now: number, n = 1): boolean {
    return this.fits(maskIP(ip), now, n);
  }

  /** Record `n` events for `ip` if every class allows it; false (and nothing recorded) otherwise. */
  add(ip: string, now: number, n = 1): boolean {
    const masked = maskIP(ip);
    if (!this.fits(masked, now, n)) return false;
    for (let i = 0; i < 3; i++) this.bump(i, masked[i] as string, n);
    return true;
  }

  /** Number of tracked keys over all classes (for tests and metrics). */
  get size(): number {
    return this.counts[0].size + this.counts[1].size + this.counts[2].size;
  }

  private fits(masked: MaskedIPs, now: number, n: number): boolean {
    this.roll(now);
    for (let i = 0; i < 3; i++) {
      const c = this.counts[i]?.get(masked[i] as string) ?? 0;
      if (c + n > (this.limits[i] ?? 0)) return false;
    }
    return true;
  }

  private roll(now: number): void {
    const w = Math.floor(now / this.windowMs);
    // A clock that steps back keeps the current window rather than restarting it.
    if (w <= this.window) return;
    this.window = w;
    for (const m of this.counts) m.clear();
  }

  private bump(cls: number, key: string, n: number): void {
    const m = this.counts[cls] as Map<string, number>;
    const c = (m.get(key) ?? 0) + n;
    if (c <= 0) {
      m.delete(key);
      return;
    }
    if (!m.has(key) && m.size >= this.maxEntries) {
      // Evict the oldest entry: memory stays bounded under a flood of distinct addresses.
      const oldest = m.keys().next();
      if (!oldest.done) m.delete(oldest.value);
    }
    m.set(key, c);
  }
}

/** Per-minute connection-rate limits per class (spec: IMAP §2.2, SMTP §4). */
export const CONNECTION_RATE_LIMITS: [number, number, number] = [300, 900, 2700];
/** Concurrent connections per class. */
export const CONNECTION_LIMITS: [number, number, number] = [30, 90, 270];

export function newConnectionRateLimiter(): RateLimiter {
  return new RateLimiter({ windowMs: 60_000, limits: CONNECTION_RATE_LIMITS });
}

/** Concurrent connections per masked IP class. Entries exist only while connections do. */
export class ConnectionCounter {
  readonly limits: readonly [number, number, number];
  private readonly counts = [
    new Map<string, number>(),
    new Map<string, number>(),
    new Map<string, number>(),
  ];

  constructor(opts: { limits?: [number, number, number] } = {}) {
    this.limits = opts.limits ?? CONNECTION_LIMITS;
  }

  /** Count a new connection from `ip` unless a class is full. */
  tryAcquire(ip: string): boolean {
    const masked = maskIP(ip);
    for (let i = 0; i < 3; i++) {
      if ((this.counts[i]?.get(masked[i] as string) ?? 0) + 1 > (this.limits[i] ?? 0)) return false;
    }
    for (let i = 0; i < 3; i++) {
      const m = this.counts[i] as Map<string, number>;
      const key = masked[i] as string;
      m.set(key, (m.get(key) ?? 0) + 1);
    }
    return true;
  }

  /** The connection from `ip` (acquired earlier) has ended. */
  release(ip: string): void {
    const masked = maskIP(ip);
    for (let i = 0; i < 3; i++) {
      const m = this.counts[i] as Map<string, number>;
      const key = masked[i] as string;
      const c = m.get(key) ?? 0;
      if (c <= 1) m.delete(key);
      else m.set(key, c - 1);
    }
  }

  /** Open connections counted for the /32 or /64 class of `ip`. */
  count(ip: string): number {
    return this.counts[0]?.get(maskIP(ip)[0]) ?? 0;
  }

  get size(): number {
    return this.counts.reduce((a, m) => a + m.size, 0);
  }
}

export interface AuthFailureLimiterOptions {
  now?: () => number;
  perMinute?: [number, number, number];
  perDay?: [number, number, number];
  /** Failures per target account, from networks it has not logged in from: minute, day. */
  perAccount?: [number, number];
}

/** Counts per key in fixed windows; the number of keys is bounded (oldest evicted). */
class KeyedWindow {
  private window = -1;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries = 100_000,
  ) {}

  count(key: string, now: number): number {
    this.roll(now);
    return this.counts.get(key) ?? 0;
  }

  add(key: string, now: number): void {
    this.roll(now);
    if (!this.counts.has(key) && this.counts.size >= this.maxEntries) {
      const oldest = this.counts.keys().next();
      if (!oldest.done) this.counts.delete(oldest.value);
    }
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  private roll(now: number): void {
    const w = Math.floor(now / this.windowMs);
    if (w <= this.window) return;
    this.window = w;
    this.counts.clear();
  }
}

const DAY = 86_400_000;
/** Networks remembered per account as ones it logged in from. */
const KNOWN_NETWORKS = 32;

/**
 * Failed authentications, counted per masked IP class (10/30/90 per minute and 50/150/450
 * per day) and per target account (30 per minute, 150 per day). A success clears
 * nothing: an attacker who owns one account must not be able to reset the count that
 * protects the others by logging in to it between guesses. The account limit applies to
 * networks the account has not logged in from in the last day, so a guessing campaign
 * spread over many addresses is stopped without locking its owner out.
 */
export class AuthFailureLimiter {
  private readonly now: () => number;
  private readonly minute: RateLimiter;
  private readonly day: RateLimiter;
  private readonly accountLimits: [number, number];
  private readonly accountMinute = new KeyedWindow(60_000);
  private readonly accountDay = new KeyedWindow(DAY);
  /** Per account: the /32 or /64 networks of recent successful logins, with their time. */
  private readonly known = new Map<string, Map<string, number>>();

  constructor(opts: AuthFailureLimiterOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.minute = new RateLimiter({ windowMs: 60_000, limits: opts.perMinute ?? [10, 30, 90] });
    this.day = new RateLimiter({ windowMs: DAY, limits: opts.perDay ?? [50, 150, 450] });
    this.accountLimits = opts.perAccount ?? [30, 150];
  }

  /** Whether `ip` may still attempt to authenticate: asked before every attempt. */
  check(ip: string): boolean {
    const t = this.now();
    return this.minute.canAdd(ip, t, 1) && this.day.canAdd(ip, t, 1);
  }

  /** Whether `ip` may still try a password for `account`. */
  checkAccount(account: string, ip: string): boolean {
    const t = this.now();
    const [perMinute, perDay] = this.accountLimits;
    if (
      this.accountMinute.count(account, t) < perMinute &&
      this.accountDay.count(account, t) < perDay
    ) {
      return true;
    }
    const seen = this.known.get(account)?.get(maskIP(ip)[0]);
    return seen !== undefined && t - seen < DAY;
  }

  /** Records a failed attempt from `ip`, against `account` when the attempt named one. */
  fail(ip: string, account = ''): void {
    const t = this.now();
    this.minute.add(ip, t, 1);
    this.day.add(ip, t, 1);
    if (account) {
      this.accountMinute.add(account, t);
      this.accountDay.add(account, t);
    }
  }

  /** A successful login: `ip`'s network becomes one `account` is known to log in from. */
  success(ip: string, account: string): void {
    let nets = this.known.get(account);
    if (!nets) this.known.set(account, (nets = new Map()));
    const net = maskIP(ip)[0];
    nets.delete(net);
    nets.set(net, this.now());
    if (nets.size > KNOWN_NETWORKS) nets.delete(nets.keys().next().value!);
  }
}
