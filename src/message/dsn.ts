// Delivery status notifications: composing (RFC 3464, RFC 3461 §6, RFC 6533 for
// SMTPUTF8) and reading back the machine-readable part of any DSN.
import { isAscii } from 'node:buffer';
import {
  ComposeError,
  MessageBuilder,
  encodeHeaderWord,
  foldHeader,
  formatDate,
} from './compose.js';
import { decodeTransfer, knownTransferEncoding } from './decode.js';
import { headerValue, parseHeaderBlock } from './header.js';
import { parseMessage } from './parse.js';
import type { Part } from './types.js';

export type DSNAction = 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';

export type DSNRecipient = {
  /** Address as used in RCPT TO. */
  finalRecipient: string;
  /** From ORCPT, xtext-decoded (RFC 3461 §4.2). */
  originalRecipient?: { addrType: string; address: string };
  action: DSNAction;
  /** Enhanced status code (RFC 3463), e.g. "5.1.1". */
  status: string;
  /** The SMTP reply; `text` without the codes. */
  diagnostic?: { code: number; secode?: string; text: string };
  /** Host name of the MTA that gave the reply. */
  remoteMTA?: string;
  lastAttempt?: Date;
  /** For delayed recipients. */
  willRetryUntil?: Date;
};

export type DSNInput = {
  /** Postmaster address; the From field gets the display name "Mail Delivery Subsystem". */
  from: string;
  /** The original sender: the DSN's recipient. */
  to: string;
  subject: string;
  /** "<...>" of the DSN itself. */
  messageId: string;
  /** Message-ID of the original message: References and In-Reply-To. */
  references?: string;
  /** Our host name. */
  reportingMTA: string;
  /** E.g. "client.example (192.0.2.1)". */
  receivedFromMTA?: string;
  arrivalDate?: Date;
  /** The ENVID, decoded from xtext (RFC 3461 §6.3). */
  envid?: string;
  recipients: DSNRecipient[];
  /** The human-readable first part. */
  text: string;
  /** RET=HDRS: the header block; RET=FULL: the whole message. */
  original?: { headers: Buffer } | { message: Buffer };
  /** RFC 6533: global media types, UTF-8 addresses and text allowed. */
  smtputf8?: boolean;
  /** Date of the DSN; now when absent. */
  date?: Date;
  /** A fixed multipart boundary instead of a random one. */
  boundary?: string;
};

/** A DSN that cannot be composed from the given input. */
export class DSNError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DSNError';
  }
}

// RFC 3463 §2: class "." subject "." detail.
const STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
const MSG_ID = /^<[^<>\s]+>$/;
const ASCII = /^[\x00-\x7f]*$/;

/**
 * Text for one line of a delivery-status field: line breaks and other controls become
 * spaces (so no field can be injected), and outside SMTPUTF8 non-ASCII becomes "?".
 */
function fieldText(s: string, utf8: boolean): string {
  const t = s.replace(/[\r\n]+/g, ' ').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ');
  return utf8 ? t : t.replace(/[^\x00-\x7f]/g, '?');
}

/** A mailbox for From or To; one with non-ASCII characters needs SMTPUTF8 (RFC 6532). */
function headerAddress(addr: string, utf8: boolean, what: string): string {
  const a = addr.trim();
  if (a === '' || /[\x00-\x1f\x7f<>]/.test(a))
    throw new DSNError(`invalid ${what} address ${JSON.stringify(addr)}`);
  if (!utf8 && !ASCII.test(a)) throw new DSNError(`non-ASCII ${what} address needs smtputf8`);
  return a;
}

/**
 * RFC 6533 §3 utf-8-addr-xtext: "\x{HEX}" for non-ASCII characters, controls, space,
 * "\", "+" and "=".
 */
function utf8AddrXtext(addr: string): string {
  let out = '';
  for (const ch of addr) {
    const cp = ch.codePointAt(0) as number;
    const special = cp <= 0x20 || cp >= 0x7f || ch === '\\' || ch === '+' || ch === '=';
    out += special ? `\\x{${cp.toString(16).toUpperCase()}}` : ch;
  }
  return out;
}

/**
 * "type;address" for Original-Recipient and Final-Recipient (RFC 3464 §2.3.1, §2.3.2).
 * A non-ASCII address takes the "utf-8" type (RFC 6533 §3): the plain address in a
 * global report, the utf-8-addr-xtext form otherwise.
 */
