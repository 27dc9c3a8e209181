export { startSmtpServer, type SmtpServer } from './server.js';
export {
  DEFAULT_SMTP_TIMEOUTS,
  type QueueAdder,
  type SmtpContext,
  type SmtpDelays,
  type SmtpKind,
  type SmtpLimits,
  type SmtpTimeouts,
} from './context.js';
export { DeliveryRateLimiter } from './ratelimit.js';
export { localserveEffect, type LocalserveStage } from './localserve.js';
export { smtpMetrics } from './metrics.js';
