// DNS message wire format (RFC 1035 §4): parsing queries (with name compression) and
// building responses.

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

const HEADER_SIZE = 12;
const MAX_NAME_WIRE = 255;

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
 * before the start of the labels being read, so pointers cannot loop.
 */
export function readName(msg: Buffer, offset: number): { labels: string[]; end: number } {
  const labels: string[] = [];
  let pos = offset;
  let floor = offset;
  let end = -1;
  let wire = 1;
  for (;;) {
    const len = byteAt(msg, pos);
    if (len === 0) break;
    if ((len & 0xc0) === 0xc0) {
      const target = ((len & 0x3f) << 8) | byteAt(msg, pos + 1);
      if (target >= floor) throw new WireError('compression pointer does not point backwards');
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

/** Read a resource record (RFC 1035 §4.1.3). */
export function readRR(msg: Buffer, offset: number): { rr: RawRR; end: number } {
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
  return { rr, end: end + 10 + rdlength };
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

/** A query message with one question; an OPT RR is added when `ednsSize` is given. */
export function encodeQuery(
  id: number,
  name: string,
  type: number,
  opts: { rd?: boolean; ednsSize?: number } = {},
): Buffer {
  const opt =
    opts.ednsSize === undefined
      ? []
      : [
          encodeRR({
            name: [],
            type: TYPE.OPT,
            class: opts.ednsSize,
            ttl: 0,
            data: Buffer.alloc(0),
          }),
        ];
  const header = encodeHeader({
    id,
    flags: opts.rd === false ? 0 : FLAG_RD,
    qdcount: 1,
    ancount: 0,
    nscount: 0,
    arcount: opt.length,
  });
  return Buffer.concat([header, encodeQuestion(nameLabels(name), type), ...opt]);
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
