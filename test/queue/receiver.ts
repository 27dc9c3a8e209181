// A small SMTP server that plays a remote MX host in queue delivery tests (RFC 5321,
// STARTTLS RFC 3207, PIPELINING RFC 2920, REQUIRETLS RFC 8689), plus certificates and
// DNS/queue plumbing shared by the tests in this directory.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import { promisify } from 'node:util';
import forge from 'node-forge';
import { SystemResolver, TestDNSServer, type MockZone } from '../../src/dns/index.js';
import { createLogger } from '../../src/log/index.js';
import {
  Queue,
  SmtpDeliverer,
  type MtaStsSource,
  type SmtpDelivererOptions,
} from '../../src/queue/index.js';
import { DOMAINS } from '../../src/queue/testutil.js';
import { parseDomainsConfig } from '../../src/config/index.js';
import { Store } from '../../src/store/index.js';

export type ReceivedMessage = {
  /** The reverse-path without brackets ('' for the null path). */
  mailFrom: string;
  /** MAIL parameters as sent, e.g. "SIZE=123 REQUIRETLS". */
  mailParams: string;
  rcpts: string[];
  /** Message data with dot-stuffing removed, without the final ".". */
  data: Buffer;
  tls: boolean;
  /** The EHLO (or HELO) name. */
  ehlo: string;
};

export type ReceiverOptions = {
  /** Bind address; default 127.0.0.1. */
  host?: string;
  /** 0 = any; receivers on different 127.0.0.x addresses can share a port. */
  port?: number;
  /** Offers STARTTLS when set. */
  tls?: { key: string; cert: string } | null;
  /**
   * What happens on STARTTLS: 'ok' (default) starts TLS; 'refuse' replies 454; 'break'
   * replies 220 and then sends no TLS at all.
   */
  starttls?: 'ok' | 'refuse' | 'break';
  /** Advertise REQUIRETLS (on TLS sessions only, RFC 8689 §4.1). */
  requireTLSExtension?: boolean;
  /** Advertise DSN (RFC 3461). */
  dsn?: boolean;
  /** Reply line for RCPT; default "250 2.1.5 ok". */
  rcpt?: (address: string) => string;
  /** Reply to the end of data; default "250 2.0.0 accepted". May take its time. */
  data?: (msg: ReceivedMessage) => string | Promise<string>;
  /** Greeting line; default "220 <host> ESMTP test receiver". */
  greeting?: string;
  /**
   * Ends a line at a CR not followed by LF too, as some servers do; lines always end at
   * LF. Such a server finds the end of data at "\r.\r" or "\n.\n" (SMTP smuggling).
   */
  lenientLineEnds?: boolean;
};

export type Receiver = {
  host: string;
  port: number;
  /** Messages whose data got a 2xx reply, in order. */
  messages: ReceivedMessage[];
  /** Connections accepted so far. */
  connections: number;
  /** Every command line received (data excluded), in order. */
  commands: string[];
  close(): Promise<void>;
};

const EHLO_NAME = 'receiver.test';

