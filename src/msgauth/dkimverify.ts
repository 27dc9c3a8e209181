// DKIM (RFC 6376, RFC 8463) and ARC (RFC 8617, arcverify.ts) verification of a received
// message. The header section is parsed once; the body is canonicalized once per body
// algorithm, in one pass over the bytes in memory or as they stream in, feeding every body
// hash that a signature asks for; key lookups run while the body is hashed.
//
// Results follow RFC 6376 §6.1 and RFC 8601 §2.7.1. Where mailauth, used before, was
// lenient, this is stricter: a body hash mismatch and an expired signature fail (§6.1.3,
// §3.5 x=), an RSA key under 1024 bits fails (RFC 8301 §3.2), rsa-sha1 is not accepted
// (RFC 8301 §3.1), a signature whose l= leaves part of the body unsigned is not accepted
// ("policy"), since anything appended after the signed length would pass as signed, and a
// signature that cannot be used (bad syntax, unsupported algorithm, From not signed) gets
// a result of its own instead of being skipped silently.
import type { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Resolver } from '../dns/types.js';
import { trackAuthentic, type DnssecState } from '../dns/dnssec.js';
import { readArcChain, verifyArcChain, type ArcVerification } from './arcverify.js';
import {
  BodyCanonicalizer,
  HeaderEndScanner,
  fieldsByName,
  hashBody,
  parseFields,
  signedHeaderData,
  type BodyCanon,
  type BodyHashResult,
  type BodyHashWanted,
  type Field,
} from './dkimcanon.js';
import {
  PermanentTagError,
  dkimSignature,
  parseTagList,
  signatureNames,
  type Signature,
  type SignatureNames,
} from './dkimtags.js';
import { checkSignature, lookupKey, type KeyLookup } from './keycache.js';

export type { ArcVerification } from './arcverify.js';

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
  /** Whether DNSSEC authenticated the key record, where the resolver can tell. */
  dnssec?: DnssecState;
}

export type MessageSignatures = { dkim: DkimVerification[]; arc: ArcVerification };

/** Signatures verified per message; later ones are ignored (RFC 6376 §6.1, §8.4). */
export const MAX_SIGNATURES = 10;
/** A streamed message whose header section is larger than this is not verified. */
const MAX_HEADER = 1024 * 1024;

const UNSIGNED: DkimVerification = {
  domain: '',
  selector: '',
  result: 'none',
  info: 'dkim=none (message not signed)',
  comment: 'message not signed',
};

/** One DKIM-Signature field, parsed or with the reason it cannot be used. */
type Candidate = {
  field: Field;
  names: SignatureNames;
  sig: Signature | null;
  /** Result and comment when the field cannot be used. */
  unusable?: { result: DkimResult; comment: string };
};

function candidate(field: Field): Candidate {
  const value = field.text.slice(field.text.indexOf(':') + 1);
  let tags: Map<string, string>;
  try {
    tags = parseTagList(value);
  } catch (e) {
    return {
      field,
      names: signatureNames(looseTags(value)),
      sig: null,
      unusable: { result: 'neutral', comment: `malformed signature: ${(e as Error).message}` },
    };
  }
  const names = signatureNames(tags);
  try {
    return { field, names, sig: dkimSignature(tags) };
  } catch (e) {
    // RFC 8601 §2.7.1: neutral for a signature with syntax errors, permerror for one that
    // can never verify as it stands (From not signed, i= outside d=).
    const result = e instanceof PermanentTagError ? 'permerror' : 'neutral';
    return { field, names, sig: null, unusable: { result, comment: (e as Error).message } };
  }
}

/** d=, s=, a=, b= of a field whose tag-list does not parse, to name it in the result. */
function looseTags(value: string): Map<string, string> {
  const tags = new Map<string, string>();
  for (const spec of value.split(';')) {
    const m = /^[ \t\r\n]*([a-z]+)[ \t\r\n]*=([^]*)$/.exec(spec);
    if (m && ['d', 's', 'a', 'b'].includes(m[1] as string) && !tags.has(m[1] as string)) {
      tags.set(m[1] as string, (m[2] as string).trim().slice(0, 255));
    }
  }
  return tags;
}

const bodyKey = (canon: BodyCanon, limit: number | undefined) => `${canon}:${limit ?? ''}`;

/** Body hashes wanted, grouped by canonicalization; results fill in after hashing. */
class BodyHashes {
  private readonly wanted = new Map<BodyCanon, Map<string, BodyHashWanted>>();
  private readonly results = new Map<string, BodyHashResult>();

  want(canon: BodyCanon, limit: number | undefined): void {
    let m = this.wanted.get(canon);
    if (!m) this.wanted.set(canon, (m = new Map()));
    m.set(bodyKey(canon, limit), { algorithm: 'sha256', limit });
  }

