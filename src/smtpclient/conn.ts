// The client's side of one SMTP connection: commands out, replies in (RFC 5321 §4.2),
// with a deadline per reply, socket back-pressure, and the TLS upgrade.
import type { Socket } from 'node:net';
import {
  ConnectionClosedError,
  LineReader,
  LineTooLongError,
  ReadTimeoutError,
} from '../net/index.js';
import { ReplyParser, ReplySyntaxError, type Reply } from '../smtp/index.js';
import { traceLine, type Logger, type TraceKind } from '../log/index.js';
import { SmtpClientError, type Stage } from './errors.js';
import { clientHandshake, type HandshakeOptions } from './tls.js';
import type { ReplyInfo } from './types.js';

// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
const MAX_REPLY_LINE = 510;
const MAX_REPLY_LINES = 100;
// How long a reply already on its way may take once the server closed during data.
const LATE_REPLY_MS = 1000;

const noop = () => {};

function toInfo(r: Reply): ReplyInfo {
  return { code: r.code, secode: r.secode ?? '', text: r.text, lines: r.lines };
}

function seconds(ms: number): string {
  return `${ms / 1000} s`;
}

export class Conn {
  private sock: Socket;
  private readonly sockets: Socket[] = [];
  private reader: LineReader;
  private readonly parser = new ReplyParser(MAX_REPLY_LINES);

  constructor(
    socket: Socket,
    private readonly log: Logger | undefined,
  ) {
    this.sock = socket;
    this.track(socket);
    this.reader = new LineReader(socket);
  }

  get socket(): Socket {
    return this.sock;
  }

  get closed(): boolean {
    return this.sock.destroyed;
  }

  /** Every socket in the stack gets an error listener: failures surface through reads. */
  private track(s: Socket): void {
    s.on('error', noop);
    // Commands are batched into one write already; Nagle would only delay them.
    s.setNoDelay(true);
    this.sockets.push(s);
  }

  destroy(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Sends command lines (each without CRLF) in one write. */
  send(lines: string[], kind: TraceKind = 'trace'): void {
    for (const l of lines) this.trace('C', l, kind);
    this.sock.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  /** Sends a line whose content only the traceauth level may see. */
  sendSecret(line: string, redacted: string): void {
    this.trace('C', redacted, 'trace');
    this.trace('C', line, 'traceauth');
    this.sock.write(`${line}\r\n`);
  }

  /** Writes message data; false means the caller must await drain() before more. */
  write(data: Buffer): boolean {
    return this.sock.write(data);
  }

  trace(dir: 'C' | 'S', line: string, kind: TraceKind = 'trace'): void {
    if (this.log) traceLine(this.log, dir, line, kind);
  }

  /** Sends one command and reads its reply. */
  async command(line: string, stage: Stage, ms: number, what: string): Promise<ReplyInfo> {
    this.send([line]);
    return this.readReply(stage, ms, what);
  }

  /**
   * Reads one reply within `ms` (0: no limit). A 421, a timeout, a close, an over-long
   * or malformed reply end the connection with a temporary SmtpClientError.
   */
  async readReply(stage: Stage, ms: number, what: string): Promise<ReplyInfo> {
    const deadline = Date.now() + ms;
    for (;;) {
      this.reader.setTimeout(ms > 0 ? Math.max(1, deadline - Date.now()) : 0);
      let line: Buffer;
      try {
        ({ line } = await this.reader.readLine(MAX_REPLY_LINE));
      } catch (e) {
        throw this.readFailure(e, stage, ms, what);
      }
      const text = line.toString('utf8');
      this.trace('S', text);
      let reply: Reply | null;
      try {
        reply = this.parser.push(text);
      } catch (e) {
        if (!(e instanceof ReplySyntaxError)) throw e;
        this.destroy();
        throw new SmtpClientError(stage, `bad ${what}: ${e.message}`, { cause: e });
      }
      if (reply === null) continue;
      const info = toInfo(reply);
      // RFC 5321 §3.8: 421 means the server is closing the connection.
      if (info.code === 421) {
        this.destroy();
        throw SmtpClientError.fromReply(stage, what, info);
      }
      return info;
    }
  }

  private readFailure(e: unknown, stage: Stage, ms: number, what: string): Error {
    this.destroy();
    if (e instanceof ReadTimeoutError) {
      return new SmtpClientError(stage, `timeout after ${seconds(ms)} waiting for ${what}`);
    }
    if (e instanceof LineTooLongError) {
      return new SmtpClientError(
        stage,
        `${what}: reply line longer than ${MAX_REPLY_LINE + 2} octets`,
      );
    }
    if (e instanceof ConnectionClosedError) {
      const cause = e.cause instanceof Error ? ` (${e.cause.message})` : '';
      return new SmtpClientError(stage, `connection closed while waiting for ${what}${cause}`, {
        cause: e,
      });
    }
    return e instanceof Error ? e : new Error(String(e));
  }

  /** Waits until the socket takes more data, at most `ms` (0: no limit). */
  async drain(stage: Stage, ms: number, what: string): Promise<void> {
    const s = this.sock;
    if (s.destroyed) throw await this.closedError(stage, what);
    if (!s.writableNeedDrain) return;
    const ok = await new Promise<boolean>((resolve) => {
      const done = (v: boolean) => {
        if (timer) clearTimeout(timer);
        s.off('drain', onDrain);
        s.off('close', onClose);
        resolve(v);
      };
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const timer = ms > 0 ? setTimeout(() => done(false), ms) : null;
      s.once('drain', onDrain);
      s.once('close', onClose);
    });
    if (ok) return;
    if (!s.destroyed) {
      this.destroy();
      throw new SmtpClientError(stage, `timeout after ${seconds(ms)} sending ${what}`);
    }
    throw await this.closedError(stage, what);
  }

  /**
   * The error for a connection that closed while we were sending: the server's reply
   * when one arrived before the close (e.g. 421 or 554), else a plain close.
   */
  private async closedError(stage: Stage, what: string): Promise<SmtpClientError> {
    this.destroy();
    if (this.reader.hasBufferedLine()) {
      try {
        const r = await this.readReply(stage, LATE_REPLY_MS, `reply while sending ${what}`);
        return SmtpClientError.fromReply(stage, `connection closed while sending ${what}`, r);
      } catch (e) {
        if (e instanceof SmtpClientError && e.code !== 0) return e;
      }
    }
    return new SmtpClientError(stage, `connection closed while sending ${what}`);
  }

  /** Whether a complete reply line has already arrived. */
  hasBufferedLine(): boolean {
    return this.reader.hasBufferedLine();
  }

  /** Replaces the plain socket by a TLS one (after "220" to STARTTLS, or for port 465). */
  async upgrade(stage: Stage, o: HandshakeOptions): Promise<void> {
    const early = this.reader.detach();
    if (early.length > 0) {
      // RFC 3207 §5: nothing sent before the handshake may be taken as part of the session.
      this.destroy();
      throw new SmtpClientError(stage, 'server sent data before the TLS handshake', {
        tlsFailure: true,
      });
    }
    let tlsSock: Socket;
    try {
      tlsSock = await clientHandshake(this.sock, o);
    } catch (e) {
      this.destroy();
      throw new SmtpClientError(stage, (e as Error).message, { tlsFailure: true, cause: e });
    }
    this.sock = tlsSock;
    this.track(tlsSock);
    this.reader = new LineReader(tlsSock);
  }
}
