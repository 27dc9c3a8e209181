// Typed store errors. Protocol layers map them to their reply codes
// (IMAP NONEXISTENT, ALREADYEXISTS, ...; SMTP 452 4.2.2 for quota).

export type StoreErrorCode =
  | 'nonexistent'
  | 'alreadyexists'
  | 'haschildren'
  | 'cannot'
  | 'overquota'
  | 'notfound'
  | 'invalid'
  | 'toomany' // METADATA entry count limit (RFC 5464 §4.2.1 TOOMANY)
  | 'toolarge'; // METADATA total size limit (RFC 5464 §4.2.1 MAXSIZE)

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export const isStoreError = (e: unknown, code?: StoreErrorCode): e is StoreError =>
  e instanceof StoreError && (code === undefined || e.code === code);
