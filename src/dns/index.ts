export {
  DNSError,
  dnsErrorFromCode,
  errorKindOfCode,
  isNotFound,
  isTemporary,
  normalizeName,
  type DNSErrorKind,
  type MX,
  type Resolver,
} from './types.js';
export { SystemResolver, lookupSystemHost, type SystemResolverOptions } from './system.js';
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
export { TestDNSServer, type TestDNSServerStats } from './testserver.js';
export { LOCALSERVE_SPF, localserveResolver } from './localserve.js';
export { nodeStyleResolve, type NodeStyleRecords } from './nodestyle.js';
export { canonicalIP, reverseName } from './ip.js';
