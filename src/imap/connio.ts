// The I/O half of an IMAP connection: the socket, line reader and writer, output queued
// per command and flushed with back-pressure, and the literals of a command (limits,
// streaming, discarding what a failed command left unread). The protocol half, the
// state machine and command dispatch, is the Conn class in connection.ts.
import type { Socket } from 'node:net';
import { LineReader, Writer, quickAck } from '../net/index.js';
import type { Logger } from '../log/index.js';
import { ParseError, literalAtEnd, type LiteralInfo, type LiteralSource } from './parser.js';
import { CloseConnection, FatalReply, UserError } from './errors.js';
import type { ImapContext, Timeouts } from './context.js';
import { toWire } from './response.js';

export abstract class ConnIO implements LiteralSource {
  abstract readonly log: Logger;
  socket: Socket;
  reader: LineReader;
  writer: Writer;
  protected lastLine = '';
  protected litCount = 0;
  protected litTotal = 0;
  /** The literal announced at the end of the last command line read, while not yet read. */
  protected unreadLiteral: LiteralInfo | null = null;
  /** Octets of a streamed literal (APPEND) that the handler has not read. */
  protected streamLeft = 0;
  private out: string[] = [];
  private outSize = 0;

  constructor(
    socket: Socket,
    readonly ctx: ImapContext,
    readonly timeouts: Timeouts,
  ) {
    this.socket = socket;
    this.reader = new LineReader(socket);
    this.writer = new Writer(socket, { slowDelayMs: ctx.delays.badClient });
  }

  // ---- output ----

  /** Queues an untagged response; `s` is a byte string without "* " and CRLF. */
  untagged(s: string): void {
    this.send(`* ${s}\r\n`);
  }

  /** Queues raw response bytes (a byte string). */
  send(s: string): void {
    this.out.push(s);
    this.outSize += s.length;
  }

  /** Queues raw bytes. */
  sendBuffer(b: Buffer): void {
    this.moveOut();
    this.writer.write(b);
  }

  private moveOut(): void {
    if (this.out.length === 0) return;
    this.writer.write(toWire(this.out.join('')));
    this.out = [];
    this.outSize = 0;
  }

  /** Writes everything queued, waiting for the socket to take it (back-pressure). */
  async flush(): Promise<void> {
    this.moveOut();
    await this.writer.flush();
    // A client may send its next command in two writes (a literal, then its CRLF).
    quickAck(this.socket);
  }

  /** Flushes when much output is queued; long responses call this as they go. */
  async flushIfLarge(limit = 64 * 1024): Promise<void> {
    if (this.outSize + this.writer.buffered >= limit) await this.flush();
  }

  // ---- literals (LiteralSource) ----

  async readLiteral(lit: LiteralInfo): Promise<Buffer> {
    this.checkLiteral(lit);
    if (lit.sync) {
      this.send('+ \r\n');
      await this.flush();
    }
    this.unreadLiteral = null;
    this.reader.setTimeout(this.timeouts.literal);
    return this.reader.readExact(lit.size);
  }

  /**
   * Enforces the per-command literal limits (our policy: the client picks the sizes, and
   * we must not buffer without bound). APPEND's message literals are bounded by quota.
   */
  private checkLiteral(lit: LiteralInfo, exempt = false): void {
    this.litCount++;
    const l = this.ctx.limits;
    let problem = '';
    if (this.litCount > l.maxLiterals) problem = `more than ${l.maxLiterals} literals in command`;
    else if (!exempt && lit.size > l.maxLiteralSize)
      problem = `literal larger than ${l.maxLiteralSize} bytes`;
    else if (!exempt && this.litTotal + lit.size > l.maxLiteralTotal) {
      problem = `literals in command larger than ${l.maxLiteralTotal} bytes in total`;
    }
    if (!exempt) this.litTotal += lit.size;
    if (!problem) return;
    if (!lit.sync) {
      // The client is already sending the data: it would be read as commands.
      this.untagged(`BYE [ALERT] ${problem}`);
      throw new FatalReply();
    }
    throw new ParseError(problem, 'TOOBIG');
  }

  /** For APPEND: checks limits for a message literal (exempt from size limits). */
  checkMessageLiteral(lit: LiteralInfo): void {
    if (lit.size > this.ctx.limits.maxMessageSize) {
      if (!lit.sync) {
        this.untagged(`BYE [ALERT] message larger than ${this.ctx.limits.maxMessageSize} bytes`);
        throw new FatalReply();
      }
      throw new UserError('TOOBIG', `message larger than ${this.ctx.limits.maxMessageSize} bytes`);
    }
    this.checkLiteral(lit, true);
  }

  /** Streams a message literal (after "+ " when sync was requested by the caller). */
  async *readLiteralStream(size: number): AsyncGenerator<Buffer> {
    this.unreadLiteral = null;
    this.streamLeft = size;
    this.reader.setTimeout(this.timeouts.literal);
    for await (const chunk of this.reader.readStream(size)) {
      this.streamLeft -= chunk.length;
      yield chunk;
    }
  }

  /** The line that continues the current command after a literal (for the parser). */
  async nextLine(): Promise<Buffer> {
    const line = await this.responseLine();
    this.lastLine = line.toString('latin1');
    this.unreadLiteral = literalAtEnd(line);
    return line;
  }

  /** A line the client sends in answer to a continuation: SASL data, IDLE's DONE. */
  async responseLine(): Promise<Buffer> {
    return (await this.reader.readLine(this.ctx.limits.maxLineLength)).line;
  }

  /**
   * Reads and discards what is left of a command's literals, so that nothing a client sent
   * as data is ever read as a command. A non-synchronizing literal (RFC 7888) is on its way
   * whatever the server answers; a synchronizing one is only sent after "+ ", which a
   * command that failed first never gave, so the discarding stops there.
   */
  protected async discardUnreadLiterals(): Promise<void> {
    let budget = this.ctx.limits.maxMessageSize + this.ctx.limits.maxLiteralTotal;
    for (;;) {
      let n = this.streamLeft;
      if (n === 0) {
        const lit = this.unreadLiteral;
        if (!lit || lit.sync) return;
        n = lit.size;
      }
      if (n > budget) {
        this.untagged(`BYE [TOOBIG] literal larger than ${budget} bytes`);
        await this.flush().catch(() => {});
        throw new CloseConnection();
      }
      budget -= n;
      this.unreadLiteral = null;
      this.streamLeft = 0;
      try {
        this.reader.setTimeout(this.timeouts.literal);
        for await (const _ of this.reader.readStream(n)) {
          // discarded
        }
        await this.nextLine();
      } catch {
        throw new CloseConnection();
      }
    }
  }
}
