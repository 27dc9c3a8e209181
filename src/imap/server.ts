// The IMAP listener: IMAP with STARTTLS (143) or implicit TLS (993).
import { ConnectionCounter, startConnectionServer, type ConnectionServer } from '../net/index.js';
import { Conn } from './connection.js';
import type { ImapContext } from './context.js';

export type ImapServer = ConnectionServer;

export async function startImapServer(
  ctx: Omit<ImapContext, 'isShuttingDown'>,
  host: string,
  port: number,
): Promise<ImapServer> {
  let server: ImapServer | null = null;
  const full: ImapContext = { ...ctx, isShuttingDown: () => server?.shuttingDown === true };
  const implicitTLS = ctx.service === 'imaps';
  if (implicitTLS && !ctx.tls) throw new Error('imaps listener needs a TLS configuration');
  server = await startConnectionServer({
    host,
    port,
    name: `${ctx.service} listener`,
    implicitTLS: implicitTLS ? ctx.tls! : null,
    connection: (sock) => new Conn(sock, full, implicitTLS),
    // Handshakes in progress are held to the same per-network limit as connections.
    pendingHandshakes: new ConnectionCounter({ limits: [...ctx.limiters.connections.limits] }),
    log: ctx.log,
  });
  return server;
}
