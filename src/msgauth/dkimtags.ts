// Parsing of DKIM tag-lists (RFC 6376 §3.2): DKIM-Signature fields (§3.5), the key
// records published in DNS (§3.6.1, RFC 8463 §4.2), and the ARC-Message-Signature and
// ARC-Seal fields built on them (RFC 8617 §4.1.2, §4.1.3). Parsing is strict where the RFCs
// are: a repeated tag or a tag-list that does not follow the grammar makes the whole field
// invalid; an unknown tag is ignored.

/** Why a field could not be used, for the Authentication-Results comment. */
export class TagError extends Error {
  override readonly name = 'TagError';
}

/** A field that parses but cannot be accepted (RFC 6376 §6.1.1 PERMFAIL). */
export class PermanentTagError extends TagError {}

// tag-name = ALPHA *ALNUMPUNC; a tag-value's characters are VALCHAR (%x21-3A / %x3C-7E)
// and whitespace between them. 8-bit bytes are let through: RFC 6376 §3.2 leaves them out,
// but a z= copy of a non-ASCII header field should not make a signature unusable.
const TAG_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const TAG_VALUE = /^[^\x00-\x08\x0a-\x1f\x7f;]*$/;

/**
 * The tags of a tag-list, names as written (case-sensitive, §3.2), values with folding
 * whitespace at either end removed and line breaks unfolded. Throws TagError.
 */
export function parseTagList(text: string): Map<string, string> {
  const tags = new Map<string, string>();
  const unfolded = text.replace(/\r?\n(?=[ \t])/g, '');
  const specs = unfolded.split(';');
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i] as string;
    const eq = spec.indexOf('=');
    if (eq < 0) {
      // Only the last tag-spec may be empty: a tag-list may end with ";".
      if (i === specs.length - 1 && /^[ \t]*$/.test(spec)) break;
      throw new TagError(`tag without "=": ${JSON.stringify(spec.trim().slice(0, 20))}`);
    }
    const name = spec.slice(0, eq).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TAG_NAME.test(name)) {
      throw new TagError(`invalid tag name ${JSON.stringify(name.slice(0, 20))}`);
    }
    const value = spec.slice(eq + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (!TAG_VALUE.test(value)) throw new TagError(`invalid characters in ${name}=`);
    if (tags.has(name)) throw new TagError(`duplicate tag ${name}=`);
    tags.set(name, value);
  }
  return tags;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** A base64 value with its folding whitespace removed (RFC 6376 §3.5 b=, bh=). */
function base64Value(tags: Map<string, string>, name: string): Buffer {
  const v = (tags.get(name) ?? '').replace(/[ \t\r\n]+/g, '');
  if (v.length % 4 === 1 || !BASE64.test(v)) throw new TagError(`${name}= is not base64`);
  return Buffer.from(v, 'base64');
}

const DOMAIN =
  /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*$/;
const DIGITS = /^[0-9]{1,76}$/;

/** The header field names of h=, lower-case, in order (RFC 6376 §3.5). */
function fieldNames(v: string): string[] {
  const names = v.split(':').map((n) => n.replace(/[ \t\r\n]+/g, '').toLowerCase());
  if (names.some((n) => !/^[\x21-\x39\x3b-\x7e]+$/.test(n))) {
    throw new TagError('h= has an invalid field name');
  }
  return names;
}

/** A number tag (t=, x=, l=): up to 76 digits (§3.5); beyond 2^53 it is Infinity-like. */
function numberTag(tags: Map<string, string>, name: string): number | undefined {
  const v = tags.get(name);
  if (v === undefined) return undefined;
  if (!DIGITS.test(v)) throw new TagError(`${name}= is not a number`);
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : Number.MAX_SAFE_INTEGER;
}

export type SignatureAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** A parsed DKIM-Signature or ARC-Message-Signature. */
export interface Signature {
  algorithm: SignatureAlgorithm;
  /** The signature, decoded. */
  b: Buffer;
  /** b= as written, whitespace removed (header.b, RFC 6008). */
  bText: string;
  bodyHash: Buffer;
  headerCanon: 'simple' | 'relaxed';
  bodyCanon: 'simple' | 'relaxed';
  /** d=, lower-case. */
  domain: string;
  /** s=, lower-case. */
  selector: string;
  /** h=, lower-case names. */
  headers: string[];
  /** l=, when given. */
  length: number | undefined;
  /** i= domain part, lower-case (DKIM only; default d=). */
  identityDomain: string;
  timestamp: number | undefined;
  expiration: number | undefined;
  /** i= of an ARC set (RFC 8617 §4.2.1). */
  instance: number | undefined;
}

