// Retry and notification policy: backoff times, who gets which DSN, status codes.
import type { QueueMessage } from './types.js';

/** Backoff doubles per attempt up to this. */
export const MAX_BACKOFF_MS = 16 * 3600 * 1000;
export const DEFAULT_BACKOFF_BASE_MS = 7.5 * 60 * 1000;
export const DEFAULT_MAX_AGE_MS = 5 * 24 * 3600 * 1000;
export const DEFAULT_DELAY_DSN_AFTER_MS = 4 * 3600 * 1000;
/** Header bytes returned in DSNs (RET=HDRS, and RET=FULL for large messages). */
export const MAX_RETURN_HEADER = 256 * 1024;
/** RET=FULL returns messages up to this size whole; larger ones get their header. */
export const MAX_RETURN_FULL = 10 * 1024 * 1024;

/** Wait after the given number of failed attempts (1 or more): base, 2·base, 4·base ... */
export function backoffDelay(attempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, attempts - 1), MAX_BACKOFF_MS);
}

export type DSNKind = 'failed' | 'delayed' | 'delivered' | 'relayed';

/**
 * Whether the sender asked for (or by default gets) a DSN of this kind. Never to the null
 * reverse-path and never about a DSN (RFC 3461 §6.2, RFC 5321 §4.5.5). Without NOTIFY,
 * failures and delays are reported, as common MTAs do (RFC 3461 §4.1 leaves it open).
 */
export function wantsDSN(m: QueueMessage, kind: DSNKind): boolean {
  if (m.sender === null || m.isDSN) return false;
  const notify = m.dsn?.notify ?? ['FAILURE', 'DELAY'];
  if (notify === 'NEVER') return false;
  const want = kind === 'failed' ? 'FAILURE' : kind === 'delayed' ? 'DELAY' : 'SUCCESS';
  return notify.includes(want);
}

/**
 * The status code of a reply as "class.subject.detail" (RFC 3463 §2): the enhanced code
 * when given (with the class from the reply code when it lacks one), else `fallback`.
 */
export function statusOf(code: number, secode: string, fallback: string): string {
  if (/^[245]\.\d{1,3}\.\d{1,3}$/.test(secode)) return secode;
  const cls = Math.floor(code / 100);
  if (/^\d{1,3}\.\d{1,3}$/.test(secode) && cls >= 2 && cls <= 5) return `${cls}.${secode}`;
  return fallback;
}
