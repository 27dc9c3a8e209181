// DNS message wire format (RFC 1035 §4): parsing messages (with name compression),
// building queries and responses, decoding the record data the resolvers use, and names
// in presentation format (RFC 1035 §5.1).
import { ipv6FromBytes } from './ip.js';

/** RR type numbers (RFC 1035 §3.2.2, RFC 3596, RFC 6891). */
export const TYPE = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  OPT: 41,
} as const;

/** Response codes (RFC 1035 §4.1.1). */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export const CLASS_IN = 1;

// Header flag bits (RFC 1035 §4.1.1).
export const FLAG_QR = 0x8000;
export const FLAG_AA = 0x0400;
export const FLAG_TC = 0x0200;
export const FLAG_RD = 0x0100;
export const FLAG_RA = 0x0080;
/** Authentic data (RFC 4035 §3.2.3); in a query, asks for it (RFC 6840 §5.7). */
export const FLAG_AD = 0x0020;
/** Checking disabled (RFC 4035 §3.2.2). */
export const FLAG_CD = 0x0010;
/** The DO bit in an OPT record's TTL field (RFC 3225 §3, RFC 6891 §6.1.4). */
export const EDNS_DO = 0x8000;

const HEADER_SIZE = 12;
const MAX_NAME_WIRE = 255;
/**
 * Compression pointers followed for one name. Each must point backwards, so they cannot
 * loop, but a chain of pointers to pointers could still make every name in a 64 KiB
 * message cost thousands of steps; a real name needs no more than one per label.
 */
const MAX_POINTERS = 127;

/** A message could not be parsed. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** The fixed 12-byte header (RFC 1035 §4.1.1). */
export type Header = {
  id: number;
  flags: number;
  qdcount: number;
  ancount: number;
  nscount: number;
  arcount: number;
};

/**
 * A resource record with raw RDATA. Names are arrays of labels held as binary strings
 * (one character per octet, as read), so they keep their case and exact bytes.
 */
export type RawRR = { name: string[]; type: number; class: number; ttl: number; data: Buffer };

export function parseHeader(msg: Buffer): Header {
  if (msg.length < HEADER_SIZE) throw new WireError('message shorter than its header');
  return {
    id: msg.readUInt16BE(0),
    flags: msg.readUInt16BE(2),
    qdcount: msg.readUInt16BE(4),
    ancount: msg.readUInt16BE(6),
    nscount: msg.readUInt16BE(8),
    arcount: msg.readUInt16BE(10),
  };
}

/**
 * Read a possibly compressed name at `offset` (RFC 1035 §4.1.4). Every pointer must point
 * before the start of the labels being read, so pointers cannot loop, and there may be at
 * most MAX_POINTERS of them.
 */
export function readName(msg: Buffer, offset: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let floor = offset;
  let end = -1;
  let wire = 1;
  let pointers = 0;
  for (;;) {
    const len = byteAt(msg, pos);
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      const target = ((len & 0x3f) << 8) | byteAt(msg, pos + 1);
      if (target >= floor) throw new WireError('compression pointer does not point backwards');
      if (++pointers > MAX_POINTERS) throw new WireError('too many compression pointers');
      if (end < 0) end = pos + 2;
      pos = floor = target;
      continue;
    }
    if (len & 0xc0) throw new WireError('unsupported label type');
    wire += len + 1;
    if (wire > MAX_NAME_WIRE) throw new WireError('name longer than 255 octets');
    if (pos + 1 + len > msg.length) throw new WireError('label runs past the message');
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return { labels, end: end < 0 ? pos + 1 : end };
}

function byteAt(msg: Buffer, pos: number): number {
  const b = msg[pos];
  if (b === undefined) throw new WireError('message truncated');
  return b;
}

function need(msg: Buffer, pos: number, n: number): void {
  if (pos + n > msg.length) throw new WireError('message truncated');
}

/** Read a question (RFC 1035 §4.1.2). */
export function readQuestion(
  msg: Buffer,
  offset: number,
): { name: string[]; type: number; class: number; end: number } {
  const { labels, end } = readName(msg, offset);
  need(msg, end, 4);
  return {
    name: labels,
    type: msg.readUInt16BE(end),
    class: msg.readUInt16BE(end + 2),
    end: end + 4,
  };
}

/**
 * Read a resource record (RFC 1035 §4.1.3); `dataAt` is where its RDATA starts, for
 * names in it that point elsewhere in the message.
 */
export function readRR(msg: Buffer, offset: number): { rr: RawRR; end: number; dataAt: number } {
  const { labels, end } = readName(msg, offset);
  need(msg, end, 10);
  const rdlength = msg.readUInt16BE(end + 8);
  need(msg, end + 10, rdlength);
  const rr: RawRR = {
    name: labels,
    type: msg.readUInt16BE(end),
    class: msg.readUInt16BE(end + 2),
    ttl: msg.readUInt32BE(end + 4),
    data: msg.subarray(end + 10, end + 10 + rdlength),
  };
  return { rr, end: end + 10 + rdlength, dataAt: end + 10 };
}

