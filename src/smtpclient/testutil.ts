// A scripted SMTP server for the client's tests: answers per a handler, records what
// the client sent and when (relative to the replies already written).
import net from 'node:net';

/** Leave the command unanswered. */
export const HANG = Symbol('hang');
/** Close the connection instead of answering. */
export const CLOSE = Symbol('close');

export type Answer = string | string[] | typeof HANG | typeof CLOSE;

/** A command as received, with the number of replies written before its bytes arrived. */
export type Received = { line: string; repliesBefore: number };

export type FakeOptions = {
  greeting?: Answer;
  /** Extension lines after the first EHLO line; null makes EHLO fail with 502. */
  ehlo?: string[] | null;
  /**
   * An answer overrides the default for that command; undefined keeps the default. The
   * reply to the n-th BDAT chunk is asked for as "BDAT-DATA <n>" once its data arrived.
   */
  onCommand?: (line: string, s: FakeSession) => Answer | undefined;
  /** The reply after the end of DATA or BDAT LAST data. */
  onMessage?: (data: Buffer, s: FakeSession) => Answer;
  /** Called for each chunk of DATA bytes received (before the end is found). */
  onDataBytes?: (s: FakeSession) => void;
};

export class FakeSession {
  readonly commands: Received[] = [];
  /** DATA contents as sent (dot-stuffed, without the final "." line). */
  readonly data: Buffer[] = [];
  readonly bdat: { size: number; last: boolean; data: Buffer }[] = [];
  repliesWritten = 0;
  private buf = Buffer.alloc(0);
  private mode: 'cmd' | 'data' | 'bdat' = 'cmd';
  private bdatLeft = 0;
  private bdatLast = false;
  private arrival = 0;
  private scanned = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly opts: FakeOptions,
  ) {
    socket.on('error', () => {});
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.arrival = this.repliesWritten;
      this.buf = Buffer.concat([this.buf, d]);
      this.process();
    });
    this.answer(opts.greeting ?? '220 fake.example ESMTP ready');
  }

  /** The command lines only. */
  get lines(): string[] {
    return this.commands.map((c) => c.line);
  }

  answer(a: Answer): void {
    if (a === HANG) return;
    if (a === CLOSE) {
      this.socket.destroy();
      return;
    }
    const lines = typeof a === 'string' ? [a] : a;
    this.repliesWritten++;
    this.socket.write(lines.map((l) => `${l}\r\n`).join(''));
  }

  private process(): void {
    while (!this.socket.destroyed) {
      if (this.mode === 'data') {
        if (!this.takeData()) return;
      } else if (this.mode === 'bdat') {
        if (!this.takeBdat()) return;
      } else {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) return;
        const line = this.buf.subarray(0, i).toString('utf8');
        this.buf = this.buf.subarray(i + 2);
        this.commands.push({ line, repliesBefore: this.arrival });
        this.command(line);
      }
    }
  }

  private takeData(): boolean {
    const end = this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'))
      ? -2
      : this.buf.indexOf('\r\n.\r\n', this.scanned);
    if (end === -1) {
      this.scanned = Math.max(0, this.buf.length - 4);
      this.opts.onDataBytes?.(this);
      return false;
    }
    this.scanned = 0;
    const data = this.buf.subarray(0, end + 2);
    this.buf = this.buf.subarray(end + 5);
    this.mode = 'cmd';
    this.data.push(Buffer.from(data));
    this.answer(this.opts.onMessage?.(data, this) ?? '250 2.0.0 message accepted');
    return true;
  }

  private takeBdat(): boolean {
    if (this.buf.length < this.bdatLeft) return false;
    const data = Buffer.from(this.buf.subarray(0, this.bdatLeft));
    this.buf = this.buf.subarray(this.bdatLeft);
    this.mode = 'cmd';
    this.bdat.push({ size: data.length, last: this.bdatLast, data });
    const custom = this.opts.onCommand?.(`BDAT-DATA ${this.bdat.length}`, this);
    if (custom !== undefined) this.answer(custom);
    else if (this.bdatLast) {
      const all = Buffer.concat(this.bdat.map((b) => b.data));
      this.answer(this.opts.onMessage?.(all, this) ?? '250 2.0.0 message accepted');
    } else this.answer(`250 2.0.0 ${data.length} octets received`);
    return true;
  }

  private command(line: string): void {
    const verb = line.split(' ')[0]!.toUpperCase();
    if (verb === 'BDAT') {
      const m = /^BDAT (\d+)( LAST)?$/i.exec(line)!;
      this.mode = 'bdat';
      this.bdatLeft = Number(m[1]);
      this.bdatLast = m[2] !== undefined;
      return;
    }
    const custom = this.opts.onCommand?.(line, this);
    if (custom !== undefined) {
      const first = typeof custom === 'string' ? custom : Array.isArray(custom) ? custom[0] : '';
      if (verb === 'DATA' && first?.startsWith('354')) this.mode = 'data';
      this.answer(custom);
      return;
    }
    switch (verb) {
      case 'EHLO':
        if (this.opts.ehlo === null) return this.answer('502 5.5.1 command not implemented');
        return this.answer(
          ['fake.example hello', ...(this.opts.ehlo ?? [])].map(
            (l, i, all) => `250${i === all.length - 1 ? ' ' : '-'}${l}`,
          ),
        );
      case 'HELO':
        return this.answer('250 fake.example');
      case 'DATA':
        this.mode = 'data';
        return this.answer('354 go ahead');
      case 'QUIT':
        this.answer('221 2.0.0 bye');
        this.socket.end();
        return;
      case 'MAIL':
      case 'RCPT':
      case 'RSET':
      case 'NOOP':
        return this.answer('250 2.0.0 ok');
      default:
        return this.answer('500 5.5.2 unknown command');
    }
  }
}

export type FakeServer = {
  port: number;
  sessions: FakeSession[];
  /** A connected socket to the server. */
  dial(): Promise<net.Socket>;
  close(): Promise<void>;
};

export async function startFake(opts: FakeOptions = {}): Promise<FakeServer> {
  const sessions: FakeSession[] = [];
  const server = net.createServer((sock) => sessions.push(new FakeSession(sock, opts)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    sessions,
    dial: () => dial(port),
    close: async () => {
      for (const s of sessions) s.socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Connects to 127.0.0.1:port. */
export function dial(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}
