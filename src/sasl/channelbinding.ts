// Channel-binding data of a TLS connection for SCRAM-*-PLUS.
import type { TLSSocket } from 'node:tls';
import type { ChannelBindingName, SaslTlsInfo } from './types.js';

// RFC 9266 §2: 32 bytes from the exporter with this label and an empty context.
const EXPORTER_LABEL = 'EXPORTER-Channel-Binding';
const EXPORTER_LENGTH = 32;
const TLS_UNIQUE_VERSIONS = new Set(['TLSv1', 'TLSv1.1', 'TLSv1.2']);

export interface ChannelBindingOptions {
  /** Which end of the connection `sock` is; default "server". */
  side?: 'server' | 'client';
}

/**
 * The SaslContext `tls` object for a connected TLS socket. Values are computed on demand
 * (a TLS 1.2 renegotiation changes tls-unique):
 * - tls-exporter only on TLS 1.3 (RFC 9266 §3: on TLS 1.2 it needs the extended master
 *   secret, which node does not let us check);
 * - tls-unique only on TLS 1.2 and earlier (RFC 9266 §3 deprecates it for TLS 1.3). It is
 *   the first Finished message of the latest handshake (RFC 5929 §3.1): the client's on
 *   a full handshake, the server's on an abbreviated (resumed) one.
 */
export function channelBindingFromSocket(
  sock: TLSSocket,
  opts: ChannelBindingOptions = {},
): SaslTlsInfo {
  const side = opts.side ?? 'server';
  return {
    version: sock.getProtocol() ?? '',
    channelBinding(type: ChannelBindingName): Buffer | null {
      const version = sock.getProtocol();
      if (type === 'tls-exporter') {
        return version === 'TLSv1.3'
          ? sock.exportKeyingMaterial(EXPORTER_LENGTH, EXPORTER_LABEL, Buffer.alloc(0))
          : null;
      }
      if (type === 'tls-unique') {
        if (version === null || !TLS_UNIQUE_VERSIONS.has(version)) return null;
        // The client sends its Finished first unless the session was resumed.
        const ownFinishedFirst = sock.isSessionReused() === (side === 'server');
        return (ownFinishedFirst ? sock.getFinished() : sock.getPeerFinished()) ?? null;
      }
      return null;
    },
  };
}
