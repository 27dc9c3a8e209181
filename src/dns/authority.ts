// Authoritative answers from a zone index: the query-processing half of TestDNSServer
// (RFC 1034 §4.3.2), independent of sockets. It also plays a validating resolver: AD is
// set on answers from the zone's signed names (RFC 4035 §3.2.3).
import { ipv4Bytes, ipv6Bytes } from './ip.js';
import { normalizeName, type MX } from './types.js';
import {
  CLASS_IN,
  EDNS_DO,
  FLAG_AA,
  FLAG_AD,
  FLAG_QR,
  FLAG_RD,
  FLAG_TC,
  RCODE,
  TYPE,
  WireError,
  encodeHeader,
  encodeName,
  encodeQuestion,
  encodeRR,
  encodeTXT,
  labelsText,
  nameLabels,
  parseHeader,
  readQuestion,
  readRR,
  type RawRR,
} from './wire.js';
import type { ZoneIndex, ZoneType } from './zone.js';

const TTL = 300;
const MAX_CNAME_HOPS = 8;
// RFC 1035 §4.2.1 without EDNS; RFC 6891 §6.2.5 with it, capped at the usual safe size.
const UDP_PLAIN_LIMIT = 512;
const UDP_EDNS_LIMIT = 1232;
const TCP_LIMIT = 0xffff;

const ZONE_TYPES: Record<number, ZoneType> = {
  [TYPE.A]: 'A',
  [TYPE.AAAA]: 'AAAA',
  [TYPE.MX]: 'MX',
  [TYPE.TXT]: 'TXT',
  [TYPE.PTR]: 'PTR',
  [TYPE.CNAME]: 'CNAME',
};

// Type mnemonics for `fail` keys such as "NS example.org"; RFC 3597 §5 form otherwise.
const TYPE_NAMES = new Map<number, string>(Object.entries(TYPE).map(([k, v]) => [v, k]));

type Question = { name: string[]; type: number; class: number };
type Query = {
  id: number;
  flags: number;
  question: Question;
  ednsSize: number | undefined;
  dnssecOK: boolean;
};

/**
 * The response to one query message, or undefined when it must be dropped (too short to
 * carry an id, or itself a response). Never throws on hostile input. `truncate`: over UDP,
 * answer every query with TC set and no records, as if no answer fit.
 */
export function answerQuery(
  zone: ZoneIndex,
  msg: Buffer,
  transport: 'udp' | 'tcp',
  truncate = false,
): Buffer | undefined {
  if (msg.length < 12) return undefined;
  const header = parseHeader(msg);
  if (header.flags & FLAG_QR) return undefined;
  const opcode = (header.flags >> 11) & 0xf;
  if (opcode !== 0) return bareResponse(header.id, header.flags, RCODE.NOTIMP);
  let query: Query;
  try {
    query = parseQuery(msg);
  } catch (e) {
    if (e instanceof WireError) return bareResponse(header.id, header.flags, RCODE.FORMERR);
    throw e;
  }
  return respond(zone, query, transport, truncate);
}

// The single question and the EDNS payload size (RFC 6891 §6.1.2) of a query.
function parseQuery(msg: Buffer): Query {
  const header = parseHeader(msg);
  if (header.qdcount !== 1) throw new WireError('a query must have exactly one question');
  const q = readQuestion(msg, 12);
  let pos = q.end;
  let ednsSize: number | undefined;
  let dnssecOK = false;
  const rrCount = header.ancount + header.nscount + header.arcount;
  for (let i = 0; i < rrCount; i++) {
    const { rr, end } = readRR(msg, pos);
    pos = end;
    if (rr.type !== TYPE.OPT) continue;
    if (ednsSize !== undefined || rr.name.length !== 0) throw new WireError('bad OPT record');
    ednsSize = rr.class;
    dnssecOK = (rr.ttl & EDNS_DO) !== 0;
  }
  const question = { name: q.name, type: q.type, class: q.class };
  return { id: header.id, flags: header.flags, question, ednsSize, dnssecOK };
}

// A response without question or records, for queries that cannot be answered.
function bareResponse(id: number, queryFlags: number, rcode: number): Buffer {
  const flags = responseFlags(queryFlags, rcode);
  return encodeHeader({ id, flags, qdcount: 0, ancount: 0, nscount: 0, arcount: 0 });
}

function responseFlags(queryFlags: number, rcode: number): number {
  return FLAG_QR | (queryFlags & (0x7800 | FLAG_RD)) | FLAG_AA | rcode;
}

