// SMTP protocol primitives shared by the server (smtpserver/) and the outgoing queue's
// client (smtpclient/). The design's module map has no such room; it exists because
// both engines need the same address, parameter, reply and dot-stuffing code, and
// protocol modules must not import each other. It sits just above net/ and imports
// nothing from the engines.
export {
  AddressError,
  formatAddressLiteral,
  formatLocalpart,
  formatPath,
  parseAddressLiteral,
  parseDomain,
  parseEhloArg,
  parseMailFrom,
  parseRcptTo,
  type Domain,
  type MailArgs,
  type Path,
} from './address.js';
export {
  ParamError,
  decodeUtf8AddrXtext,
  decodeXtext,
  encodeUtf8AddrUnitext,
  encodeUtf8AddrXtext,
  encodeXtext,
  formatOrcpt,
  parseBody,
  parseEnvid,
  parseNotify,
  parseOrcpt,
  parseParams,
  parseRet,
  parseSize,
  type NotifyEvent,
  type Orcpt,
  type Param,
} from './params.js';
export { ReplyParser, ReplySyntaxError, enhancedCode, formatReply, type Reply } from './reply.js';
export {
  BareCRLFDetector,
  CRLFNormalizer,
  DataTruncatedError,
  DotReader,
  DotStuffer,
  type ByteSource,
} from './data.js';
export { C, SE } from './codes.js';
export { localserveEffect, type LocalserveEffect, type LocalserveStage } from './localserve.js';