/** What a signature field gives before it is judged usable: enough to name it in results. */
export interface SignatureNames {
  domain: string;
  selector: string;
  algorithm: string;
  bText: string;
}

/** d=, s=, a= and b= of a field, as far as it parses, for the results of unusable ones. */
export function signatureNames(tags: Map<string, string> | null): SignatureNames {
  return {
    domain: (tags?.get('d') ?? '').toLowerCase(),
    selector: (tags?.get('s') ?? '').toLowerCase(),
    algorithm: tags?.get('a') ?? '',
    bText: (tags?.get('b') ?? '').replace(/[ \t\r\n]+/g, ''),
  };
}

function algorithmOf(tags: Map<string, string>): SignatureAlgorithm {
  const a = (tags.get('a') ?? '').toLowerCase();
  if (a === 'rsa-sha256' || a === 'ed25519-sha256') return a;
  // RFC 8301 §3.1: rsa-sha1 signatures are not considered valid. (mailauth verified them.)
  if (a === 'rsa-sha1') throw new TagError('rsa-sha1 is not accepted (RFC 8301)');
  throw new TagError(`unsupported algorithm ${JSON.stringify(a.slice(0, 30))}`);
}

function canonOf(tags: Map<string, string>): Pick<Signature, 'headerCanon' | 'bodyCanon'> {
  // RFC 6376 §3.5 c=: default "simple/simple"; a header algorithm alone means simple body.
  const c = (tags.get('c') ?? 'simple/simple').toLowerCase();
  const m = /^(simple|relaxed)(?:\/(simple|relaxed))?$/.exec(c);
  if (!m) throw new TagError(`unsupported canonicalization ${JSON.stringify(c.slice(0, 30))}`);
  return {
    headerCanon: m[1] as 'simple' | 'relaxed',
    bodyCanon: (m[2] ?? 'simple') as 'simple' | 'relaxed',
  };
}

function required(tags: Map<string, string>, names: string[]): void {
  for (const n of names) if (!tags.has(n)) throw new TagError(`missing ${n}=`);
}

function domainTag(tags: Map<string, string>, name: string): string {
  const v = (tags.get(name) ?? '').toLowerCase();
  if (!DOMAIN.test(v)) throw new TagError(`invalid ${name}=`);
  return v;
}

/** The parts common to DKIM-Signature and ARC-Message-Signature (RFC 8617 §4.1.2). */
function messageSignature(tags: Map<string, string>): Signature {
  required(tags, ['a', 'b', 'bh', 'd', 'h', 's']);
  const domain = domainTag(tags, 'd');
  const selector = domainTag(tags, 's');
  const headers = fieldNames(tags.get('h') ?? '');
  const timestamp = numberTag(tags, 't');
  const expiration = numberTag(tags, 'x');
  return {
    algorithm: algorithmOf(tags),
    b: base64Value(tags, 'b'),
    bText: (tags.get('b') ?? '').replace(/[ \t\r\n]+/g, ''),
    bodyHash: base64Value(tags, 'bh'),
    ...canonOf(tags),
    domain,
    selector,
    headers,
    length: numberTag(tags, 'l'),
    identityDomain: domain,
    timestamp,
    expiration,
    instance: undefined,
  };
}

/**
 * A DKIM-Signature's tags judged per RFC 6376 §6.1.1: v=1, the required tags, an i=
 * within d=, From among the signed fields, q= with dns/txt. Throws TagError; a
 * `permanent` one is a problem of what was signed, not of the field's syntax.
 */
export function dkimSignature(tags: Map<string, string>): Signature {
  required(tags, ['v']);
  if (tags.get('v') !== '1') throw new TagError(`unsupported version v=${tags.get('v')}`);
  const sig = messageSignature(tags);
  const i = tags.get('i');
  if (i !== undefined) {
    const at = i.lastIndexOf('@');
    const d = i.slice(at + 1).toLowerCase();
    if (at < 0 || !DOMAIN.test(d)) throw new TagError('invalid i=');
    if (d !== sig.domain && !d.endsWith(`.${sig.domain}`)) {
      throw new PermanentTagError('i= is not within d=');
    }
    sig.identityDomain = d;
  }
  const q = tags.get('q');
  if (q !== undefined && !q.split(':').some((m) => m.trim().toLowerCase() === 'dns/txt')) {
    throw new TagError('q= without dns/txt');
  }
  if (!sig.headers.includes('from')) throw new PermanentTagError('From field not signed');
  return sig;
}