function respond(zone: ZoneIndex, q: Query, transport: 'udp' | 'tcp', truncate: boolean): Buffer {
  const { rcode, answers, owners } =
    q.question.class === CLASS_IN
      ? lookup(zone, q.question)
      : { rcode: RCODE.REFUSED, answers: [], owners: [] };
  // Like validating resolvers, AD only for clients that show they understand it (RFC 6840
  // §5.7: AD or DO in the query), and only on answers with every name signed.
  const ad =
    ((q.flags & FLAG_AD) !== 0 || q.dnssecOK) &&
    (rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN) &&
    owners.length > 0 &&
    owners.every((o) => zone.isAuthentic(o));
  const opt = q.ednsSize === undefined ? [] : [optRR()];
  const build = (records: Buffer[], code: number, tc: boolean): Buffer => {
    const flags = responseFlags(q.flags, code) | (tc ? FLAG_TC : 0) | (ad ? FLAG_AD : 0);
    const header = {
      id: q.id,
      flags,
      qdcount: 1,
      ancount: records.length,
      nscount: 0,
      arcount: opt.length,
    };
    const question = encodeQuestion(q.question.name, q.question.type, q.question.class);
    return Buffer.concat([encodeHeader(header), question, ...records, ...opt]);
  };
  let encoded: Buffer[];
  try {
    encoded = answers.map(encodeRR);
  } catch {
    return build([], RCODE.SERVFAIL, false);
  }
  const full = build(encoded, rcode, false);
  const limit = transport === 'tcp' ? TCP_LIMIT : truncate ? 0 : udpLimit(q.ednsSize);
  if (full.length <= limit) return full;
  // RFC 2181 §9: too big for UDP, so set TC and let the client retry over TCP.
  return transport === 'udp' ? build([], rcode, true) : build([], RCODE.SERVFAIL, false);
}

function udpLimit(ednsSize: number | undefined): number {
  return ednsSize === undefined
    ? UDP_PLAIN_LIMIT
    : Math.min(Math.max(ednsSize, UDP_PLAIN_LIMIT), UDP_EDNS_LIMIT);
}

// RFC 6891 §6.1.2: our OPT record advertises the payload size we accept.
function optRR(): Buffer {
  return encodeRR({
    name: [],
    type: TYPE.OPT,
    class: UDP_EDNS_LIMIT,
    ttl: 0,
    data: Buffer.alloc(0),
  });
}

/**
 * RFC 1034 §4.3.2 step 3 for a single authoritative zone, following CNAMEs inside it;
 * `owners` are the names on the way to the answer.
 */
function lookup(
  zone: ZoneIndex,
  question: Question,
): { rcode: number; answers: RawRR[]; owners: string[] } {
  const type = ZONE_TYPES[question.type];
  const typeName = TYPE_NAMES.get(question.type) ?? `TYPE${question.type}`;
  const answers: RawRR[] = [];
  const owners: string[] = [];
  let owner = queryOwner(question.name);
  let ownerLabels = question.name;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    if (owner === undefined) return { rcode: RCODE.NXDOMAIN, answers, owners: [] };
    owners.push(owner);
    const failure = zone.failure(typeName, owner);
    if (failure !== undefined) {
      const rcode = failure === 'temporary' ? RCODE.SERVFAIL : RCODE.NOTIMP;
      return { rcode, answers: [], owners };
    }
    const records = type === undefined ? undefined : recordsOf(zone, type, owner, ownerLabels);
    if (records !== undefined) {
      return { rcode: RCODE.NOERROR, answers: answers.concat(records), owners };
    }
    const target = type === 'CNAME' ? undefined : zone.lookup('CNAME', owner)?.[0];
    if (target === undefined) {
      return { rcode: zone.exists(owner) ? RCODE.NOERROR : RCODE.NXDOMAIN, answers, owners };
    }
    answers.push(rr(ownerLabels, TYPE.CNAME, encodeName(nameLabels(target))));
    owner = target;
    ownerLabels = nameLabels(target);
  }
  return { rcode: RCODE.SERVFAIL, answers: [], owners: [] };
}

// The zone key for query labels; undefined when no zone name can match them.
function queryOwner(labels: string[]): string | undefined {
  if (labels.some((l) => l.includes('.'))) return undefined;
  return normalizeName(labelsText(labels));
}

function rr(name: string[], type: number, data: Buffer): RawRR {
  return { name, type, class: CLASS_IN, ttl: TTL, data };
}

function recordsOf(
  zone: ZoneIndex,
  type: ZoneType,
  owner: string,
  labels: string[],
): RawRR[] | undefined {
  switch (type) {
    case 'A':
      return zone.lookup(type, owner)?.map((ip) => rr(labels, TYPE.A, Buffer.from(ipv4Bytes(ip))));
    case 'AAAA':
      return zone
        .lookup(type, owner)
        ?.map((ip) => rr(labels, TYPE.AAAA, Buffer.from(ipv6Bytes(ip))));
    case 'MX':
      return zone.lookup(type, owner)?.map((mx) => rr(labels, TYPE.MX, mxData(mx)));
    case 'TXT':
      return zone.lookup(type, owner)?.map((t) => rr(labels, TYPE.TXT, encodeTXT(t)));
    case 'PTR':
    case 'CNAME':
      return zone
        .lookup(type, owner)
        ?.map((n) => rr(labels, TYPE[type], encodeName(nameLabels(n))));
  }
}

// RFC 1035 §3.3.9: PREFERENCE then EXCHANGE; RFC 7505 null MX is the root name.
function mxData(mx: MX): Buffer {
  const pref = Buffer.alloc(2);
  pref.writeUInt16BE(mx.priority, 0);
  return Buffer.concat([pref, encodeName(nameLabels(mx.exchange))]);
}
