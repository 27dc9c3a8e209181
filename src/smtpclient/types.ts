// Options, envelope and results of the SMTP client.
import type net from 'node:net';
import type { Readable } from 'node:stream';
import type { Logger } from '../log/index.js';

export type TLSMode =
  /** Never STARTTLS. */
  | 'none'
  /** STARTTLS when offered, certificate not verified; a failed handshake is a tlsFailure. */
  | 'opportunistic'
  /** STARTTLS must be offered and succeed; certificate not verified. */
  | 'required'
  /** STARTTLS must be offered and the certificate must verify for tlsServername. */
  | 'verified';

/** Limits in milliseconds for each stage; a reply or drain wait longer than this fails. */
export type Timeouts = {
  greeting: number;
  ehlo: number;
  starttls: number;
  auth: number;
  mail: number;
  rcpt: number;
  /** The reply to DATA (354), or to the MAIL/RCPT/DATA group when pipelining. */
  dataInit: number;
  /** Each wait for the socket to accept more message data; intermediate BDAT replies. */
  dataBlock: number;
  /** The reply after the end of the message data. */
  dataEnd: number;
  rset: number;
  quit: number;
};

const MIN = 60_000;

// RFC 5321 §4.5.3.2; STARTTLS and AUTH get a minute each, RSET and QUIT less.
export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = {
  greeting: 5 * MIN,
  ehlo: 5 * MIN,
  starttls: MIN,
  auth: MIN,
  mail: 5 * MIN,
  rcpt: 5 * MIN,
  dataInit: 2 * MIN,
  dataBlock: 3 * MIN,
  dataEnd: 10 * MIN,
  rset: 2 * MIN,
  quit: 10_000,
};

export type ClientOptions = {
  /** Already connected; the caller dials with its own connect timeout. */
  socket: net.Socket;
  /** Our name for EHLO/HELO: an ASCII domain or an address literal. */
  ehloHostname: string;
  tlsMode: TLSMode;
  /** Wrap the plain socket in TLS before reading the greeting (port 465). */
  implicitTLS?: boolean;
  /** SNI and the name the certificate must match in 'verified' mode. */
  tlsServername?: string;
  /** Trust anchors for 'verified'; default Node's root certificates. */
  tlsCA?: string | Buffer | Array<string | Buffer>;
  /** Authenticate after EHLO; mechanisms restricts the choice. */
  auth?: { username: string; password: string; mechanisms?: string[] };
  timeouts?: Partial<Timeouts>;
  log?: Logger;
};

export type Recipient = {
  address: string;
  notify?: 'NEVER' | Array<'SUCCESS' | 'FAILURE' | 'DELAY'>;
  orcpt?: { addrType: string; address: string };
};

export type Envelope = {
  /** "local@domain"; null is the null reverse-path "<>". */
  from: string | null;
  recipients: Recipient[];
  /** Exact size of the message data in octets. */
  size: number;
  has8bit: boolean;
  smtputf8: boolean;
  requireTLS: boolean;
  ret?: 'FULL' | 'HDRS';
  envid?: string;
};

/** The raw message with CRLF line endings; a function is called only when data is sent. */
export type MessageData = Buffer | (() => Readable);

export type ReplyInfo = {
  code: number;
  /** Full enhanced status code ("5.1.1"), '' when absent. */
  secode: string;
  /** The lines joined with "\n", without codes. */
  text: string;
  lines: string[];
  /** Set when the client decided the outcome itself, without asking the server. */
  local?: boolean;
};

export type RecipientResult = {
  address: string;
  ok: boolean;
  permanent: boolean;
  /** The RCPT reply, or for a recipient accepted at RCPT the reply to the message data. */
  reply: ReplyInfo;
  /** The server advertised DSN, so the recipient's NOTIFY/ORCPT were passed on. */
  dsnPassedOn: boolean;
};

export type DeliveryResult = {
  mail: ReplyInfo;
  recipients: RecipientResult[];
  /** Final reply to the message data; null when the data was not sent. */
  data: ReplyInfo | null;
  dsnPassedOn: boolean;
  chunking: boolean;
};
