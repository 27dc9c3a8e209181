// ARC chain validation (RFC 8617 §5.2) of a received message: the ARC sets are gathered
// and their structure checked (§4.2, §5.1.1), then the newest ARC-Message-Signature and
// every ARC-Seal are verified. Older ARC-Message-Signatures are not checked (optional per
// §5.2 step 5). Comments keep mailauth's wording, which earlier results were written in.
import type { Resolver } from '../dns/types.js';
import {
  relaxedField,
  signedHeaderData,
  withoutB,
  type BodyHashResult,
  type Field,
} from './dkimcanon.js';
import {
  arcMessageSignature,
  arcSeal,
  parseTagList,
  type Seal,
  type Signature,
} from './dkimtags.js';
import { checkSignature, lookupKey, type KeyLookup } from './keycache.js';

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

type ArcSet = {
  instance: number;
  aar?: Field;
  ams?: Field;
  as?: Field;
};

/** A chain whose structure is sound, with its parsed seals and newest message signature. */
export type ArcChain =
  | { kind: 'none' }
  | { kind: 'broken'; comment: string }
  | {
      kind: 'chain';
      sets: { aar: Field; ams: Field; as: Field; seal: Seal }[];
      ams: Signature;
    };

const NAMES = ['arc-seal', 'arc-message-signature', 'arc-authentication-results'] as const;
type ArcName = (typeof NAMES)[number];
const KEY: Record<ArcName, 'as' | 'ams' | 'aar'> = {
  'arc-seal': 'as',
  'arc-message-signature': 'ams',
  'arc-authentication-results': 'aar',
};

/** The i= of an ARC-Authentication-Results value: "i=1; authserv-id; ..." (§4.1.1). */
function aarInstance(text: string): number {
  const m = /^[^:]*:[ \t\r\n]*i[ \t\r\n]*=[ \t\r\n]*([0-9]{1,2})[ \t\r\n]*;/.exec(text);
  const n = m ? Number(m[1]) : 0;
  if (n < 1 || n > 50) throw new Error('invalid i=');
  return n;
}

function instanceOf(f: Field): number {
  if (f.name === 'arc-authentication-results') return aarInstance(f.text);
  const tags = parseTagList(f.text.slice(f.text.indexOf(':') + 1));
  const v = tags.get('i') ?? '';
  const n = /^[0-9]{1,2}$/.test(v) ? Number(v) : 0;
  if (n < 1 || n > 50) throw new Error('invalid i=');
  return n;
}

const broken = (comment: string): ArcChain => ({ kind: 'broken', comment });

/** The ARC sets of a message, checked for completeness and cv= values (§5.2 steps 1-3). */
export function readArcChain(fields: readonly Field[]): ArcChain {
  const sets = new Map<number, ArcSet>();
  for (const f of fields) {
    if (!(NAMES as readonly string[]).includes(f.name)) continue;
    let i: number;
    try {
      i = instanceOf(f);
    } catch (e) {
      return broken(`invalid ${f.name}: ${(e as Error).message}`);
    }
    let set = sets.get(i);
    if (!set) sets.set(i, (set = { instance: i }));
    const k = KEY[f.name as ArcName];
    if (set[k]) return broken(`i=${i} multiple ${f.name} values`);
    set[k] = f;
  }
  if (sets.size === 0) return { kind: 'none' };
  const ordered = [...sets.values()].sort((a, b) => a.instance - b.instance);
  const out: { aar: Field; ams: Field; as: Field; seal: Seal }[] = [];
  let ams: Signature | undefined;
  for (const [k, set] of ordered.entries()) {
    const i = set.instance;
    if (i !== k + 1) return broken(`i=${i} expected=${k + 1}`);
    for (const name of NAMES) {
      if (!set[KEY[name]]) return broken(`i=${i} no ${name} set`);
    }
    const { aar, ams: amsField, as } = set as Required<ArcSet>;
    let seal: Seal;
    try {
      seal = arcSeal(parseTagList(as.text.slice(as.text.indexOf(':') + 1)));
    } catch (e) {
      return broken(`i=${i} invalid arc-seal: ${(e as Error).message}`);
    }
    // §5.2 step 2-3: the newest seal saying "fail" ends it; the first says none, the
    // others pass.
    const want = i === 1 ? 'none' : 'pass';
    if (seal.cv !== want) return broken(`i=${i} cv=${seal.cv}`);
    if (i === ordered.length) {
      try {
        ams = arcMessageSignature(
          parseTagList(amsField.text.slice(amsField.text.indexOf(':') + 1)),
        );
      } catch (e) {
        return broken(`i=${i} invalid arc-message-signature: ${(e as Error).message}`);
      }
    }
    out.push({ aar, ams: amsField, as, seal });
  }
  return { kind: 'chain', sets: out, ams: ams as Signature };
}

