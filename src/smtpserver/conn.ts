// One SMTP connection: socket I/O, limits, replies and the command loop. Commands run
// one at a time; replies are buffered and written when the client has no further
// pipelined command waiting (RFC 2920 §3.2), so a batch of replies leaves in one write.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  LineReader,
  LineTooLongError,
  ReadTimeoutError,
  Writer,
  maskIP,
  isConnectionGone,
  quickAck,
  upgradeToTLS,
} from '../net/index.js';
import { newCid, type Logger } from '../log/index.js';
import { LoginAttempts, tlsDescription } from '../auth/attempt.js';
import { certificateKey } from '../auth/certificate.js';
import {
  C,
  SE,
  formatReply,
  type BareCRLFDetector,
  type Domain,
  type Orcpt,
  type Path,
} from '../smtp/index.js';
import type { AddressResolution } from '../config/index.js';
import type { Notify } from '../queue/index.js';
import { DEFAULT_SMTP_TIMEOUTS, type SmtpContext, type SmtpTimeouts } from './context.js';
import { CloseConnection, SmtpError } from './errors.js';
import { smtpMetrics } from './metrics.js';
import { panicTotal } from '../metrics/index.js';
import type { TempMessage } from '../store/index.js';

/** Where a recipient's mail goes. */
export type RcptTarget =
  | Extract<AddressResolution, { kind: 'account' | 'alias' }>
  | { kind: 'unknown-user' }
  /** Submission to a domain that is not ours: the queue delivers it remotely. */
  | { kind: 'remote' };

export type Recipient = {
  path: Path;
  /** The address as given, domain in ASCII form, for the queue and logs. */
  address: string;
  target: RcptTarget;
  notify?: Notify;
  orcpt?: Orcpt;
};

export type Transaction = {
  mailFrom: Path | null;
  /** Announced SIZE, if any. */
  size: number | null;
  body: '7BIT' | '8BITMIME' | 'BINARYMIME' | null;
  smtputf8: boolean;
  requireTLS: boolean;
  holdUntil: Date | null;
  futureReleaseRequest: string;
  ret: 'FULL' | 'HDRS' | null;
  envid: string;
  recipients: Recipient[];
  /** BDAT chunks received so far (RFC 3030). */
  chunks: {
    temp: TempMessage;
    failure: SmtpError | null;
    has8bit: boolean;
    /** Looks for bare CR or LF; null for BINARYMIME, where they are content. */
    lineEnds: BareCRLFDetector | null;
    hasNUL: boolean;
  } | null;
};

export type Hello = {
  ehlo: boolean;
  name: string;
  domain: Domain | null;
  ipLiteral: string | null;
};

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/** A command handler as the connection runs it (command.ts types the handlers). */
type CommandHandler = (
  c: SmtpConn,
  args: string,
) => Promise<{ code: number; secode: string } | void>;

export class SmtpConn {
  readonly cid = newCid();
  readonly log: Logger;
  socket: Socket;
  reader: LineReader;
  writer: Writer;
  tlsActive: boolean;
  readonly remoteIP: string;
  readonly localIP: string;
  readonly maskedIP: string;
  readonly timeouts: SmtpTimeouts;

  hello: Hello | null = null;
  /** Authenticated account (submission), with the address it logged in as. */
  account: string | null = null;
  username = '';
  /** Whether an AUTH command succeeded (a certificate login alone does not count). */
  authSASL = false;
  /** This connection's login attempts: records, failure counting, throttling. */
  readonly logins: LoginAttempts;
  tlsIdentity: { account: string; loginAddress: string; fingerprint: string } | null = null;
  tx: Transaction | null = null;
  goodTransactions = 0;
  badTransactions = 0;
  ncmds = 0;
  private shutdownRequested = false;
  private inCommand = false;
  private closed = false;