/** Starts a receiver; resolves once it listens. */
export async function startReceiver(opts: ReceiverOptions = {}): Promise<Receiver> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Set<Socket>();
  const server: Server = createServer();
  const r: Receiver = {
    host,
    port: 0,
    messages: [],
    connections: 0,
    commands: [],
    close: () => closeServer(server, sockets),
  };
  server.on('connection', (sock) => {
    r.connections++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    new Session(sock, opts, r, sockets).start();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('receiver has no port');
  r.port = addr.port;
  return r;
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

type Transaction = { mailFrom: string; mailParams: string; rcpts: string[] } | null;

/** One SMTP connection: lines in, replies out, commands handled one at a time. */
class Session {
  private buf: Buffer = Buffer.alloc(0);
  private readonly lines: Buffer[] = [];
  private running = false;
  private tls = false;
  private ehlo = '';
  private extended = false;
  private tx: Transaction = null;
  /** Collected lines while in DATA. */
  private data: Buffer[] | null = null;
  private closed = false;

  constructor(
    private sock: Socket,
    private readonly opts: ReceiverOptions,
    private readonly r: Receiver,
    private readonly sockets: Set<Socket>,
  ) {}

  start(): void {
    this.attach(this.sock);
    this.reply(this.opts.greeting ?? `220 ${EHLO_NAME} ESMTP test receiver`);
  }

  private attach(sock: Socket): void {
    sock.on('error', () => undefined);
    sock.on('close', () => {
      this.closed = true;
    });
    sock.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    for (;;) {
      const end = this.lineEnd();
      if (end < 0) break;
      this.lines.push(this.buf.subarray(0, end + 1));
      this.buf = this.buf.subarray(end + 1);
    }
    void this.run();
  }

  /** Index of the last byte of the first complete line in buf, or -1. */
  private lineEnd(): number {
    const lf = this.buf.indexOf(0x0a);
    if (!this.opts.lenientLineEnds) return lf;
    // A CR with a byte after it that is not LF ends a line by itself.
    for (let cr = this.buf.indexOf(0x0d); cr >= 0; cr = this.buf.indexOf(0x0d, cr + 1)) {
      if (lf >= 0 && cr > lf) break;
      if (cr + 1 < this.buf.length && this.buf[cr + 1] !== 0x0a) return cr;
    }
    return lf;
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let line = this.lines.shift(); line; line = this.lines.shift()) {
        if (this.closed) return;
        if (this.data) await this.dataLine(line);
        else await this.command(line.toString('utf8').replace(/\r?\n$|\r$/, ''));
      }
    } finally {
      this.running = false;
    }
  }

  private reply(line: string): void {
    if (!this.closed) this.sock.write(`${line}\r\n`);
  }

  private async dataLine(line: Buffer): Promise<void> {
    const data = this.data as Buffer[];
    const content = line.toString('latin1').replace(/\r?\n$|\r$/, '');
    if (content !== '.') {
      // RFC 5321 §4.5.2: a leading dot was doubled by the client.
      data.push(line[0] === 0x2e ? line.subarray(1) : line);
      return;
    }
    this.data = null;
    const tx = this.tx as NonNullable<Transaction>;
    this.tx = null;
    const msg: ReceivedMessage = {
      ...tx,
      data: Buffer.concat(data),
      tls: this.tls,
      ehlo: this.ehlo,
    };
    const reply = this.opts.data ? await this.opts.data(msg) : '250 2.0.0 accepted';
    if (this.closed) return;
    if (reply.startsWith('2')) this.r.messages.push(msg);
    this.reply(reply);
  }

  private async command(line: string): Promise<void> {
    this.r.commands.push(line);
    const sp = line.indexOf(' ');
    const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
    const arg = sp < 0 ? '' : line.slice(sp + 1);
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        return this.hello(verb, arg);
      case 'STARTTLS':
        return this.starttls();
      case 'MAIL':
        return this.mail(arg);
      case 'RCPT':
        return this.rcpt(arg);
      case 'DATA':
        return this.dataCommand();
      case 'RSET':
        this.tx = null;
        return this.reply('250 2.0.0 reset');
      case 'NOOP':
        return this.reply('250 2.0.0 ok');
      case 'QUIT':
        this.reply('221 2.0.0 bye');
        this.sock.end();
        return;
      default:
        return this.reply('500 5.5.2 unknown command');
    }
  }

  private hello(verb: string, name: string): void {
    if (name === '') return this.reply('501 5.5.4 name needed');
    this.ehlo = name;
    this.tx = null;
    this.extended = verb === 'EHLO';
    if (!this.extended) return this.reply(`250 ${EHLO_NAME}`);
    const ext = ['PIPELINING', '8BITMIME', 'SMTPUTF8', 'SIZE 10485760', 'ENHANCEDSTATUSCODES'];
    if (this.opts.tls && !this.tls) ext.push('STARTTLS');
    if (this.opts.requireTLSExtension && this.tls) ext.push('REQUIRETLS');
    if (this.opts.dsn) ext.push('DSN');
    const lines = [EHLO_NAME, ...ext];
    lines.forEach((l, i) => this.reply(`250${i === lines.length - 1 ? ' ' : '-'}${l}`));
  }

  private starttls(): void {
    const tls = this.opts.tls;
    if (!tls || this.tls || !this.extended) return this.reply('503 5.5.1 no STARTTLS now');
    const mode = this.opts.starttls ?? 'ok';
    if (mode === 'refuse') return this.reply('454 4.7.0 TLS not available');
    this.reply('220 2.0.0 go ahead');
    if (mode === 'break') {
      this.sock.end('this is not a TLS handshake\r\n');
      return;
    }
    // RFC 3207 §5: anything pipelined after STARTTLS is discarded.
    this.lines.length = 0;
    this.buf = Buffer.alloc(0);
    const raw = this.sock;
    raw.removeAllListeners('data');
    const secure = new TLSSocket(raw, {
      isServer: true,
      secureContext: createSecureContext({ key: tls.key, cert: tls.cert }),
    });
    this.sockets.add(secure);
    secure.on('close', () => this.sockets.delete(secure));
    this.sock = secure;
    this.tls = true;
    // RFC 3207 §4.2: the client starts over with EHLO.
    this.ehlo = '';
    this.extended = false;
    this.tx = null;
    this.attach(secure);
  }

  private mail(arg: string): void {
    if (this.ehlo === '') return this.reply('503 5.5.1 EHLO first');
    if (this.tx) return this.reply('503 5.5.1 nested MAIL');
    const m = /^FROM:<([^>]*)>(?: (.*))?$/i.exec(arg);
    if (!m) return this.reply('501 5.5.4 syntax: MAIL FROM:<address>');
    const params = m[2] ?? '';
    const requireTLS = params.split(' ').some((p) => p.toUpperCase() === 'REQUIRETLS');
    if (requireTLS && !(this.tls && this.opts.requireTLSExtension)) {
      return this.reply('555 5.5.4 REQUIRETLS not supported here');
    }
    this.tx = { mailFrom: m[1] ?? '', mailParams: params, rcpts: [] };
    this.reply('250 2.1.0 sender ok');
  }

  private rcpt(arg: string): void {
    if (!this.tx) return this.reply('503 5.5.1 MAIL first');
    const m = /^TO:<([^>]+)>(?: .*)?$/i.exec(arg);
    if (!m) return this.reply('501 5.5.4 syntax: RCPT TO:<address>');
    const addr = m[1] as string;
    const reply = this.opts.rcpt ? this.opts.rcpt(addr) : '250 2.1.5 ok';
    if (reply.startsWith('2')) this.tx.rcpts.push(addr);
    this.reply(reply);
  }

  private dataCommand(): void {
    if (!this.tx) return this.reply('503 5.5.1 MAIL first');
    if (this.tx.rcpts.length === 0) {
      this.tx = null;
      return this.reply('554 5.5.1 no valid recipients');
    }
    this.data = [];
    this.reply('354 end data with <CR><LF>.<CR><LF>');
  }
}

