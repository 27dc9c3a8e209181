// Derived password secrets. Only these are stored, never the password itself:
// - an scrypt hash for PLAIN and LOGIN, as `$scrypt$N=<n>,r=<r>,p=<p>$<salt b64>$<hash b64>`;
// - the HMAC-MD5 inner and outer states for CRAM-MD5 (RFC 2195, RFC 2104);
// - salt, iteration count and SaltedPassword for SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802 §3).
// Every field is optional: secrets added in later versions are missing for passwords that
// were set before, and the mechanism that needs them then reports it.
import { createHash, pbkdf2, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import {
  MD5_BLOCK_SIZE,
  hmacMd5Precompute,
  md5StateFromBytes,
  md5StateToBytes,
  type Md5State,
} from './md5.js';
import { normalizePassword } from './normalize.js';
import type { ScramHashName } from './scramcore.js';

/** SCRAM secrets; `salt` and `saltedPassword` are base64. */
export interface ScramSecret {
  salt: string;
  iterations: number;
  saltedPassword: string;
}

/** CRAM-MD5 secrets: base64 of the 16-byte MD5 states (words little-endian). */
export interface CramMd5Secret {
  ipad: string;
  opad: string;
}

/** JSON-serialisable derived secrets of one password. */
export interface StoredSecrets {
  scrypt?: string;
  cramMD5?: CramMd5Secret;
  scramSHA1?: ScramSecret;
  scramSHA256?: ScramSecret;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export interface DeriveOptions {
  /** SCRAM iteration count for both hashes; default DEFAULT_SCRAM_ITERATIONS. */
  scramIterations?: number;
  /** scrypt cost; default DEFAULT_SCRYPT. */
  scrypt?: ScryptParams;
  /** Source of salts; default crypto.randomBytes. */
  random?: (n: number) => Buffer;
}

/**
 * 4096 is the minimum RFC 5802 §9 and RFC 7677 §4 ask for, and what common SCRAM servers
 * use by default. Every login costs the client this many HMACs, so it stays moderate; the
 * offline-guessing cost of a leaked database is carried by the scrypt hash settings.
 */
export const DEFAULT_SCRAM_ITERATIONS = 4096;
/** scrypt cost from RFC 7914 §2's interactive-login example: 16 MiB, about 50 ms. */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 16384, r: 8, p: 1 });

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
}

const SALT_SIZE = 16;
const SCRYPT_HASH_SIZE = 32;
const MAX_SCRAM_ITERATIONS = 10_000_000;
const scryptAsync = promisify(scrypt) as (
  password: Uint8Array,
  salt: Uint8Array,
  keylen: number,
  options: { N: number; r: number; p: number; maxmem: number },
) => Promise<Buffer>;
const pbkdf2Async = promisify(pbkdf2);

/** Derives all stored secrets from a password (normalised first, see normalize.ts). */
export async function deriveSecrets(
  password: string,
  opts: DeriveOptions = {},
): Promise<StoredSecrets> {
  const random = opts.random ?? randomBytes;
  const iterations = opts.scramIterations ?? DEFAULT_SCRAM_ITERATIONS;
  const params = opts.scrypt ?? DEFAULT_SCRYPT;
  checkScryptParams(params);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > MAX_SCRAM_ITERATIONS) {
    throw new SecretsError(
      `SCRAM iteration count must be an integer in 1..${MAX_SCRAM_ITERATIONS}`,
    );
  }
  const [scryptHash, scramSHA1, scramSHA256] = await Promise.all([
    hashScrypt(password, params, random(SALT_SIZE)),
    scramSecret('sha1', password, random(SALT_SIZE), iterations),
    scramSecret('sha256', password, random(SALT_SIZE), iterations),
  ]);
  return { scrypt: scryptHash, cramMD5: cramMd5Secret(password), scramSHA1, scramSHA256 };
}

/**
 * Checks a password against the scrypt hash, comparing in constant time. False when the
 * hash is missing or malformed (use `secrets.scrypt` to tell those cases apart).
 */
export async function verifyPassword(
  secrets: StoredSecrets | null,
  password: string,
): Promise<boolean> {
  const parsed = secrets?.scrypt === undefined ? null : parseScryptHash(secrets.scrypt);
  if (parsed === null) return false;
  const got = await runScrypt(password, parsed, parsed.salt, parsed.hash.length);
  return timingSafeEqual(got, parsed.hash);
}

/**
 * Spends the same time as verifyPassword with default settings, for requests naming an
 * unknown user, so response times do not reveal whether an account exists.
 */
export async function spendPasswordCheck(password: string): Promise<void> {
  await runScrypt(password, DEFAULT_SCRYPT, randomBytes(SALT_SIZE), SCRYPT_HASH_SIZE);
}

