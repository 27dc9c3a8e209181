// The IMAP listener: IMAP with STARTTLS (143) or implicit TLS (993).
import net from 'node:net';
import tls from 'node:tls';
import { listenOn, acceptImplicitTLS } from '../net/index.js';
import { Conn, type ImapContext } from './connection.js';

export type ImapServer = { port: number; close(): Promise<void>; connections: number };

export async function startImapServer(
  ctx: Omit<ImapContext, 'isShuttingDown'>,
  host: string,
  port: number,
): Promise<ImapServer> {
  const conns = new Set<Conn>();
  const running = new Set<Promise<void>>();
  let shuttingDown = false;
  const full: ImapContext = { ...ctx, isShuttingDown: () => shuttingDown };
  const implicitTLS = ctx.service === 'imaps';
  if (implicitTLS && !ctx.tls) throw new Error('imaps listener needs a TLS configuration');

  const handle = async (socket: net.Socket) => {
    socket.on('error', () => {});
    let sock: net.Socket = socket;
    if (implicitTLS) {
      try {
        // Client certificates are requested, never required: a registered public key
        // logs the account in (spec/imap.md §1.3); there is no CA check.
        sock = await acceptImplicitTLS(socket, {
          ...ctx.tls!,
          requestCert: true,
          rejectUnauthorized: false,
        } as tls.TlsOptions);
      } catch {
        return;
      }
    }
    const c = new Conn(sock, full, implicitTLS);
    conns.add(c);
    try {
      await c.serve();
    } finally {
      conns.delete(c);
    }
  };

  const server = net.createServer((s) => {
    const p = handle(s);
    running.add(p);
    void p.finally(() => running.delete(p));
  });
  const bound = await listenOn(server, host, port, `${ctx.service} listener`);
  return {
    port: bound,
    get connections() {
      return conns.size;
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