function recipientValue(addrType: string, address: string, utf8: boolean): string {
  const type = addrType.trim().toLowerCase();
  const addr = fieldText(address.trim(), true);
  if (type === 'rfc822' || type === 'utf-8') {
    if (ASCII.test(addr)) return `${type};${addr}`;
    return utf8 ? `utf-8;${addr}` : `utf-8;${utf8AddrXtext(addr)}`;
  }
  if (!/^[A-Za-z0-9-]+$/.test(type)) throw new DSNError(`invalid address type ${addrType}`);
  return `${type};${fieldText(addr, utf8)}`;
}

/** "smtp; 550 5.1.1 text" (RFC 3464 §2.3.6). */
function diagnosticValue(d: NonNullable<DSNRecipient['diagnostic']>, utf8: boolean): string {
  if (!Number.isInteger(d.code) || d.code < 200 || d.code > 599) {
    throw new DSNError(`invalid SMTP reply code ${d.code}`);
  }
  let text = fieldText(d.text, utf8).trim();
  let codes = String(d.code);
  if (d.secode !== undefined && STATUS.test(d.secode)) {
    codes += ' ' + d.secode;
    // The text may already start with the enhanced code.
    if (text === d.secode || text.startsWith(d.secode + ' ')) text = text.slice(d.secode.length);
  }
  return `smtp; ${codes} ${text.trim()}`.trimEnd();
}

function perMessageFields(d: DSNInput, utf8: boolean): string {
  // RFC 3464 §2.2: Original-Envelope-Id, Reporting-MTA, Received-From-MTA, Arrival-Date.
  let out = '';
  if (d.envid !== undefined) out += foldHeader('Original-Envelope-Id', fieldText(d.envid, false));
  out += foldHeader('Reporting-MTA', `dns; ${fieldText(d.reportingMTA, utf8)}`);
  if (d.receivedFromMTA !== undefined) {
    out += foldHeader('Received-From-MTA', `dns; ${fieldText(d.receivedFromMTA, utf8)}`);
  }
  if (d.arrivalDate !== undefined) out += foldHeader('Arrival-Date', formatDate(d.arrivalDate));
  return out;
}

function recipientFields(r: DSNRecipient, utf8: boolean): string {
  if (!STATUS.test(r.status)) throw new DSNError(`invalid status ${JSON.stringify(r.status)}`);
  // RFC 3464 §2.3: fields in the order the grammar lists them.
  let out = '';
  const o = r.originalRecipient;
  if (o !== undefined)
    out += foldHeader('Original-Recipient', recipientValue(o.addrType, o.address, utf8));
  out += foldHeader('Final-Recipient', recipientValue('rfc822', r.finalRecipient, utf8));
  out += foldHeader('Action', r.action);
  out += foldHeader('Status', r.status);
  if (r.remoteMTA !== undefined)
    out += foldHeader('Remote-MTA', `dns; ${fieldText(r.remoteMTA, utf8)}`);
  if (r.diagnostic !== undefined)
    out += foldHeader('Diagnostic-Code', diagnosticValue(r.diagnostic, utf8));
  if (r.lastAttempt !== undefined)
    out += foldHeader('Last-Attempt-Date', formatDate(r.lastAttempt));
  if (r.willRetryUntil !== undefined) {
    out += foldHeader('Will-Retry-Until', formatDate(r.willRetryUntil));
  }
  return out;
}

/** The body of the message/(global-)delivery-status part. */
function deliveryStatus(d: DSNInput, utf8: boolean): string {
  if (d.recipients.length === 0) throw new DSNError('a DSN needs at least one recipient');
  const blocks = [perMessageFields(d, utf8), ...d.recipients.map((r) => recipientFields(r, utf8))];
  return blocks.join('\r\n');
}

function has8bit(b: Buffer): boolean {
  return !isAscii(b);
}

function endWithCrlf(b: Buffer): Buffer {
  return b.length >= 2 && b[b.length - 2] === 0x0d && b[b.length - 1] === 0x0a
    ? b
    : Buffer.concat([b, Buffer.from('\r\n', 'latin1')]);
}

/** The third part: the returned headers (RET=HDRS) or message (RET=FULL). */
function originalPart(
  original: NonNullable<DSNInput['original']>,
  utf8: boolean,
): { headers: Record<string, string>; body: Buffer } {
  const isHeaders = 'headers' in original;
  const body = isHeaders ? endWithCrlf(original.headers) : original.message;
  let type: string;
  // RFC 6522 text/rfc822-headers; RFC 6533 §6.3 message/global-headers, RFC 6532 message/global.
  if (isHeaders) type = utf8 ? 'message/global-headers' : 'text/rfc822-headers';
  else type = utf8 ? 'message/global' : 'message/rfc822';
  const headers: Record<string, string> = { 'Content-Type': type };
  // RFC 2046 §5.2.1: message/rfc822 allows only 7bit, 8bit or binary.
  if (has8bit(body)) headers['Content-Transfer-Encoding'] = '8bit';
  return { headers, body };
}

