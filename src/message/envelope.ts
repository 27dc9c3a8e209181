// The IMAP ENVELOPE of a message (RFC 9051 §7.5.2), taken from its header fields.
import { parseAddressList } from './address.js';
import { headerValue, type HeaderField } from './header.js';
import type { Address, Envelope } from './types.js';

const ADDRESS_FIELDS = [
  ['from', 'from'],
  ['sender', 'sender'],
  ['replyTo', 'reply-to'],
  ['to', 'to'],
  ['cc', 'cc'],
  ['bcc', 'bcc'],
] as const;

/**
 * Envelope fields from a header. Strings are the unfolded header values, undecoded
 * (IMAP sends encoded words as they are). The first of repeated fields counts.
 * Absent fields and empty address lists are omitted.
 */
export function buildEnvelope(fields: readonly HeaderField[]): Envelope {
  const env: Envelope = {};
  const date = headerValue(fields, 'date');
  if (date !== undefined) env.date = date;
  const subject = headerValue(fields, 'subject');
  if (subject !== undefined) env.subject = subject;
  for (const [key, name] of ADDRESS_FIELDS) {
    const v = headerValue(fields, name);
    if (v === undefined) continue;
    const list = parseAddressList(v);
    if (list.length > 0) env[key] = list;
  }
  const inReplyTo = headerValue(fields, 'in-reply-to');
  if (inReplyTo !== undefined) env.inReplyTo = inReplyTo;
  const messageId = headerValue(fields, 'message-id');
  if (messageId !== undefined) env.messageId = messageId;
  return env;
}

/** An envelope with every member present, null where IMAP sends NIL. */
export interface ImapEnvelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  sender: Address[] | null;
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/**
 * The envelope as IMAP sends it: absent members are null, and a missing or empty
 * Sender or Reply-To takes the value of From (RFC 9051 §7.5.2).
 */
export function imapEnvelope(env: Envelope | undefined): ImapEnvelope {
  const e = env ?? {};
  const from = e.from ?? null;
  return {
    date: e.date ?? null,
    subject: e.subject ?? null,
    from,
    sender: e.sender ?? from,
    replyTo: e.replyTo ?? from,
    to: e.to ?? null,
    cc: e.cc ?? null,
    bcc: e.bcc ?? null,
    inReplyTo: e.inReplyTo ?? null,
    messageId: e.messageId ?? null,
  };
}
