// A stub resolver speaking DNS itself (RFC 1035 §4.2) to recursive resolvers, so that it
// sees the AD bit a validating resolver sets on answers DNSSEC authenticated (RFC 4035
// §3.2.3), which node:dns hides. UDP with EDNS0 (RFC 6891), TCP when an answer is
// truncated (RFC 7766 §5), and the defences of RFC 5452 against forged answers.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { connect, isIP } from 'node:net';
import {
  TYPE_NUMBER,
  answersQuery,
  type Chain,
  decodeRecords,
  followChain,
  parseReply,
  type Reply,
} from './answer.js';
import { bothAuthentic, trustsAD } from './dnssec.js';
import { canonicalIP, reverseName } from './ip.js';
import type { SystemResolverOptions } from './system.js';
import {
  AuthenticatingResolver,
  DNSError,
  dnsErrorFromCode,
  type Authenticated,
  type RecordType,
  type RecordsOf,
} from './types.js';
import { FLAG_TC, RCODE, WireError, encodeQuery, nameLabels, parseName } from './wire.js';

export type StubResolverOptions = SystemResolverOptions & {
  /**
   * Believe the AD bit from every server, not only from those on a loopback address:
   * only when the path to them is protected (see trustsAD).
   */
  trustAD?: boolean;
  /** Which servers' AD bit is believed, by IP address; default trustsAD with trustAD. */
  isTrusted?: (ip: string) => boolean;
};

/** A name server to ask. */
export type NameServer = {
  /** Canonical IP address (with its zone, for a link-local IPv6 one). */
  host: string;
  port: number;
  /** Whether its AD bit is believed. */
  trusted: boolean;
};

/**
 * The UDP payload size we advertise (RFC 6891 §6.2.5): small enough to avoid IP
 * fragmentation on common paths (the DNS Flag Day 2020 value); larger answers come over TCP.
 */
export const EDNS_PAYLOAD = 1232;
/** RFC 1034 §3.6.2: chains are followed; a bound stops loops (as MockResolver's). */
const MAX_CNAME_HOPS = 8;
/** A DNS message over TCP has a two-octet length (RFC 1035 §4.2.2). */
const MAX_TCP_MESSAGE = 0xffff;

const RCODE_ERRORS: Record<number, string> = {
  [RCODE.FORMERR]: 'EFORMERR',
  [RCODE.SERVFAIL]: 'ESERVFAIL',
  [RCODE.NOTIMP]: 'ENOTIMP',
  [RCODE.REFUSED]: 'EREFUSED',
};

/**
 * A name server address: an IP address, optionally with a port ("192.0.2.53",
 * "192.0.2.53:5353", "::1", "[2001:db8::53]:53"); port 53 by default. Throws a TypeError
 * naming the value otherwise.
 */
export function parseNameServer(
  text: string,
  isTrusted: (ip: string) => boolean = (ip) => trustsAD(ip, false),
): NameServer {
  const m = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text) ?? /^([^:]+)(?::(\d{1,5}))?$/.exec(text);
  const address = m ? m[1]! : text;
  // A link-local IPv6 address keeps its zone ("fe80::1%eth0"), as resolv.conf may give it.
  const zone = /%[^%\s]+$/.exec(address)?.[0] ?? '';
  const ip = canonicalIP(address.slice(0, address.length - zone.length));
  const port = m?.[2] === undefined ? 53 : Number(m[2]);
  if (ip === undefined || (zone !== '' && !ip.includes(':')) || port < 1 || port > 65535) {
    throw new TypeError(
      `bad name server ${JSON.stringify(text)}: expected an IP address, optionally with a port ("192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53")`,
    );
  }
  return { host: ip + zone, port, trusted: isTrusted(ip) };
}

type Outcome = { reply: Reply } | { error: string };

/** Ways to stop an exchange in progress, for cancel(). */
type Pending = Set<() => void>;

/**
 * A Resolver asking recursive name servers directly. Servers are tried in order, each
 * `tries` rounds, `timeoutMs` per try (the options of SystemResolver, with the same
 * defaults: the system's servers, 5 s, 3 tries); errors are the DNSErrors SystemResolver
 * gives. Queries set AD (RFC 6840 §5.7) so a validating resolver says whether the answer
 * is authentic; `authenticated` reports it, believed only from trusted servers (trustsAD).
 */
export class StubResolver extends AuthenticatingResolver {
  readonly servers: readonly NameServer[];
  private readonly timeoutMs: number;
  private readonly tries: number;
  /** Whether any server's AD bit is believed: if not, authenticity is always unknown. */
  private readonly canTell: boolean;
  private readonly pending: Pending = new Set();

