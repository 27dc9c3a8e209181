// Listeners for protocols whose servers are not part of this build yet: they accept the
// connection, answer with the protocol's "service not available" greeting and close, so
// clients fail fast with a clear message instead of hanging.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../log/index.js';
import { listenOn } from '../net/index.js';

export type Service = { port: number; close(): Promise<void> };

export type PlaceholderOptions = {
  protocol: 'smtp' | 'imap';
  host: string;
  port: number;
  hostname: string;
  /** Implicit TLS (submissions, imaps): the greeting is sent after the handshake. */
  tls: tls.SecureContextOptions | null;
  log: Logger;
};

export async function startPlaceholder(o: PlaceholderOptions): Promise<Service> {
  // RFC 5321 §3.8: 421 closes the session; RFC 9051 §7.1.5: BYE in the greeting.
  const greeting =
    o.protocol === 'smtp'
      ? `421 4.3.2 ${o.hostname} service not available yet\r\n`
      : `* BYE [UNAVAILABLE] ${o.hostname} IMAP service not available yet\r\n`;
  const sockets = new Set<net.Socket>();
  const onConn = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.setTimeout(30_000, () => s.destroy());
    s.end(greeting);
  };
  const server = o.tls
    ? tls.createServer({ ...o.tls, handshakeTimeout: 60_000 }, onConn)
    : net.createServer(onConn);
  server.on('tlsClientError', () => {});
  const port = await listenOn(server, o.host, o.port, `${o.protocol} listener`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}
