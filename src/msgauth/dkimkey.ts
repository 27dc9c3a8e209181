// DKIM key generation and the DNS TXT record that publishes a public key.
import { createPublicKey, generateKeyPair, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import type { DkimAlgorithm, DkimKey } from './dkimsign.js';

export type DkimKeyKind = 'rsa2048' | 'rsa4096' | 'ed25519';

/** A new private key (PKCS#8 PEM) with its DNS public key value. */
export interface GeneratedDkimKey {
  pem: string;
  algorithm: DkimAlgorithm;
  publicKeyBase64: string;
}

const RSA_BITS: Record<string, number> = { rsa2048: 2048, rsa4096: 4096 };
const generateKeyPairAsync = promisify(generateKeyPair);

function checkKind(kind: DkimKeyKind): void {
  if (kind !== 'ed25519' && RSA_BITS[kind] === undefined) {
    throw new TypeError(`unknown DKIM key kind ${JSON.stringify(kind)}`);
  }
}

function result(algorithm: DkimAlgorithm, privateKey: KeyObject): GeneratedDkimKey {
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { pem, algorithm, publicKeyBase64: keyObjectPublicBase64(privateKey) };
}

/**
 * Generates a signing key. Synchronous: RSA 4096 can take a second or more, so servers
 * should prefer generateDkimKeyAsync.
 */
export function generateDkimKey(kind: DkimKeyKind): GeneratedDkimKey {
  checkKind(kind);
  if (kind === 'ed25519')
    return result('ed25519-sha256', generateKeyPairSync('ed25519').privateKey);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: RSA_BITS[kind] as number });
  return result('rsa-sha256', privateKey);
}

/** generateDkimKey off the event loop. */
export async function generateDkimKeyAsync(kind: DkimKeyKind): Promise<GeneratedDkimKey> {
  checkKind(kind);
  if (kind === 'ed25519') {
    return result('ed25519-sha256', (await generateKeyPairAsync('ed25519')).privateKey);
  }
  const pair = await generateKeyPairAsync('rsa', { modulusLength: RSA_BITS[kind] as number });
  return result('rsa-sha256', pair.privateKey);
}

function keyObjectPublicBase64(key: KeyObject): string {
  const pub = createPublicKey(key);
  if (pub.asymmetricKeyType === 'ed25519') {
    // RFC 8463 §4.2: p= is the raw 32-byte Ed25519 public key.
    const x = pub.export({ format: 'jwk' }).x;
    if (x === undefined) throw new TypeError('Ed25519 key without public value');
    return Buffer.from(x, 'base64url').toString('base64');
  }
  // RFC 6376 §3.6.1: p= is the DER SubjectPublicKeyInfo of the RSA key.
  return pub.export({ type: 'spki', format: 'der' }).toString('base64');
}

/** The base64 p= value for a key's public half. */
export function publicKeyBase64(key: DkimKey): string {
  return keyObjectPublicBase64(key.privateKey);
}

/**
 * The TXT record value for <selector>._domainkey.<domain>: "v=DKIM1; k=rsa; p=…" or
 * "v=DKIM1; k=ed25519; p=…" (RFC 6376 §3.6.1, RFC 8463 §4.2). No h= tag: every hash
 * verifiers still accept (RFC 8301) is SHA-256.
 */
export function dkimRecord(key: DkimKey | { algorithm: DkimAlgorithm; publicKeyBase64: string }) {
  const p = 'privateKey' in key ? publicKeyBase64(key) : key.publicKeyBase64;
  const k = key.algorithm === 'ed25519-sha256' ? 'ed25519' : 'rsa';
  return `v=DKIM1; k=${k}; p=${p}`;
}
