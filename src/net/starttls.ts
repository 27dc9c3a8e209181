// Server side of a TLS handshake on an accepted TCP connection: for STARTTLS and for
// implicit TLS (IMAPS, submissions) alike, with a handshake deadline.
import type { Socket } from 'node:net';
import { TLSSocket, type TlsOptions } from 'node:tls';

/** TLS handshake deadline: ample for any client, and a stalled handshake holds little. */
export const HANDSHAKE_TIMEOUT_MS = 60_000;

export interface UpgradeOptions {
  handshakeTimeoutMs?: number;
  /**
   * Bytes already read from the socket after the STARTTLS command. They are the start of
   * the handshake: fed to TLS rather than dropped, so nothing sent in plaintext before
   * the handshake can be taken as a command.
   */
  buffered?: Buffer;
}

export class TlsHandshakeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TlsHandshakeError';
  }
}

export class TlsHandshakeTimeoutError extends TlsHandshakeError {
  constructor(ms: number) {
    super(`TLS handshake not completed within ${ms} ms`);
    this.name = 'TlsHandshakeTimeoutError';
  }
}

/**
 * Run the server side of a TLS handshake on `socket`. Resolves with the TLS socket once
 * the handshake is done; on failure or timeout the connection is destroyed and the
 * promise rejects with a TlsHandshakeError. The caller must have stopped reading from
 * `socket` and flushed its own writes.
 */
export function upgradeToTLS(
  socket: Socket,
  options: TlsOptions,
  opts: UpgradeOptions = {},
): Promise<TLSSocket> {
  const timeoutMs = opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    if (opts.buffered && opts.buffered.length > 0) socket.unshift(opts.buffered);
    // Data in the socket's readable buffer is passed to TLS by the TLSSocket itself.
    const tls = new TLSSocket(socket, { ...options, isServer: true });
    const fail = (err: TlsHandshakeError) => {
      cleanup();
      tls.destroy();
      socket.destroy();
      reject(err);
    };
    const onSecure = () => {
      cleanup();
      resolve(tls);
    };
    const onError = (err: Error) =>
      fail(new TlsHandshakeError(`TLS handshake: ${err.message}`, { cause: err }));
    const onClose = () => fail(new TlsHandshakeError('connection closed during TLS handshake'));
    const timer = setTimeout(() => fail(new TlsHandshakeTimeoutError(timeoutMs)), timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      tls.off('secure', onSecure);
      tls.off('error', onError);
      tls.off('close', onClose);
    }
    tls.once('secure', onSecure);
    tls.on('error', onError);
    tls.once('close', onClose);
  });
}

/**
 * Deadline for an implicit-TLS handshake, counted from the connection's acceptance. Shorter
 * than for STARTTLS: a connection that has not finished its handshake has not been
 * counted against its network's connection limit yet, only against the pending one.
 */
export const IMPLICIT_HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * Handshake on a freshly accepted connection of an implicit-TLS listener. The TLS state
 * (tens of kilobytes) is only created once the client has sent its first bytes, so a
 * connection that never starts a handshake costs a plain socket until the deadline.
 */
export function acceptImplicitTLS(
  socket: Socket,
  options: TlsOptions,
  opts: { handshakeTimeoutMs?: number } = {},
): Promise<TLSSocket> {
  const timeoutMs = opts.handshakeTimeoutMs ?? IMPLICIT_HANDSHAKE_TIMEOUT_MS;
  const started = Date.now();
  return new Promise<void>((resolve, reject) => {
    const fail = (err: TlsHandshakeError) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onReadable = () => {
      cleanup();
      if (socket.readableLength === 0) {
        fail(new TlsHandshakeError('connection closed before the TLS handshake'));
      } else resolve();
    };
    const onClose = () => fail(new TlsHandshakeError('connection closed before the TLS handshake'));
    const timer = setTimeout(() => fail(new TlsHandshakeTimeoutError(timeoutMs)), timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('close', onClose);
    }
    socket.on('readable', onReadable);
    socket.once('close', onClose);
  }).then(() =>
    upgradeToTLS(socket, options, {
      handshakeTimeoutMs: Math.max(1, timeoutMs - (Date.now() - started)),
    }),
  );
}
