// Reading a recursive resolver's response as a stub resolver: whether it answers the
// question asked (RFC 5452 §9.1), its response code, and the records of the asked type
// at the end of the CNAME chain (RFC 1034 §3.6.2, §5.3.3), decoded as the Resolver
// interface gives them.
import { type RecordType, type RecordsOf } from './types.js';
import {
  CLASS_IN,
  FLAG_AD,
  FLAG_QR,
  FLAG_TC,
  RCODE,
  TYPE,
  WireError,
  decodeA,
  decodeAAAA,
  decodeMX,
  decodeNameData,
  decodeTXT,
  parseHeader,
  presentName,
  readQuestion,
  readRR,
  sameName,
  type Header,
  type RawRR,
} from './wire.js';

/** Type numbers of the types the Resolver interface asks for. */
export const TYPE_NUMBER: Record<RecordType, number> = {
  A: TYPE.A,
  AAAA: TYPE.AAAA,
  MX: TYPE.MX,
  TXT: TYPE.TXT,
  PTR: TYPE.PTR,
  CNAME: TYPE.CNAME,
};

/** An answer-section record, with where its RDATA starts in the message. */
export type AnswerRR = { rr: RawRR; dataAt: number };

/** A parsed response. */
export type Reply = {
  msg: Buffer;
  header: Header;
  /** The full response code: the header's, with the OPT record's upper bits (RFC 6891 §6.1.3). */
  rcode: number;
  truncated: boolean;
  /** The AD bit (RFC 4035 §3.2.3); whether to believe it is the caller's decision. */
  ad: boolean;
  answers: AnswerRR[];
};

/**
 * Whether `msg` is the response to our query (RFC 5452 §9.1): a response with our id,
 * opcode QUERY, and our one question (name compared without ASCII case, RFC 4343). A
 * response without question is accepted only when it carries an error and so no data
 * (servers leave the question out of FORMERR and NOTIMP). Never throws.
 */
export function answersQuery(
  msg: Buffer,
  id: number,
  qname: readonly string[],
  qtype: number,
): boolean {
  try {
    const h = parseHeader(msg);
    if ((h.flags & FLAG_QR) === 0 || h.id !== id || ((h.flags >> 11) & 0xf) !== 0) return false;
    if (h.qdcount === 0) {
      const rcode = h.flags & 0xf;
      return rcode !== RCODE.NOERROR && rcode !== RCODE.NXDOMAIN && h.ancount === 0;
    }
    if (h.qdcount !== 1) return false;
    const q = readQuestion(msg, 12);
    return q.type === qtype && q.class === CLASS_IN && sameName(q.name, qname);
  } catch {
    return false;
  }
}

/** Parse a response; throws WireError when it is malformed anywhere. */
export function parseReply(msg: Buffer): Reply {
  const header = parseHeader(msg);
  let pos = 12;
  for (let i = 0; i < header.qdcount; i++) pos = readQuestion(msg, pos).end;
  const answers: AnswerRR[] = [];
  for (let i = 0; i < header.ancount; i++) {
    const { rr, end, dataAt } = readRR(msg, pos);
    answers.push({ rr, dataAt });
    pos = end;
  }
  let rcode = header.flags & 0xf;
  let opts = 0;
  for (let i = 0; i < header.nscount + header.arcount; i++) {
    const { rr, end } = readRR(msg, pos);
    pos = end;
    if (rr.type !== TYPE.OPT) continue;
    // RFC 6891 §6.1.1: at most one OPT, owned by the root.
    if (++opts > 1 || rr.name.length !== 0) throw new WireError('bad OPT record');
    rcode |= (rr.ttl >>> 24) << 4;
  }
  const truncated = (header.flags & FLAG_TC) !== 0;
  return { msg, header, rcode, truncated, ad: (header.flags & FLAG_AD) !== 0, answers };
}

/** What the answer section says about a question. */
export type Chain = {
  /** Records of the asked type at the end of the chain (class IN). */
  records: AnswerRR[];
  /** The name the chain ends at. */
  end: string[];
  /** CNAMEs followed. */
  hops: number;
};

/**
 * Follow CNAMEs from `qname` through the answer section (RFC 1034 §3.6.2: a name with a
 * CNAME has no other data), at most `maxHops` of them; records of other names, and
 * classes other than IN, are ignored. For type CNAME the chain is not followed. Returns
 * undefined when the chain is longer than allowed (or loops).
 */
export function followChain(
  reply: Reply,
  qname: readonly string[],
  qtype: number,
  maxHops: number,
): Chain | undefined {
  let owner = [...qname];
  for (let hops = 0; ; hops++) {
    const here = reply.answers.filter((a) => a.rr.class === CLASS_IN && sameName(a.rr.name, owner));
    const records = here.filter((a) => a.rr.type === qtype);
    const cname = here.find((a) => a.rr.type === TYPE.CNAME);
    if (records.length > 0 || qtype === TYPE.CNAME || cname === undefined) {
      return { records, end: owner, hops };
    }
    if (hops >= maxHops) return undefined;
    owner = decodeNameData(reply.msg, cname.dataAt, cname.rr.data.length);
  }
}

/** A name from the wire as the Resolver interface gives it: lower-case presentation form. */
function hostName(labels: readonly string[]): string {
  return presentName(labels).toLowerCase();
}

/**
 * The records as the Resolver method for `type` gives them: addresses in canonical text,
 * names lower-case without trailing dot (null MX: exchange ""), TXT character-strings
 * joined. Throws WireError for malformed record data.
 */
export function decodeRecords<T extends RecordType>(
  type: T,
  msg: Buffer,
  records: readonly AnswerRR[],
): RecordsOf[T] {
  const one = ({ rr, dataAt }: AnswerRR): RecordsOf[T][number] => {
    switch (type) {
      case 'A':
        return decodeA(rr.data);
      case 'AAAA':
        return decodeAAAA(rr.data);
      case 'TXT':
        return decodeTXT(rr.data).join('');
      case 'MX': {
        const mx = decodeMX(msg, dataAt, rr.data.length);
        return { exchange: hostName(mx.exchange), priority: mx.priority };
      }
      default:
        return hostName(decodeNameData(msg, dataAt, rr.data.length));
    }
  };
  return records.map(one) as RecordsOf[T];
}
