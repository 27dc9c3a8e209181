// DKIM signing of outgoing messages (RFC 6376; Ed25519 per RFC 8463), with the
// canonicalization the verifier uses (dkimcanon.ts). Made here rather than with mailauth's
// signer, which cannot oversign header fields (RFC 6376 §5.4.2, §8.15).
import { createHash, createPrivateKey, sign, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { domainToASCII } from 'node:url';
import {
  BodyCanonicalizer,
  HeaderEndScanner,
  fieldsByName,
  hashBody,
  parseFields,
  relaxedField,
  type BodyHashWanted,
  type Field,
} from './dkimcanon.js';
import type { DomainsConfig } from '../config/domains.js';

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** A private signing key. `pem` is the file text as read. */
export interface DkimKey {
  algorithm: DkimAlgorithm;
  privateKey: KeyObject;
  pem: string;
}

/** A DKIM key file could not be used; `file` names it and `reason` says why. */
export class DkimKeyError extends Error {
  override readonly name = 'DkimKeyError';
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`DKIM key ${file}: ${reason}`);
  }
}

/** A message could not be signed (bad signer settings or an unusable message). */
export class DkimSignError extends Error {
  override readonly name = 'DkimSignError';
}

// RFC 8301 §3.2: signers MUST use RSA keys of at least 1024 bits.
const MIN_RSA_BITS = 1024;

/** Parses a PEM private key (PKCS#8 "PRIVATE KEY", or PKCS#1 "RSA PRIVATE KEY"). */
export function parseDkimKey(pem: string, file: string): DkimKey {
  if (!/-----BEGIN (?:RSA )?PRIVATE KEY-----/.test(pem)) {
    throw new DkimKeyError(file, missingKeyReason(pem));
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ERR_MISSING_PASSPHRASE') {
      throw new DkimKeyError(file, 'the private key is encrypted; store it without a passphrase');
    }
    throw new DkimKeyError(file, `invalid private key: ${(e as Error).message}`);
  }
  const type = privateKey.asymmetricKeyType;
  if (type === 'ed25519') return { algorithm: 'ed25519-sha256', privateKey, pem };
  if (type !== 'rsa') {
    throw new DkimKeyError(file, `unsupported key type ${type ?? 'unknown'}; use RSA or Ed25519`);
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < MIN_RSA_BITS) {
    throw new DkimKeyError(file, `RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required`);
  }
  return { algorithm: 'rsa-sha256', privateKey, pem };
}

function missingKeyReason(pem: string): string {
  if (pem.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----')) {
    return 'the private key is encrypted; store it without a passphrase';
  }
  if (/-----BEGIN (?:RSA )?PUBLIC KEY-----/.test(pem)) {
    return 'contains a public key; a private key is needed';
  }
  return 'no PEM private key found (expected "BEGIN PRIVATE KEY" or "BEGIN RSA PRIVATE KEY")';
}

/** Reads and parses a PEM private key file. Throws DkimKeyError naming the file. */
export async function loadDkimKey(path: string): Promise<DkimKey> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (e) {
    throw new DkimKeyError(path, `cannot read file: ${(e as Error).message}`);
  }
  return parseDkimKey(pem, path);
}

interface CachedKey {
  mtimeMs: number;
  size: number;
  ino: number;
  key: Promise<DkimKey>;
}

/**
 * Loaded keys by path. A key is read again only when the file's mtime, size or inode
 * changes; each `get` costs one stat. Failed loads are not cached.
 */
export class DkimKeyCache {
  private readonly entries = new Map<string, CachedKey>();

  async get(path: string): Promise<DkimKey> {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      this.entries.delete(path);
      throw new DkimKeyError(path, `cannot read file: ${(e as Error).message}`);
    }
    const cached = this.entries.get(path);
    if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size && cached.ino === st.ino)
      return cached.key;
    const entry: CachedKey = {
      mtimeMs: st.mtimeMs,
      size: st.size,
      ino: st.ino,
      key: loadDkimKey(path),
    };
    this.entries.set(path, entry);
    entry.key.catch(() => {
      if (this.entries.get(path) === entry) this.entries.delete(path);
    });
    return entry.key;
  }
}

/** One signature to add: d= `domain`, s= `selector`. */
export interface DkimSigner {
  domain: string;
  selector: string;
  key: DkimKey;
  /** Header field names to sign; From is always added. Default DEFAULT_SIGNED_HEADERS. */
  headers?: readonly string[];
  /** Signature lifetime (x= tag); none when absent. */
  expirationMs?: number;
}

