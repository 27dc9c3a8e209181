// DKIM (RFC 6376, RFC 8463) and ARC (RFC 8617) verification of a received message, on
// mailauth's verifier (loaded on first use: it and its dependencies take about 20 MB).
// Where mailauth is lenient, this layer decides: a body hash mismatch and an expired
// signature fail (RFC 6376 §6.1.3, §3.5 x=), an RSA key under 1024 bits fails (RFC 8301
// §3.2), and a signature whose l= leaves part of the body unsigned is not accepted
// ("policy"), since anything appended after the signed length would pass as signed.
import type { Readable } from 'node:stream';
import { nodeStyleResolve } from '../dns/nodestyle.js';
import type { Resolver } from '../dns/types.js';
import { loadVerifier } from './keycache.js';

export type DkimResult =
  'pass' | 'fail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** One signature's outcome; `info` is its Authentication-Results method text. */
export interface DkimVerification {
  domain: string;
  selector: string;
  result: DkimResult;
  info: string;
  /** Why it did not pass, or the key for a pass ("2048 bit rsa"); "" when nothing to say. */
  comment?: string;
  /** a= ("rsa-sha256", "ed25519-sha256"). */
  algorithm?: string;
  /** The first 12 characters of b=, to tell signatures apart (RFC 6008 §4). */
  bPrefix?: string;
}

/** The ARC chain's verdict (RFC 8617 §5.2). */
export type ArcVerification = {
  result: 'none' | 'pass' | 'fail';
  /** Instance of the last ARC set, 0 without a chain. */
  instance: number;
  /** d= of the last ARC-Seal: who sealed the chain last. */
  sealer: string;
  /** Why the chain failed; "" otherwise. */
  comment: string;
};

export type MessageSignatures = { dkim: DkimVerification[]; arc: ArcVerification };

const RESULTS = new Set<string>(['pass', 'fail', 'neutral', 'none', 'temperror', 'permerror']);

type Status = {
  result: string;
  comment?: string;
  underSized?: number;
  policy?: Record<string, string>;
};

type MailauthDkim = {
  signingDomain?: string;
  selector?: string;
  signature?: string;
  algo?: string;
  modulusLength?: number;
  status: Status;
  info: string;
};

/** Our result and comment for one of mailauth's signature results. */
function judge(r: MailauthDkim): { result: DkimResult; comment: string } {
  const s = r.status;
  const raw = s.result === 'temperr' ? 'temperror' : s.result;
  if (raw === 'policy' && s.policy?.['dkim-rules'] === 'weak-key') {
    return { result: 'fail', comment: 'rsa key shorter than 1024 bits' };
  }
  if (raw === 'neutral' && s.comment === 'body hash did not verify') {
    return { result: 'fail', comment: 'body hash did not verify' };
  }
  if (raw === 'neutral' && s.comment === 'expired') {
    return { result: 'fail', comment: 'signature expired' };
  }
  if (raw === 'pass' && (s.underSized ?? 0) > 0) {
    return { result: 'policy', comment: 'l= leaves part of the body unsigned' };
  }
  if (raw === 'pass') {
    const algo = (r.algo ?? '').split('-')[0] ?? '';
    return { result: 'pass', comment: r.modulusLength ? `${r.modulusLength} bit ${algo}` : algo };
  }
  const result = raw === 'policy' || RESULTS.has(raw) ? (raw as DkimResult) : 'neutral';
  return { result, comment: s.comment ?? '' };
}

// mailauth prints a line to stdout for every signature whose l= differs from the body
// length, which a sender controls; that line is dropped, all other output passes.
let consoleFiltered = false;
function filterMailauthNoise(): void {
  if (consoleFiltered) return;
  consoleFiltered = true;
  const log = console.log;
  console.log = (...args: unknown[]) => {
    if (args.length === 4 && args[0] === 'TOTAL' && args[2] === 'EXPECTING') return;
    log(...args);
  };
}

/**
 * Verifies every DKIM-Signature and the ARC chain of `message` (bytes, or a stream of
 * them), with keys looked up through `resolver`. A message without signatures gives one
 * DKIM result "none" with empty domain and selector. `now` sets the time for x= checks.
 */
export async function verifySignatures(
  message: Buffer | Readable,
  resolver: Resolver,
  opts: { now?: Date } = {},
): Promise<MessageSignatures> {
  filterMailauthNoise();
  const { dkimVerify } = await loadVerifier();
  const lookup = nodeStyleResolve(resolver) as (
    name: string,
    rrtype: string,
  ) => Promise<string[][]>;
  const v = await dkimVerify(message, {
    resolver: lookup,
    minBitLength: 1024,
    ...(opts.now ? { curTime: opts.now } : {}),
  });
  const dkim = (v.results as unknown as MailauthDkim[]).map((r): DkimVerification => {
    const { result, comment } = judge(r);
    let info = r.info;
    if (result !== r.status.result) info = info.replace(/^dkim=[a-z]+/, `dkim=${result}`);
    const out: DkimVerification = {
      domain: r.signingDomain ?? '',
      selector: r.selector ?? '',
      result,
      info,
      comment,
    };
    if (r.algo) out.algorithm = r.algo;
    if (r.signature) out.bPrefix = r.signature.replace(/\s+/g, '').slice(0, 12);
    return out;
  });
  return { dkim, arc: await verifyArc(v.arc, lookup) };
}

/** Only the DKIM results of verifySignatures. */
export async function verifyDkim(
  message: Buffer | Readable,
  resolver: Resolver,
  opts: { now?: Date } = {},
): Promise<DkimVerification[]> {
  return (await verifySignatures(message, resolver, opts)).dkim;
}

type ArcData = {
  chain?: { 'arc-seal'?: { parsed?: { d?: { value?: string } } } }[] | false;
  lastEntry?: { i?: number };
  error?: unknown;
};

async function verifyArc(
  data: unknown,
  lookup: (name: string, rrtype: string) => Promise<string[][]>,
): Promise<ArcVerification> {
  const d = data as ArcData | undefined;
  if (!d || (!d.chain && !d.error)) return { result: 'none', instance: 0, sealer: '', comment: '' };
  const chain = d.chain || [];
  const last = chain[chain.length - 1];
  const sealer = (last?.['arc-seal']?.parsed?.d?.value ?? '').toLowerCase();
  const instance = d.lastEntry?.i ?? chain.length;
  const { arc } = await loadVerifier();
  try {
    const r = (await arc(d as never, { resolver: lookup, minBitLength: 1024 } as never)) as {
      status: { result: string; comment?: string };
    };
    const result =
      r.status.result === 'pass' ? 'pass' : r.status.result === 'none' ? 'none' : 'fail';
    return { result, instance, sealer, comment: result === 'pass' ? '' : (r.status.comment ?? '') };
  } catch (e) {
    return { result: 'fail', instance, sealer, comment: (e as Error).message };
  }
}