  constructor(
    socket: Socket,
    readonly ctx: SmtpContext,
    implicitTLS: boolean,
    /** The command table, given by the listener: the handlers depend on this class. */
    private readonly commands: ReadonlyMap<string, CommandHandler>,
  ) {
    this.socket = socket;
    this.tlsActive = implicitTLS;
    this.remoteIP = socket.remoteAddress ?? '';
    this.localIP = socket.localAddress ?? '';
    this.maskedIP = this.remoteIP ? safeMask(this.remoteIP) : '';
    this.log = ctx.log.child({ cid: this.cid, proto: ctx.kind });
    this.timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...ctx.timeouts };
    this.reader = new LineReader(socket);
    this.writer = new Writer(socket, { slowDelayMs: ctx.delays.badClient });
    socket.on('error', () => {});
    this.logins = new LoginAttempts({
      protocol: 'submission',
      remoteIP: this.remoteIP,
      localIP: this.localIP,
      limiter: ctx.limiters.authFailures,
      failDelayMs: ctx.delays.authFail,
      global: ctx.store.global,
      log: this.log,
      metrics: {
        ratelimited: () => smtpMetrics.authentication.inc({ mechanism: '', result: 'ratelimited' }),
        failure: (mechanism, result) => smtpMetrics.authentication.inc({ mechanism, result }),
        success: (mechanism) => smtpMetrics.authentication.inc({ mechanism, result: 'ok' }),
      },
      setSlow: (on) => this.setSlow(on),
      tls: () => ({
        tls: this.tlsDescription(),
        tlsKeyFingerprint: this.tlsIdentity?.fingerprint ?? '',
      }),
      // SMTP has no way for a client to name itself.
      userAgent: () => '',
      holdMs: 0,
    });
  }

  get submission(): boolean {
    return this.ctx.kind !== 'smtp';
  }

  // ---- replies ----

  /** Queues a reply; error replies (4xx/5xx) name the connection id for the logs. */
  reply(code: number, secode: string | null, msg: string): void {
    const text = code >= 400 ? `${msg} (${this.cid})` : msg;
    this.log.trace({ line: `${code} ${text}` }, 'S:');
    this.writer.write(formatReply(code, secode, text));
  }

  /** Writes buffered replies unless another pipelined command is already waiting. */
  async flushIfIdle(): Promise<void> {
    if (!this.reader.hasBufferedLine()) await this.flush();
  }

  /**
   * Writes buffered replies. Each write has the I/O timeout as its deadline, so in slow
   * mode the rest goes out at once when it gets near: slow mode is to cost an abuser time,
   * not to make a client time out.
   */
  async flush(): Promise<void> {
    this.writer.setDeadline(Date.now() + this.timeouts.io);
    await this.writer.flush();
    // The client's next command may come in two writes (a BDAT chunk, then more).
    quickAck(this.socket);
  }

  /**
   * Slow mode for suspected abusers (repeated auth failures, rejected messages): delayed
   * reads, replies trickled out, so every further attempt costs them time.
   */
  setSlow(on: boolean): void {
    this.writer.setSlow(on);
  }

  // ---- the connection ----

  async serve(): Promise<void> {
    const ip = this.remoteIP;
    const lim = this.ctx.limiters;
    let counted = false;
    smtpMetrics.connections.inc({ kind: this.ctx.kind });
    this.log.info({ remote: ip, local: this.localIP, tls: this.tlsActive }, 'new connection');
    try {
      // Order of gating: shutdown, rate, auth failures, connections, each refused with 421
      // (RFC 5321 §3.8). The slot for an open connection is taken last, so a refused
      // connection never holds one.
      if (this.ctx.isShuttingDown())
        return await this.refuse(C.ServiceNotAvailable, SE.NotAccepting2, 'shutting down');
      if (!lim.rate.add(ip, Date.now())) {
        return await this.refuse(
          C.ServiceNotAvailable,
          SE.OtherSecurity0,
          'connection rate from your ip or network too high, slow down please',
        );
      }
      if (this.submission && !lim.authFailures.check(ip)) {
        return await this.refuse(
          C.ServiceNotAvailable,
          SE.OtherSecurity0,
          'too many auth failures',
        );
      }
      if (!lim.connections.tryAcquire(ip)) {
        return await this.refuse(
          C.ServiceNotAvailable,
          SE.OtherSecurity0,
          'too many open connections from your ip or network',
        );
      }
      counted = true;
      if (this.tlsActive) await this.checkClientCertificate();
      // "ESMTP" in the greeting tells clients and monitors this is an ESMTP server.
      this.writer.write(`${C.ServiceReady} ${this.ctx.hostname} ESMTP Tidings\r\n`);
      await this.flush();
      while (!this.closed) {
        if (this.shutdownRequested || this.ctx.isShuttingDown()) {
          this.reply(C.ServiceNotAvailable, SE.NotAccepting2, 'shutting down');
          await this.flush();
          break;
        }
        await this.command();
      }
    } catch (e) {
      if (!isIOError(e)) {
        panicTotal.inc({ origin: 'smtp' });
        this.log.error({ err: e }, 'connection failed');
      }
    } finally {
      await this.teardown(counted);
    }
  }

  /** Refuses the connection at its start (limits, shutdown), saying why in the log too. */
  private async refuse(code: number, secode: string, msg: string): Promise<void> {
    this.log.info({ remote: this.remoteIP, code, reason: msg }, 'connection refused');
    this.reply(code, secode, msg);
    await this.flush().catch(() => {});
  }

  private async teardown(counted: boolean): Promise<void> {
    if (counted) this.ctx.limiters.connections.release(this.remoteIP);
    await this.abortChunks();
    this.writer.setSlow(false);
    await this.flush().catch(() => {});
    // End the TCP socket itself: a peer slow to answer a TLS close-notify must not hold us.
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.log.info('connection closed');
  }

  /** Server shutdown: an idle connection gets 421 now, a busy one after its command. */
  shutdown(): void {
    this.shutdownRequested = true;
    if (!this.inCommand) {
      this.writer.setSlow(false);
      this.reply(C.ServiceNotAvailable, SE.NotAccepting2, 'shutting down');
      void this.flush()
        .catch(() => {})
        .finally(() => this.socket.destroy());
    }
  }

  /** Marks the connection for closing once the current reply is written. */
  close(): void {
    this.closed = true;
  }

  /** Reads one command line, waiting with replies flushed. */
  async readCommandLine(): Promise<string> {
    await this.flushIfIdle();
    if (this.writer.isSlow) await sleep(this.ctx.delays.badClient);
    this.reader.setTimeout(this.timeouts.io);
    this.writer.setTimeout(this.timeouts.io);
    const { line } = await this.reader.readLine(this.ctx.limits.maxLineLength);
    // Commands are ASCII, but addresses may be UTF-8 (RFC 6531).
    return line.toString('utf8');
  }

  private async command(): Promise<void> {
    let line: string;
    try {
      line = await this.readCommandLine();
    } catch (e) {
      if (e instanceof LineTooLongError) {
        this.reply(
          C.CommandUnrecognized,
          SE.OtherProto0,
          `line too long, smtp max is 512, we reached ${this.ctx.limits.maxLineLength}`,
        );
      } else if (e instanceof ReadTimeoutError) {
        this.reply(C.ServiceNotAvailable, SE.BadConnection2, 'timeout, closing connection');
      }
      throw new CloseConnection();
    }
    this.inCommand = true;
    const start = performance.now();
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const args = sp < 0 ? '' : line.slice(sp + 1);
    const handler = this.commands.get(verb);
    let code = 0;
    let ecode = '';
    this.log.trace({ line: verb === 'AUTH' ? `AUTH ${args.split(' ')[0]}` : line }, 'C:');
    try {
      if (!handler) {
        if (this.ncmds === 0) {
          // A first command that is not SMTP is probably another protocol (HTTP, say):
          // stop before reading more of it.
          throw new SmtpError(
            C.CommandUnrecognized,
            SE.SyntaxError2,
            'please try again speaking smtp',
            { close: true },
          );
        }
        throw new SmtpError(C.CommandUnrecognized, SE.InvalidCmd1, 'unknown command');
      }
      this.ncmds++;
      const r = await handler(this, args);
      code = r?.code ?? 0;
      ecode = r?.secode ?? '';
    } catch (e) {
      if (e instanceof SmtpError) {
        code = e.code;
        ecode = e.secode ?? '';
        if (!e.user) {
          panicTotal.inc({ origin: 'smtp' });
          this.log.error({ err: e.cause ?? e, cmd: verb }, 'smtp command failed');
        } else {
          // The reason in a field of its own: "msg" is the line's message key.
          const mechanism = verb === 'AUTH' ? args.split(' ')[0]?.toUpperCase() : undefined;
          this.log.info(
            { cmd: verb, mechanism, code, ecode: e.secode, reason: e.message },
            'smtp error',
          );
        }
        this.reply(e.code, e.secode, e.message);
        if (e.opts.close) {
          await this.flush().catch(() => {});
          throw new CloseConnection();
        }
      } else if (isIOError(e)) {
        throw e;
      } else {
        panicTotal.inc({ origin: 'smtp' });
        this.log.error({ err: e, cmd: verb }, 'smtp command server error');
        code = C.LocalError;
        ecode = SE.OtherMailSystem0;
        this.reply(C.LocalError, SE.OtherMailSystem0, 'internal error');
      }
    } finally {
      this.inCommand = false;
      const secs = (performance.now() - start) / 1000;
      const cmd = handler ? verb.toLowerCase() : '(unrecognized)';
      smtpMetrics.commandDuration.observe(
        {
          kind: this.ctx.kind,
          cmd,
          code: String(code),
          ecode: ecode ? `${Math.floor(code / 100)}.${ecode}` : '',
        },
        secs,
      );
    }
  }

  // ---- transaction state ----

  /** Drops the transaction (RSET, HELO/EHLO, after DATA, after a failed MAIL). */
  async resetTransaction(): Promise<void> {
    await this.abortChunks();
    this.tx = null;
  }

  private async abortChunks(): Promise<void> {
    const ch = this.tx?.chunks;
    if (ch) {
      this.tx!.chunks = null;
      await ch.temp.abort().catch(() => {});
    }
  }

  // ---- authentication ----

  /**
   * Before every authentication attempt: the backoff delay, then the failed-auth limit of
   * the client's network, refused with 421 and the connection closed.
   */
  async authBackoff(): Promise<void> {
    if (await this.logins.backoff()) return;
    throw new SmtpError(
      C.ServiceNotAvailable,
      SE.OtherSecurity0,
      'too many failed logins from your network, try again later',
      { close: true },
    );
  }

  authSucceeded(account: string, address: string, mechanism: string): void {
    this.account = account;
    this.username = address;
    this.logins.success(account, address, mechanism);
  }

  /** "TLSv1.3 TLS_AES_128_GCM_SHA256", or "" on plaintext. */
  tlsDescription(): string {
    return tlsDescription(this.socket, this.tlsActive);
  }

  /** A TLS client certificate whose public key is registered identifies an account. */
  async checkClientCertificate(): Promise<void> {
    if (!this.submission) return;
    const key = await certificateKey(this.socket, this.ctx.store.global, () =>
      this.logins.networkAllowed(),
    );
    if (!key) return;
    const acc = this.ctx.domains().accounts[key.account];
    if (!acc) return;
    this.tlsIdentity = {
      account: key.account,
      loginAddress: key.loginAddress,
      fingerprint: key.fingerprint,
    };
    if (acc.login_disabled !== undefined) {
      this.logins.record(key.account, key.loginAddress, 'tlsclientauth', 'logindisabled');
      return;
    }
    // No AUTH is needed after a certificate login: the registered key is the credential.
    this.authSucceeded(key.account, key.loginAddress, 'tlsclientauth');
  }

  /** STARTTLS: hands bytes already read to the TLS handshake, never executing them. */
  async startTLS(): Promise<void> {
    const tlsOpts = this.ctx.tls;
    if (!tlsOpts) throw new Error('no TLS configuration');
    await this.flush();
    const buffered = this.reader.detach();
    let tlsSock: TLSSocket;
    try {
      tlsSock = await upgradeToTLS(
        this.socket,
        { ...tlsOpts, requestCert: this.submission, rejectUnauthorized: false },
        { buffered },
      );
    } catch (e) {
      smtpMetrics.starttls.inc({ kind: this.ctx.kind, result: 'error' });
      this.log.info({ err: (e as Error).message }, 'starttls handshake failed');
      throw new CloseConnection();
    }
    smtpMetrics.starttls.inc({ kind: this.ctx.kind, result: 'ok' });
    tlsSock.on('error', () => {});
    this.socket = tlsSock;
    this.reader = new LineReader(tlsSock);
    const slow = this.writer.isSlow;
    this.writer = new Writer(tlsSock, { slowDelayMs: this.ctx.delays.badClient });
    this.writer.setSlow(slow);
    this.tlsActive = true;
    // RFC 3207 §4.2: forget everything learned before TLS.
    this.hello = null;
    await this.resetTransaction();
    await this.checkClientCertificate();
  }
}

function safeMask(ip: string): string {
  try {
    return maskIP(ip)[0];
  } catch {
    return ip;
  }
}

export function isIOError(e: unknown): boolean {
  return e instanceof CloseConnection || isConnectionGone(e);
}
