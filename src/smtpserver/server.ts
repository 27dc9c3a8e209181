// The SMTP listeners: delivery (25) and submission (587) with STARTTLS, submissions (465)
// with implicit TLS.
import { ConnectionCounter, startConnectionServer, type ConnectionServer } from '../net/index.js';
import { SmtpConn } from './conn.js';
import { COMMANDS } from './commands.js';
import type { SmtpContext } from './context.js';

export type SmtpServer = ConnectionServer;

export async function startSmtpServer(
  ctx: Omit<SmtpContext, 'isShuttingDown'>,
  host: string,
  port: number,
): Promise<SmtpServer> {
  let server: SmtpServer | null = null;
  const full: SmtpContext = { ...ctx, isShuttingDown: () => server?.shuttingDown === true };
  const implicitTLS = ctx.kind === 'submissions';
  if (implicitTLS && !ctx.tls) throw new Error('submissions listener needs a TLS configuration');
  server = await startConnectionServer({
    host,
    port,
    name: `${ctx.kind} listener`,
    implicitTLS: implicitTLS ? ctx.tls! : null,
    connection: (sock) => new SmtpConn(sock, full, implicitTLS, COMMANDS),
    // Handshakes in progress are held to the same per-network limit as connections.
    pendingHandshakes: new ConnectionCounter({ limits: [...ctx.limiters.connections.limits] }),
    log: ctx.log,
  });
  return server;
}
