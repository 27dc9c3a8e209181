// The SMTP client: connection setup (greeting, EHLO, STARTTLS, AUTH) and transactions,
// for delivering to MX hosts and smarthosts (RFC 5321, RFC 3207, RFC 4954).
import type { TLSSocket } from 'node:tls';
import { authenticate } from './auth.js';
import { Conn } from './conn.js';
import { runTransaction } from './deliver.js';
import { firstWord, parseExtensions } from './ehlo.js';
import { SmtpClientError, type Stage } from './errors.js';
import {
  DEFAULT_TIMEOUTS,
  type ClientOptions,
  type DeliveryResult,
  type Envelope,
  type MessageData,
  type ReplyInfo,
  type Timeouts,
} from './types.js';

export type TLSInfo = { version: string; cipher: string; verified: boolean };

const isOk = (r: ReplyInfo) => r.code >= 200 && r.code < 300;

function checkOptions(opts: ClientOptions): void {
  // RFC 5321 §4.1.1.1: a domain or address literal, so no spaces or controls.
  if (!/^[\x21-\x7e]+$/.test(opts.ehloHostname)) {
    throw new TypeError('ehloHostname must be a non-empty ASCII name without spaces');
  }
  if (opts.tlsMode === 'verified' && !opts.tlsServername) {
    throw new TypeError("tlsMode 'verified' needs tlsServername");
  }
}

export class SmtpClient {
  private readonly conn: Conn;
  private readonly opts: ClientOptions;
  private readonly t: Timeouts;
  private ext = new Map<string, string>();
  private name = '';
  private tlsInfo: TLSInfo | null = null;
  private mechanism: string | null = null;
  private busy = false;

  private constructor(opts: ClientOptions) {
    this.opts = opts;
    this.t = { ...DEFAULT_TIMEOUTS, ...opts.timeouts };
    this.conn = new Conn(opts.socket, opts.log);
  }

