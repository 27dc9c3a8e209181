export { Store, type StoreOptions } from './store.js';
export {
  Account,
  FILES_PER_DIR,
  MAX_ANNOTATIONS,
  MAX_ANNOTATION_BYTES,
  type Annotation,
  type InitialMailboxes,
  type NewMessage,
  type FlagOp,
  type FlagResult,
  type MessageFilter,
  type MessageRow,
  type ThreadRow,
  type SortRow,
  type RowDetail,
  type SearchRow,
  type SendCounts,
  type Evidence,
  type EvidenceQuery,
  type EvidenceSource,
  type SenderEvidence,
  DEFAULT_REJECTS_LIMITS,
  type RejectsLimits,
} from './account.js';
export {
  GlobalDB,
  publicKeyFingerprint,
  type LoginAttempt,
  type LoginAttemptRow,
  type LoginResult,
  type TLSPublicKey,
} from './global.js';
export {
  REPORT_LIST_MAX,
  type AddedReport,
  type NewReceivedDMARCReport,
  type NewReceivedTLSReport,
  type ReceivedDMARCReport,
  type ReceivedDMARCSummary,
  type ReceivedTLSReport,
  type ReceivedTLSSummary,
  type ReportListOptions,
} from './reports.js';
export {
  utcDay,
  type DMARCEvaluation,
  type DMARCPeriod,
  type TLSDay,
  type TLSDayResults,
  type TLSResult,
  type TLSResultFailure,
  type TLSResultPolicy,
} from './evaluations.js';
export {
  Switchboard,
  Session,
  type Change,
  type MailboxCounts,
  type Removal,
} from './switchboard.js';
export { StoreError, isStoreError, isStorageFull, type StoreErrorCode } from './errors.js';
export * from './flags.js';
export type { Mailbox, Message, DeliveryFacts } from './rows.js';
export { TempMessage, prepareMessage, type PreparedMessage } from './tempfile.js';
export { verifyModes, type VerifyReport } from './verify.js';
export {
  DEFAULT_MAX_TOKENS,
  type JunkDB,
  type JunkCounts,
  type JunkStats,
  type JunkTotals,
  type TrainItem,
  type TrainResult,
} from './junk.js';
export {
  mkdirPrivate,
  writePrivateFile,
  scanModes,
  type ModeScan,
  type WrongMode,
} from './fsmode.js';
export type { BackupOptions, BackupResult } from './backup.js';
