// One IMAP connection: the state machine, command dispatch and the error model, on the
// I/O of connio.ts. One command runs at a time, even when pipelined (RFC 9051 §5.5 allows
// a server to serialise them), so responses never interleave. Output is buffered per
// command and flushed with back-pressure; long responses flush as they go.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  LineReader,
  LineTooLongError,
  ReadTimeoutError,
  Writer,
  isConnectionGone,
  upgradeToTLS,
} from '../net/index.js';
import { newCid, type Logger } from '../log/index.js';
import { requireUids } from './uidonly.js';
import type { Account, Change, Session } from '../store/index.js';
import { isStorageFull } from '../store/index.js';
import {
  announcedMechanisms,
  mechanismRefusal,
  type AuthConnState,
  type AuthPolicy,
} from '../auth/mechanisms.js';
import { LoginAttempts, tlsDescription } from '../auth/attempt.js';
import { certificateKey } from '../auth/certificate.js';
import { accountRefusal, type LoginEnv } from '../auth/exchange.js';
import { failureReply } from './commands/auth.js';
import { ParseError, Parser, literalAtEnd, type NumSetSpec } from './parser.js';
import { CloseConnection, FatalReply, UserError, fromStoreError } from './errors.js';
import { resolveSeqs, resolveUids } from './uids.js';
import { COMMANDS } from './commands/index.js';
import { HANDLED, validIn, type CommandDef } from './commands/types.js';
import { applyChanges, leaveSelected } from './changes.js';
import { deliverQueued, notifiesAsync } from './notify.js';
import type { NotifySpec } from './notifyspec.js';
import { writeFetches } from './commands/fetch.js';
import { condstoreOn } from './condstore.js';
import { capabilityList } from './capabilities.js';
import { deflateStreams } from './compress.js';
import { DEFAULT_TIMEOUTS, type ImapContext } from './context.js';
import type {
  AuthSession,
  ImapSession,
  Selected,
  SelectedSession,
  State,
  TlsIdentity,
} from './session.js';
import { ConnIO } from './connio.js';
import { imapMetrics } from './metrics.js';
import { PRODUCT } from '../version.js';

const MIN = 60_000;
const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

export class Conn extends ConnIO implements ImapSession {
  readonly cid = newCid();
  readonly log: Logger;
  state: State = 'notauth';
  tlsActive: boolean;
  readonly remoteIP: string;
  readonly localIP: string;

  account: Account | null = null;
  session: Session | null = null;
  username = '';
  selected: Selected | null = null;
  readonly enabled = new Set<string>();
  userAgent = '';
  /** Account identified by a TLS client certificate (for PREAUTH or EXTERNAL). */
  tlsIdentity: TlsIdentity | null = null;

  ncmds = 0;
  readonly logins: LoginAttempts;
  notify: NotifySpec | null = null;
  notifyQueue: Change[] = [];
  private idleWake: (() => void) | null = null;
  private shutdownRequested = false;
  private inCommand = false;

  constructor(socket: Socket, ctx: ImapContext, implicitTLS: boolean) {
    super(socket, ctx, { ...DEFAULT_TIMEOUTS, ...ctx.timeouts });
    this.tlsActive = implicitTLS;
    this.remoteIP = socket.remoteAddress ?? '';
    this.localIP = socket.localAddress ?? '';
    this.log = ctx.log.child({ cid: this.cid, proto: 'imap' });
    socket.setKeepAlive(true, 5 * MIN);
    this.logins = new LoginAttempts({
      protocol: 'imap',
      remoteIP: this.remoteIP,
      localIP: this.localIP,
      limiter: ctx.limiters.authFailures,
      failDelayMs: ctx.delays.authFail,
      global: ctx.store.global,
      log: this.log,
      metrics: {
        ratelimited: () => imapMetrics.authRatelimited.inc(),
        failure: (mechanism, _result, counted) => {
          if (counted) imapMetrics.authFailures.inc({ mechanism });
        },
        success: () => {},
      },
      setSlow: (on) => this.writer.setSlow(on),
      tls: () => ({
        tls: tlsDescription(this.socket, this.tlsActive),
        tlsKeyFingerprint: this.tlsIdentity?.fingerprint ?? '',
      }),
      userAgent: () => this.userAgent,
      // Clients send ID (RFC 2971) at different points of a session: a record waits for
      // it until ID arrives, a second after the attempt, or the connection ends.
      holdMs: 1000,
    });
    socket.on('error', () => {});
  }

