// The COMPRESS part of the IMAP benchmark: a client fetching whole messages of a
// 2,000-message mailbox over TLS, plain and with COMPRESS=DEFLATE (RFC 4978): message
// data per second, and octets on the wire.
import { ImapClient } from './imapclient.js';

const RUNS = 3;

type Run = { seconds: number; wire: number };

async function fetchAll(c: ImapClient): Promise<Run> {
  const before = c.socket.bytesRead;
  const t = performance.now();
  await c.ok('FETCH 1:* (BODY.PEEK[])');
  return { seconds: (performance.now() - t) / 1000, wire: c.socket.bytesRead - before };
}

const mbps = (bytes: number, s: number) => `${(bytes / s / 1e6).toFixed(1)} MB/s`;

/**
 * Client side: `login` logs a new connection in to the account whose `mailbox` holds
 * `size` octets of messages.
 */
export async function benchCompress(
  port: number,
  login: (c: ImapClient) => Promise<void>,
  mailbox: string,
  size: number,
): Promise<void> {
  for (const compressed of [false, true]) {
    const c = await ImapClient.connect(port);
    try {
      await login(c);
      if (compressed) await c.compress();
      await c.ok(`EXAMINE ${mailbox}`);
      await fetchAll(c); // warm: caches and the account
      const runs: Run[] = [];
      for (let i = 0; i < RUNS; i++) runs.push(await fetchAll(c));
      const best = runs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
      console.log(
        `imap compress: FETCH 1:* BODY.PEEK[] of ${(size / 1e6).toFixed(1)} MB ${compressed ? 'with COMPRESS=DEFLATE' : 'over TLS alone'}: ` +
          `${runs.map((r) => `${(r.seconds * 1000).toFixed(0)} ms`).join(', ')}; best ${mbps(size, best.seconds)} of message data, ` +
          `${(best.wire / 1e6).toFixed(1)} MB on the wire (${((best.wire / size) * 100).toFixed(0)}%)`,
      );
    } finally {
      c.close();
    }
  }
}
