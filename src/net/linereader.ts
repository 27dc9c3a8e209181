// Buffered reading and writing for line-based protocols (IMAP, SMTP): lines with a
// length limit, exact-size literals, streamed literals, read timeouts, and socket
// back-pressure so a client that floods us is paused instead of buffered.
import type { Readable, Writable } from 'node:stream';

export class LineTooLongError extends Error {
  constructor(readonly limit: number) {
    super(`line longer than ${limit} bytes`);
    this.name = 'LineTooLongError';
  }
}

export class ReadTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`no data received within ${ms} ms`);
    this.name = 'ReadTimeoutError';
  }
}

export class WriteTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`peer did not accept data within ${ms} ms`);
    this.name = 'WriteTimeoutError';
  }
}

export class ConnectionClosedError extends Error {
  constructor(message = 'connection closed', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConnectionClosedError';
  }
}

export interface Line {
  /** The line without its terminator. */
  line: Buffer;
  /** The line ended in a bare LF instead of CRLF. */
  bareLF: boolean;
}

export interface LineReaderOptions {
  /** Pause the socket while this many bytes are buffered and no read waits; default 64 KiB. */
  highWaterMark?: number;
  /** Per-read timeout in ms; 0 (default) waits forever. */
  timeoutMs?: number;
}

interface Pending {
  attempt: () => unknown;
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * Reads from a socket into a queue of chunks. One read may be outstanding at a time.
 * After a LineTooLongError or a timeout the connection should be closed; later reads
 * repeat a LineTooLongError.
 */
export class LineReader {
  private readonly socket: Readable;
  private readonly highWater: number;
  private timeoutMs: number;
  private chunks: Buffer[] = [];
  private head = 0; // bytes of chunks[0] already consumed
  private size = 0; // unread bytes
  private scanned = 0; // leading unread bytes known to hold no LF
  private pending: Pending | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private paused = false;
  private ended = false;
  private endCause: Error | undefined;
  private failure: Error | null = null;
  private attached = true;

  constructor(socket: Readable, opts: LineReaderOptions = {}) {
    this.socket = socket;
    this.highWater = opts.highWaterMark ?? 64 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 0;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** Set the timeout for each following read; 0 disables it. */
  setTimeout(ms: number): void {
    this.timeoutMs = ms;
  }

  /** Unread bytes held in memory. */
  get bufferedBytes(): number {
    return this.size;
  }

  /** Whether the socket is paused for back-pressure. */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * The next line, without CRLF (or bare LF, which is reported). Rejects with
   * LineTooLongError once more than `maxLength` bytes precede the terminator.
   */
  readLine(maxLength: number): Promise<Line> {
    return this.run(() => this.tryLine(maxLength));
  }

  /** Exactly `n` bytes, e.g. a literal. */
  readExact(n: number): Promise<Buffer> {
    if (n === 0) return Promise.resolve(EMPTY);
    return this.run(() => (this.size >= n ? this.take(n) : undefined));
  }

  /** The next `n` bytes as chunks, as they arrive, without holding them all. */
  async *readStream(n: number): AsyncGenerator<Buffer, void, undefined> {
    let left = n;
    while (left > 0) {
      const chunk = await this.run(() => (this.size > 0 ? this.takeSome(left) : undefined));
      left -= chunk.length;
      yield chunk;
    }
  }

  /** The next available bytes, at most `max`, as soon as any arrive (SMTP DATA). */
  readSome(max: number): Promise<Buffer> {
    return this.run(() => (this.size > 0 ? this.takeSome(max) : undefined));
  }

  /** Puts bytes back in front of the unread input (what followed the end of DATA). */
  unread(data: Buffer): void {
    if (data.length === 0) return;
    const first = this.chunks[0];
    if (first && this.head > 0) this.chunks[0] = first.subarray(this.head);
    this.head = 0;
    this.chunks.unshift(data);
    this.size += data.length;
    this.scanned = 0;
  }

  /** Whether a complete line is already buffered (more pipelined input is waiting). */
  hasBufferedLine(): boolean {
    return this.findLF() >= 0;
  }

  /** Remove and return every unread buffered byte. */
  takeBuffered(): Buffer {
    const out = this.size === 0 ? EMPTY : this.take(this.size);
    this.updateFlow();
    return out;
  }

  /**
   * Stop reading from the socket (before a TLS upgrade) and return the bytes read but
   * not consumed. The socket is left paused.
   */
  detach(): Buffer {
    if (this.attached) {
      this.attached = false;
      this.socket.off('data', this.onData);
      this.socket.off('end', this.onEnd);
      this.socket.off('close', this.onEnd);
      this.socket.off('error', this.onError);
      this.socket.pause();
      this.paused = true;
    }
    this.fail(new ConnectionClosedError('reader detached'));
    return this.takeBuffered();
  }

  private run<T>(attempt: () => T | undefined): Promise<T> {
    if (this.pending) return Promise.reject(new Error('concurrent read on connection'));
    try {
      const v = this.check(attempt);
      if (v !== undefined) {
        this.updateFlow();
        return Promise.resolve(v);
      }
    } catch (err) {
      return Promise.reject(err as Error);
    }
    return new Promise<T>((resolve, reject) => {
      this.pending = { attempt, resolve: resolve as (v: unknown) => void, reject };
      if (this.timeoutMs > 0) {
        const ms = this.timeoutMs;
        this.timer = setTimeout(() => this.settle(new ReadTimeoutError(ms)), ms);
      }
      this.updateFlow();
    });
  }

  /** Completes `attempt` from the buffer, or undefined when more data is needed. */
  private check<T>(attempt: () => T | undefined): T | undefined {
    if (this.failure) throw this.failure;
    const v = attempt();
    if (v !== undefined) return v;
    if (this.ended) throw new ConnectionClosedError(undefined, { cause: this.endCause });
    return undefined;
  }

  private settle(err?: Error): void {
    const p = this.pending;
    if (!p) return;
    let value: unknown;
    if (err === undefined) {
      try {
        value = this.check(p.attempt);
      } catch (e) {
        err = e as Error;
      }
      if (err === undefined && value === undefined) return;
    }
    this.pending = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (err) p.reject(err);
    else p.resolve(value);
  }

  private fail(err: Error): void {
    if (!this.failure) this.failure = err;
    this.settle(err);
  }

  private readonly onData = (chunk: Buffer | string): void => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (b.length === 0) return;
    this.chunks.push(b);
    this.size += b.length;
    this.settle();
    this.updateFlow();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.settle();
  };

