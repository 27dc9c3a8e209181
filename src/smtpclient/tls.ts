// Client side of a TLS handshake on a connected socket: STARTTLS (RFC 3207 §4) and
// implicit TLS (RFC 8314 §3.3), with a deadline.
import { isIP, type Socket } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';

export type HandshakeOptions = {
  /** Verify the certificate chain and that it matches servername. */
  verify: boolean;
  /** SNI (for a DNS name) and the name the certificate must match. */
  servername?: string;
  ca?: string | Buffer | Array<string | Buffer>;
  timeoutMs: number;
};

/** Runs the handshake; rejects with an Error describing why it failed. */
export function clientHandshake(socket: Socket, o: HandshakeOptions): Promise<TLSSocket> {
  const opts: tls.ConnectionOptions = { socket, rejectUnauthorized: o.verify };
  if (o.ca !== undefined) opts.ca = o.ca;
  const name = o.servername;
  if (name !== undefined && name !== '') {
    // RFC 6066 §3: SNI carries DNS names only; `host` is the name checked in the certificate.
    if (isIP(name) === 0) opts.servername = name;
    opts.host = name;
  }
  return new Promise((resolve, reject) => {
    const sock = tls.connect(opts);
    const fail = (err: Error) => {
      cleanup();
      sock.destroy();
      socket.destroy();
      reject(err);
    };
    const onSecure = () => {
      cleanup();
      resolve(sock);
    };
    const onError = (err: Error) =>
      fail(new Error(`TLS handshake: ${err.message}`, { cause: err }));
    const onClose = () => fail(new Error('connection closed during TLS handshake'));
    const timer =
      o.timeoutMs > 0
        ? setTimeout(
            () => fail(new Error(`TLS handshake not done within ${o.timeoutMs / 1000} s`)),
            o.timeoutMs,
          )
        : null;
    function cleanup() {
      if (timer) clearTimeout(timer);
      sock.off('secureConnect', onSecure);
      sock.off('error', onError);
      sock.off('close', onClose);
      // Errors after this point surface through reads and writes.
      sock.on('error', () => {});
    }
    sock.once('secureConnect', onSecure);
    sock.on('error', onError);
    sock.once('close', onClose);
  });
}
