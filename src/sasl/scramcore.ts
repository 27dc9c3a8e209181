// Primitives shared by the SCRAM server and client (RFC 5802, RFC 7677).
import { createHash, createHmac } from 'node:crypto';

export type ScramHashName = 'sha1' | 'sha256';

export interface ScramAlgorithm {
  /** Mechanism name without the -PLUS suffix. */
  readonly name: 'SCRAM-SHA-1' | 'SCRAM-SHA-256';
  readonly hash: ScramHashName;
  /** Digest size in bytes. */
  readonly size: number;
}

export const SCRAM_SHA_1: ScramAlgorithm = { name: 'SCRAM-SHA-1', hash: 'sha1', size: 20 };
export const SCRAM_SHA_256: ScramAlgorithm = { name: 'SCRAM-SHA-256', hash: 'sha256', size: 32 };

export type ChannelBindingType = 'tls-exporter' | 'tls-unique';

export class ScramSyntaxError extends Error {
  override readonly name = 'ScramSyntaxError';
}

export function hmac(hash: ScramHashName, key: Uint8Array, data: string | Uint8Array): Buffer {
  return createHmac(hash, key).update(data).digest();
}

export function digest(hash: ScramHashName, data: Uint8Array): Buffer {
  return createHash(hash).update(data).digest();
}

/** RFC 5802 §3: the keys derived from SaltedPassword. */
export function scramKeys(
  hash: ScramHashName,
  saltedPassword: Uint8Array,
): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const clientKey = hmac(hash, saltedPassword, 'Client Key');
  return {
    clientKey,
    storedKey: digest(hash, clientKey),
    serverKey: hmac(hash, saltedPassword, 'Server Key'),
  };
}

export function xor(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/** RFC 5802 §5.1: saslname escaping of "," and "=". */
export function escapeSaslname(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/**
 * RFC 5802 §7: saslname = 1*(value-safe-char / "=2C" / "=3D"); value-safe-char excludes
 * NUL, "=" and ",". Throws ScramSyntaxError on any other use of "=" or on NUL.
 */
export function unescapeSaslname(value: string): string {
  if (value.length === 0) throw new ScramSyntaxError('empty saslname');
  if (value.includes('\0')) throw new ScramSyntaxError('NUL in saslname');
  return value.replace(/=(..)?/g, (m, code: string | undefined) => {
    if (code === '2C') return ',';
    if (code === '3D') return '=';
    throw new ScramSyntaxError(`bad escape ${JSON.stringify(m)} in saslname`);
  });
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict, canonical base64 (RFC 4648 §4 with padding); throws ScramSyntaxError. */
export function decodeBase64Strict(value: string, what: string): Buffer {
  if (!BASE64.test(value)) throw new ScramSyntaxError(`invalid base64 in ${what}`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value) {
    throw new ScramSyntaxError(`non-canonical base64 in ${what}`);
  }
  return bytes;
}

// RFC 5802 §7: printable = %x21-2B / %x2D-7E (printable ASCII except ",").
const NONCE = /^[\x21-\x2B\x2D-\x7E]+$/;

export function checkNonce(value: string): string {
  if (!NONCE.test(value)) throw new ScramSyntaxError('invalid nonce');
  return value;
}

// RFC 5802 §7: cb-name = 1*(ALPHA / DIGIT / "." / "-").
const CB_NAME = /^[A-Za-z0-9.-]+$/;

export interface Gs2Header {
  /** "n": no channel binding; "y": client could, but thinks the server cannot; "p": binding. */
  flag: 'n' | 'y' | 'p';
  cbName: string | null;
  /** Unescaped authzid, or null when absent. */
  authzid: string | null;
  /** The header text itself, including the trailing ",". */
  raw: string;
}

/** One attribute of a SCRAM message: a single letter, "=", and a value. */
export interface ScramAttribute {
  name: string;
  value: string;
}

// RFC 5802 §7: attr-val = ALPHA "=" value; value = 1*value-char (no NUL, no ",").
const ATTRIBUTE = /^([A-Za-z])=([^\0]+)$/;

export function parseAttribute(part: string): ScramAttribute {
  const m = ATTRIBUTE.exec(part);
  if (!m) throw new ScramSyntaxError(`malformed attribute ${JSON.stringify(part.slice(0, 20))}`);
  return { name: m[1]!, value: m[2]! };
}

/** Expects attribute `name` and returns its value. */
export function expectAttribute(part: string | undefined, name: string): string {
  if (part === undefined) throw new ScramSyntaxError(`missing attribute ${name}`);
  const attr = parseAttribute(part);
  if (attr.name === 'm') throw new ScramSyntaxError('mandatory extension not supported');
  if (attr.name !== name) {
    throw new ScramSyntaxError(`expected attribute ${name}, got ${attr.name}`);
  }
  return attr.value;
}

// RFC 5802 §5.1: attribute names with a defined meaning; extensions must use others.
const DEFINED_ATTRIBUTES = new Set(['a', 'n', 'r', 'c', 's', 'i', 'p', 'v', 'e']);

/**
 * RFC 5802 §7: optional extensions are skipped; "m" (reserved-mext) is refused, as is a
 * repeated or misplaced defined attribute.
 */
export function checkExtensions(parts: readonly string[]): void {
  for (const part of parts) {
    const { name } = parseAttribute(part);
    if (name === 'm') throw new ScramSyntaxError('mandatory extension not supported');
    if (DEFINED_ATTRIBUTES.has(name)) throw new ScramSyntaxError(`unexpected attribute ${name}`);
  }
}

/** RFC 5802 §7: gs2-header = gs2-cbind-flag "," [ authzid ] "," from the first two fields. */
export function parseGs2Header(
  flagPart: string | undefined,
  authzPart: string | undefined,
): Gs2Header {
  if (flagPart === undefined || authzPart === undefined) {
    throw new ScramSyntaxError('missing gs2 header');
  }
  let flag: Gs2Header['flag'];
  let cbName: string | null = null;
  if (flagPart === 'n' || flagPart === 'y') {
    flag = flagPart;
  } else if (flagPart.startsWith('p=') && CB_NAME.test(flagPart.slice(2))) {
    flag = 'p';
    cbName = flagPart.slice(2);
  } else {
    throw new ScramSyntaxError('invalid gs2 channel binding flag');
  }
  let authzid: string | null = null;
  if (authzPart !== '') {
    if (!authzPart.startsWith('a=')) throw new ScramSyntaxError('invalid gs2 authzid');
    authzid = unescapeSaslname(authzPart.slice(2));
  }
  return { flag, cbName, authzid, raw: `${flagPart},${authzPart},` };
}

/** RFC 5802 §7: iteration-count = "i=" posit-number, no leading zeros. */
export function parseIterations(value: string): number {
  if (!/^[1-9][0-9]{0,9}$/.test(value)) throw new ScramSyntaxError('invalid iteration count');
  const n = Number(value);
  if (n > 0x7fffffff) throw new ScramSyntaxError('iteration count too large');
  return n;
}
