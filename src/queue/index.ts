// The outgoing queue: durable storage of submitted messages, local delivery, retries
// with backoff and DSNs; remote delivery plugs in as a RemoteDeliverer.
export { Queue, type QueueEvents, type QueueOptions } from './queue.js';
export {
  FUTURE_RELEASE_MAX_MS,
  type AttemptResult,
  type DSNParams,
  type DeliveryOutcome,
  type NewQueueMessage,
  type Notify,
  type Path,
  type QueueMessage,
  type RemoteDeliverer,
} from './types.js';
export { QueueError, type QueueErrorCode } from './errors.js';
export {
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_DELAY_DSN_AFTER_MS,
  DEFAULT_MAX_AGE_MS,
  MAX_BACKOFF_MS,
  backoffDelay,
  wantsDSN,
  type DSNKind,
} from './policy.js';
export { formatAddress, formatLocalpart, formatPath } from './address.js';
export { SmtpDeliverer, type MtaStsSource, type SmtpDelivererOptions } from './smtpdeliver.js';
export { routeFor, type Route, type RoutingConfig } from './routing.js';
export { queueAdmin, type MessageView, type Filter } from './admin.js';
export { queueFileName } from './files.js';
export {
  Rules,
  canonicalAddress,
  suppressingFailure,
  type HoldRule,
  type Suppression,
} from './rules.js';
export { queueMetrics, deliveryMetrics } from './metrics.js';
