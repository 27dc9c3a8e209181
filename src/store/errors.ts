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

/**
 * Whether an error means the storage is full: the file system (ENOSPC), the disk quota
 * of the user running the server (EDQUOT), or SQLite failing to grow a database
 * (SQLITE_FULL). Not the client's doing, but worth telling it plainly, and the admin too.
 */
export function isStorageFull(e: unknown): boolean {
  for (let x = e, depth = 0; x && depth < 5; x = (x as { cause?: unknown }).cause, depth++) {
    const code = (x as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  }
  return false;
}