  get utf8(): boolean {
    return this.enabled.has('IMAP4REV2') || this.enabled.has('UTF8=ACCEPT');
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  // ---- the connection ----

  async serve(): Promise<void> {
    const ip = this.remoteIP;
    const lim = this.ctx.limiters;
    let counted = false;
    imapMetrics.connections.inc({ service: this.ctx.service });
    this.log.info({ remote: ip, local: this.localIP, tls: this.tlsActive }, 'new connection');
    try {
      // Order of gating: shutdown, rate, auth failures, connections. The slot for an open
      // connection is taken last, so a refused connection never holds one.
      if (this.ctx.isShuttingDown()) return this.bye('shutting down');
      if (!lim.rate.add(ip, Date.now())) {
        return this.bye('connection rate from your ip or network too high, slow down please');
      }
      if (!lim.authFailures.check(ip)) {
        imapMetrics.authRatelimited.inc();
        return this.bye('too many auth failures');
      }
      if (!lim.connections.tryAcquire(ip))
        return this.bye('too many open connections from your ip or network');
      counted = true;
      if (this.tlsActive) await this.checkClientCertificate();
      let preauth = false;
      if (this.tlsIdentity && !this.tlsIdentity.noPreauth) {
        try {
          const id = this.tlsIdentity;
          await this.loginAccount(id.account, id.loginAddress, 'tlsclientauth');
          preauth = true;
        } catch (e) {
          // Login disabled (or the account is gone): a normal greeting; EXTERNAL then
          // answers with the reason.
          if (!(e instanceof UserError)) throw e;
        }
      }
      if (preauth) {
        this.untagged(
          `PREAUTH [CAPABILITY ${this.capabilities()}] ${PRODUCT} IMAP welcomes ${this.username}`,
        );
      } else {
        this.untagged(`OK [CAPABILITY ${this.capabilities()}] ${PRODUCT} IMAP ready`);
      }
      await this.flush();
      while (this.state !== 'logout') {
        if (this.shutdownRequested || this.ctx.isShuttingDown()) {
          this.untagged('BYE shutting down');
          await this.flush();
          break;
        }
        await this.command();
      }
    } catch (e) {
      if (!isIOError(e)) this.log.error({ err: e }, 'connection failed');
    } finally {
      await this.teardown(counted);
    }
  }

  /** Refuses the connection at its start (limits, shutdown), saying why in the log too. */
  private async bye(text: string): Promise<void> {
    this.log.info({ remote: this.remoteIP, reason: text }, 'connection refused');
    this.untagged(`BYE ${text}`);
    await this.flush().catch(() => {});
  }

  private async teardown(counted: boolean): Promise<void> {
    if (counted) this.ctx.limiters.connections.release(this.remoteIP);
    this.logins.flush();
    leaveSelected(this);
    this.session?.unregister();
    this.session = null;
    this.idleWake?.();
    await this.flush().catch(() => {});
    this.socket.end();
    this.socket.destroySoon?.();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.log.info('connection closed');
  }

  /** Server shutdown: an idle connection gets BYE now; a busy one after its command. */
  shutdown(): void {
    this.shutdownRequested = true;
    if (!this.inCommand) {
      this.untagged('BYE shutting down');
      void this.flush()
        .catch(() => {})
        .finally(() => this.socket.destroy());
    }
    this.idleWake?.();
  }

  /** Reads and executes one command. */
  private async command(): Promise<void> {
    if (this.writer.isSlow) await sleep(this.ctx.delays.badClient);
    this.reader.setTimeout(
      this.state === 'notauth' ? this.timeouts.readPreauth : this.timeouts.readAuth,
    );
    let line: Buffer;
    try {
      line = await this.readCommandLine();
    } catch (e) {
      if (e instanceof ReadTimeoutError) {
        this.untagged('BYE inactive');
        this.writer.setTimeout(10_000);
        await this.flush().catch(() => {});
      } else if (e instanceof LineTooLongError) {
        this.untagged(`BYE [TOOBIG] line longer than ${this.ctx.limits.maxLineLength} bytes`);
        await this.flush().catch(() => {});
      }
      throw new CloseConnection();
    }
    this.inCommand = true;
    this.lastLine = line.toString('latin1');
    this.unreadLiteral = literalAtEnd(line);
    this.streamLeft = 0;
    this.litCount = 0;
    this.litTotal = 0;
    this.writer.setTimeout(
      this.state === 'notauth' ? this.timeouts.writePreauth : this.timeouts.writeAuth,
    );
    const start = performance.now();
    const p = new Parser(line, this, this.utf8);
    let tag = '*';
    let name = '';
    let metricName = '(unrecognized)';
    let result = 'ok';
    let applyAtEnd = true;
    try {
      tag = p.tag();
      p.sp();
      name = p.atom();
      let key = name.toUpperCase();
      if (key === 'UID') {
        p.sp();
        const sub = p.atom();
        name = `${name} ${sub}`;
        key = `UID ${sub.toUpperCase()}`;
      }
      const def = COMMANDS.get(key);
      if (!def) throw new ParseError('unknown command');
      metricName = key.toLowerCase();
      applyAtEnd = !def.noChangesDuring;
      if (!validIn(def, this.state)) {
        throw new UserError('', 'not allowed in this connection state');
      }
      // A known command in a valid state: the client speaks IMAP, whatever the outcome.
      this.ncmds++;
      this.log.trace({ line: p.text }, 'C:');
      const code = await this.run(def, tag, p, name);
      if (code !== HANDLED) {
        if (applyAtEnd) await this.applyPending();
        this.send(`${tag} OK ${code ? code + ' ' : ''}${name} done\r\n`);
      }
    } catch (e0) {
      const e = fromStoreError(e0);
      if (e instanceof FatalReply || e instanceof CloseConnection || isIOError(e)) {
        result = 'ioerror';
        throw e instanceof CloseConnection ? e : new CloseConnection();
      } else if (e instanceof ParseError) {
        result = 'badsyntax';
        if (this.ncmds === 0) {
          // Probably not an IMAP client: stop before we read more of whatever it sent.
          this.untagged('BYE please try again speaking imap');
          await this.flush().catch(() => {});
          throw new CloseConnection();
        }
        this.log.info({ lastline: this.lastLine, err: e.message }, 'imap syntax error');
        if (applyAtEnd) await this.applyPending();
        const code = e.code ? `[${e.code}] ` : '';
        this.send(
          `${tag} BAD ${code}${name || 'command'} unrecognized syntax/command: ${e.message}\r\n`,
        );
      } else if (e instanceof UserError) {
        result = 'usererror';
        if (applyAtEnd) await this.applyPending();
        const code = e.code ? `[${e.code}] ` : '';
        this.send(`${tag} NO ${code}${name} ${e.message}\r\n`);
      } else if (isStorageFull(e)) {
        // RFC 5530 §3: OVERQUOTA also covers the server's own storage running out.
        result = 'servererror';
        this.log.error({ err: (e as Error).message, cmd: name }, 'storage full');
        if (applyAtEnd) await this.applyPending();
        this.send(
          `${tag} NO [OVERQUOTA] ${name} the server's storage is full, try again later\r\n`,
        );
      } else {
        result = 'servererror';
        this.log.error({ err: e, cmd: name }, 'imap command server error');
        if (applyAtEnd) await this.applyPending();
        this.send(`${tag} NO [SERVERBUG] ${name} internal server error (${this.cid})\r\n`);
      }
    } finally {
      this.inCommand = false;
      const secs = (performance.now() - start) / 1000;
      imapMetrics.commandDuration.observe({ cmd: metricName, result }, secs);
      this.log.debug({ cmd: metricName, result, duration: secs }, 'imap command done');
    }
    await this.flush();
    if (this.streamLeft > 0 || this.unreadLiteral) await this.discardUnreadLiterals();
  }

  /** Runs a handler with the session narrowed to what its state guarantees. */
  private run(def: CommandDef, tag: string, p: Parser, name: string) {
    switch (def.states) {
      case 'any':
      case 'notauth':
        return def.handler(this, tag, p, name);
      case 'auth':
        return def.handler(this.authenticated(), tag, p, name);
      case 'selected': {
        const s = this.authenticated();
        if (!this.selected) throw new Error('selected state without a selected mailbox');
        return def.handler(s as SelectedSession, tag, p, name);
      }
    }
  }

  /** This session as one that has logged in: the state machine guarantees its account. */
  private authenticated(): AuthSession {
    if (!this.account || !this.session) throw new Error('authenticated state without an account');
    return this as AuthSession;
  }

  // ---- changes from other sessions ----

  /**
   * Tells the client of other sessions' changes: the selected mailbox's as NOTIFY allows
   * (all of them without NOTIFY), then NOTIFY's events of other mailboxes.
   */
  async applyPending(mode: 'sync' | 'async' = 'sync'): Promise<void> {
    const s = this.session;
    if (!s) return;
    const sel = this.selected;
    if (s.hasPending || (sel && sel.held.length > 0)) {
      if (this.notify === null) applyChanges(this, s.take(), mode);
      else {
        // Removals stay referenced while their changes may be held (notify.ts).
        const { changes, removals } = s.takeHolding();
        if (sel) for (const r of removals) sel.heldRemovals.push(r);
        else s.release(removals);
        applyChanges(this, changes, mode);
      }
      if (sel && sel.held.length === 0 && sel.heldRemovals.length > 0) {
        s.release(sel.heldRemovals);
        sel.heldRemovals = [];
      }
    }
    await this.deliverNotify();
  }

  /** NOTIFY's queued events (notify.ts), and the fetch attributes of MessageNew. */
  private async deliverNotify(): Promise<void> {
    const queued = this.notifyQueue;
    this.notifyQueue = [];
    if (queued.length > 0) await deliverQueued(this.authenticated(), queued);
    const sel = this.selected;
    const items = this.notify?.selected?.fetch;
    if (!sel || sel.notifyFetch.length === 0 || !items) return;
    const uids = sel.notifyFetch;
    sel.notifyFetch = [];
    try {
      await writeFetches(this.authenticated() as SelectedSession, sel, uids, [...items], {
        modseqAlways: condstoreOn(this),
      });
    } catch (e) {
      if (isIOError(e)) throw e;
      // No command to fail: the client is told, and the session goes on.
      this.log.error({ err: e }, 'notify fetch failed');
      this.untagged(`NO [SERVERBUG] fetching new messages for NOTIFY failed (${this.cid})`);
    }
  }

  /**
   * The next command line. Under a NOTIFY that reports anything, changes are told as
   * they happen while the session waits (RFC 5465 §3); otherwise only at the points
   * commands allow.
   */
  private async readCommandLine(): Promise<Buffer> {
    const read = this.reader.readLine(this.ctx.limits.maxLineLength);
    if (!notifiesAsync(this.notify)) return (await read).line;
    const line = read.then(
      (l) => ({ line: l.line }),
      (err: unknown) => ({ err }),
    );
    for (;;) {
      const r = await Promise.race([line, this.waitForChanges().then(() => null)]);
      if (r === null) {
        if (this.isShuttingDown) throw new CloseConnection();
        await this.applyPending('async');
        await this.flush();
        if (!notifiesAsync(this.notify)) return this.lineOrThrow(line);
        continue;
      }
      return this.lineOrThrow(Promise.resolve(r));
    }
  }

  private async lineOrThrow(p: Promise<{ line: Buffer } | { err: unknown }>): Promise<Buffer> {
    const r = await p;
    if ('err' in r) throw r.err;
    return r.line;
  }

  /** Resolves when another session has changes for us, or on shutdown (used by IDLE). */
  waitForChanges(): Promise<void> {
    if (!this.session) return new Promise(() => {});
    return new Promise((resolve) => {
      this.idleWake = resolve;
      void this.session!.wait().then(resolve);
    });
  }

  get isShuttingDown(): boolean {
    return this.shutdownRequested || this.ctx.isShuttingDown();
  }

  // ---- selected mailbox helpers ----

  /** The selected mailbox, re-validated: it may have been deleted by another session. */
  async requireSelected(forWrite = false): Promise<Selected> {
    const s = this.selected;
    if (!s) throw new UserError('', 'no mailbox selected');
    if (forWrite && s.readonly) throw new UserError('', 'mailbox selected read-only (EXAMINE)');
    const mb = await this.authenticated().account.mailboxById(s.mailbox.id);
    if (!mb) throw new UserError('NONEXISTENT', 'selected mailbox no longer exists');
    s.mailbox = mb;
    return s;
  }

  /** UIDs named by a sequence set (message numbers, or UIDs for UID commands). */
  resolveSet(spec: NumSetSpec, isUid: boolean): number[] {
    const s = this.selected;
    if (!s) throw new UserError('', 'no mailbox selected');
    if (isUid) return resolveUids(spec, s.uids, s.searchResult);
    requireUids(this, 'a message sequence set');
    return resolveSeqs(spec, s.uids.length, s.searchResult, s.uids).map((n) => s.uids.at(n - 1));
  }

  // ---- capabilities and authentication ----

  capabilities(): string {
    return capabilityList({
      authenticated: this.state !== 'notauth',
      maxMessageSize: this.ctx.limits.maxMessageSize,
      starttls: !this.tlsActive && this.ctx.tls !== null,
      loginDisabled: !this.plaintextAllowed,
      mechanisms: announcedMechanisms('imap', this.authPolicy, this.authState),
    });
  }

  /** What the listener allows: TLS required for any login unless configured otherwise. */
  get authPolicy(): AuthPolicy {
    return { requireTLS: !this.ctx.noRequireSTARTTLS, mechanisms: this.ctx.authMechanisms ?? null };
  }

  get authState(): AuthConnState {
    return { tls: this.tlsActive, certificate: this.tlsIdentity !== null };
  }

  /** Whether a plaintext password (LOGIN, AUTHENTICATE PLAIN) may be used now. */
  get plaintextAllowed(): boolean {
    return mechanismRefusal('imap', this.authPolicy, this.authState, 'PLAIN') === null;
  }

  /** The connection as the shared login path sees it. */
  loginEnv(): LoginEnv {
    return {
      protocol: 'imap',
      policy: this.authPolicy,
      state: this.authState,
      hostname: this.ctx.hostname,
      domains: this.ctx.domains,
      store: this.ctx.store,
      tls: this.tlsActive && this.socket instanceof TLSSocket ? this.socket : null,
      identity: this.tlsIdentity,
      attempts: this.logins,
      log: this.log,
    };
  }

  /** A registered TLS client certificate identifies an account (for PREAUTH or EXTERNAL). */
  async checkClientCertificate(): Promise<void> {
    const key = await certificateKey(this.socket, this.ctx.store.global, () =>
      this.logins.networkAllowed(),
    );
    if (!key) return;
    this.tlsIdentity = {
      account: key.account,
      loginAddress: key.loginAddress,
      fingerprint: key.fingerprint,
      noPreauth: key.noIMAPPreauth || this.ctx.service !== 'imaps',
    };
  }

  /** Completes a successful login: opens the account and registers for changes. */
  async loginAccount(account: string, address: string, mechanism: string): Promise<void> {
    const refusal = accountRefusal(this.ctx.domains(), account, mechanism.toUpperCase());
    if (refusal) {
      // An account gone from the configuration since its lookup is not recorded.
      if (refusal.reason === 'login-disabled') {
        this.logins.record(account, address, mechanism, 'logindisabled');
      }
      throw failureReply(refusal, false);
    }
    this.account = await this.ctx.store.account(account);
    this.session = this.account.switchboard.register(() => this.idleWake?.());
    this.username = address;
    this.state = 'auth';
    this.logins.success(account, address, mechanism);
  }

  /**
   * Before every authentication attempt: the backoff delay, then the failed-auth limit of
   * the client's network, refused with BYE and the connection closed.
   */
  async authBackoff(): Promise<void> {
    if (await this.logins.backoff()) return;
    this.untagged('BYE too many failed logins from your network, try again later');
    await this.flush().catch(() => {});
    throw new CloseConnection();
  }

  /** Whether COMPRESS DEFLATE is active (RFC 4978). */
  compressed = false;

  /** COMPRESS DEFLATE: both directions through deflate from now on (see compress.ts). */
  async startCompression(): Promise<void> {
    const z = deflateStreams(this.socket, this.reader.detach(), this.log);
    this.reader = new LineReader(z.input);
    const slow = this.writer.isSlow;
    this.writer = new Writer(z.output, {
      slowDelayMs: this.ctx.delays.badClient,
      onFlushed: z.flush,
    });
    this.writer.setSlow(slow);
    this.compressed = true;
  }

  /** STARTTLS: hands any bytes already read to the TLS handshake (never executes them). */
  async startTLS(): Promise<void> {
    const tlsOpts = this.ctx.tls;
    if (!tlsOpts) throw new Error('no TLS configuration');
    const buffered = this.reader.detach();
    let tlsSock: TLSSocket;
    try {
      // A client certificate is requested (never required) so AUTHENTICATE EXTERNAL
      // works after STARTTLS too; it never gives PREAUTH there, as PREAUTH is only a
      // greeting (RFC 9051 §7.1.4).
      tlsSock = await upgradeToTLS(
        this.socket,
        { ...tlsOpts, requestCert: true, rejectUnauthorized: false },
        { buffered },
      );
    } catch (e) {
      this.log.info({ err: (e as Error).message }, 'starttls handshake failed');
      throw new CloseConnection();
    }
    tlsSock.on('error', () => {});
    this.socket = tlsSock;
    this.reader = new LineReader(tlsSock);
    const slow = this.writer.isSlow;
    this.writer = new Writer(tlsSock, { slowDelayMs: this.ctx.delays.badClient });
    this.writer.setSlow(slow);
    this.tlsActive = true;
    await this.checkClientCertificate();
    if (this.tlsIdentity) this.tlsIdentity.noPreauth = true;
  }
}

function isIOError(e: unknown): boolean {
  return e instanceof CloseConnection || isConnectionGone(e);
}
