export {
  ConnectionClosedError,
  LineReader,
  LineTooLongError,
  ReadTimeoutError,
  WriteTimeoutError,
  Writer,
  isConnectionGone,
  type Line,
  type LineReaderOptions,
  type WriterOptions,
} from './linereader.js';
export {
  AuthFailureLimiter,
  CONNECTION_LIMITS,
  CONNECTION_RATE_LIMITS,
  ConnectionCounter,
  InvalidIPError,
  RateLimiter,
  maskIP,
  newConnectionRateLimiter,
  type AuthFailureLimiterOptions,
  type MaskedIPs,
  type RateLimiterOptions,
} from './ratelimit.js';
export {
  ensureSelfSigned,
  generateSelfSigned,
  type KeyPairFiles,
  type SelfSigned,
  type SelfSignedOptions,
} from './selfsigned.js';
export {
  HANDSHAKE_TIMEOUT_MS,
  TlsHandshakeError,
  TlsHandshakeTimeoutError,
  acceptImplicitTLS,
  upgradeToTLS,
  type UpgradeOptions,
} from './starttls.js';
export {
  MIN_TLS_VERSION,
  TlsConfigError,
  certificateNames,
  loadKeyPair,
  loadTlsContext,
  selectCertificate,
  type KeyPairConfig,
  type LoadedCertificate,
  type TlsServerOptions,
} from './tls.js';
export { listenOn, type Service } from './listen.js';
export { startConnectionServer, type ConnectionServer, type ServedConnection } from './serve.js';
export { quickAck, quickAckAvailable } from './quickack.js';
