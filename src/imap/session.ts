// What command handlers see of an IMAP connection. The session's state carries its data:
// a handler for the authenticated state gets a session with its account, one for the
// selected state also gets the selected mailbox, so neither can meet a missing one. The
// connection implements these interfaces; handlers never import it.
import type { Socket } from 'node:net';
import type { AuthConnState, AuthPolicy } from '../auth/mechanisms.js';
import type { LoginAttempts } from '../auth/attempt.js';
import type { LoginEnv } from '../auth/exchange.js';
import type { LineReader } from '../net/index.js';
import type { Logger } from '../log/index.js';
import type { Account, Change, Mailbox, Removal, Session } from '../store/index.js';
import type { NotifySpec } from './notifyspec.js';
import type { ImapContext, Timeouts } from './context.js';
import type { LiteralInfo, NumSetSpec } from './parser.js';
import type { UidList } from './uids.js';

export type State = 'notauth' | 'auth' | 'selected' | 'logout';

/** The selected mailbox as this session knows it. */
export type Selected = {
  mailbox: Mailbox;
  readonly: boolean;
  uids: UidList;
  /** SEARCHRES saved result (RFC 5182): null when none, [] when empty. */
  searchResult: number[] | null;
  /**
   * The keywords the client was told of in FLAGS (lower-case): a keyword it has not
   * seen there must not show up in a FETCH first (see announceKeywords).
   */
  keywords: Set<string>;
  /**
   * UIDs that are \Recent in this session (RFC 3501 §2.3.2): IMAP4rev1 sessions only,
   * empty under IMAP4rev2, which has no \Recent.
   */
  recent: Set<number>;
  /**
   * Changes to this mailbox not told to the client yet under its NOTIFY (see notify.ts),
   * in commit order, and the removals whose message files they keep.
   */
  held: Change[];
  heldRemovals: Removal[];
  /** New messages whose NOTIFY MessageNew fetch attributes are still to be sent. */
  notifyFetch: number[];
};

/** A fresh view of a mailbox, as SELECT (or a search of another mailbox) makes it. */
export function newSelected(mailbox: Mailbox, readonly: boolean, uids: UidList): Selected {
  return {
    mailbox,
    readonly,
    uids,
    searchResult: null,
    keywords: new Set(),
    recent: new Set(),
    held: [],
    heldRemovals: [],
    notifyFetch: [],
  };
}

/** An account identified by a TLS client certificate (for PREAUTH or EXTERNAL). */
export type TlsIdentity = {
  account: string;
  loginAddress: string;
  fingerprint: string;
  noPreauth: boolean;
};

/** Any session, in any state. */
export interface ImapSession {
  readonly cid: string;
  readonly log: Logger;
  readonly ctx: ImapContext;
  readonly timeouts: Timeouts;
  state: State;
  readonly account: Account | null;
  readonly session: Session | null;
  selected: Selected | null;
  readonly enabled: Set<string>;
  userAgent: string;
  readonly tlsActive: boolean;
  readonly tlsIdentity: TlsIdentity | null;
  readonly socket: Socket;
  readonly reader: LineReader;
  /** UTF-8 in quoted strings and mailbox names (IMAP4rev2 or UTF8=ACCEPT). */
  readonly utf8: boolean;
  readonly rev2: boolean;
  readonly isShuttingDown: boolean;

  // Output: queued per command, flushed with back-pressure.
  untagged(s: string): void;
  send(s: string): void;
  sendBuffer(b: Buffer): void;
  flush(): Promise<void>;
  flushIfLarge(limit?: number): Promise<void>;

  // Input beyond the command line.
  checkMessageLiteral(lit: LiteralInfo): void;
  readLiteralStream(size: number): AsyncGenerator<Buffer>;
  responseLine(): Promise<Buffer>;

  // Changes from other sessions.
  /** NOTIFY (RFC 5465): the events asked for; null before any NOTIFY command. */
  notify: NotifySpec | null;
  /** NOTIFY events of other mailboxes and the mailbox list, to be delivered. */
  notifyQueue: Change[];
  /** Tells the client of other sessions' changes (before a tagged reply, in IDLE). */
  applyPending(): Promise<void>;
  waitForChanges(): Promise<void>;

  capabilities(): string;

  // Authentication.
  readonly authPolicy: AuthPolicy;
  readonly authState: AuthConnState;
  readonly plaintextAllowed: boolean;
  startTLS(): Promise<void>;
  /** Whether COMPRESS DEFLATE is active (RFC 4978). */
  readonly compressed: boolean;
  /** Switches both directions to deflate (after the tagged OK is flushed). */
  startCompression(): Promise<void>;
  /** This connection's login attempts: records, failure counting, throttling. */
  readonly logins: LoginAttempts;
  /** Before every attempt: the backoff delay, then BYE and close when over the limit. */
  authBackoff(): Promise<void>;
  /** The connection as the shared login path sees it. */
  loginEnv(): LoginEnv;
  loginAccount(account: string, address: string, mechanism: string): Promise<void>;
}

/** A session after login: its account and change feed are there. */
export interface AuthSession extends ImapSession {
  readonly account: Account;
  readonly session: Session;
  /** The selected mailbox, re-validated (it may have been deleted); for writes, not read-only. */
  requireSelected(forWrite?: boolean): Promise<Selected>;
  /** Message numbers or UIDs of a sequence set, against the selected mailbox. */
  resolveSet(spec: NumSetSpec, isUid: boolean): number[];
}

/** A session with a mailbox selected. */
export interface SelectedSession extends AuthSession {
  selected: Selected;
}
