// One connection's login attempts, for IMAP and SMTP alike: who an attempt is for, the
// record written for it, and failure counting with a growing delay, slow mode and the
// failed-auth limiter of the client's network. Failure counters are never reset by a
// success from the same network: the limiter only learns which networks an account uses.
import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import type { AuthFailureLimiter } from '../net/index.js';
import type { Logger } from '../log/index.js';
import type { GlobalDB, LoginAttempt, LoginResult } from '../store/index.js';
import { OUTCOMES, type AuthFailure } from './failure.js';

/** Who an attempt is recorded for: filled in as the exchange learns it. */
export type Attempt = { account: string; address: string; mechanism: string };

/** Metrics the protocol keeps about logins. */
export type LoginMetrics = {
  /** An attempt refused because the client's network is over the failed-auth limit. */
  ratelimited(): void;
  failure(mechanism: string, result: LoginResult, counted: boolean): void;
  success(mechanism: string): void;
};

export type LoginAttemptsOptions = {
  /** "imap", "submission": the protocol column of the record. */
  protocol: string;
  remoteIP: string;
  localIP: string;
  limiter: AuthFailureLimiter;
  /** The delay per failure beyond the third before the next attempt. */
  failDelayMs: number;
  global: Pick<GlobalDB, 'addLoginAttempt'>;
  log: Logger;
  metrics: LoginMetrics;
  /** Slow mode: delayed reads and replies trickled out. */
  setSlow(on: boolean): void;
  /** The connection's TLS description and certificate fingerprint at the attempt. */
  tls(): { tls: string; tlsKeyFingerprint: string };
  /** The client's user agent, read when the record is written. */
  userAgent(): string;
  /**
   * How long a record waits before it is written, so that it can carry a user agent the
   * client names later (IMAP ID, RFC 2971); 0 writes it at once.
   */
  holdMs: number;
};

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class LoginAttempts {
  /** Failures on this connection since its last successful login. */
  failed = 0;
  private pending: { attempt: LoginAttempt; timer: NodeJS.Timeout } | null = null;

  constructor(private readonly o: LoginAttemptsOptions) {}

  /**
   * Before every attempt: a growing delay after the third failure on this connection,
   * then the failed-auth limit of the client's network, checked per attempt so that
   * connections opened in advance do not escape it. False: the protocol refuses and
   * closes the connection.
   */
  async backoff(): Promise<boolean> {
    if (this.failed > 3) await sleep((this.failed - 3) * this.o.failDelayMs);
    if (this.o.limiter.check(this.o.remoteIP)) return true;
    this.o.metrics.ratelimited();
    this.o.log.info({ remote: this.o.remoteIP }, 'too many failed logins, closing connection');
    return false;
  }

  /** Whether the client's network is within the failed-auth limit (for certificates). */
  networkAllowed(): boolean {
    return this.o.limiter.check(this.o.remoteIP);
  }

  /** Whether a password may be tried for `account` from this client's network. */
  accountAllowed(account: string): boolean {
    return this.o.limiter.checkAccount(account, this.o.remoteIP);
  }

  /** Records a failure and, when it counts, feeds the limiter and slow mode (from the third). */
  failure(a: Attempt, result: LoginResult, counted: boolean): void {
    this.record(a.account, a.address, a.mechanism, result);
    this.o.metrics.failure(a.mechanism, result, counted);
    if (!counted) return;
    this.failed++;
    this.o.limiter.fail(this.o.remoteIP, a.account);
    if (this.failed >= 3) this.o.setSlow(true);
  }

  /** Records a failed login as its reason says; some reasons are not recorded at all. */
  recordFailure(a: Attempt, f: AuthFailure): void {
    const { result, counted } = OUTCOMES[f.reason];
    if (result) this.failure(a, result, counted);
  }

  /** A successful login: the failure count and slow mode end, the limiter learns the network. */
  success(account: string, address: string, mechanism: string): void {
    this.failed = 0;
    this.o.setSlow(false);
    this.o.limiter.success(this.o.remoteIP, account);
    this.record(account, address, mechanism, 'success');
    this.o.metrics.success(mechanism);
  }

  /** Records an attempt; a record still held is written first. */
  record(account: string, address: string, mechanism: string, result: LoginResult): void {
    this.flush();
    const attempt: LoginAttempt = {
      account,
      address,
      protocol: this.o.protocol,
      mechanism,
      result,
      remoteIP: this.o.remoteIP,
      localIP: this.o.localIP,
      ...this.o.tls(),
      userAgent: this.o.userAgent(),
    };
    if (this.o.holdMs <= 0) return this.write(attempt);
    const timer = setTimeout(() => this.flush(), this.o.holdMs);
    timer.unref();
    this.pending = { attempt, timer };
  }

  /** Writes a held record now, with the user agent as it is known now. */
  flush(): void {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    clearTimeout(p.timer);
    this.write({ ...p.attempt, userAgent: this.o.userAgent() });
  }

  private write(a: LoginAttempt): void {
    this.o.global.addLoginAttempt(a).catch((e: unknown) => {
      this.o.log.error({ err: e }, 'recording login attempt');
    });
  }
}

/** "TLSv1.3 TLS_AES_128_GCM_SHA256", or "" on plaintext. */
export function tlsDescription(socket: Socket, tlsActive: boolean): string {
  if (!tlsActive || !(socket instanceof TLSSocket)) return '';
  return `${socket.getProtocol() ?? ''} ${socket.getCipher()?.name ?? ''}`.trim();
}
