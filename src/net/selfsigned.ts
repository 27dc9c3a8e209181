// Self-signed server certificates for localserve and tests. The RSA key comes from
// node's asynchronous generator (off the event loop); forge only assembles and signs
// the certificate.
import { generateKeyPair, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, open, rename } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const generateKeyPairAsync = promisify(generateKeyPair);

export interface SelfSignedOptions {
  /** DNS names; the first is the subject CN. */
  hostnames: string[];
  /** IP addresses added as iPAddress SANs. */
  ips?: string[];
  /** Validity in days from now; default 365. */
  days?: number;
}

export interface SelfSigned {
  certPem: string;
  keyPem: string;
}

export async function generateSelfSigned(opts: SelfSignedOptions): Promise<SelfSigned> {
  const first = opts.hostnames[0];
  if (first === undefined) throw new TypeError('self-signed certificate needs a hostname');
  const { privateKey, publicKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // Loaded here: only localserve and tests need it, and it costs about 10 MB of memory.
  const { default: forge } = await import('node-forge');
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = randomSerial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 3600_000);
  cert.validity.notAfter = new Date(now + (opts.days ?? 365) * 86_400_000);
  const subject = [{ name: 'commonName', value: first }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: altNames(opts.hostnames, opts.ips ?? []) },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(privateKey), forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKey };
}

/** 16 random bytes, high bit clear so the DER integer is positive (RFC 5280 §4.1.2.2). */
function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex');
}

// RFC 5280 §4.2.1.6: dNSName is type 2, iPAddress is type 7.
function altNames(hostnames: string[], ips: string[]) {
  return [...hostnames.map((value) => ({ type: 2, value })), ...ips.map((ip) => ({ type: 7, ip }))];
}

export interface KeyPairFiles {
  cert_file: string;
  key_file: string;
}

/**
 * Create `dir/localhost.crt` and `dir/localhost.key` (mode 0600) unless both exist.
 * Names that are IP addresses become iPAddress SANs.
 */
export async function ensureSelfSigned(dir: string, hostnames: string[]): Promise<KeyPairFiles> {
  const files = { cert_file: join(dir, 'localhost.crt'), key_file: join(dir, 'localhost.key') };
  if ((await exists(files.cert_file)) && (await exists(files.key_file))) return files;
  const names = hostnames.filter((h) => isIP(h) === 0);
  const ips = hostnames.filter((h) => isIP(h) !== 0);
  const { certPem, keyPem } = await generateSelfSigned({
    hostnames: names.length > 0 ? names : ['localhost'],
    ips,
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Key first, each written to a temporary name and renamed, so a crash never leaves
  // a certificate without its key.
  await writeAtomic(files.key_file, keyPem, 0o600);
  await writeAtomic(files.cert_file, certPem, 0o644);
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path, constants.F_OK);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp${process.pid}`;
  const fh = await open(tmp, 'w', mode);
  try {
    // Before the data: a temp file left by a crash keeps its old mode, and the umask
    // may have narrowed this one.
    await fh.chmod(mode);
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}