/** A whole message: header, questions and the three RR sections. */
export type Message = {
  header: Header;
  questions: { name: string[]; type: number; class: number }[];
  answers: RawRR[];
  authority: RawRR[];
  additional: RawRR[];
};

export function parseMessage(msg: Buffer): Message {
  const header = parseHeader(msg);
  let pos = HEADER_SIZE;
  const questions: Message['questions'] = [];
  for (let i = 0; i < header.qdcount; i++) {
    const q = readQuestion(msg, pos);
    questions.push({ name: q.name, type: q.type, class: q.class });
    pos = q.end;
  }
  const section = (count: number): RawRR[] => {
    const out: RawRR[] = [];
    for (let i = 0; i < count; i++) {
      const { rr, end } = readRR(msg, pos);
      out.push(rr);
      pos = end;
    }
    return out;
  };
  const answers = section(header.ancount);
  const authority = section(header.nscount);
  const additional = section(header.arcount);
  return { header, questions, answers, authority, additional };
}

/** Encode a name without compression; `labels` empty for the root. */
export function encodeName(labels: readonly string[]): Buffer {
  const parts: Buffer[] = [];
  for (const label of labels) {
    const b = Buffer.from(label, 'latin1');
    if (b.length > 63) throw new WireError('label longer than 63 octets');
    parts.push(Buffer.of(b.length), b);
  }
  parts.push(Buffer.of(0));
  return Buffer.concat(parts);
}

/** The wire labels of a normalised dotted name ("" is the root), UTF-8 encoded. */
export function nameLabels(name: string): string[] {
  return name === '' ? [] : name.split('.').map((l) => Buffer.from(l, 'utf8').toString('latin1'));
}

/** The dotted text of wire labels, decoded as UTF-8. */
export function labelsText(labels: readonly string[]): string {
  return Buffer.from(labels.join('.'), 'latin1').toString('utf8');
}

/** Encode a header. */
export function encodeHeader(h: Header): Buffer {
  const b = Buffer.alloc(HEADER_SIZE);
  b.writeUInt16BE(h.id, 0);
  b.writeUInt16BE(h.flags, 2);
  b.writeUInt16BE(h.qdcount, 4);
  b.writeUInt16BE(h.ancount, 6);
  b.writeUInt16BE(h.nscount, 8);
  b.writeUInt16BE(h.arcount, 10);
  return b;
}

/** Encode a question. */
export function encodeQuestion(name: readonly string[], type: number, klass = CLASS_IN): Buffer {
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(klass, 2);
  return Buffer.concat([encodeName(name), tail]);
}

/** Encode a resource record; throws WireError when RDATA exceeds 65535 octets. */
export function encodeRR(rr: RawRR): Buffer {
  if (rr.data.length > 0xffff) throw new WireError('RDATA longer than 65535 octets');
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(rr.class, 2);
  fixed.writeUInt32BE(rr.ttl, 4);
  fixed.writeUInt16BE(rr.data.length, 8);
  return Buffer.concat([encodeName(rr.name), fixed, rr.data]);
}

export type QueryOptions = {
  /** Recursion desired; default true. */
  rd?: boolean;
  /** Set AD to ask whether the answer is authentic (RFC 6840 §5.7). */
  ad?: boolean;
  /** Add an OPT record (RFC 6891 §6.1.2) advertising this UDP payload size. */
  ednsSize?: number;
  /** With ednsSize: set DO, asking for DNSSEC records (RFC 3225 §3). */
  dnssecOK?: boolean;
};

/** A query message with one question; `name` is a dotted name or wire labels. */
export function encodeQuery(
  id: number,
  name: string | readonly string[],
  type: number,
  opts: QueryOptions = {},
): Buffer {
  const opt =
    opts.ednsSize === undefined
      ? []
      : [
          encodeRR({
            name: [],
            type: TYPE.OPT,
            class: opts.ednsSize,
            ttl: opts.dnssecOK ? EDNS_DO : 0,
            data: Buffer.alloc(0),
          }),
        ];
  const header = encodeHeader({
    id,
    flags: (opts.rd === false ? 0 : FLAG_RD) | (opts.ad ? FLAG_AD : 0),
    qdcount: 1,
    ancount: 0,
    nscount: 0,
    arcount: opt.length,
  });
  const labels = typeof name === 'string' ? nameLabels(name) : name;
  return Buffer.concat([header, encodeQuestion(labels, type), ...opt]);
}

/**
 * TXT RDATA (RFC 1035 §3.3.14): each character-string holds at most 255 octets, so
 * longer text is split, never inside a UTF-8 sequence.
 */
