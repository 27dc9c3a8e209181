// Server TLS configuration: certificates loaded once, chosen per connection by SNI.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';

export const MIN_TLS_VERSION = 'TLSv1.2';

export interface KeyPairConfig {
  cert_file: string;
  key_file: string;
}

export interface LoadedCertificate {
  certFile: string;
  keyFile: string;
  /** Lower-case DNS names from the SANs, or the CN when there are no DNS SANs. */
  names: string[];
  notAfter: Date;
  context: SecureContext;
  certPem: Buffer;
  keyPem: Buffer;
}

/**
 * Options for tls.createServer, new TLSSocket or the STARTTLS upgrade. tls.Server builds
 * its default context from cert and key; a TLSSocket uses secureContext.
 */
export interface TlsServerOptions extends TlsOptions {
  secureContext: SecureContext;
  cert: Buffer;
  key: Buffer;
  SNICallback: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
  minVersion: typeof MIN_TLS_VERSION;
}

export class TlsConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TlsConfigError';
  }
}

/**
 * Read every key pair (certificate chain, leaf first, and private key) and build the
 * server options. Certificates are picked by SNI name; the first is the default.
 */
export function loadTlsContext(keys: KeyPairConfig[]): TlsServerOptions {
  if (keys.length === 0) throw new TypeError('no TLS certificates configured');
  const certs = keys.map(loadKeyPair);
  const first = certs[0] as LoadedCertificate;
  return {
    secureContext: first.context,
    cert: first.certPem,
    key: first.keyPem,
    minVersion: MIN_TLS_VERSION,
    sessionIdContext: SESSION_ID_CONTEXT,
    SNICallback: (servername, cb) => cb(null, selectCertificate(certs, servername).context),
  };
}

const SESSION_ID_CONTEXT = 'tidings';

/** Load and check one certificate/key pair; errors name the file at fault. */
export function loadKeyPair(k: KeyPairConfig): LoadedCertificate {
  const certPem = readPem(k.cert_file, 'certificate');
  const keyPem = readPem(k.key_file, 'private key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw new TlsConfigError(`${k.cert_file}: not a valid certificate: ${msg(err)}`, k.cert_file, {
      cause: err,
    });
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new TlsConfigError(`${k.key_file}: not a valid private key: ${msg(err)}`, k.key_file, {
      cause: err,
    });
  }
  if (!x509.checkPrivateKey(key)) {
    throw new TlsConfigError(
      `${k.key_file}: private key does not match certificate ${k.cert_file}`,
      k.key_file,
    );
  }
  // A session id context lets clients resume sessions also when a client certificate
  // is requested (OpenSSL refuses resumption without one).
  const context = createSecureContext({
    cert: certPem,
    key: keyPem,
    minVersion: MIN_TLS_VERSION,
    sessionIdContext: SESSION_ID_CONTEXT,
  });
  return {
    certFile: k.cert_file,
    keyFile: k.key_file,
    names: certificateNames(x509),
    notAfter: new Date(x509.validTo),
    context,
    certPem,
    keyPem,
  };
}

function readPem(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new TlsConfigError(`${file}: reading ${what}: ${msg(err)}`, file, { cause: err });
  }
}

function msg(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** DNS SANs (RFC 6125 §6.4.4: the CN only counts when there are none). */
export function certificateNames(x509: X509Certificate): string[] {
  const names: string[] = [];
  for (const part of (x509.subjectAltName ?? '').split(', ')) {
    if (part.startsWith('DNS:')) names.push(normalize(part.slice(4)));
  }
  if (names.length > 0) return names;
  const cn = /^CN=(.*)$/m.exec(x509.subject);
  return cn?.[1] ? [normalize(cn[1])] : [];
}

function normalize(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/**
 * The certificate for an SNI name: an exact name first, then a wildcard covering one
 * left-most label (RFC 6125 §6.4.3), else the first certificate.
 */
export function selectCertificate<T extends { names: string[] }>(
  certs: T[],
  servername: string,
): T {
  const name = normalize(servername);
  const exact = certs.find((c) => c.names.includes(name));
  if (exact) return exact;
  const dot = name.indexOf('.');
  if (dot > 0) {
    const wildcard = `*${name.slice(dot)}`;
    const wild = certs.find((c) => c.names.includes(wildcard));
    if (wild) return wild;
  }
  return certs[0] as T;
}
