// DKIM and ARC public keys (RFC 6376 §3.6.2.2, RFC 8617 §4.1.3), parsed once, not per
// message. The key record is looked up for every signature (a changed or revoked key takes
// effect at once), but turning a record's text into a key object, which costs more than
// verifying a signature with it, happens once per distinct record: a busy server sees the
// same few keys over and over.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { DNSError, type Resolver } from '../dns/types.js';
import { KeyRecordError, parseKeyRecord, type KeyRecord } from './dkimtags.js';

/** A usable key, or why there is none, in the words of the Authentication-Results comment. */
export type KeyLookup =
  | { ok: true; record: KeyRecord; key: KeyObject; bits: number }
  | {
      ok: false;
      /** "none": no record; "dns": lookup failed; "record": unusable; "revoked": p= empty. */
      error: 'none' | 'dns' | 'record' | 'revoked';
      comment: string;
    };

type Parsed = Exclude<KeyLookup, { ok: false; error: 'none' | 'dns' }>;

const MAX_KEYS = 1000;
const parsed = new Map<string, Parsed>();

// RFC 8410 SubjectPublicKeyInfo prefix for a raw 32-byte Ed25519 key.
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

/** RFC 6376 §3.6.1: p= is a SubjectPublicKeyInfo; a bare RSAPublicKey is taken too. */
function rsaKey(der: Buffer): KeyObject {
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch {
    return createPublicKey({ key: der, format: 'der', type: 'pkcs1' });
  }
}

function parse(text: string): Parsed {
  let record: KeyRecord;
  try {
    record = parseKeyRecord(text);
  } catch (e) {
    const kind = e instanceof KeyRecordError ? e.kind : 'value';
    const comment =
      kind === 'version'
        ? 'unknown key version'
        : kind === 'type'
          ? 'unknown key type'
          : 'invalid public key';
    return { ok: false, error: 'record', comment };
  }
  // RFC 6376 §3.6.1: an empty p= means the key was revoked.
  if (record.key.length === 0) return { ok: false, error: 'revoked', comment: 'key revoked' };
  let key: KeyObject;
  try {
    if (record.type === 'ed25519') {
      if (record.key.length !== 32) throw new Error('ed25519 key is not 32 bytes');
      key = createPublicKey({
        key: Buffer.concat([ED25519_SPKI, record.key]),
        format: 'der',
        type: 'spki',
      });
    } else {
      key = rsaKey(record.key);
    }
  } catch {
    return { ok: false, error: 'record', comment: 'invalid public key' };
  }
  // k= rsa with an Ed25519 key or the reverse: the record does not say what it holds.
  if (key.asymmetricKeyType !== record.type) {
    return { ok: false, error: 'record', comment: 'unknown key type' };
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return { ok: true, record, key, bits };
}

/** The key record text at `name`: TXT records' strings joined, whitespace removed. */
export async function lookupKey(resolver: Resolver, name: string): Promise<KeyLookup> {
  let records: string[];
  try {
    records = await resolver.txt(name);
  } catch (e) {
    if (e instanceof DNSError && e.kind === 'notfound') {
      return { ok: false, error: 'none', comment: 'no key' };
    }
    const code =
      e instanceof DNSError
        ? e.code || (e.kind === 'temporary' ? 'ESERVFAIL' : 'EFORMERR')
        : (e as Error).message;
    return { ok: false, error: 'dns', comment: `DNS failure: ${code}` };
  }
  // RFC 6376 §3.6.2.2: with several records the result is undefined; the first is used.
  const first = records[0];
  if (first === undefined) return { ok: false, error: 'none', comment: 'no key' };
  const text = first.replace(/[ \t\r\n]+/g, '');
  let hit = parsed.get(text);
  if (!hit) {
    hit = parse(text);
    if (parsed.size >= MAX_KEYS) parsed.delete(parsed.keys().next().value as string);
    parsed.set(text, hit);
  }
  return hit;
}

/**
 * Whether `b` signs `data` with `key`: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 §3.3.1),
 * or Ed25519 over the SHA-256 hash of the data (RFC 8463 §3). A malformed signature is
 * simply not a valid one.
 */
export function checkSignature(
  algorithm: 'rsa-sha256' | 'ed25519-sha256',
  key: KeyObject,
  data: Buffer,
  b: Buffer,
): boolean {
  try {
    if (algorithm === 'rsa-sha256') return verify('sha256', data, key, b);
    return verify(null, createHash('sha256').update(data).digest(), key, b);
  } catch {
    return false;
  }
}
