// A real authoritative DNS server on loopback (UDP and TCP on one port) for integration
// tests: SystemResolver or StubResolver pointed at it exercises DNS end to end without a
// network. It can set AD on signed names, and misbehave on request: truncate every UDP
// answer, forge replies as an off-path attacker would, or never answer.
import { createSocket, type Socket as UDPSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { answerQuery } from './authority.js';
import { ZoneIndex, type MockZone } from './zone.js';

const TCP_IDLE_MS = 10_000;
const PORT_ATTEMPTS = 20;

/** Queries answered so far, by transport, and queries left unanswered on purpose. */
export type TestDNSServerStats = { udp: number; tcp: number; dropped: number };

/** Ways to misbehave, for testing clients (see TestDNSServer.behave). */
export type TestDNSBehaviour = {
  /** Answer UDP queries with TC set and no records, so clients must ask over TCP. */
  truncateUDP?: boolean;
  /** Never answer queries over this transport (or both): clients time out. */
  silent?: 'udp' | 'tcp' | 'both';
  /**
   * Before each UDP answer, send a forged one: with another id, or answering the question
   * for another name (what a spoofer who guessed the id would send).
   */
  forge?: 'id' | 'question';
  /** With forge: send only the forged answer. */
  forgeOnly?: boolean;
};

/** Authoritative DNS server answering from a MockZone; see answerQuery for the rules. */
export class TestDNSServer {
  private zone: ZoneIndex;
  private readonly connections = new Set<Socket>();
  private closing: Promise<void> | undefined;
  private behaviour: TestDNSBehaviour = {};
  readonly stats: TestDNSServerStats = { udp: 0, tcp: 0, dropped: 0 };

  private constructor(
    zone: ZoneIndex,
    private readonly udp: UDPSocket,
    private readonly tcp: Server,
    readonly host: string,
    readonly port: number,
  ) {
    this.zone = zone;
    udp.on('message', (msg, from) => this.onDatagram(msg, from.address, from.port));
    udp.on('error', () => {});
    tcp.on('connection', (sock) => this.onConnection(sock));
    tcp.on('error', () => {});
  }

  /** Listen on a random free port, the same for UDP and TCP; host defaults to 127.0.0.1. */
  static async start(zone: MockZone, opts: { host?: string } = {}): Promise<TestDNSServer> {
    const index = new ZoneIndex(zone);
    const host = opts.host ?? '127.0.0.1';
    for (let i = 0; i < PORT_ATTEMPTS; i++) {
      const udp = await bindUDP(host);
      const port = udp.address().port;
      try {
        const tcp = await listenTCP(host, port);
        return new TestDNSServer(index, udp, tcp, host, port);
      } catch (e) {
        udp.close();
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
      }
    }
    throw new Error(`no port on ${host} free for both UDP and TCP`);
  }

  /** "host:port" as SystemResolver's servers option takes it. */
  get address(): string {
    return isIPv6(this.host) ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** Replace the zone; throws ZoneError for an unusable entry. */
  setZone(zone: MockZone): void {
    this.zone = new ZoneIndex(zone);
  }

  /** Misbehave from now on ({} to behave again). */
  behave(b: TestDNSBehaviour): void {
    this.behaviour = { ...b };
  }

  /** Stop listening and drop open TCP connections; later calls return the same promise. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    for (const sock of this.connections) sock.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
    ]);
  }

  private answer(msg: Buffer, transport: 'udp' | 'tcp', count = true): Buffer | undefined {
    try {
      const reply = answerQuery(this.zone, msg, transport, this.behaviour.truncateUDP);
      if (reply !== undefined && count) this.stats[transport]++;
      return reply;
    } catch {
      return undefined;
    }
  }

  private silentOn(transport: 'udp' | 'tcp'): boolean {
    const silent = this.behaviour.silent;
    return silent === transport || silent === 'both';
  }

  private onDatagram(msg: Buffer, address: string, port: number): void {
    if (this.silentOn('udp')) {
      this.stats.dropped++;
      return;
    }
    const { forge, forgeOnly } = this.behaviour;
    const forged = forge === undefined ? undefined : this.forged(msg, forge);
    if (forged !== undefined) this.udp.send(forged, port, address, () => {});
    if (forged !== undefined && forgeOnly) {
      this.stats.dropped++;
      return;
    }
    const reply = this.answer(msg, 'udp');
    if (reply !== undefined) this.udp.send(reply, port, address, () => {});
  }

  // An answer a spoofer might send: another id, or the answer for another name (the
  // first letter of the question's first label changed).
  private forged(msg: Buffer, how: 'id' | 'question'): Buffer | undefined {
    if (msg.length < 14) return undefined;
    const query = Buffer.from(msg);
    if (how === 'question') query[13] = query[13] === 0x78 ? 0x79 : 0x78; // "x" or "y"
    const reply = this.answer(query, 'udp', false);
    if (reply !== undefined && how === 'id') reply.writeUInt16BE(reply.readUInt16BE(0) ^ 0x5a5a, 0);
    return reply;
  }

  // RFC 1035 §4.2.2: each message is preceded by a two-byte length; several may follow.
  private onConnection(sock: Socket): void {
    this.connections.add(sock);
    sock.on('close', () => this.connections.delete(sock));
    sock.on('error', () => {});
    sock.setTimeout(TCP_IDLE_MS, () => sock.destroy());
    let pending: Buffer = Buffer.alloc(0);
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        if (this.silentOn('tcp')) {
          pending = pending.subarray(2 + len);
          this.stats.dropped++;
          continue;
        }
        const reply = this.answer(pending.subarray(2, 2 + len), 'tcp');
        pending = pending.subarray(2 + len);
        if (reply === undefined) {
          sock.destroy();
          return;
        }
        const prefix = Buffer.alloc(2);
        prefix.writeUInt16BE(reply.length, 0);
        // Respect back-pressure from a client that does not read its replies.
        if (!sock.write(Buffer.concat([prefix, reply]))) {
          sock.pause();
          sock.once('drain', () => sock.resume());
        }
      }
    });
  }
}

function bindUDP(host: string): Promise<UDPSocket> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    sock.once('error', reject);
    sock.bind(0, host, () => {
      sock.off('error', reject);
      resolve(sock);
    });
  });
}

function listenTCP(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
