// A minimal IMAPS client for the benchmarks: one command at a time, responses scanned
// rather than kept, so the client costs little next to the server it measures.
import tls from 'node:tls';
import zlib from 'node:zlib';

/**
 * An IMAPS client for one command at a time. Responses are scanned, not kept: literals
 * are skipped by count, untagged lines counted, and the tagged line returned.
 */
export class ImapClient {
  private tagN = 0;
  private partial: Buffer[] = [];
  private head: string | null = null;
  private literal = 0;
  private waiter: {
    match: (line: string) => boolean;
    resolve: (line: string) => void;
    reject: (e: Error) => void;
  } | null = null;
  private failure: Error | null = null;
  untagged = 0;
  /** Called with each untagged line (literals left out) while set. */
  onUntagged: ((line: string) => void) | null = null;

  /** Writes to the server: to the socket, or through deflate after COMPRESS. */
  private write: (b: Buffer | string) => void;
  private readonly fromSocket = (d: Buffer) => this.onData(d);

  private constructor(readonly socket: tls.TLSSocket) {
    this.write = (b) => socket.write(b);
    socket.on('data', this.fromSocket);
    const fail = (e: Error) => {
      this.failure ??= e;
      this.waiter?.reject(e);
      this.waiter = null;
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  static async connect(port: number): Promise<ImapClient> {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const c = new ImapClient(socket);
    const greeting = c.next((l) => l.startsWith('* '));
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    await greeting;
    return c;
  }

  private onData(d: Buffer): void {
    let pos = 0;
    while (pos < d.length) {
      if (this.literal > 0) {
        const n = Math.min(this.literal, d.length - pos);
        this.literal -= n;
        pos += n;
        continue;
      }
      const nl = d.indexOf(10, pos);
      if (nl < 0) {
        this.partial.push(d.subarray(pos));
        break;
      }
      let seg = d.subarray(pos, nl);
      pos = nl + 1;
      if (this.partial.length > 0) {
        this.partial.push(seg);
        seg = Buffer.concat(this.partial);
        this.partial = [];
      }
      this.segment(seg.toString('latin1'));
    }
  }

  /** A piece of a response line up to LF; a line continues after a literal. */
  private segment(s: string): void {
    if (s.endsWith('\r')) s = s.slice(0, -1);
    const lit = s.endsWith('}') ? /\{(\d+)\+?\}$/.exec(s) : null;
    this.head ??= s;
    if (lit) {
      this.literal = Number(lit[1]);
      return;
    }
    const line = this.head;
    this.head = null;
    const w = this.waiter;
    if (w?.match(line)) {
      this.waiter = null;
      w.resolve(line);
    } else if (line.startsWith('* ')) {
      this.untagged++;
      this.onUntagged?.(line);
    }
  }

  private next(match: (line: string) => boolean): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { match, resolve, reject };
    });
  }

  /** Sends a command (text, or text then raw bytes) and waits for its tagged OK. */
  async ok(command: string, data?: Buffer): Promise<void> {
    const tag = `b${++this.tagN}`;
    const done = this.next((l) => l.startsWith(tag + ' '));
    const line = Buffer.from(`${tag} ${command}`, 'latin1');
    this.write(data ? Buffer.concat([line, data, CRLF]) : Buffer.concat([line, CRLF]));
    const r = await done;
    if (!r.startsWith(`${tag} OK`)) throw new Error(`${command}: ${r}`);
  }

  /**
   * APPEND with a synchronizing literal, written as Python's imaplib writes it: the
   * command line; after the continuation, the message; then the closing CRLF on its own.
   */
  async appendSplit(mailbox: string, data: Buffer): Promise<void> {
    const tag = `b${++this.tagN}`;
    const cont = this.next((l) => l.startsWith('+'));
    this.write(`${tag} APPEND ${mailbox} {${data.length}}\r\n`);
    await cont;
    const done = this.next((l) => l.startsWith(tag + ' '));
    this.write(data);
    this.write(CRLF);
    const r = await done;
    if (!r.startsWith(`${tag} OK`)) throw new Error(`APPEND: ${r}`);
  }

  /** Enters IDLE and waits for the continuation request. */
  async idle(): Promise<void> {
    const cont = this.next((l) => l.startsWith('+'));
    this.write(`b${++this.tagN} IDLE\r\n`);
    await cont;
  }

  /** COMPRESS=DEFLATE (RFC 4978): both directions deflated from here on. */
  async compress(): Promise<void> {
    await this.ok('COMPRESS DEFLATE');
    const inflate = zlib.createInflateRaw();
    const deflate = zlib.createDeflateRaw();
    this.socket.off('data', this.fromSocket);
    this.socket.pipe(inflate);
    inflate.on('data', (d: Buffer) => this.onData(d));
    deflate.on('data', (d: Buffer) => this.socket.write(d));
    this.write = (b) => {
      deflate.write(b);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    };
  }

  close(): void {
    this.socket.destroy();
  }
}

const CRLF = Buffer.from('\r\n');