  canonicalizers(): BodyCanonicalizer[] {
    return [...this.wanted].map(([canon, m]) => new BodyCanonicalizer(canon, [...m.values()]));
  }

  async hashBuffer(body: Buffer): Promise<void> {
    for (const [canon, m] of this.wanted) {
      this.store(canon, m, await hashBody(canon, [...m.values()], body, () => yieldToLoop()));
    }
  }

  finish(cs: BodyCanonicalizer[]): void {
    for (const c of cs) this.store(c.canon, this.wanted.get(c.canon)!, c.finish());
  }

  private store(canon: BodyCanon, m: Map<string, BodyHashWanted>, r: BodyHashResult[]): void {
    [...m.values()].forEach((w, i) => this.results.set(bodyKey(canon, w.limit), r[i]!));
  }

  get(canon: BodyCanon, limit: number | undefined): BodyHashResult | undefined {
    return this.results.get(bodyKey(canon, limit));
  }
}

/** Properties as mailauth wrote them in `info` (header.b: 8 characters). */
function infoText(
  result: DkimResult,
  comment: string,
  names: SignatureNames,
  policy?: string,
): string {
  const parts = [`dkim=${result}`];
  if (comment) parts.push(`(${comment.replace(/[\\)]/g, (c) => `\\${c}`)})`);
  if (policy) parts.push(`policy.dkim-rules=${policy}`);
  const props: [string, string][] = [
    ['i', names.domain ? `@${names.domain}` : ''],
    ['s', names.selector],
    ['a', names.algorithm],
    ['b', names.bText.slice(0, 8)],
  ];
  for (const [k, v] of props) if (v) parts.push(`header.${k}=${infoValue(v)}`);
  return parts.join(' ');
}