/** The i= instance of an ARC field: 1 to 50 (RFC 8617 §4.2.1). */
export function arcInstance(tags: Map<string, string>): number {
  const v = tags.get('i') ?? '';
  if (!/^[0-9]{1,2}$/.test(v)) throw new TagError('invalid i=');
  const n = Number(v);
  if (n < 1 || n > 50) throw new TagError(`i=${n} out of range`);
  return n;
}

/** An ARC-Message-Signature (RFC 8617 §4.1.2): a DKIM signature with i= and without v=. */
export function arcMessageSignature(tags: Map<string, string>): Signature {
  const sig = messageSignature(tags);
  sig.instance = arcInstance(tags);
  // §4.1.2: the ARC-Seal fields are never signed by an ARC-Message-Signature.
  if (sig.headers.includes('arc-seal')) throw new TagError('h= includes arc-seal');
  return sig;
}

/** A parsed ARC-Seal (RFC 8617 §4.1.3). */
export interface Seal {
  instance: number;
  algorithm: SignatureAlgorithm;
  b: Buffer;
  domain: string;
  selector: string;
  cv: 'none' | 'pass' | 'fail';
}

export function arcSeal(tags: Map<string, string>): Seal {
  required(tags, ['a', 'b', 'cv', 'd', 's']);
  // §4.1.3: an ARC-Seal signs no header list; an h= tag makes it invalid.
  if (tags.has('h')) throw new TagError('unexpected h=');
  const cv = (tags.get('cv') ?? '').toLowerCase();
  if (cv !== 'none' && cv !== 'pass' && cv !== 'fail') throw new TagError(`invalid cv=${cv}`);
  return {
    instance: arcInstance(tags),
    algorithm: algorithmOf(tags),
    b: base64Value(tags, 'b'),
    domain: domainTag(tags, 'd'),
    selector: domainTag(tags, 's'),
    cv,
  };
}

/** A key record (RFC 6376 §3.6.1; RFC 8463 §4.2 for k=ed25519). */
export interface KeyRecord {
  type: 'rsa' | 'ed25519';
  /** p=, decoded; empty for a revoked key. */
  key: Buffer;
  /** h=: acceptable hash algorithms, lower-case; null when any. */
  hashes: string[] | null;
  /** t=s: the i= domain must be d= itself. */
  strict: boolean;
}

/** Why a key record is unusable: "version", "type" or "value" (mailauth's categories). */
export class KeyRecordError extends TagError {
  constructor(
    readonly kind: 'version' | 'type' | 'value',
    message: string,
  ) {
    super(message);
  }
}

export function parseKeyRecord(text: string): KeyRecord {
  let tags: Map<string, string>;
  try {
    tags = parseTagList(text);
  } catch (e) {
    throw new KeyRecordError('value', (e as Error).message);
  }
  // §3.6.1 v=: if present it must be first and DKIM1.
  const v = tags.get('v');
  if (v !== undefined && (v !== 'DKIM1' || tags.keys().next().value !== 'v')) {
    throw new KeyRecordError('version', 'unknown key version');
  }
  const k = (tags.get('k') ?? 'rsa').toLowerCase();
  if (k !== 'rsa' && k !== 'ed25519') throw new KeyRecordError('type', `unknown key type ${k}`);
  const p = tags.get('p');
  if (p === undefined) throw new KeyRecordError('value', 'missing p=');
  const compact = p.replace(/[ \t\r\n]+/g, '');
  if (compact.length % 4 === 1 || !BASE64.test(compact)) {
    throw new KeyRecordError('value', 'p= is not base64');
  }
  const s = tags.get('s');
  if (s !== undefined && !s.split(':').some((x) => ['*', 'email'].includes(x.trim()))) {
    throw new KeyRecordError('type', 'key not for email');
  }
  const h = tags.get('h');
  return {
    type: k,
    key: Buffer.from(compact, 'base64'),
    hashes: h === undefined ? null : h.split(':').map((x) => x.trim().toLowerCase()),
    strict: (tags.get('t') ?? '').split(':').some((f) => f.trim() === 's'),
  };
}
