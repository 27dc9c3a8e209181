// Field schemas shared by both configuration files.
import { z } from 'zod';
import { checkMailboxName, MailboxNameError, normalizeDomain } from './names.js';
import { describeValue, parseDuration, parseSize } from './units.js';

/** A duration string ("15s", "1m30s", "500ms"), parsed to milliseconds. */
export const duration = z.unknown().transform((v, ctx): number => {
  if (typeof v !== 'string') {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration string like "15s" or "1m30s", got ${describeValue(v)}`,
    });
    return z.NEVER;
  }
  const ms = parseDuration(v);
  if (typeof ms === 'string') {
    ctx.addIssue({ code: 'custom', message: ms });
    return z.NEVER;
  }
  return ms;
});

/** A byte count: an integer or a string like "100 MiB". */
export const size = z.unknown().transform((v, ctx): number => {
  const n = parseSize(v);
  if (typeof n === 'string') {
    ctx.addIssue({ code: 'custom', message: n });
    return z.NEVER;
  }
  return n;
});

/** A domain name, lower-cased and converted to its ASCII (IDNA) form. */
export const domainName = z.string().transform((v, ctx): string => {
  const r = normalizeDomain(v);
  if ('problem' in r) {
    ctx.addIssue({ code: 'custom', message: r.problem });
    return z.NEVER;
  }
  return r.domain;
});

/** A mailbox name in normal form (see checkMailboxName). */
export const mailboxName = z.string().transform((v, ctx): string => {
  try {
    return checkMailboxName(v);
  } catch (err) {
    if (!(err instanceof MailboxNameError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
    return z.NEVER;
  }
});

/** A TCP port; 0 asks the system for any free port (tests, ephemeral setups). */
export const port = z.number().int().min(0).max(65535);
export const positiveInt = z.number().int().min(1);
export const nonNegativeInt = z.number().int().min(0);

/** Limits for the three IP-mask tiers (IPv4 /32, /26, /21; IPv6 /64, /48, /32). */
export const tiers = z.tuple([positiveInt, positiveInt, positiveInt]);

/** A path, resolved against the configuration directory after validation. */
export const filePath = z.string().min(1);