/**
 * Header fields signed by default. Each listed name is signed once more than it occurs
 * (oversigned), so none of them can be added after signing (RFC 6376 §8.15).
 */
export const DEFAULT_SIGNED_HEADERS: readonly string[] = [
  'From',
  'To',
  'Cc',
  'Reply-To',
  'Subject',
  'Date',
  'Message-ID',
  'In-Reply-To',
  'References',
  'MIME-Version',
  'Content-Type',
  'Content-Transfer-Encoding',
  'List-Id',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
];

// RFC 5322 §3.6.8: printable US-ASCII except ":".
const fieldNamePattern = /^[\x21-\x39\x3b-\x7e]+$/;
const labelPattern = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const MAX_LINE = 78;

interface PreparedSigner {
  domain: string;
  selector: string;
  key: DkimKey;
  headers: string[];
  expirationMs: number | undefined;
}

function checkName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => labelPattern.test(l));
}

function prepareSigner(s: DkimSigner): PreparedSigner {
  const domain = domainToASCII(s.domain.replace(/\.$/, '')).toLowerCase();
  if (!checkName(domain))
    throw new DkimSignError(`invalid signing domain ${JSON.stringify(s.domain)}`);
  const selector = s.selector.toLowerCase();
  if (!checkName(selector))
    throw new DkimSignError(`invalid selector ${JSON.stringify(s.selector)}`);
  const headers: string[] = [];
  const seen = new Set<string>();
  // RFC 6376 §5.4: the From header field MUST be signed.
  for (const h of ['From', ...(s.headers ?? DEFAULT_SIGNED_HEADERS)]) {
    if (!fieldNamePattern.test(h)) {
      throw new DkimSignError(`invalid header field name ${JSON.stringify(h)}`);
    }
    const lower = h.toLowerCase();
    if (seen.has(lower)) continue;
    seen.add(lower);
    headers.push(h);
  }
  const exp = s.expirationMs;
  if (exp !== undefined && !(Number.isFinite(exp) && exp > 0)) {
    throw new DkimSignError(`invalid signature expiration ${exp}`);
  }
  return { domain, selector, key: s.key, headers, expirationMs: exp };
}

const HASH_SLICE = 256 * 1024;
const MAX_HEADER = 1024 * 1024;
const WANTED: BodyHashWanted[] = [{ algorithm: 'sha256', limit: undefined }];

interface Split {
  header: Buffer;
  bodyHash: string;
}

async function splitBuffer(data: Buffer): Promise<Split> {
  const end = new HeaderEndScanner().push(data);
  const body = end >= 0 ? data.subarray(end) : Buffer.alloc(0);
  const [h] = await hashBody('relaxed', WANTED, body, () => yieldToLoop());
  return { header: end >= 0 ? data.subarray(0, end) : data, bodyHash: h!.digest };
}

async function splitStream(stream: Readable): Promise<Split> {
  const hasher = new BodyCanonicalizer('relaxed', WANTED);
  const scanner = new HeaderEndScanner();
  const parts: Buffer[] = [];
  let headerBytes = 0;
  let inBody = false;
  for await (const chunk of stream) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    if (inBody) {
      for (let pos = 0; pos < buf.length; pos += HASH_SLICE) {
        hasher.update(buf.subarray(pos, pos + HASH_SLICE));
      }
      continue;
    }
    const end = scanner.push(buf);
    const head = end < 0 ? buf : buf.subarray(0, end);
    parts.push(head);
    headerBytes += head.length;
    if (headerBytes > MAX_HEADER) {
      stream.destroy();
      throw new DkimSignError(`message header section is larger than ${MAX_HEADER} bytes`);
    }
    if (end >= 0) {
      inBody = true;
      if (end < buf.length) hasher.update(buf.subarray(end));
    }
  }
  return { header: Buffer.concat(parts, headerBytes), bodyHash: hasher.finish()[0]!.digest };
}

/** Joins tags into a folded header field; pieces of one tag are joined without a space. */
function foldTags(name: string, tags: string[][]): string {
  let out = `${name}:`;
  let lineLen = out.length;
  for (const pieces of tags) {
    pieces.forEach((piece, i) => {
      const sep = i === 0 ? ' ' : '';
      if (lineLen + sep.length + piece.length > MAX_LINE) {
        out += '\r\n ' + piece;
        lineLen = 1 + piece.length;
      } else {
        out += sep + piece;
        lineLen += sep.length + piece.length;
      }
    });
  }
  return out;
}

