// Row types of the account database and their mapping from SQL rows.
import type { Part } from '../message/index.js';
import type { MailboxCounts } from './switchboard.js';

export type Mailbox = {
  id: number;
  name: string;
  uidvalidity: number;
  uidnext: number;
  modseq: number;
  createseq: number;
  specialUse: string | null;
  keywords: string[];
  counts: MailboxCounts;
};

/**
 * Facts about an incoming delivery that reputation analysis uses: where it came from
 * (IP, masked networks, EHLO, MAIL FROM, From) and which of those were verified.
 */
export type DeliveryFacts = {
  remoteIP?: string;
  remoteIPMasked?: [string, string, string];
  ehloDomain?: string;
  mailFrom?: string;
  mailFromLocalpart?: string;
  mailFromDomain?: string;
  rcptToLocalpart?: string;
  rcptToDomain?: string;
  msgFromLocalpart?: string;
  msgFromDomain?: string;
  msgFromOrgDomain?: string;
  ehloValidated?: boolean;
  mailFromValidated?: boolean;
  msgFromValidated?: boolean;
  ehloValidation?: number;
  mailFromValidation?: number;
  msgFromValidation?: number;
  dkimDomains?: string[];
  receivedTLSVersion?: number;
  receivedTLSCipher?: number;
  receivedRequireTLS?: boolean;
  isReject?: boolean;
  isForward?: boolean;
  isMailingList?: boolean;
  dsn?: boolean;
  messageHash?: Buffer;
  mailboxOrigId?: number;
  mailboxDestinedId?: number;
};

export type Message = {
  id: number;
  fileId: number;
  mailboxId: number;
  uid: number;
  modseq: number;
  createseq: number;
  expunged: boolean;
  flags: number;
  keywords: string[];
  internalDate: number;
  saveDate: number;
  size: number;
  prefix: Buffer | null;
  part: Part;
  messageId: string;
  inReplyTo: string;
  references: string[];
  subjectBase: string;
  /**
   * Where delivery put the message (0 when not delivered: appended, or stored before
   * this was kept): a message elsewhere was moved or copied by the user.
   */
  mailboxDestinedId: number;
  /** A rejected message kept for review in the Rejects mailbox. */
  isReject: boolean;
};

type SqlRow = Record<string, unknown>;

export function mailboxFromRow(r: SqlRow): Mailbox {
  return {
    id: r.id as number,
    name: r.name as string,
    uidvalidity: r.uidvalidity as number,
    uidnext: r.uidnext as number,
    modseq: r.modseq as number,
    createseq: r.createseq as number,
    specialUse: (r.special_use as string | null) ?? null,
    keywords: JSON.parse(r.keywords as string) as string[],
    counts: {
      total: r.total as number,
      deleted: r.deleted_count as number,
      unseen: r.unseen as number,
      size: r.size as number,
    },
  };
}

export const MESSAGE_COLUMNS =
  'id, file_id, mailbox_id, uid, modseq, createseq, expunged, flags, keywords, internal_date, save_date, size, prefix, part, message_id, in_reply_to, refs, subject_base, mailbox_destined_id, is_reject';

/**
 * A message from its row. The MIME structure and references are parsed on first use:
 * many reads (flags, whole-message fetches, copies) never look at them.
 */
export function messageFromRow(r: SqlRow): Message {
  const partJSON = r.part as string;
  const refsJSON = r.refs as string;
  let part: Part | undefined;
  let refs: string[] | undefined;
  return {
    id: r.id as number,
    fileId: r.file_id as number,
    mailboxId: r.mailbox_id as number,
    uid: r.uid as number,
    modseq: r.modseq as number,
    createseq: r.createseq as number,
    expunged: r.expunged === 1,
    flags: r.flags as number,
    keywords: JSON.parse(r.keywords as string) as string[],
    internalDate: r.internal_date as number,
    saveDate: r.save_date as number,
    size: r.size as number,
    prefix: (r.prefix as Buffer | null) ?? null,
    get part(): Part {
      return (part ??= JSON.parse(partJSON) as Part);
    },
    messageId: r.message_id as string,
    inReplyTo: r.in_reply_to as string,
    get references(): string[] {
      return (refs ??= JSON.parse(refsJSON) as string[]);
    },
    subjectBase: r.subject_base as string,
    mailboxDestinedId: (r.mailbox_destined_id as number | undefined) ?? 0,
    isReject: r.is_reject === 1,
  };
}

/** Column values for the delivery facts, in the order of FACT_COLUMNS. */
export const FACT_COLUMNS = [
  'remote_ip',
  'remote_ip_masked1',
  'remote_ip_masked2',
  'remote_ip_masked3',
  'ehlo_domain',
  'mailfrom',
  'mailfrom_localpart',
  'mailfrom_domain',
  'rcptto_localpart',
  'rcptto_domain',
  'msgfrom_localpart',
  'msgfrom_domain',
  'msgfrom_org_domain',
  'ehlo_validated',
  'mailfrom_validated',
  'msgfrom_validated',
  'ehlo_validation',
  'mailfrom_validation',
  'msgfrom_validation',
  'dkim_domains',
  'received_tls_version',
  'received_tls_cipher',
  'received_require_tls',
  'is_reject',
  'is_forward',
  'is_mailing_list',
  'dsn',
  'message_hash',
  'mailbox_orig_id',
  'mailbox_destined_id',
] as const;

export function factValues(f: DeliveryFacts | undefined): unknown[] {
  const d = f ?? {};
  const b = (x: boolean | undefined) => (x ? 1 : 0);
  return [
    d.remoteIP ?? '',
    d.remoteIPMasked?.[0] ?? '',
    d.remoteIPMasked?.[1] ?? '',
    d.remoteIPMasked?.[2] ?? '',
    d.ehloDomain ?? '',
    d.mailFrom ?? '',
    d.mailFromLocalpart ?? '',
    d.mailFromDomain ?? '',
    d.rcptToLocalpart ?? '',
    d.rcptToDomain ?? '',
    d.msgFromLocalpart ?? '',
    d.msgFromDomain ?? '',
    d.msgFromOrgDomain ?? '',
    b(d.ehloValidated),
    b(d.mailFromValidated),
    b(d.msgFromValidated),
    d.ehloValidation ?? 0,
    d.mailFromValidation ?? 0,
    d.msgFromValidation ?? 0,
    JSON.stringify(d.dkimDomains ?? []),
    d.receivedTLSVersion ?? 0,
    d.receivedTLSCipher ?? 0,
    b(d.receivedRequireTLS),
    b(d.isReject),
    b(d.isForward),
    b(d.isMailingList),
    b(d.dsn),
    d.messageHash ?? null,
    d.mailboxOrigId ?? 0,
    d.mailboxDestinedId ?? 0,
  ];
}
