// Binding a server to one address. "::" is bound IPv6-only so that a listener with both
// "0.0.0.0" and "::" (the default) does not clash with itself on Linux.
import type { AddressInfo, Server } from 'node:net';

/** A started listener of any kind (IMAP, SMTP, HTTP): its port, and how to close it. */
export type Service = { port: number; close(): Promise<void> };

/** Listens on host:port and resolves with the bound port; errors name the address. */
export function listenOn(
  server: Server,
  host: string,
  port: number,
  what: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const e = new Error(`${what} on ${host} port ${port}: ${err.message}`, { cause: err });
      (e as NodeJS.ErrnoException).code = err.code;
      reject(e);
    };
    server.once('error', onError);
    server.listen({ host, port, ipv6Only: host === '::' }, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
