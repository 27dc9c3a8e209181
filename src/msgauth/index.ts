// Message authentication: DKIM signing; verification of incoming mail (iprev, SPF, DKIM,
// ARC, DMARC) and the headers that record it; DNS blocklists; DKIM keys, the DNS records
// to publish, and MTA-STS for outgoing delivery.
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
export {
  verifyDkim,
  verifySignatures,
  type ArcVerification,
  type DkimResult,
  type DkimVerification,
  type MessageSignatures,
} from './dkimverify.js';
export { verifyIprev, type IprevResult, type IprevStatus } from './iprev.js';
export {
  DEFAULT_DNSBL_TIMEOUT_MS,
  DnsblChecker,
  dnsblHealthy,
  dnsblLookup,
  dnsblQueryName,
  type DnsblCheck,
  type DnsblCheckerOptions,
  type DnsblHealth,
  type DnsblResult,
  type DnsblStatus,
} from './dnsbl.js';
export { verifySpf, type SpfInput, type SpfResult, type SpfStatus } from './spf.js';
export {
  aligned,
  dmarcWithout,
  lookupDmarc,
  organizationalDomain,
  parseDmarcRecord,
  verifyDmarc,
  type DmarcInput,
  type DmarcPolicy,
  type DmarcRecord,
  type DmarcResult,
  type DmarcStatus,
} from './dmarc.js';
export {
  authComment,
  authResultsHeader,
  authValue,
  authservId,
  dnssecComment,
  joinComments,
  receivedSpfHeader,
  type AuthMethod,
} from './authresults.js';
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
  resolverLookup,
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
