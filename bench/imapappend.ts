// The APPEND part of the IMAP benchmark: a client that writes a synchronizing literal
// and its closing CRLF in two writes with Nagle's algorithm on (as Python's imaplib does)
// against the same messages sent in one write with LITERAL+, alone and ten at a time.
// With delayed ACKs the split pattern waits 40 ms per command; the server sets
// TCP_QUICKACK after each reply so that it does not.
import { percentile, verdict } from './serverproc.js';
import { ImapClient } from './imapclient.js';

const TARGET_P50_MS = 3;
const COUNT = 200;
const CLIENTS = 10;

const MESSAGE = Buffer.from(
  'From: a@example.org\r\nTo: b@example.org\r\nSubject: append bench\r\n\r\n' +
    'A short message, as a draft saved or a message sent.\r\n'.repeat(20),
);

type Mode = 'split' | 'single';

async function appends(c: ImapClient, mode: Mode, n: number, out: number[]): Promise<void> {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    if (mode === 'split') await c.appendSplit('INBOX', MESSAGE);
    else await c.ok(`APPEND INBOX {${MESSAGE.length}+}\r\n`, MESSAGE);
    out.push(performance.now() - t);
  }
}

const fmt = (ms: number[]) => {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99) };
};

/** Client side: `login` logs a new connection in (to the account whose INBOX fills). */
export async function benchAppend(port: number, login: (c: ImapClient) => Promise<void>) {
  const connect = async () => {
    const c = await ImapClient.connect(port);
    await login(c);
    return c;
  };
  const one = await connect();
  try {
    // Warm up: the account, its mailbox and the write path.
    await appends(one, 'single', 20, []);
    for (const mode of ['split', 'single'] as Mode[]) {
      const lat: number[] = [];
      await appends(one, mode, COUNT, lat);
      const { p50, p99 } = fmt(lat);
      const target =
        mode === 'split'
          ? ` (target p50 < ${TARGET_P50_MS} ms: ${verdict(p50 < TARGET_P50_MS)})`
          : '';
      console.log(
        `imap append: 1 client, ${COUNT} APPENDs, ${mode === 'split' ? 'literal and CRLF in two writes' : 'one write (LITERAL+)'}: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms${target}`,
      );
    }
  } finally {
    one.close();
  }
  const clients = await Promise.all(Array.from({ length: CLIENTS }, connect));
  try {
    const lat: number[] = [];
    const t0 = performance.now();
    await Promise.all(clients.map((c) => appends(c, 'split', COUNT / 4, lat)));
    const s = (performance.now() - t0) / 1000;
    const { p50, p99 } = fmt(lat);
    console.log(
      `imap append: ${CLIENTS} clients, split writes: ${lat.length} APPENDs in ${s.toFixed(1)} s, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
    );
  } finally {
    for (const c of clients) c.close();
  }
}
