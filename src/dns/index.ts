export {
  DNSError,
  dnsErrorFromCode,
  errorKindOfCode,
  isNotFound,
  isTemporary,
  normalizeName,
  type Authenticated,
  type DNSErrorKind,
  type MX,
  type RecordType,
  type RecordsOf,
  type Resolver,
} from './types.js';
export { SystemResolver, lookupSystemHost, type SystemResolverOptions } from './system.js';
export {
  StubResolver,
  parseNameServer,
  type NameServer,
  type StubResolverOptions,
} from './stub.js';
export {
  AuthenticTracker,
  combineStates,
  isLoopback,
  trackAuthentic,
  trustsAD,
  type DnssecState,
} from './dnssec.js';
export { MockResolver } from './mock.js';
export { ZoneError, type MockZone } from './zone.js';
export { checkMailFromDomain, type MailDomainCheck } from './mailfrom.js';
export {
  lookupIPs,
  lookupMXTargets,
  type MXLookup,
  type MXLookupOptions,
  type MXTarget,
} from './mx.js';
export { TestDNSServer, type TestDNSBehaviour, type TestDNSServerStats } from './testserver.js';
export { LOCALSERVE_SPF, localserveResolver } from './localserve.js';
export { nodeStyleResolve, type NodeStyleRecords } from './nodestyle.js';
export { canonicalIP, reverseName } from './ip.js';
