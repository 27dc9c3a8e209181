// SMTP client for the outgoing queue and for tests.
export { SmtpClient, type TLSInfo } from './client.js';
export { SmtpClientError, type Stage, type SmtpClientErrorOptions } from './errors.js';
export { AUTH_PREFERENCE } from './auth.js';
export { BDAT_CHUNK } from './data.js';
export {
  DEFAULT_TIMEOUTS,
  type ClientOptions,
  type DeliveryResult,
  type Envelope,
  type MessageData,
  type Recipient,
  type RecipientResult,
  type ReplyInfo,
  type TLSMode,
  type Timeouts,
} from './types.js';