/**
 * A complete DSN message (RFC 3464): multipart/report with the human text, the
 * delivery-status fields and, when given, the original headers or message. Marked
 * Auto-Submitted: auto-replied (RFC 3834 §5).
 */
export function composeDSN(d: DSNInput): Buffer {
  const utf8 = d.smtputf8 === true;
  if (!MSG_ID.test(d.messageId)) throw new DSNError(`invalid Message-ID ${d.messageId}`);
  const b = new MessageBuilder(d.boundary === undefined ? {} : { boundary: d.boundary });
  try {
    b.header('Date', formatDate(d.date ?? new Date()));
    b.header('From', `Mail Delivery Subsystem <${headerAddress(d.from, utf8, 'From')}>`);
    b.header('To', `<${headerAddress(d.to, utf8, 'To')}>`);
    b.header('Subject', encodeHeaderWord(fieldText(d.subject, true), 'Subject: '.length));
    b.header('Message-ID', d.messageId);
    if (d.references !== undefined) {
      if (!MSG_ID.test(d.references)) throw new DSNError(`invalid Message-ID ${d.references}`);
      b.header('References', d.references);
      b.header('In-Reply-To', d.references);
    }
    b.header('MIME-Version', '1.0');
    b.header('Auto-Submitted', 'auto-replied');
    b.multipart('report', { 'report-type': 'delivery-status' });
    b.textPart(d.text);
    const status = Buffer.from(deliveryStatus(d, utf8), 'utf8');
    const statusHeaders: Record<string, string> = {
      'Content-Type': utf8 ? 'message/global-delivery-status' : 'message/delivery-status',
    };
    if (has8bit(status)) statusHeaders['Content-Transfer-Encoding'] = '8bit';
    b.part(statusHeaders, status);
    if (d.original !== undefined) {
      const o = originalPart(d.original, utf8);
      b.part(o.headers, o.body);
    }
    return b.build();
  } catch (e) {
    if (e instanceof ComposeError) throw new DSNError(e.message);
    throw e;
  }
}

export type DSNTextKind = 'failed' | 'delayed' | 'delivered' | 'relayed';

export type DSNTextRecipient = {
  address: string;
  /** The error (or, for delivered and relayed, the final reply), if any. */
  error?: string;
  /** For "failed": the failure was temporary but no further attempts follow. */
  transient?: boolean;
};

const INTRO: Record<DSNTextKind, string> = {
  failed: 'Your message could not be delivered to the following recipients.',
  delayed: 'Delivery of your message to the following recipients has been delayed.',
  delivered: 'Your message has been delivered to the following recipients.',
  relayed:
    'Your message has been relayed to the following recipients. The receiving system ' +
    'does not send delivery notifications, so no further notice will follow.',
};

function recipientLine(kind: DSNTextKind, r: DSNTextRecipient): string {
  switch (kind) {
    case 'failed':
      return `${r.transient === true ? 'Transient' : 'Permanent'} delivery failure to: ${r.address}`;
    case 'delayed':
      return `Delivery delayed to: ${r.address}`;
    case 'delivered':
      return `Delivered to: ${r.address}`;
    case 'relayed':
      return `Relayed to: ${r.address}`;
  }
}

/** Indents the continuation lines of a multi-line error. */
function indented(s: string): string {
  return s
    .trim()
    .split(/\r\n|\r|\n/)
    .join('\n  ');
}

/**
 * A plain English explanation for the first part of a DSN: each recipient with its own
 * error, in the order given. Lines end in LF (the builder writes CR LF).
 */
export function dsnText(
  kind: DSNTextKind,
  recipients: DSNTextRecipient[],
  opts: { retryUntil?: Date } = {},
): string {
  let out = INTRO[kind] + '\n\n';
  const label = kind === 'failed' || kind === 'delayed' ? 'Error' : 'Response';
  for (const r of recipients) {
    out += recipientLine(kind, r) + '\n';
    if (r.error !== undefined && r.error.trim() !== '') out += `${label}: ${indented(r.error)}\n`;
    out += '\n';
  }
  if (kind === 'failed') out += 'No further attempts will be made to deliver it to them.\n';
  if (kind === 'delayed') {
    out +=
      opts.retryUntil === undefined
        ? 'Delivery will be attempted again.'
        : `Delivery will be attempted again until ${formatDate(opts.retryUntil)}.`;
    out += '\nYou do not need to send the message again.\n';
  }
  return out;
}

export type ParsedDSNRecipient = {
  /** The address, without its type (utf-8 forms decoded). */
  finalRecipient: string;
  originalRecipient?: string;
  /** Lower-cased. */
  action: string;
  /** The status code without comments, e.g. "5.1.1". */
  status: string;
  /** The text after the diagnostic type, e.g. "550 5.1.1 no such user". */
  diagnostic?: string;
  remoteMTA?: string;
};

