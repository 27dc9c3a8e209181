// From what was received to the report document: a report file as it is (XML or JSON),
// gzipped or zipped, or a whole message carrying one as an attachment, found by its
// media type or file name (RFC 7489 §7.2.1.1, RFC 8460 §5.3).
import {
  decodeTransfer,
  knownTransferEncoding,
  parseMessage,
  type Part,
} from '../message/index.js';
import { ReportError } from './errors.js';
import { MAX_REPORT_BYTES, packing, unpack } from './unpack.js';

export type ReportKind = 'dmarc' | 'tls';

type KindInfo = {
  label: string;
  /** Characters a report document can start with. */
  first: string;
  /** The file a zip archive holds. */
  suffix: string;
  types: Set<string>;
  names: RegExp;
};

const KINDS: Record<ReportKind, KindInfo> = {
  dmarc: {
    label: 'DMARC aggregate report',
    first: '<',
    suffix: '.xml',
    types: new Set([
      'application/gzip',
      'application/x-gzip',
      'application/zip',
      'application/x-zip',
      'application/x-zip-compressed',
      'text/xml',
      'application/xml',
    ]),
    names: /\.(xml|gz|zip)$/i,
  },
  tls: {
    label: 'TLS report',
    first: '{[',
    suffix: '.json',
    types: new Set([
      'application/tlsrpt+gzip',
      'application/tlsrpt+json',
      'application/gzip',
      'application/x-gzip',
      'application/json',
    ]),
    names: /\.(json|gz)$/i,
  },
};

export function kindLabel(kind: ReportKind): string {
  return KINDS[kind].label;
}

function fileName(p: Part): string {
  return p.disposition?.params?.filename ?? p.params?.name ?? '';
}

function leaves(p: Part, out: Part[] = []): Part[] {
  // Messages enclosed in the message (bounces, forwards) are not searched.
  if (p.parts) for (const c of p.parts) leaves(c, out);
  else out.push(p);
  return out;
}

export type Attachment = { contentType: string; fileName: string; data: Buffer };

/** The first part of a message that carries a report of this kind, decoded. */
export function findReportAttachment(
  message: Buffer,
  kind: ReportKind,
  max = MAX_REPORT_BYTES,
): Attachment {
  const k = KINDS[kind];
  const part = leaves(parseMessage(message)).find(
    (p) => k.types.has(`${p.type}/${p.subtype}`) || k.names.test(fileName(p)),
  );
  if (!part) {
    throw new ReportError(
      `no ${k.label} in the message: no part of type ${[...k.types].join(', ')} or named *${k.suffix}, *.gz${kind === 'dmarc' ? ', *.zip' : ''}`,
    );
  }
  const contentType = `${part.type}/${part.subtype}`;
  const name = fileName(part);
  const what = `attachment ${contentType}${name ? ` ${JSON.stringify(name)}` : ''}`;
  // Base64 grows data by a third, line breaks included.
  if (part.end - part.bodyStart > (max / 3) * 4 * 1.1 + 4096) {
    throw new ReportError(`${what} is larger than ${max} bytes`);
  }
  if (!knownTransferEncoding(part.encoding)) {
    throw new ReportError(`${what} has unknown transfer encoding ${part.encoding}`);
  }
  const data = decodeTransfer(part.encoding, message.subarray(part.bodyStart, part.end)).data;
  return { contentType, fileName: name, data };
}

/**
 * The report document from what was received: a report file (gzip, zip, or the
 * document itself) or a whole message with one attached. At most `max` bytes.
 */
export async function reportDocument(
  data: Buffer,
  kind: ReportKind,
  max = MAX_REPORT_BYTES,
): Promise<Buffer> {
  const k = KINDS[kind];
  if (packing(data) !== 'plain' || startsWith(data, k.first)) {
    return unpack(data, k.suffix, max);
  }
  const formats = `${kind === 'dmarc' ? 'XML' : 'JSON'}, gzip${kind === 'dmarc' ? ' nor zip' : ''}`;
  // A message starts with a header field: a name (in practice letters, digits and
  // hyphens), then a colon.
  if (!/^[A-Za-z0-9-]{1,100}:/.test(data.toString('latin1', 0, 128))) {
    throw new ReportError(`not a ${k.label}: neither ${formats}, nor a message with one attached`);
  }
  const a = findReportAttachment(data, kind, max);
  if (packing(a.data) === 'plain' && !startsWith(a.data, k.first)) {
    throw new ReportError(
      `the ${a.contentType} attachment is not a ${k.label}: neither ${formats}`,
    );
  }
  return unpack(a.data, k.suffix, max);
}

/** Whether the first character after white space (and a byte order mark) is one of `chars`. */
function startsWith(data: Buffer, chars: string): boolean {
  let i = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf ? 3 : 0;
  for (; i < data.length && i < 4096; i++) {
    const b = data[i];
    if (chars.includes(String.fromCharCode(b!))) return true;
    if (b !== 0x20 && b !== 0x09 && b !== 0x0d && b !== 0x0a) return false;
  }
  return false;
}