  private readonly onError = (err: Error): void => {
    this.endCause ??= err;
    this.ended = true;
    this.settle();
  };

  /** Read from the socket only while a read waits or the buffer is below the mark. */
  private updateFlow(): void {
    if (!this.attached) return;
    const pause = this.size >= this.highWater && this.pending === null;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  private tryLine(maxLength: number): Line | undefined {
    const at = this.findLF();
    if (at < 0) {
      // With maxLength + 2 bytes and no LF the content exceeds the limit whatever follows.
      if (this.size >= maxLength + 2) this.tooLong(maxLength);
      return undefined;
    }
    const raw = this.take(at + 1);
    const bareLF = at === 0 || raw[at - 1] !== CR;
    const end = bareLF ? at : at - 1;
    if (end > maxLength) this.tooLong(maxLength);
    return { line: raw.subarray(0, end), bareLF };
  }

  private tooLong(maxLength: number): never {
    const err = new LineTooLongError(maxLength);
    this.failure = err;
    throw err;
  }

  /** Offset of the first LF in the unread bytes, or -1; remembers what was scanned. */
  private findLF(): number {
    let base = 0;
    for (let i = 0; i < this.chunks.length; i++) {
      const c = this.chunks[i] as Buffer;
      const start = i === 0 ? this.head : 0;
      const len = c.length - start;
      if (base + len > this.scanned) {
        const from = start + Math.max(0, this.scanned - base);
        const idx = c.indexOf(LF, from);
        if (idx >= 0) return base + idx - start;
      }
      base += len;
    }
    this.scanned = this.size;
    return -1;
  }

  /** Remove `n` (≤ size) bytes from the front; zero-copy when they lie in one chunk. */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length - this.head >= n) return this.consumeFirst(n);
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(n - off, c.length - this.head);
      c.copy(out, off, this.head, this.head + k);
      off += k;
      this.consumeFirst(k);
    }
    return out;
  }

  /** Up to `max` bytes from the first chunk. */
  private takeSome(max: number): Buffer {
    const first = this.chunks[0] as Buffer;
    return this.consumeFirst(Math.min(max, first.length - this.head));
  }

  private consumeFirst(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    const out = first.subarray(this.head, this.head + n);
    this.head += n;
    this.size -= n;
    this.scanned = Math.max(0, this.scanned - n);
    if (this.head === first.length) {
      this.chunks.shift();
      this.head = 0;
    }
    return out;
  }
}

