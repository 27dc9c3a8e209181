// SMTP server metrics. Connections, command durations, deliveries and submissions mirror
// the reference server's (mox), with a tidings_ prefix, so existing dashboards carry over.
import { defineCounter, defineHistogram } from '../metrics/index.js';

export const smtpMetrics = {
  connections: defineCounter({
    name: 'tidings_smtpserver_connection_total',
    help: 'SMTP connections accepted, by kind (smtp, submission, submissions).',
    labelNames: ['kind'],
  }),
  commandDuration: defineHistogram({
    name: 'tidings_smtpserver_command_duration_seconds',
    help: 'SMTP command duration, by kind, command, reply code and enhanced code.',
    labelNames: ['kind', 'cmd', 'code', 'ecode'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 20, 60, 120],
  }),
  delivery: defineCounter({
    name: 'tidings_smtpserver_delivery_total',
    help: 'Incoming deliveries per recipient, by result and reason.',
    labelNames: ['result', 'reason'],
  }),
  verification: defineCounter({
    name: 'tidings_smtpserver_verification_total',
    help: 'Verification results of incoming messages, by method (iprev, spf, dkim per signature, arc, dmarc) and result.',
    labelNames: ['method', 'result'],
  }),
  junkProbability: defineHistogram({
    name: 'tidings_smtpserver_junk_probability',
    help: 'Junk probability the content filter gave incoming messages it classified.',
    labelNames: [],
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99],
  }),
  reports: defineCounter({
    name: 'tidings_smtpserver_reports_total',
    help: 'DMARC and TLS reports received, by kind and result (stored, duplicate, refused).',
    labelNames: ['kind', 'result'],
  }),
  submission: defineCounter({
    name: 'tidings_smtpserver_submission_total',
    help: 'Submitted messages, by result.',
    labelNames: ['result'],
  }),
  errors: defineCounter({
    name: 'tidings_smtpserver_errors_total',
    help: 'Internal errors while handling messages, by kind.',
    labelNames: ['error'],
  }),
  authentication: defineCounter({
    name: 'tidings_smtpserver_authentication_total',
    help: 'SMTP AUTH attempts, by mechanism and result.',
    labelNames: ['mechanism', 'result'],
  }),
  starttls: defineCounter({
    name: 'tidings_smtpserver_starttls_total',
    help: 'STARTTLS upgrades, by kind and result.',
    labelNames: ['kind', 'result'],
  }),
};