/** Why a key cannot check an ARC signature, or null when it can. */
function keyProblem(k: KeyLookup, algorithm: string, name: string): string | null {
  if (!k.ok) {
    if (k.error === 'none') return `no key for ${name}`;
    if (k.error === 'dns') return `${k.comment} for ${name}`;
    return `${k.comment} for ${name}`;
  }
  if (algorithm.split('-')[0] !== k.record.type) return `unknown key type for ${name}`;
  if (k.record.hashes && !k.record.hashes.includes('sha256')) {
    return `key does not allow sha256 for ${name}`;
  }
  // RFC 8301 §3.2, as for DKIM.
  if (k.record.type === 'rsa' && k.bits < 1024) return `weak key for ${name}`;
  return null;
}

const keyName = (s: { selector: string; domain: string }) => `${s.selector}._domainkey.${s.domain}`;

/**
 * The verdict on a chain read by readArcChain. `bodyHash` is the body hash of the newest
 * ARC-Message-Signature (its c= body canonicalization and l=).
 */
export async function verifyArcChain(
  chain: ArcChain,
  byName: ReadonlyMap<string, readonly Field[]>,
  bodyHash: BodyHashResult | undefined,
  resolver: Resolver,
): Promise<ArcVerification> {
  if (chain.kind === 'none') return { result: 'none', instance: 0, sealer: '', comment: '' };
  // A chain that cannot be read has no instance or sealer to name.
  if (chain.kind === 'broken') {
    return { result: 'fail', instance: 0, sealer: '', comment: chain.comment };
  }
  const n = chain.sets.length;
  const last = chain.sets[n - 1] as (typeof chain.sets)[number];
  const fail = (comment: string): ArcVerification => ({
    result: 'fail',
    instance: n,
    sealer: last.seal.domain,
    comment,
  });
  const ams = chain.ams;
  const amsKeyP = lookupKey(resolver, keyName(ams));
  const sealKeysP = Promise.all(chain.sets.map((s) => lookupKey(resolver, keyName(s.seal))));
  const [amsKey, sealKeys] = await Promise.all([amsKeyP, sealKeysP]);

  // §5.2 step 4: the newest ARC-Message-Signature, as a DKIM signature (§4.1.2); the
  // whole body must be signed.
  const bodyOk =
    bodyHash !== undefined &&
    bodyHash.hashed === bodyHash.length &&
    bodyHash.digest === ams.bodyHash.toString('base64');
  if (!bodyOk || keyProblem(amsKey, ams.algorithm, keyName(ams)) !== null || !amsKey.ok) {
    return fail(`i=${n} no valid signature`);
  }
  const amsData = signedHeaderData(ams.headerCanon, ams.headers, byName, last.ams);
  if (!checkSignature(ams.algorithm, amsKey.key, amsData, ams.b)) {
    return fail(`i=${n} no valid signature`);
  }

  // §5.2 step 6, §5.1.1: each ARC-Seal signs the ARC sets up to its own, relaxed, in
  // instance order, each set as ARC-Authentication-Results, ARC-Message-Signature, ARC-Seal;
  // its own ARC-Seal last, b= empty and without CRLF.
  let prefix = '';
  for (let k = 0; k < n; k++) {
    const set = chain.sets[k] as (typeof chain.sets)[number];
    const key = sealKeys[k] as KeyLookup;
    const problem = keyProblem(key, set.seal.algorithm, keyName(set.seal));
    if (problem !== null || !key.ok) return fail(`i=${k + 1} ${problem ?? ''}`.trim());
    prefix += relaxedField(set.aar.text) + '\r\n' + relaxedField(set.ams.text) + '\r\n';
    const data = Buffer.from(prefix + relaxedField(withoutB(set.as.text)), 'latin1');
    if (!checkSignature(set.seal.algorithm, key.key, data, set.seal.b)) {
      return fail(`i=${k + 1} seal signature validation failed`);
    }
    prefix += relaxedField(set.as.text) + '\r\n';
  }
  return { result: 'pass', instance: n, sealer: last.seal.domain, comment: '' };
}
