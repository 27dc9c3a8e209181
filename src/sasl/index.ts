// Public API of the SASL module.
export { createSaslServer, MECHANISMS } from './server.js';
export type {
  ChannelBindingName,
  SaslContext,
  SaslFailureReason,
  SaslServer,
  SaslStep,
  SaslTlsInfo,
} from './types.js';
export {
  DEFAULT_SCRAM_ITERATIONS,
  DEFAULT_SCRYPT,
  deriveSecrets,
  SecretsError,
  spendPasswordCheck,
  verifyPassword,
  type CramMd5Secret,
  type DeriveOptions,
  type ScramSecret,
  type ScryptParams,
  type StoredSecrets,
} from './secrets.js';
export { normalizeName, normalizePassword } from './normalize.js';
export { channelBindingFromSocket, type ChannelBindingOptions } from './channelbinding.js';
export {
  CLIENT_MECHANISMS,
  createSaslClient,
  SaslClientError,
  type SaslClient,
  type SaslClientOptions,
} from './client.js';
export { lookupLogin } from './lookup.js';
