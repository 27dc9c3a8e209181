// Identifying an account by a TLS client certificate: by its public key alone, a
// fingerprint registered for the account as with SSH keys. No CA, name or expiry check:
// the registration is the trust.
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { publicKeyFingerprint, type GlobalDB, type TLSPublicKey } from '../store/index.js';

/** The registered key a client certificate presents, with its fingerprint. */
export type CertificateKey = Pick<TLSPublicKey, 'account' | 'loginAddress' | 'noIMAPPreauth'> & {
  fingerprint: string;
};

/**
 * The registered key of the client certificate on `socket`, or null. Over the failed-auth
 * limit (`networkAllowed` false) certificates are not even looked at, so that trying keys
 * does not get around the limit.
 */
export async function certificateKey(
  socket: Socket,
  global: Pick<GlobalDB, 'tlsPublicKey'>,
  networkAllowed: () => boolean,
): Promise<CertificateKey | null> {
  if (!(socket instanceof TLSSocket)) return null;
  const peer = socket.getPeerCertificate(false);
  if (!peer || !peer.raw) return null;
  if (!networkAllowed()) return null;
  const spki = new X509Certificate(peer.raw).publicKey.export({ type: 'spki', format: 'der' });
  const fingerprint = publicKeyFingerprint(spki);
  const key = await global.tlsPublicKey(fingerprint);
  if (!key) return null;
  return {
    account: key.account,
    loginAddress: key.loginAddress,
    noIMAPPreauth: key.noIMAPPreauth,
    fingerprint,
  };
}
