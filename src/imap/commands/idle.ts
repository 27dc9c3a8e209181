// IDLE (RFC 2177, RFC 9051 §6.3.13): changes from other sessions are pushed as they
// happen until the client sends DONE.
import type { Handler } from './types.js';
import { CloseConnection } from '../errors.js';
import type { AuthSession } from '../session.js';
import { LineTooLongError, ReadTimeoutError } from '../../net/index.js';

// RFC 9051 §6.3.13 and RFC 2177 §3 IDLE; syntax RFC 9051 §9 "idle".
export const idle: Handler<AuthSession> = async (c, tag, p) => {
  p.end();
  c.send('+ idling\r\n');
  await c.applyPending();
  await c.flush();
  c.reader.setTimeout(c.timeouts.readAuth);
  const line = c.responseLine().then(
    (l) => ({ line: l }),
    (err: unknown) => ({ err }),
  );
  for (;;) {
    const r = await Promise.race([line, c.waitForChanges().then(() => null)]);
    if (r === null) {
      if (c.isShuttingDown) {
        c.untagged('BYE shutting down');
        await c.flush();
        throw new CloseConnection();
      }
      await c.applyPending();
      await c.flush();
      continue;
    }
    if ('err' in r) {
      if (r.err instanceof ReadTimeoutError) {
        c.untagged('BYE inactive');
        await c.flush().catch(() => {});
        throw new CloseConnection();
      }
      if (r.err instanceof LineTooLongError) {
        // As for a command line: the rest of such a line cannot be told from commands.
        c.untagged(`BYE [TOOBIG] line longer than ${r.err.limit} bytes`);
        await c.flush().catch(() => {});
        throw new CloseConnection();
      }
      throw r.err;
    }
    if (r.line.toString('latin1').toUpperCase() !== 'DONE') {
      // RFC 9051 §6.3.13 allows only DONE here; anything else means the client lost
      // track of the session, so the connection ends.
      c.send(`${tag} BAD IDLE expected DONE\r\n`);
      await c.flush();
      throw new CloseConnection();
    }
    return;
  }
};
