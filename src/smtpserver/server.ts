// The SMTP listeners: delivery (25) and submission (587) with STARTTLS, submissions (465)
// with implicit TLS.
import net from 'node:net';
import tls from 'node:tls';
import { listenOn, acceptImplicitTLS } from '../net/index.js';
import { SmtpConn } from './conn.js';
import type { SmtpContext } from './context.js';

export type SmtpServer = { port: number; close(): Promise<void>; readonly connections: number };

export async function startSmtpServer(
  ctx: Omit<SmtpContext, 'isShuttingDown'>,
  host: string,
  port: number,
): Promise<SmtpServer> {
  const conns = new Set<SmtpConn>();
  const running = new Set<Promise<void>>();
  let shuttingDown = false;
  const full: SmtpContext = { ...ctx, isShuttingDown: () => shuttingDown };
  const implicitTLS = ctx.kind === 'submissions';
  if (implicitTLS && !ctx.tls) throw new Error('submissions listener needs a TLS configuration');

  const handle = async (socket: net.Socket) => {
    socket.on('error', () => {});
    let sock: net.Socket = socket;
    if (implicitTLS) {
      try {
        // Client certificates are requested, never required: a registered public key
        // logs the account in (spec/smtp.md §1.4).
        sock = await acceptImplicitTLS(socket, {
          ...ctx.tls!,
          requestCert: true,
          rejectUnauthorized: false,
        } as tls.TlsOptions);
      } catch {
        return;
      }
    }
    const c = new SmtpConn(sock, full, implicitTLS);
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
  const bound = await listenOn(server, host, port, `${ctx.kind} listener`);
  return {
    port: bound,
    get connections() {
      return conns.size;
    },
    close: async () => {
      shuttingDown = true;
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const c of conns) c.shutdown();
      // A message being received or delivered finishes and gets its reply first.
      const all = Promise.allSettled([...running]);
      await Promise.race([all, new Promise((r) => setTimeout(r, 10_000).unref())]);
      for (const c of conns) c.socket.destroy();
      await closed;
    },
  };
}