// ---- certificates ----

const generateKeyPairAsync = promisify(generateKeyPair);

export type KeyCert = { key: string; cert: string };

/** A certificate authority whose leaf certificates verify against `caPem`. */
export type TestCA = { caPem: string; issue(hostnames: string[]): Promise<KeyCert> };

async function rsaKey(): Promise<{ privateKey: string; publicKey: string }> {
  return generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

function baseCert(publicKey: string, cn: string): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = serial();
  cert.validity.notBefore = new Date(Date.now() - 3600_000);
  cert.validity.notAfter = new Date(Date.now() + 30 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  return cert;
}

/** A new CA (RSA 2048); leaves name their DNS names as SANs. */
export async function testCA(name = 'Tidings Test CA'): Promise<TestCA> {
  const caKeys = await rsaKey();
  const caKey = forge.pki.privateKeyFromPem(caKeys.privateKey);
  const ca = baseCert(caKeys.publicKey, name);
  ca.setIssuer(ca.subject.attributes);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKey, forge.md.sha256.create());
  const caPem = forge.pki.certificateToPem(ca);
  return {
    caPem,
    async issue(hostnames) {
      const keys = await rsaKey();
      const leaf = baseCert(keys.publicKey, hostnames[0] ?? 'leaf');
      leaf.setIssuer(ca.subject.attributes);
      leaf.setExtensions([
        { name: 'basicConstraints', cA: false, critical: true },
        { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: hostnames.map((value) => ({ type: 2, value })) },
      ]);
      leaf.sign(caKey, forge.md.sha256.create());
      return { key: keys.privateKey, cert: forge.pki.certificateToPem(leaf) };
    },
  };
}

