// A listener that runs one protocol connection per socket (IMAP, SMTP): implicit TLS
// when configured, tracking of live connections, and a graceful close that lets
// in-flight commands finish.
import net from 'node:net';
import type tls from 'node:tls';
import { listenOn } from './listen.js';
import { ConnectionCounter } from './ratelimit.js';
import { acceptImplicitTLS } from './starttls.js';
import type { Logger } from '../log/index.js';

export interface ServedConnection {
  socket: net.Socket;
  serve(): Promise<void>;
  /** Asks the connection to end: at once when idle, after its command when busy. */
  shutdown(): void;
}

export type ConnectionServer = {
  port: number;
  close(): Promise<void>;
  readonly connections: number;
  /** close() has begun: connections should wind down. */
  readonly shuttingDown: boolean;
};

export async function startConnectionServer(opts: {
  host: string;
  port: number;
  /** For errors and logs, e.g. "imaps listener". */
  name: string;
  /**
   * TLS options for implicit TLS (imaps, submissions); null for plaintext first. Client
   * certificates are requested, never required: a registered public key logs the
   * account in (the key is the credential, as with SSH); there is no CA check.
   */
  implicitTLS: tls.TlsOptions | null;
  connection: (socket: net.Socket) => ServedConnection;
  /**
   * Implicit TLS: connections still in their handshake, per masked IP class. Over the
   * limit a new connection is closed at once: it cannot be told why before TLS, and a
   * client that holds handshakes open must not escape the per-network connection limit,
   * which the protocol applies only once the handshake is done.
   */
  pendingHandshakes?: ConnectionCounter;
  handshakeTimeoutMs?: number;
  /** Where connections closed before their protocol starts are logged. */
  log?: Logger;
}): Promise<ConnectionServer> {
  const conns = new Set<ServedConnection>();
  const running = new Set<Promise<void>>();

  const implicitTLS: tls.TlsOptions | null = opts.implicitTLS && {
    ...opts.implicitTLS,
    requestCert: true,
    rejectUnauthorized: false,
  };

  const pending = opts.pendingHandshakes ?? new ConnectionCounter();

  const handle = async (socket: net.Socket) => {
    socket.on('error', () => {});
    let sock: net.Socket = socket;
    if (implicitTLS) {
      const ip = socket.remoteAddress ?? '';
      if (!ip || !pending.tryAcquire(ip)) {
        opts.log?.info(
          { remote: ip, listener: opts.name },
          'connection closed: too many TLS handshakes in progress from this network',
        );
        socket.destroy();
        return;
      }
      try {
        sock = await acceptImplicitTLS(socket, implicitTLS, {
          handshakeTimeoutMs: opts.handshakeTimeoutMs,
        });
      } catch (e) {
        opts.log?.debug(
          { remote: ip, listener: opts.name, err: (e as Error).message },
          'TLS handshake failed',
        );
        return;
      } finally {
        pending.release(ip);
      }
    }
    const c = opts.connection(sock);
    conns.add(c);
    try {
      await c.serve();
    } finally {
      conns.delete(c);
    }
  };

  // Replies are batched per command already; Nagle's algorithm would only add latency.
  const server = net.createServer({ noDelay: true }, (s) => {
    const p = handle(s);
    running.add(p);
    void p.finally(() => running.delete(p));
  });
  const bound = await listenOn(server, opts.host, opts.port, opts.name);
  let shuttingDown = false;
  return {
    port: bound,
    get connections() {
      return conns.size;
    },
    get shuttingDown() {
      return shuttingDown;
    },
    close: async () => {
      shuttingDown = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const c of conns) c.shutdown();
      // In-flight commands finish and get their reply; give them a while.
      const all = Promise.allSettled([...running]);
      await Promise.race([all, new Promise((r) => setTimeout(r, 10_000).unref())]);
      for (const c of conns) c.socket.destroy();
      await closed;
    },
  };
}
