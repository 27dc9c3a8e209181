// The MIME model: structure parsing with byte offsets, headers, envelopes, decoding,
// threading fields, search text and modified UTF-7 mailbox names.
export type { Address, Disposition, Envelope, Part } from './types.js';
export { MimeParser, parseMessage, type ParseOptions } from './parse.js';
export {
  findHeader,
  findHeaders,
  headerBytesToString,
  headerValue,
  parseHeaderBlock,
  selectHeaderFields,
  type HeaderField,
} from './header.js';
export {
  decodeBase64,
  decodeEncodedWords,
  decodeHeaderValue,
  decodeQuotedPrintable,
  decodeToText,
  decodeTransfer,
  knownCharset,
  knownTransferEncoding,
  parseStructuredValue,
  type StructuredValue,
  type TransferDecoded,
} from './decode.js';
export { parseAddressList } from './address.js';
export { buildEnvelope, imapEnvelope, type ImapEnvelope } from './envelope.js';
export {
  baseSubject,
  sentDate,
  inReplyTo,
  messageId,
  references,
  threadingFields,
  type ThreadingFields,
} from './thread.js';
export {
  headerText,
  messageText,
  partText,
  type MessageText,
  type RangeReader,
  type TextOptions,
} from './text.js';
export { Utf7Error, decodeMailboxName, encodeMailboxName } from './utf7.js';
export {
  ComposeError,
  MessageBuilder,
  encodeHeaderWord,
  foldHeader,
  formatDate,
  newMessageId,
  textEntity,
  type BuilderOptions,
} from './compose.js';
export {
  DSNError,
  composeDSN,
  dsnText,
  parseDSN,
  type DSNAction,
  type DSNInput,
  type DSNRecipient,
  type DSNTextKind,
  type DSNTextRecipient,
  type ParsedDSN,
  type ParsedDSNRecipient,
} from './dsn.js';
export { messagePreview, previewOf, htmlText, PREVIEW_MAX } from './preview.js';
export { decodeEntities } from './html.js';
export {
  MailFileError,
  mailFiles,
  maildirInfo,
  mboxEntry,
  singleMessage,
  type MailFile,
} from './mailfiles.js';