export interface WriterOptions {
  /**
   * Delay between single bytes in slow mode; default 1000 ms: costly for an abuser,
   * still within any client's timeouts near the deadline (see setDeadline).
   */
  slowDelayMs?: number;
  /** Sleep used in slow mode; replaceable in tests. */
  sleep?: (ms: number) => Promise<void>;
  /** Clock for the slow-mode deadline; replaceable in tests. */
  now?: () => number;
  /** Limit for each wait on 'drain'; 0 (default) waits forever. */
  timeoutMs?: number;
  /**
   * Called after each flush has been handed over: a compressing stream (IMAP COMPRESS)
   * flushes its compressor here, so every response reaches the client whole.
   */
  onFlushed?: () => void | Promise<void>;
}

const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Collects response data and sends it on flush(), honouring the socket's back-pressure.
 * In slow mode (for clients that misbehave) flush() sends one byte per delay.
 */
export class Writer {
  private readonly socket: Writable;
  private parts: Buffer[] = [];
  private size = 0;
  private slow = false;
  private deadline = 0;
  private readonly slowDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private timeoutMs: number;
  private flushing: Promise<void> = Promise.resolve();
  private readonly onFlushed: (() => void | Promise<void>) | undefined;

  constructor(socket: Writable, opts: WriterOptions = {}) {
    this.socket = socket;
    this.onFlushed = opts.onFlushed;
    this.slowDelayMs = opts.slowDelayMs ?? 1000;
    this.sleep = opts.sleep ?? realSleep;
    this.now = opts.now ?? Date.now;
    this.timeoutMs = opts.timeoutMs ?? 0;
  }

  /** Queue data; nothing is sent before flush(). */
  write(data: Buffer | string): void {
    const b = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (b.length === 0) return;
    this.parts.push(b);
    this.size += b.length;
  }

  /** Bytes queued and not yet flushed. */
  get buffered(): number {
    return this.size;
  }

  setSlow(on: boolean): void {
    this.slow = on;
  }

  get isSlow(): boolean {
    return this.slow;
  }

  /** Limit for each wait on 'drain'; 0 waits forever. */
  setTimeout(ms: number): void {
    this.timeoutMs = ms;
  }

  /**
   * Time (ms since epoch, 0 for none) by which a slow flush must be done: when fewer than
   * five delays remain, the rest is written at once so the client does not time out.
   */
  setDeadline(at: number): void {
    this.deadline = at;
  }

  /**
   * Send everything queued; resolves when the socket has accepted it. Flushes run one
   * after another, so slow-mode bytes of two responses never interleave.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(() => this.flushNow());
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async flushNow(): Promise<void> {
    if (this.size === 0) return;
    const data =
      this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (this.slow) await this.writeSlowly(data);
    else await this.send(data);
    await this.onFlushed?.();
  }

  private async writeSlowly(data: Buffer): Promise<void> {
    for (let i = 0; i < data.length; i++) {
      if (this.deadline > 0 && this.deadline - this.now() < 5 * this.slowDelayMs) {
        await this.send(data.subarray(i));
        return;
      }
      await this.send(data.subarray(i, i + 1));
      if (i + 1 < data.length) await this.sleep(this.slowDelayMs);
    }
  }

  private send(b: Buffer): Promise<void> {
    const s = this.socket;
    if (s.destroyed || s.writableEnded) return Promise.reject(new ConnectionClosedError());
    if (s.write(b)) return Promise.resolve();
    return this.drain();
  }

  private drain(): Promise<void> {
    const s = this.socket;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const done = (err?: Error) => {
        s.off('drain', onDrain);
        s.off('close', onClose);
        s.off('error', onError);
        if (timer) clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(new ConnectionClosedError());
      const onError = (err: Error) => done(new ConnectionClosedError(err.message, { cause: err }));
      s.on('drain', onDrain);
      s.on('close', onClose);
      s.on('error', onError);
      if (this.timeoutMs > 0) {
        const ms = this.timeoutMs;
        timer = setTimeout(() => done(new WriteTimeoutError(ms)), ms);
      }
    });
  }
}

/** Socket-level failures: the connection is gone, so there is nobody to answer. */
const SOCKET_ERRORS = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ENOTCONN',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/** Whether an error means the peer is gone or silent (closed, reset, read timeout). */
export function isConnectionGone(e: unknown): boolean {
  return (
    e instanceof ConnectionClosedError ||
    e instanceof ReadTimeoutError ||
    (e instanceof Error && SOCKET_ERRORS.has((e as NodeJS.ErrnoException).code ?? ''))
  );
}
