// Message authentication: DKIM signing and verification, DKIM keys, the DNS records to
// publish, and MTA-STS for outgoing delivery.
export {
  DEFAULT_SIGNED_HEADERS,
  DkimKeyCache,
  DkimKeyError,
  DkimSignError,
  dkimSign,
  loadDkimKey,
  parseDkimKey,
  signersFor,
  type DkimAlgorithm,
  type DkimKey,
  type DkimSigner,
} from './dkimsign.js';
export {
  dkimRecord,
  generateDkimKey,
  generateDkimKeyAsync,
  publicKeyBase64,
  type DkimKeyKind,
  type GeneratedDkimKey,
} from './dkimkey.js';
export { verifyDkim, type DkimResult, type DkimVerification } from './dkimverify.js';
export {
  DnsRecordsError,
  dnsRecords,
  formatZone,
  txtZoneValue,
  type DnsRecord,
  type DnsRecordType,
  type DnsRecordsInput,
} from './records.js';
export {
  MAX_AGE_LIMIT,
  MAX_POLICY_BYTES,
  MtaStsCache,
  MtaStsFetchError,
  MtaStsPolicyError,
  checkMxPattern,
  httpsFetch,
  matchesMX,
  parsePolicy,
  parseStsRecords,
  type HttpsFetchOptions,
  type MtaStsCacheOptions,
  type MtaStsFetch,
  type MtaStsLookup,
  type MtaStsMode,
  type MtaStsPolicy,
} from './mtasts.js';
