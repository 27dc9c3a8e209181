// Queue metrics: size, delivery attempts by result, durations, TLS and MTA-STS events.
import { defineCounter, defineGauge, defineHistogram } from '../metrics/index.js';

/** Reports the queue's message count when metrics are scraped; set by the open queue. */
let sizeSource: (() => { messages: number; held: number }) | null = null;

export function setQueueSizeSource(f: (() => { messages: number; held: number }) | null): void {
  sizeSource = f;
}

export const queueMetrics = {
  size: defineGauge({
    name: 'tidings_queue_messages',
    help: 'Messages (one per recipient) in the outgoing queue, by state (pending, held).',
    labelNames: ['state'],
    collect() {
      if (!sizeSource) return;
      const s = sizeSource();
      this.set({ state: 'pending' }, s.messages - s.held);
      this.set({ state: 'held' }, s.held);
    },
  }),
  attempts: defineCounter({
    name: 'tidings_queue_delivery_attempts_total',
    help: 'Delivery attempts per recipient, by kind (local, remote) and result (delivered, failed, retry).',
    labelNames: ['kind', 'result'],
  }),
  attemptDuration: defineHistogram({
    name: 'tidings_queue_delivery_duration_seconds',
    help: 'Duration of delivery attempts, by kind (local, remote).',
    labelNames: ['kind'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300],
  }),
  dsn: defineCounter({
    name: 'tidings_queue_dsn_total',
    help: 'Delivery status notifications generated, by kind (failed, delayed, delivered, relayed).',
    labelNames: ['kind'],
  }),
};

export const deliveryMetrics = {
  connections: defineCounter({
    name: 'tidings_smtpclient_connection_total',
    help: 'Outgoing SMTP sessions, by result (ok, connect-error, tls-error, or the failing stage).',
    labelNames: ['result'],
  }),
  duration: defineHistogram({
    name: 'tidings_smtpclient_session_duration_seconds',
    help: 'Duration of successful outgoing SMTP sessions.',
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
  }),
  tlsFallback: defineCounter({
    name: 'tidings_smtpclient_tls_fallback_total',
    help: 'Opportunistic STARTTLS failures followed by a plaintext session.',
  }),
  mtaSts: defineCounter({
    name: 'tidings_smtpclient_mtasts_total',
    help: 'MTA-STS policy events: mx-mismatch, testing-mx-mismatch, tls-failure.',
    labelNames: ['result'],
  }),
};