  /** Throws a TypeError when a server address is invalid. */
  constructor(opts: StubResolverOptions = {}) {
    super();
    const list =
      opts.servers !== undefined && opts.servers.length > 0 ? opts.servers : systemServers();
    const trusted = opts.isTrusted ?? ((ip: string) => trustsAD(ip, opts.trustAD ?? false));
    this.servers = list.map((s) => parseNameServer(s, trusted));
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.tries = Math.max(1, opts.tries ?? 3);
    this.canTell = this.servers.some((s) => s.trusted);
  }

  /** Abort every lookup in progress; they reject with a temporary DNSError. */
  cancel(): void {
    for (const stop of [...this.pending]) stop();
  }

  async authenticated<T extends RecordType>(
    type: T,
    name: string,
  ): Promise<Authenticated<RecordsOf[T]>> {
    let qname = queryName(type, name);
    const qtype = TYPE_NUMBER[type];
    let authentic: boolean | undefined = true;
    let hops = 0;
    for (;;) {
      const asked = await this.exchange(qname, qtype, name, type);
      authentic = bothAuthentic(authentic, asked.authentic);
      const { reply } = asked;
      let chain: Chain | undefined;
      let records: RecordsOf[T];
      try {
        chain = followChain(reply, qname, qtype, MAX_CNAME_HOPS - hops);
        records = chain === undefined ? [] : decodeRecords(type, reply.msg, chain.records);
      } catch (e) {
        if (!(e instanceof WireError)) throw e;
        throw withAuthentic(dnsErrorFromCode('EBADRESP', name, type), authentic);
      }
      if (chain === undefined) throw cnameLoop(name, type, authentic);
      if (records.length > 0) return { records, authentic };
      if (reply.rcode === RCODE.NXDOMAIN || chain.hops === 0) {
        const code = reply.rcode === RCODE.NXDOMAIN ? 'ENOTFOUND' : 'ENODATA';
        throw withAuthentic(dnsErrorFromCode(code, name, type), authentic);
      }
      // RFC 1034 §5.3.3: an answer that ends at an alias without its data is asked again
      // for the alias's target (recursive resolvers give the whole chain; others may not).
      hops += chain.hops;
      qname = chain.end;
    }
  }

  /**
   * Ask the servers in turn, `tries` rounds, until one gives an answer (NOERROR or
   * NXDOMAIN); the answer's authenticity is its AD bit if the server is trusted. Rejects
   * with the DNSError of the last server that answered with an error, or else of the last
   * failure to get an answer.
   */
  private async exchange(
    qname: string[],
    qtype: number,
    name: string,
    type: string,
  ): Promise<{ reply: Reply; authentic: boolean | undefined }> {
    let failure = { code: 'ETIMEOUT', authentic: this.canTell ? false : undefined };
    let answered = false;
    for (let round = 0; round < this.tries; round++) {
      for (const server of this.servers) {
        const outcome = await this.ask(server, qname, qtype);
        if ('error' in outcome) {
          if (outcome.error === 'ECANCELLED') {
            throw withAuthentic(dnsErrorFromCode('ECANCELLED', name, type), failure.authentic);
          }
          if (!answered) failure = { code: outcome.error, authentic: failure.authentic };
          continue;
        }
        const { reply } = outcome;
        const authentic = server.trusted ? reply.ad : undefined;
        if (reply.rcode === RCODE.NOERROR || reply.rcode === RCODE.NXDOMAIN) {
          return { reply, authentic };
        }
        // SERVFAIL (a validating resolver's answer to data that fails validation too),
        // REFUSED, NOTIMP and the like: the next server may do better.
        answered = true;
        failure = {
          code: RCODE_ERRORS[reply.rcode] ?? 'EBADRESP',
          authentic: server.trusted ? false : undefined,
        };
      }
    }
    throw withAuthentic(dnsErrorFromCode(failure.code, name, type), failure.authentic);
  }

  /**
   * One try with one server: over UDP with EDNS, then TCP if the answer was truncated
   * (RFC 7766 §5); without EDNS if the server rejects it with FORMERR (RFC 6891 §7).
   */
  private async ask(server: NameServer, qname: string[], qtype: number): Promise<Outcome> {
    for (const edns of [true, false]) {
      // RFC 5452 §9.2: an unpredictable id; the source port is the system's random one.
      const id = randomInt(0x10000);
      const query = encodeQuery(id, qname, qtype, {
        ad: true,
        ...(edns ? { ednsSize: EDNS_PAYLOAD } : {}),
      });
      const accept = (msg: Buffer) => answersQuery(msg, id, qname, qtype);
      let raw = await udpExchange(server, query, accept, this.timeoutMs, this.pending);
      if (isTruncated(raw))
        raw = await tcpExchange(server, query, accept, this.timeoutMs, this.pending);
      if ('error' in raw) return raw;
      let reply: Reply;
      try {
        reply = parseReply(raw.msg);
      } catch {
        return { error: 'EBADRESP' };
      }
      // Still truncated over TCP: nothing more complete is to be had.
      if (reply.truncated) return { error: 'EBADRESP' };
      if (reply.rcode === RCODE.FORMERR && edns) continue;
      return { reply };
    }
    return { error: 'EFORMERR' };
  }
}