function signOne(s: PreparedSigner, fields: Map<string, Field[]>, bodyHash: string, t: number) {
  const hNames: string[] = [];
  let canonical = '';
  for (const name of s.headers) {
    const present = fields.get(name.toLowerCase()) ?? [];
    // RFC 6376 §5.4.2: instances are signed from the bottom up; one more name than there
    // are instances signs a nonexistent field, which hashes as nothing.
    for (let i = present.length - 1; i >= 0; i--) {
      hNames.push(name);
      canonical += relaxedField((present[i] as Field).text) + '\r\n';
    }
    hNames.push(name);
  }
  const tags = [
    ['v=1;'],
    [`a=${s.key.algorithm};`],
    ['c=relaxed/relaxed;'],
    [`d=${s.domain};`],
    [`s=${s.selector};`],
    [`t=${t};`],
  ];
  if (s.expirationMs !== undefined) {
    tags.push([`x=${t + Math.ceil(s.expirationMs / 1000)};`]);
  }
  tags.push(hNames.map((h, i) => (i === 0 ? 'h=' : '') + h + (i < hNames.length - 1 ? ':' : ';')));
  tags.push([`bh=${bodyHash};`]);
  // b= starts its own line so the layout does not depend on the signature length.
  const unsigned = foldTags('DKIM-Signature', tags) + '\r\n b=';
  // RFC 6376 §3.7: the signature field itself, b= empty, without trailing CRLF.
  const data = Buffer.from(canonical + relaxedField(unsigned), 'latin1');
  const b = signData(s.key, data).toString('base64');
  return unsigned + (b.match(/.{1,72}/g) ?? []).join('\r\n ') + '\r\n';
}

function signData(key: DkimKey, data: Buffer): Buffer {
  if (key.algorithm === 'rsa-sha256') return sign('sha256', data, key.privateKey);
  // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data (PureEdDSA over the hash).
  return sign(null, createHash('sha256').update(data).digest(), key.privateKey);
}

/**
 * DKIM-Signature header fields for a message, one per signer in order, each folded and
 * CRLF-terminated, to be prepended to the message. Canonicalization relaxed/relaxed,
 * SHA-256, t= always, x= with `expirationMs`, no l=. `data` is the message or a function
 * returning a fresh stream of it (only the header section is kept in memory).
 * Throws DkimSignError for invalid signer settings.
 */
export async function dkimSign(
  data: Buffer | (() => Readable),
  signers: readonly DkimSigner[],
  opts: { now?: Date } = {},
): Promise<string> {
  if (signers.length === 0) return '';
  const prepared = signers.map(prepareSigner);
  const split = Buffer.isBuffer(data) ? await splitBuffer(data) : await splitStream(data());
  const fields = fieldsByName(parseFields(split.header));
  const t = Math.floor((opts.now ?? new Date()).getTime() / 1000);
  return prepared.map((s) => signOne(s, fields, split.bodyHash, t)).join('');
}

/**
 * Signers for mail from `fromDomain`: the domain's dkim.sign selectors in order, keys from
 * `keys`. None when the domain is not configured or signs with nothing. Rejects with
 * DkimKeyError when a key file cannot be used.
 */
export async function signersFor(
  cfg: DomainsConfig,
  fromDomain: string,
  keys: DkimKeyCache,
): Promise<DkimSigner[]> {
  const domain = domainToASCII(fromDomain.replace(/\.$/, '')).toLowerCase();
  if (domain === '' || !Object.hasOwn(cfg.domains, domain)) return [];
  const dkim = cfg.domains[domain]?.dkim;
  if (!dkim) return [];
  const out: DkimSigner[] = [];
  for (const selector of dkim.sign) {
    const sel = Object.hasOwn(dkim.selectors, selector) ? dkim.selectors[selector] : undefined;
    if (!sel) continue;
    out.push({
      domain,
      selector,
      key: await keys.get(sel.private_key_file),
      ...(sel.headers ? { headers: sel.headers } : {}),
      ...(sel.expiration !== undefined ? { expirationMs: sel.expiration } : {}),
    });
  }
  return out;
}
