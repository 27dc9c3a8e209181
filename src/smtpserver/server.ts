// The SMTP listeners: delivery (25) and submission (587) with STARTTLS, submissions (465)
// with implicit TLS.
import type tls from 'node:tls';
import { startConnectionServer, type ConnectionServer } from '../net/index.js';
import { SmtpConn } from './conn.js';
import type { SmtpContext } from './context.js';

export type SmtpServer = ConnectionServer;

export async function startSmtpServer(
  ctx: Omit<SmtpContext, 'isShuttingDown'>,
  host: string,
  port: number,
): Promise<SmtpServer> {
  let shuttingDown = false;
  const full: SmtpContext = { ...ctx, isShuttingDown: () => shuttingDown };
  const implicitTLS = ctx.kind === 'submissions';
  if (implicitTLS && !ctx.tls) throw new Error('submissions listener needs a TLS configuration');
  const server = await startConnectionServer({
    host,
    port,
    name: `${ctx.kind} listener`,
    // Client certificates are requested, never required: a registered public key logs
    // the account in (spec/smtp.md §1.4).
    implicitTLS: implicitTLS
      ? ({ ...ctx.tls!, requestCert: true, rejectUnauthorized: false } as tls.TlsOptions)
      : null,
    connection: (sock) => new SmtpConn(sock, full, implicitTLS),
  });
  return {
    port: server.port,
    get connections() {
      return server.connections;
    },
    close: () => {
      shuttingDown = true;
      return server.close();
    },
  };
}
