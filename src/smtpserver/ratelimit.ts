// Incoming delivery rate per account and sending network: at most 500 messages and
// 1000 MiB per minute from one /32 (IPv4) or /64 (IPv6) to one account. More is a flood,
// not correspondence; the sender is told to try later.
import { RateLimiter } from '../net/index.js';

export const DELIVERY_MESSAGES_PER_MINUTE = 500;
export const DELIVERY_BYTES_PER_MINUTE = 1000 * 1024 * 1024;

export class DeliveryRateLimiter {
  private readonly perAccount = new Map<string, { messages: RateLimiter; bytes: RateLimiter }>();

  constructor(
    private readonly limits: { messages: number; bytes: number; windowMs?: number } = {
      messages: DELIVERY_MESSAGES_PER_MINUTE,
      bytes: DELIVERY_BYTES_PER_MINUTE,
    },
  ) {}

  /** Records a message of `size` bytes; false (nothing recorded) when over a limit. */
  add(account: string, ip: string, size: number, now = Date.now()): boolean {
    let l = this.perAccount.get(account);
    if (!l) {
      const wide = Number.MAX_SAFE_INTEGER;
      const windowMs = this.limits.windowMs ?? 60_000;
      l = {
        messages: new RateLimiter({ windowMs, limits: [this.limits.messages, wide, wide] }),
        bytes: new RateLimiter({ windowMs, limits: [this.limits.bytes, wide, wide] }),
      };
      this.perAccount.set(account, l);
    }
    if (!l.messages.canAdd(ip, now) || !l.bytes.canAdd(ip, now, size)) return false;
    l.messages.add(ip, now);
    l.bytes.add(ip, now, size);
    return true;
  }
}