// ---- ports ----

/** A TCP port free on every given loopback address at the time of the call. */
export async function sharedPort(hosts: string[]): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const first = createServer();
    await new Promise<void>((resolve) => first.listen(0, hosts[0], resolve));
    const addr = first.address();
    const port = addr !== null && typeof addr !== 'string' ? addr.port : 0;
    const others: Server[] = [];
    let ok = true;
    for (const h of hosts.slice(1)) {
      const s = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        s.once('error', () => resolve(false));
        s.listen(port, h, () => resolve(true));
      });
      if (!bound) ok = false;
      else others.push(s);
    }
    for (const s of [first, ...others]) await new Promise<void>((r) => s.close(() => r()));
    if (ok) return port;
  }
  throw new Error(`no port free on ${hosts.join(', ')}`);
}

// ---- delivery plumbing ----

/** A DNS server on loopback answering from `zone`, and a resolver that asks only it. */
export async function testDNS(zone: MockZone): Promise<{
  dns: TestDNSServer;
  /** "127.0.0.1:port" of the DNS server. */
  address: string;
  resolver: SystemResolver;
  close(): Promise<void>;
}> {
  const dns = await TestDNSServer.start(zone);
  const resolver = new SystemResolver({ servers: [dns.address], timeoutMs: 1000, tries: 1 });
  return { dns, address: dns.address, resolver, close: () => dns.close() };
}

export const testLog = createLogger({
  level: (process.env.TIDINGS_TEST_LOG ?? 'silent') as 'silent',
});

/** Short limits so a failing step ends a test quickly instead of hanging it. */
export const TEST_TIMEOUTS = {
  greeting: 3000,
  ehlo: 3000,
  starttls: 3000,
  auth: 3000,
  mail: 3000,
  rcpt: 3000,
  dataInit: 3000,
  dataBlock: 3000,
  dataEnd: 5000,
  rset: 3000,
  quit: 1000,
};

/** Direct delivery to MX hosts on `mxPort`, through `resolver`. */
export function testDeliverer(opts: {
  resolver: SystemResolver;
  mxPort: number;
  tlsCA?: string;
  mtaSts?: MtaStsSource | null;
  maxPerHost?: number;
  tlsResults?: SmtpDelivererOptions['tlsResults'];
}): SmtpDeliverer {
  return new SmtpDeliverer({
    hostname: 'mail.example.com',
    resolver: opts.resolver,
    log: testLog,
    routing: () => ({ routes: [], transports: {} }),
    mtaSts: opts.mtaSts ?? null,
    mxPort: opts.mxPort,
    ...(opts.tlsCA !== undefined ? { tlsCA: opts.tlsCA } : {}),
    ...(opts.maxPerHost !== undefined ? { maxPerHost: opts.maxPerHost } : {}),
    ...(opts.tlsResults ? { tlsResults: opts.tlsResults } : {}),
    connectTimeoutMs: 2000,
    clientTimeouts: TEST_TIMEOUTS,
  });
}

/**
 * Store and queue on `dir` (as the server opens them, real clock), delivering remote
 * mail to MX hosts on `mxPort` found through the DNS server at `dnsAddress`.
 */
export async function openQueue(
  dir: string,
  o: { mxPort: number; dnsAddress: string; maxConcurrent: number },
): Promise<{ store: Store; q: Queue; close(): Promise<void> }> {
  const resolver = new SystemResolver({ servers: [o.dnsAddress], timeoutMs: 1000, tries: 1 });
  const cfg = parseDomainsConfig(DOMAINS, '/test/domains.toml');
  const store = await Store.open({ dataDir: dir, cleanup: true });
  const q = await Queue.open({
    store,
    domains: () => cfg,
    hostname: 'mail.example.com',
    log: testLog,
    remote: testDeliverer({ resolver, mxPort: o.mxPort }),
    maxConcurrent: o.maxConcurrent,
    // A failed attempt comes back soon instead of after minutes.
    backoffBaseMs: 200,
  });
  return {
    store,
    q,
    async close() {
      await q.stop();
      await store.close();
    },
  };
}
