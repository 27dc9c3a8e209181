// Data shapes of the MIME model. A Part tree is plain JSON: it is stored with each
// message so that FETCH never parses a message again.

/** An address as IMAP ENVELOPE sends it (RFC 9051 §7.5.2). */
export interface Address {
  /** Display name, undecoded (encoded words kept as they are). */
  name: string | null;
  /** Source route ("@a,@b"), obsolete but still reported. */
  adl: string | null;
  /** Local part; a group start holds the group name, a group end holds null. */
  mailbox: string | null;
  /** Domain; null marks group syntax (RFC 3501 §7.4.2). */
  host: string | null;
}

/** Envelope fields of a message, as raw as IMAP needs them. Absent headers are omitted. */
export interface Envelope {
  date?: string;
  subject?: string;
  from?: Address[];
  sender?: Address[];
  replyTo?: Address[];
  to?: Address[];
  cc?: Address[];
  bcc?: Address[];
  inReplyTo?: string;
  messageId?: string;
}

export interface Disposition {
  /** Lower-cased disposition type, e.g. "inline" or "attachment". */
  type: string;
  params?: Record<string, string>;
}

/**
 * One MIME entity. Offsets are byte offsets into the whole message: the header
 * block is [headerStart, bodyStart), the body is [bodyStart, end).
 */
export interface Part {
  headerStart: number;
  bodyStart: number;
  end: number;
  /** Lower-cased media type and subtype. */
  type: string;
  subtype: string;
  /** Lower-cased parameter names to decoded values. */
  params?: Record<string, string>;
  id?: string;
  description?: string;
  /** Content-Transfer-Encoding, lower-cased; "7bit" when absent. */
  encoding: string;
  md5?: string;
  disposition?: Disposition;
  language?: string[];
  location?: string;
  bodySize: number;
  /** Lines of the body; only for text/* and message/rfc822 (or message/global). */
  bodyLines?: number;
  /** On the top-level part and on the part a message/rfc822 body holds. */
  envelope?: Envelope;
  /** Children of a multipart. */
  parts?: Part[];
  /** The message enclosed in a message/rfc822 (or message/global) body. */
  message?: Part;
}