export function encodeTXT(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  let pos = 0;
  do {
    let end = Math.min(pos + 255, bytes.length);
    // Back off continuation bytes (10xxxxxx) so a character stays whole.
    while (end < bytes.length && end > pos + 252 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    parts.push(Buffer.of(end - pos), bytes.subarray(pos, end));
    pos = end;
  } while (pos < bytes.length);
  return Buffer.concat(parts);
}

/** The character-strings of TXT RDATA. */
export function decodeTXT(data: Buffer): string[] {
  const out: string[] = [];
  let pos = 0;
  while (pos < data.length) {
    const len = byteAt(data, pos);
    need(data, pos + 1, len);
    out.push(data.toString('utf8', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return out;
}

/** A, IPv4 address RDATA (RFC 1035 §3.4.1): exactly 4 octets. */
export function decodeA(data: Buffer): string {
  if (data.length !== 4) throw new WireError(`A record of ${data.length} octets`);
  return `${data[0]}.${data[1]}.${data[2]}.${data[3]}`;
}

/** AAAA, IPv6 address RDATA (RFC 3596 §2.2): exactly 16 octets, in canonical text. */
export function decodeAAAA(data: Buffer): string {
  if (data.length !== 16) throw new WireError(`AAAA record of ${data.length} octets`);
  return ipv6FromBytes(data);
}

/**
 * RDATA that is one domain name (CNAME, PTR: RFC 1035 §3.3.1, §3.3.12), which may be
 * compressed (RFC 3597 §4), so it is read from the whole message at `dataAt`. The name
 * must fill the RDATA exactly.
 */
export function decodeNameData(msg: Buffer, dataAt: number, length: number): string[] {
  const { labels, end } = readName(msg, dataAt);
  if (end !== dataAt + length) throw new WireError('name does not fill its record data');
  return labels;
}

/** MX RDATA (RFC 1035 §3.3.9): PREFERENCE, then EXCHANGE (the root for null MX, RFC 7505). */
export function decodeMX(
  msg: Buffer,
  dataAt: number,
  length: number,
): { priority: number; exchange: string[] } {
  if (length < 3) throw new WireError(`MX record of ${length} octets`);
  const priority = msg.readUInt16BE(dataAt);
  return { priority, exchange: decodeNameData(msg, dataAt + 2, length - 2) };
}

// RFC 1035 §5.1 specials, and those c-ares also escapes (so names read as node:dns gives them).
const RESERVED = new Set(['"', '.', ';', '\\', '(', ')', '@', '$']);

/**
 * A name in presentation format (RFC 1035 §5.1) as node:dns (c-ares) writes it: labels
 * joined by dots, a dot or other special character inside a label escaped with a
 * backslash, an octet outside printable ASCII as \DDD; no trailing dot, "" for the root.
 * A name from a hostile server cannot so pass for another one.
 */
export function presentName(labels: readonly string[]): string {
  return labels
    .map((label) => {
      let out = '';
      for (const ch of label) {
        const c = ch.charCodeAt(0);
        if (c < 0x20 || c > 0x7e) out += `\\${String(c).padStart(3, '0')}`;
        else out += RESERVED.has(ch) ? `\\${ch}` : ch;
      }
      return out;
    })
    .join('.');
}

/**
 * The wire labels of a name in presentation format (RFC 1035 §5.1): "\." and "\DDD"
 * escapes read, other characters as UTF-8, one trailing dot allowed; "" or "." is the
 * root. Throws WireError for an empty or over-long label or a name over 255 octets.
 */
export function parseName(text: string): string[] {
  if (text === '' || text === '.') return [];
  const labels: string[] = [];
  let label = '';
  let wire = 1;
  const finish = () => {
    if (label.length === 0) throw new WireError(`empty label in ${JSON.stringify(text)}`);
    if (label.length > 63)
      throw new WireError(`label longer than 63 octets in ${JSON.stringify(text)}`);
    wire += label.length + 1;
    labels.push(label);
    label = '';
  };
  const chars = [...text];
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '.') {
      finish();
      continue;
    }
    if (ch !== '\\') {
      label += Buffer.from(ch, 'utf8').toString('latin1');
      continue;
    }
    const digits = chars.slice(i + 1, i + 4).join('');
    if (/^[0-9]{3}$/.test(digits)) {
      const code = Number(digits);
      if (code > 255) throw new WireError(`bad escape \\${digits} in ${JSON.stringify(text)}`);
      label += String.fromCharCode(code);
      i += 3;
    } else if (i + 1 < chars.length) {
      label += Buffer.from(chars[++i]!, 'utf8').toString('latin1');
    } else {
      throw new WireError(`name ends in a backslash: ${JSON.stringify(text)}`);
    }
  }
  // One trailing dot ends the name (it is absolute); otherwise the last label ends it.
  if (label.length > 0 || !text.endsWith('.')) finish();
  if (wire > MAX_NAME_WIRE)
    throw new WireError(`name longer than 255 octets: ${JSON.stringify(text)}`);
  return labels;
}

/** Whether two names are equal, ASCII letters compared without case (RFC 4343 §3). */
export function sameName(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  return a.every((label, i) => asciiLower(label) === asciiLower(b[i]!));
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}