/** A token, or a quoted string when it has a character a token may not (RFC 2045 §5.1). */
function infoValue(v: string): string {
  if (!/[\s\x00-\x1f\x7f-\uffff()<>,;:\\"/[\]?=]/.test(v)) return v;
  return `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`;
}

type Outcome = { result: DkimResult; comment: string; infoComment?: string; policy?: string };

/** The result for a parsed signature whose body hash and key are known (RFC 6376 §6.1.3). */
function judge(
  c: Candidate & { sig: Signature },
  body: BodyHashResult | undefined,
  key: KeyLookup,
  byName: ReadonlyMap<string, readonly Field[]>,
  now: number,
): Outcome {
  const sig = c.sig;
  if (!key.ok) {
    if (key.error === 'dns') return { result: 'temperror', comment: key.comment };
    if (key.error === 'revoked') return { result: 'permerror', comment: key.comment };
    return { result: 'neutral', comment: key.comment };
  }
  const keyType = sig.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519';
  if (key.record.type !== keyType) {
    return { result: 'permerror', comment: 'key type does not match a=' };
  }
  if (key.record.hashes && !key.record.hashes.includes('sha256')) {
    return { result: 'permerror', comment: 'key does not allow sha256' };
  }
  // RFC 6376 §3.6.1 t=s: the i= domain must be d= itself.
  if (key.record.strict && sig.identityDomain !== sig.domain) {
    return { result: 'permerror', comment: 'i= must equal d= for this key' };
  }
  if (key.record.type === 'rsa' && key.bits < 1024) {
    return { result: 'fail', comment: 'rsa key shorter than 1024 bits', policy: 'weak-key' };
  }
  // l= beyond the body's end: the body was cut after signing.
  if (!body || body.digest !== sig.bodyHash.toString('base64') || body.hashed < (sig.length ?? 0)) {
    return { result: 'fail', comment: 'body hash did not verify' };
  }
  const data = signedHeaderData(sig.headerCanon, sig.headers, byName, c.field);
  if (!checkSignature(sig.algorithm, key.key, data, sig.b)) {
    return { result: 'fail', comment: 'bad signature' };
  }
  if (sig.expiration !== undefined && sig.timestamp !== undefined) {
    if (sig.expiration < sig.timestamp) return { result: 'neutral', comment: 'invalid expiration' };
  }
  if (sig.expiration !== undefined && sig.expiration * 1000 < now) {
    return { result: 'fail', comment: 'signature expired', infoComment: 'expired' };
  }
  if (body.hashed < body.length) {
    return { result: 'policy', comment: 'l= leaves part of the body unsigned' };
  }
  const comment = key.record.type === 'rsa' ? `${key.bits} bit rsa` : 'ed25519';
  return { result: 'pass', comment };
}

function verification(c: Candidate, o: Outcome): DkimVerification {
  const out: DkimVerification = {
    domain: c.names.domain,
    selector: c.names.selector,
    result: o.result,
    info: infoText(o.result, o.infoComment ?? (o.policy ? '' : o.comment), c.names, o.policy),
    comment: o.comment,
  };
  if (c.names.algorithm) out.algorithm = c.names.algorithm;
  if (c.names.bText) out.bPrefix = c.names.bText.slice(0, 12);
  return out;
}

/** Reads a stream's header section into memory; the rest is handed to `body`. */
async function readHeader(
  stream: Readable,
  body: (start: Buffer, rest: AsyncIterator<unknown>) => Promise<void>,
  onHeader: (header: Buffer) => void,
): Promise<void> {
  const scanner = new HeaderEndScanner();
  const parts: Buffer[] = [];
  let size = 0;
  const it = stream[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await it.next();
    if (done) break;
    const buf = typeof value === 'string' ? Buffer.from(value) : (value as Buffer);
    const end = scanner.push(buf);
    const head = end < 0 ? buf : buf.subarray(0, end);
    parts.push(head);
    size += head.length;
    if (size > MAX_HEADER) {
      stream.destroy();
      throw new Error(`header section larger than ${MAX_HEADER} bytes`);
    }
    if (end >= 0) {
      onHeader(Buffer.concat(parts, size));
      return body(buf.subarray(end), it);
    }
  }
  // No body: the whole message is header.
  onHeader(Buffer.concat(parts, size));
  return body(Buffer.alloc(0), { next: async () => ({ done: true, value: undefined }) });
}

/** Where a signature's key record is (RFC 6376 §3.6.2.1). */
function keyName(selector: string, domain: string): string {
  return `${selector}._domainkey.${domain}`;
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
  const now = (opts.now ?? new Date()).getTime();
  const hashes = new BodyHashes();
  // Follows the key lookups, to say per signature whether DNSSEC authenticated its key.
  const tracked = trackAuthentic(resolver);
  let state: ReturnType<typeof prepare> | undefined;

  function prepare(header: Buffer) {
    const fields = parseFields(header);
    const byName = fieldsByName(fields);
    const candidates = (byName.get('dkim-signature') ?? []).slice(0, MAX_SIGNATURES).map(candidate);
    for (const c of candidates) if (c.sig) hashes.want(c.sig.bodyCanon, c.sig.length);
    const arc = readArcChain(fields);
    if (arc.kind === 'chain') hashes.want(arc.ams.bodyCanon, arc.ams.length);
    // Keys are looked up while the body is hashed; lookupKey does not reject.
    const keys = candidates.map((c) =>
      c.sig ? lookupKey(tracked, keyName(c.sig.selector, c.sig.domain)) : null,
    );
    return { byName, candidates, arc, keys };
  }

  if (Buffer.isBuffer(message)) {
    const end = new HeaderEndScanner().push(message);
    state = prepare(end < 0 ? message : message.subarray(0, end));
    await hashes.hashBuffer(end < 0 ? Buffer.alloc(0) : message.subarray(end));
  } else {
    await readHeader(
      message,
      async (start, rest) => {
        const cs = hashes.canonicalizers();
        for (const c of cs) c.update(start);
        for (;;) {
          const { value, done } = await rest.next();
          if (done) break;
          const buf = typeof value === 'string' ? Buffer.from(value) : (value as Buffer);
          for (const c of cs) c.update(buf);
        }
        hashes.finish(cs);
      },
      (header) => (state = prepare(header)),
    );
  }
  const { byName, candidates, arc, keys } = state!;
  const arcP = verifyArcChain(
    arc,
    byName,
    arc.kind === 'chain' ? hashes.get(arc.ams.bodyCanon, arc.ams.length) : undefined,
    resolver,
  );
  const dkimP = Promise.all(
    candidates.map(async (c, i): Promise<DkimVerification> => {
      if (!c.sig) return verification(c, c.unusable!);
      const key = (await keys[i])!;
      const body = hashes.get(c.sig.bodyCanon, c.sig.length);
      const v = verification(c, judge({ ...c, sig: c.sig }, body, key, byName, now));
      const dnssec = tracked.stateOf(keyName(c.sig.selector, c.sig.domain));
      return dnssec === 'unknown' ? v : { ...v, dnssec };
    }),
  );
  const [dkim, arcResult] = await Promise.all([dkimP, arcP]);
  return { dkim: dkim.length > 0 ? dkim : [{ ...UNSIGNED }], arc: arcResult };
}

/** Only the DKIM results of verifySignatures. */
export async function verifyDkim(
  message: Buffer | Readable,
  resolver: Resolver,
  opts: { now?: Date } = {},
): Promise<DkimVerification[]> {
  return (await verifySignatures(message, resolver, opts)).dkim;
}