/** The wire name asked for: the reverse name of an IP address for PTR. */
function queryName(type: RecordType, name: string): string[] {
  if (type === 'PTR') {
    const ip = canonicalIP(name);
    const reverse = ip === undefined ? undefined : reverseName(ip);
    if (reverse === undefined) throw dnsErrorFromCode('EINVAL', name, type);
    return nameLabels(reverse);
  }
  try {
    return parseName(name);
  } catch {
    throw dnsErrorFromCode('EBADNAME', name, type);
  }
}

function withAuthentic(e: DNSError, authentic: boolean | undefined): DNSError {
  e.authentic = authentic;
  return e;
}

function cnameLoop(name: string, type: string, authentic: boolean | undefined): DNSError {
  const e = new DNSError(
    `${type} lookup of ${name}: CNAME chain longer than ${MAX_CNAME_HOPS}`,
    'permanent',
    name,
    type,
    'ECNAMELOOP',
  );
  return withAuthentic(e, authentic);
}

/** The servers node:dns uses by default (from /etc/resolv.conf); c-ares's own default else. */
function systemServers(): string[] {
  const servers = getServers();
  return servers.length > 0 ? servers : ['127.0.0.1'];
}

type Raw = { msg: Buffer } | { error: string };

function isTruncated(raw: Raw): boolean {
  if ('error' in raw || raw.msg.length < 4) return false;
  return (raw.msg.readUInt16BE(2) & FLAG_TC) !== 0;
}

/**
 * Send `query` over UDP from a fresh socket connected to the server (so the kernel gives a
 * random source port and delivers only datagrams from that address and port) and wait for
 * a datagram `accept` takes; others are ignored, as forgeries may be (RFC 5452 §9.1).
 */
function udpExchange(
  server: NameServer,
  query: Buffer,
  accept: (msg: Buffer) => boolean,
  timeoutMs: number,
  pending: Pending,
): Promise<Raw> {
  return new Promise((resolve) => {
    const sock = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const finish = (r: Raw) => {
      if (!pending.delete(stop)) return;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // Already closed after an error.
      }
      resolve(r);
    };
    const stop = () => finish({ error: 'ECANCELLED' });
    pending.add(stop);
    const timer = setTimeout(() => finish({ error: 'ETIMEOUT' }), timeoutMs);
    sock.on('error', () => finish({ error: 'ECONNREFUSED' }));
    sock.on('message', (msg, from) => {
      if (canonicalIP(from.address) !== canonicalIP(server.host) || from.port !== server.port) {
        return;
      }
      if (accept(msg)) finish({ msg });
    });
    sock.connect(server.port, server.host, () => {
      sock.send(query, (err) => {
        if (err) finish({ error: 'ECONNREFUSED' });
      });
    });
  });
}

/**
 * Send `query` over a new TCP connection (RFC 1035 §4.2.2, RFC 7766) and read one
 * length-prefixed message; it must be the answer to the query (`accept`).
 */
function tcpExchange(
  server: NameServer,
  query: Buffer,
  accept: (msg: Buffer) => boolean,
  timeoutMs: number,
  pending: Pending,
): Promise<Raw> {
  return new Promise((resolve) => {
    const sock = connect({ host: server.host, port: server.port });
    let buf = Buffer.alloc(0);
    const finish = (r: Raw) => {
      if (!pending.delete(stop)) return;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const stop = () => finish({ error: 'ECANCELLED' });
    pending.add(stop);
    const timer = setTimeout(() => finish({ error: 'ETIMEOUT' }), timeoutMs);
    sock.on('error', () => finish({ error: 'ECONNREFUSED' }));
    sock.on('close', () => finish({ error: 'ECONNREFUSED' }));
    sock.on('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (chunk: Buffer) => {
      // At most one message of at most MAX_TCP_MESSAGE octets is kept.
      buf = Buffer.concat([buf, chunk]).subarray(0, 2 + MAX_TCP_MESSAGE);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const msg = Buffer.from(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      finish(accept(msg) ? { msg } : { error: 'EBADRESP' });
    });
  });
}
