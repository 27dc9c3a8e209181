// The CAPABILITY list (RFC 9051 §7.2.2), before and after authentication.

/** What the list depends on: the connection's state, TLS and the listener's rules. */
export type CapabilityInput = {
  authenticated: boolean;
  maxMessageSize: number;
  /** STARTTLS is possible: TLS is configured and not active yet. */
  starttls: boolean;
  /** LOGIN would be refused (RFC 9051 §6.2.3: LOGINDISABLED). */
  loginDisabled: boolean;
  /** The SASL mechanisms announced as AUTH=. */
  mechanisms: readonly string[];
};

export function capabilityList(i: CapabilityInput): string {
  const caps = [
    'IMAP4rev2',
    'IMAP4rev1',
    'ENABLE',
    'LITERAL+',
    'IDLE',
    'SASL-IR',
    'BINARY',
    'UNSELECT',
    'UIDPLUS',
    'ESEARCH',
    'SEARCHRES',
    'MOVE',
    'UTF8=ACCEPT',
    'LIST-EXTENDED',
    'SPECIAL-USE',
    'CREATE-SPECIAL-USE',
    'LIST-STATUS',
    'ID',
    'NAMESPACE',
    'MULTIAPPEND',
    `APPENDLIMIT=${i.maxMessageSize}`,
    'STATUS=SIZE',
    'WITHIN',
    'SAVEDATE',
    'OBJECTID',
    // RFC 9208: not QUOTASET, as SETQUOTA is refused.
    'QUOTA',
    'QUOTA=RES-STORAGE',
    'QUOTA=RES-MESSAGE',
    'COMPRESS=DEFLATE',
    'SORT',
    'SORT=DISPLAY',
    'ESORT',
    'THREAD=ORDEREDSUBJECT',
    'THREAD=REFERENCES',
    'REPLACE',
    'PREVIEW',
    'CONDSTORE',
    'QRESYNC',
    'MULTISEARCH',
    'INPROGRESS',
    'METADATA',
    'LIST-METADATA',
    'UIDONLY',
    'NOTIFY',
  ];
  // Authentication capabilities only before authentication (RFC 9051 §6.2).
  if (i.authenticated) return caps.join(' ');
  if (i.starttls) caps.push('STARTTLS');
  if (i.loginDisabled) caps.push('LOGINDISABLED');
  for (const m of i.mechanisms) caps.push(`AUTH=${m}`);
  return caps.join(' ');
}
