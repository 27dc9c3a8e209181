// IMAP metrics. Connections and command durations (buckets too) mirror the reference
// server's (mox), with a tidings_ prefix, so existing dashboards carry over.
import { defineCounter, defineHistogram } from '../metrics/index.js';

export const imapMetrics = {
  connections: defineCounter({
    name: 'tidings_imap_connection_total',
    help: 'IMAP connections accepted, by service.',
    labelNames: ['service'],
  }),
  commandDuration: defineHistogram({
    name: 'tidings_imap_command_duration_seconds',
    help: 'IMAP command duration and result.',
    labelNames: ['cmd', 'result'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 20],
  }),
  authFailures: defineCounter({
    name: 'tidings_imap_auth_failures_total',
    help: 'Failed IMAP authentication attempts, by mechanism.',
    labelNames: ['mechanism'],
  }),
  authRatelimited: defineCounter({
    name: 'tidings_imap_auth_ratelimited_total',
    help: 'IMAP connections refused because of too many authentication failures.',
  }),
};