export type ParsedDSN = {
  envid?: string;
  /** The name after the type, e.g. "mx.example.org". */
  reportingMTA?: string;
  recipients: ParsedDSNRecipient[];
};

/** The first message/(global-)delivery-status part, not looking into enclosed messages. */
function findStatusPart(root: Part): Part | undefined {
  const queue: Part[] = [root];
  for (let i = 0; i < queue.length; i++) {
    const p = queue[i] as Part;
    if (
      p.type === 'message' &&
      (p.subtype === 'delivery-status' || p.subtype === 'global-delivery-status')
    ) {
      return p;
    }
    if (p.parts) queue.push(...p.parts);
  }
  return undefined;
}

/** Field blocks separated by empty (or white-space only) lines. */
function fieldBlocks(data: Buffer): Buffer[] {
  const blocks: Buffer[] = [];
  let blockStart = -1;
  let pos = 0;
  while (pos < data.length) {
    const nl = data.indexOf(0x0a, pos);
    const lineEnd = nl < 0 ? data.length : nl + 1;
    let blank = true;
    for (let i = pos; i < lineEnd && blank; i++) {
      const c = data[i] as number;
      blank = c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
    }
    if (blank) {
      if (blockStart >= 0) blocks.push(data.subarray(blockStart, pos));
      blockStart = -1;
    } else if (blockStart < 0) blockStart = pos;
    pos = lineEnd;
  }
  if (blockStart >= 0) blocks.push(data.subarray(blockStart));
  return blocks;
}

/** RFC 6533 §3: decodes "\x{HEX}" in the utf-8-addr-xtext and unitext forms. */
function decodeUtf8Addr(s: string): string {
  return s.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (m, hex: string) => {
    const cp = parseInt(hex, 16);
    return cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? m : String.fromCodePoint(cp);
  });
}

/**
 * The part after "type;" (RFC 3464 §2.1.2); for addresses, utf-8 forms are decoded and
 * angle brackets removed.
 */
function typedValue(v: string, isAddress = false): string {
  const semi = v.indexOf(';');
  const type = semi < 0 ? '' : v.slice(0, semi).trim().toLowerCase();
  let rest = (semi < 0 ? v : v.slice(semi + 1)).trim();
  if (!isAddress) return rest;
  if (type === 'utf-8') rest = decodeUtf8Addr(rest);
  if (rest.startsWith('<') && rest.endsWith('>')) rest = rest.slice(1, -1);
  return rest;
}

function parseRecipient(fields: ReturnType<typeof parseHeaderBlock>): ParsedDSNRecipient {
  const r: ParsedDSNRecipient = {
    finalRecipient: typedValue(headerValue(fields, 'final-recipient') ?? '', true),
    action: (headerValue(fields, 'action') ?? '').split(/[\s(]/)[0]?.toLowerCase() ?? '',
    status: /\d\.\d{1,3}\.\d{1,3}/.exec(headerValue(fields, 'status') ?? '')?.[0] ?? '',
  };
  const orig = headerValue(fields, 'original-recipient');
  if (orig !== undefined) r.originalRecipient = typedValue(orig, true);
  const diag = headerValue(fields, 'diagnostic-code');
  if (diag !== undefined) r.diagnostic = typedValue(diag);
  const remote = headerValue(fields, 'remote-mta');
  if (remote !== undefined) r.remoteMTA = typedValue(remote);
  return r;
}

/**
 * Reads the delivery-status part of a DSN, ours or another MTA's: the per-message fields
 * and one entry per recipient block that has a Final-Recipient. Null when the message
 * has no delivery-status part.
 */
export function parseDSN(msg: Buffer): ParsedDSN | null {
  const part = findStatusPart(parseMessage(msg));
  if (part === undefined) return null;
  let data = msg.subarray(part.bodyStart, part.end);
  if (knownTransferEncoding(part.encoding)) data = decodeTransfer(part.encoding, data).data;
  const out: ParsedDSN = { recipients: [] };
  fieldBlocks(data).forEach((block, i) => {
    const fields = parseHeaderBlock(block);
    if (i === 0) {
      const envid = headerValue(fields, 'original-envelope-id');
      if (envid !== undefined) out.envid = envid;
      const reporting = headerValue(fields, 'reporting-mta');
      if (reporting !== undefined) out.reportingMTA = typedValue(reporting);
    }
    if (headerValue(fields, 'final-recipient') !== undefined) {
      out.recipients.push(parseRecipient(fields));
    }
  });
  return out;
}
