// Data shapes of the outgoing queue: what submission hands in, what the queue keeps,
// and the interface a remote deliverer (SMTP client) implements.
import type { Readable } from 'node:stream';

/** RFC 3461 §4.1 NOTIFY: NEVER, or any of SUCCESS, FAILURE, DELAY. */
export type Notify = 'NEVER' | Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;

/** DSN parameters given with MAIL FROM (RET, ENVID) and RCPT TO (NOTIFY, ORCPT). */
export type DSNParams = {
  notify?: Notify;
  /** RFC 3461 §4.2 ORCPT, with the address decoded from xtext. */
  orcpt?: { addrType: string; address: string };
  /** RFC 3461 §4.3: HDRS is the default. */
  ret?: 'FULL' | 'HDRS';
  /** RFC 3461 §4.4, decoded from xtext. */
  envid?: string;
};

export type Path = { localpart: string; domain: string };

export type NewQueueMessage = {
  /** null is the null reverse-path "<>". */
  sender: Path | null;
  /** Domain in ASCII (IDNA) form. */
  recipient: Path;
  /** Sending account; '' for system messages such as DSNs. */
  account: string;
  has8bit: boolean;
  smtputf8: boolean;
  /** "<...>" or ''. */
  messageId: string;
  subject: string;
  /** true: REQUIRETLS (RFC 8689); false: "TLS-Required: No"; null: default policy. */
  requireTLS: boolean | null;
  /** Header lines prepended to the file's data when delivering (Received, DKIM-Signature ...). */
  prefix: Buffer;
  dsn?: DSNParams;
  /** FUTURERELEASE (RFC 4865): earliest delivery. */
  nextAttempt?: Date;
  /** "for;<n>" or "until;<date>". */
  futureReleaseRequest?: string;
  hold?: boolean;
  /** The message is itself a DSN: never generate a DSN about it. */
  isDSN?: boolean;
  /**
   * A DMARC or TLS report this server sends: its own delivery's TLS result is no reason
   * by itself to send a TLS report back (RFC 8460 §3 asks to avoid report loops).
   */
  isReport?: boolean;
};

/** One delivery attempt. `secode` is an enhanced status code with its class ("4.2.2"). */
export type AttemptResult = {
  start: Date;
  duration: number;
  success: boolean;
  code: number;
  secode: string;
  error: string;
  host: string;
};

export type QueueMessage = NewQueueMessage & {
  id: number;
  queued: Date;
  /** Prefix plus file, in octets. */
  size: number;
  attempts: number;
  nextAttempt: Date;
  lastAttempt: Date | null;
  lastError: string;
  results: AttemptResult[];
  fileId: number;
};

/** The outcome of delivering one message (one recipient), local or remote. */
export type DeliveryOutcome = {
  ok: boolean;
  /** For a failure: permanent (5xx, no retry) or temporary (retried with backoff). */
  permanent: boolean;
  /** SMTP reply code, 0 when there was no reply. */
  code: number;
  /** Enhanced status code ("5.1.1"; a form without class, "1.1", is accepted too). */
  secode: string;
  error: string;
  /** Host that gave the reply ('' for local delivery). */
  host: string;
  /**
   * Success only: the next hop accepted the DSN request (RFC 3461 §5.2), so no
   * "relayed" DSN is sent for a NOTIFY=SUCCESS recipient.
   */
  dsnPassedOn?: boolean;
};

/**
 * Delivers queued messages to other hosts (SMTP client with MX lookup and MTA-STS; DANE
 * is not done yet). It is given messages with the same sender, account, file, prefix and
 * TLS requirement (recipient domains may differ), and returns one outcome per message, in
 * order. It never removes or changes queue rows.
 */
export interface RemoteDeliverer {
  deliver(msgs: QueueMessage[], data: () => Readable): Promise<DeliveryOutcome[]>;
}

/** RFC 4865: the longest FUTURERELEASE interval the queue accepts. */
export const FUTURE_RELEASE_MAX_MS = 60 * 24 * 3600 * 1000;
