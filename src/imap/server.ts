// The IMAP listener: IMAP with STARTTLS (143) or implicit TLS (993).
import type tls from 'node:tls';
import { startConnectionServer, type ConnectionServer } from '../net/index.js';
import { Conn, type ImapContext } from './connection.js';

export type ImapServer = ConnectionServer;

export async function startImapServer(
  ctx: Omit<ImapContext, 'isShuttingDown'>,
  host: string,
  port: number,
): Promise<ImapServer> {
  let shuttingDown = false;
  const full: ImapContext = { ...ctx, isShuttingDown: () => shuttingDown };
  const implicitTLS = ctx.service === 'imaps';
  if (implicitTLS && !ctx.tls) throw new Error('imaps listener needs a TLS configuration');
  const server = await startConnectionServer({
    host,
    port,
    name: `${ctx.service} listener`,
    // Client certificates are requested, never required: a registered public key logs
    // the account in (spec/imap.md §1.3); there is no CA check.
    implicitTLS: implicitTLS
      ? ({ ...ctx.tls!, requestCert: true, rejectUnauthorized: false } as tls.TlsOptions)
      : null,
    connection: (sock) => new Conn(sock, full, implicitTLS),
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