  /**
   * Reads the greeting, says EHLO (HELO for old servers), starts TLS as tlsMode asks,
   * and authenticates when opts.auth is set. Throws SmtpClientError; the socket is
   * closed then.
   */
  static async connect(opts: ClientOptions): Promise<SmtpClient> {
    checkOptions(opts);
    const c = new SmtpClient(opts);
    try {
      await c.open();
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** Upper-case keyword to parameters, from the last EHLO; empty after HELO. */
  get extensions(): ReadonlyMap<string, string> {
    return this.ext;
  }

  /** The server's name from its greeting, then from its EHLO reply. */
  get remoteName(): string {
    return this.name;
  }

  get tls(): TLSInfo | null {
    return this.tlsInfo;
  }

  get authenticated(): boolean {
    return this.mechanism !== null;
  }

  /** The SASL mechanism used, null when not authenticated. */
  get authMechanism(): string | null {
    return this.mechanism;
  }

  /** The connection is still open (a failed command or timeout closes it). */
  get usable(): boolean {
    return !this.conn.closed;
  }

  private async open(): Promise<void> {
    const { opts, t } = this;
    if (opts.implicitTLS) await this.upgrade('connect');
    const greeting = await this.conn.readReply('greeting', t.greeting, 'greeting');
    if (greeting.code !== 220) {
      // RFC 5321 §3.1: after a 554 greeting the client sends QUIT.
      this.conn.send(['QUIT']);
      throw SmtpClientError.fromReply('greeting', 'server refused the session', greeting);
    }
    this.name = firstWord(greeting.lines[0]);
    await this.hello(true);
    await this.startTLS();
    if (opts.auth) {
      const sock = this.tlsInfo ? (this.conn.socket as TLSSocket) : null;
      this.mechanism = await authenticate(this.conn, this.ext.get('AUTH'), sock, opts.auth, t.auth);
    }
  }

  /** EHLO; on a syntax-class refusal of the first one, HELO (RFC 5321 §3.2, §4.1.4). */
  private async hello(first: boolean): Promise<void> {
    const name = this.opts.ehloHostname;
    const r = await this.conn.command(`EHLO ${name}`, 'ehlo', this.t.ehlo, 'reply to EHLO');
    if (isOk(r)) {
      this.ext = parseExtensions(r.lines);
      this.name = firstWord(r.lines[0]) || this.name;
      return;
    }
    if (!first || r.code < 500 || r.code > 504) {
      throw SmtpClientError.fromReply('ehlo', 'EHLO refused', r);
    }
    const h = await this.conn.command(`HELO ${name}`, 'ehlo', this.t.ehlo, 'reply to HELO');
    if (!isOk(h)) throw SmtpClientError.fromReply('ehlo', 'HELO refused', h);
    this.ext = new Map();
  }

  /** STARTTLS as tlsMode asks, then EHLO again (RFC 3207 §4.2). */
  private async startTLS(): Promise<void> {
    const mode = this.opts.tlsMode;
    if (this.opts.implicitTLS || mode === 'none') return;
    if (!this.ext.has('STARTTLS')) {
      if (mode === 'opportunistic') return;
      throw new SmtpClientError('starttls', 'server does not offer STARTTLS', {
        permanent: true,
        tlsFailure: true,
      });
    }
    const r = await this.conn.command('STARTTLS', 'starttls', this.t.starttls, 'reply to STARTTLS');
    if (r.code !== 220) {
      this.conn.destroy();
      throw SmtpClientError.fromReply('starttls', 'STARTTLS refused', r, {
        permanent: false,
        tlsFailure: true,
      });
    }
    await this.upgrade('starttls');
    // RFC 3207 §4.2: forget everything learned before TLS.
    this.ext = new Map();
    await this.hello(false);
  }

  private async upgrade(stage: Stage): Promise<void> {
    const { opts } = this;
    const verify = opts.tlsMode === 'verified';
    await this.conn.upgrade(stage, {
      verify,
      servername: opts.tlsServername,
      ca: opts.tlsCA,
      timeoutMs: this.t.starttls,
    });
    const s = this.conn.socket as TLSSocket;
    this.tlsInfo = { version: s.getProtocol() ?? '', cipher: s.getCipher().name, verified: verify };
  }

  private enter(stage: Stage): void {
    if (this.busy) throw new Error('SMTP client: another command is in progress');
    if (this.conn.closed) throw new SmtpClientError(stage, 'connection is closed');
    this.busy = true;
  }

  /**
   * Runs one transaction. Per-recipient outcomes are in the result; throws
   * SmtpClientError only when the connection fails (it is closed then), TypeError for
   * an envelope that cannot be sent as given.
   */
  async deliver(env: Envelope, data: MessageData): Promise<DeliveryResult> {
    this.enter('mail');
    try {
      const session = {
        conn: this.conn,
        timeouts: this.t,
        extensions: this.ext,
        tls: !!this.tlsInfo,
      };
      const { result, open } = await runTransaction(session, env, data);
      if (open) await this.resetQuietly();
      return result;
    } finally {
      this.busy = false;
    }
  }

  /** RSET after a transaction that did not end; a failure only closes the connection. */
  private async resetQuietly(): Promise<void> {
    try {
      const r = await this.conn.command('RSET', 'rset', this.t.rset, 'reply to RSET');
      if (!isOk(r)) this.conn.destroy();
    } catch {
      // The connection is closed; the next use reports that.
    }
  }

  /** RSET (RFC 5321 §4.1.1.5). */
  async reset(): Promise<void> {
    this.enter('rset');
    try {
      const r = await this.conn.command('RSET', 'rset', this.t.rset, 'reply to RSET');
      if (!isOk(r)) throw SmtpClientError.fromReply('rset', 'RSET refused', r);
    } finally {
      this.busy = false;
    }
  }

  /** QUIT, waiting a short while for the reply; the connection is closed afterwards. */
  async quit(): Promise<void> {
    if (this.conn.closed) return;
    this.enter('quit');
    try {
      const r = await this.conn.command('QUIT', 'quit', this.t.quit, 'reply to QUIT');
      if (r.code !== 221) throw SmtpClientError.fromReply('quit', 'unexpected reply to QUIT', r);
    } finally {
      this.busy = false;
      this.close();
    }
  }

  /** Closes the connection at once. */
  close(): void {
    this.conn.destroy();
  }
}
