// DKIM verification of a received message: a thin wrapper over mailauth's verifier,
// which is loaded on first use (it and its dependencies take about 20 MB of memory).
import { nodeStyleResolve } from '../dns/nodestyle.js';
import type { Resolver } from '../dns/types.js';

export type DkimResult =
  'pass' | 'fail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** One signature's outcome; `info` is its Authentication-Results method text. */
export interface DkimVerification {
  domain: string;
  selector: string;
  result: DkimResult;
  info: string;
}

const RESULTS = new Set<string>(['pass', 'fail', 'neutral', 'none', 'temperror', 'permerror']);

function normalizeResult(result: string): DkimResult {
  if (result === 'temperr') return 'temperror';
  if (result === 'policy' || RESULTS.has(result)) return result as DkimResult;
  return 'neutral';
}

/**
 * Verifies every DKIM-Signature in `message` with keys looked up through `resolver`.
 * A message without signatures gives one result "none" with empty domain and selector.
 * `now` sets the time for x= checks. A body hash mismatch is reported as "fail" (RFC 6376
 * §6.1.3 makes it a permanent failure; mailauth calls it neutral).
 */
export async function verifyDkim(
  message: Buffer,
  resolver: Resolver,
  opts: { now?: Date } = {},
): Promise<DkimVerification[]> {
  const { dkimVerify } = await import('mailauth/lib/dkim/verify.js');
  const r = await dkimVerify(message, {
    resolver: nodeStyleResolve(resolver) as (name: string, rrtype: string) => Promise<string[][]>,
    ...(opts.now ? { curTime: opts.now } : {}),
  });
  return r.results.map((res) => {
    let result = normalizeResult(res.status.result);
    let info = res.info;
    if (result === 'neutral' && res.status.comment === 'body hash did not verify') {
      result = 'fail';
      info = info.replace(/^dkim=neutral\b/, 'dkim=fail');
    } else if (result !== res.status.result) {
      info = info.replace(/^dkim=[a-z]+/, `dkim=${result}`);
    }
    return { domain: res.signingDomain ?? '', selector: res.selector ?? '', result, info };
  });
}
