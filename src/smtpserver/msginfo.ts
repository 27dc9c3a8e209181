// What the SMTP server needs to know of a received message's header.
import { isAscii } from 'node:buffer';
import { domainToASCII } from 'node:url';
import {
  findHeaders,
  headerValue,
  parseAddressList,
  parseHeaderBlock,
  type HeaderField,
  type Part,
} from '../message/index.js';
import type { PreparedMessage } from '../store/index.js';

export type MessageInfo = {
  fields: HeaderField[];
  /** The first From address, domain in ASCII; null when missing or unparsable. */
  from: { localpart: string; domain: string } | null;
  messageId: string;
  subject: string;
  receivedCount: number;
  /** Every TLS-Required header says "No" (RFC 8689 §5). */
  tlsRequiredNo: boolean;
  /** The message has a header/body separator (RFC 5322 §2.1). */
  haveBody: boolean;
  /** The header has non-ASCII text, which needs SMTPUTF8 to be sent on (RFC 6532). */
  headerUTF8: boolean;
  /** A delivery status notification (RFC 3464 §2). */
  isDSN: boolean;
};

export function messageInfo(msg: PreparedMessage): MessageInfo {
  const fields = parseHeaderBlock(msg.header);
  const fromValue = headerValue(fields, 'from');
  let from: MessageInfo['from'] = null;
  if (fromValue !== undefined) {
    const first = parseAddressList(fromValue).find((a) => a.mailbox && a.host);
    const domain = first?.host ? domainToASCII(first.host.toLowerCase()) : '';
    if (first?.mailbox && domain) from = { localpart: first.mailbox, domain };
  }
  const tlsReq = findHeaders(fields, 'tls-required');
  return {
    fields,
    from,
    messageId: headerValue(fields, 'message-id') ?? '',
    subject: headerValue(fields, 'subject') ?? '',
    receivedCount: findHeaders(fields, 'received').length,
    tlsRequiredNo: tlsReq.length > 0 && tlsReq.every((f) => f.value.trim().toLowerCase() === 'no'),
    haveBody: hasSeparator(msg.header, msg.part),
    headerUTF8: !isAscii(msg.header),
    isDSN: isDSNPart(msg.part),
  };
}

function hasSeparator(header: Buffer, part: Part): boolean {
  if (header.length >= 2 && header[0] === 13 && header[1] === 10) return true;
  if (part.bodyStart < part.end) return true;
  const n = header.length;
  return n >= 4 && header.subarray(n - 4).toString('latin1') === '\r\n\r\n';
}

function isDSNPart(p: Part): boolean {
  return (
    p.type === 'multipart' &&
    p.subtype === 'report' &&
    (p.params?.['report-type'] ?? '').toLowerCase() === 'delivery-status'
  );
}