/** The scrypt hash string for a password. */
export async function hashScrypt(
  password: string,
  params: ScryptParams,
  salt: Buffer,
): Promise<string> {
  checkScryptParams(params);
  const hash = await runScrypt(password, params, salt, SCRYPT_HASH_SIZE);
  const { N, r, p } = params;
  return `$scrypt$N=${N},r=${r},p=${p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** RFC 5802 §3: SaltedPassword := Hi(Normalize(password), salt, i), Hi being PBKDF2. */
export async function scramSecret(
  hash: ScramHashName,
  password: string,
  salt: Buffer,
  iterations: number,
): Promise<ScramSecret> {
  const size = hash === 'sha1' ? 20 : 32;
  const salted = await pbkdf2Async(passwordBytes(password), salt, iterations, size, hash);
  return { salt: salt.toString('base64'), iterations, saltedPassword: salted.toString('base64') };
}

/** RFC 2104 §2: the MD5 states after absorbing K XOR ipad and K XOR opad. */
export function cramMd5Secret(password: string): CramMd5Secret {
  let key: Buffer = passwordBytes(password);
  if (key.length > MD5_BLOCK_SIZE) key = createHash('md5').update(key).digest();
  const { ipad, opad } = hmacMd5Precompute(key);
  key.fill(0);
  return {
    ipad: md5StateToBytes(ipad).toString('base64'),
    opad: md5StateToBytes(opad).toString('base64'),
  };
}

export interface DecodedScramSecret {
  salt: Buffer;
  iterations: number;
  saltedPassword: Buffer;
}

/** Validates and decodes a stored SCRAM secret; null when missing or malformed. */
export function decodeScramSecret(
  secret: ScramSecret | undefined,
  size: number,
): DecodedScramSecret | null {
  if (secret === undefined || secret === null || typeof secret !== 'object') return null;
  const { salt, iterations, saltedPassword } = secret;
  if (typeof salt !== 'string' || typeof saltedPassword !== 'string') return null;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > 0x7fffffff) return null;
  const saltBytes = Buffer.from(salt, 'base64');
  const saltedBytes = Buffer.from(saltedPassword, 'base64');
  if (saltBytes.length === 0 || saltedBytes.length !== size) return null;
  return { salt: saltBytes, iterations, saltedPassword: saltedBytes };
}

/** Validates and decodes stored CRAM-MD5 states; null when missing or malformed. */
export function decodeCramMd5Secret(
  secret: CramMd5Secret | undefined,
): { ipad: Md5State; opad: Md5State } | null {
  if (secret === undefined || secret === null || typeof secret !== 'object') return null;
  if (typeof secret.ipad !== 'string' || typeof secret.opad !== 'string') return null;
  const ipad = md5StateFromBytes(Buffer.from(secret.ipad, 'base64'));
  const opad = md5StateFromBytes(Buffer.from(secret.opad, 'base64'));
  return ipad && opad ? { ipad, opad } : null;
}

interface ParsedScrypt extends ScryptParams {
  salt: Buffer;
  hash: Buffer;
}

const SCRYPT_FORMAT =
  /^\$scrypt\$N=([1-9][0-9]{0,9}),r=([1-9][0-9]{0,3}),p=([1-9][0-9]{0,3})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Parses an scrypt hash string; null when malformed or outside the accepted cost range. */
export function parseScryptHash(value: string): ParsedScrypt | null {
  if (typeof value !== 'string') return null;
  const m = SCRYPT_FORMAT.exec(value);
  if (!m) return null;
  const params = { N: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (!validScryptParams(params) || salt.length < 8 || hash.length < 16 || hash.length > 64) {
    return null;
  }
  return { ...params, salt, hash };
}

// Bounds keep a corrupted or hostile stored hash from demanding unbounded memory or time.
function validScryptParams({ N, r, p }: ScryptParams): boolean {
  const powerOfTwo = Number.isInteger(N) && N >= 2 && N <= 1 << 20 && (N & (N - 1)) === 0;
  return (
    powerOfTwo &&
    Number.isInteger(r) &&
    r >= 1 &&
    r <= 32 &&
    Number.isInteger(p) &&
    p >= 1 &&
    p <= 16
  );
}

function checkScryptParams(params: ScryptParams): void {
  if (!validScryptParams(params)) {
    throw new SecretsError(
      'scrypt parameters out of range (N power of 2 up to 2^20, r <= 32, p <= 16)',
    );
  }
}

function runScrypt(
  password: string,
  params: ScryptParams,
  salt: Buffer,
  size: number,
): Promise<Buffer> {
  // RFC 7914 §2: memory is about 128 * N * r bytes (+ 128 * r * p); leave headroom.
  const maxmem = 128 * params.N * params.r + 128 * params.r * params.p + (1 << 20);
  const { N, r, p } = params;
  return scryptAsync(passwordBytes(password), salt, size, { N, r, p, maxmem });
}

function passwordBytes(password: string): Buffer {
  return Buffer.from(normalizePassword(password), 'utf8');
}
