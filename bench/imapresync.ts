// The resynchronisation part of the 100,000-message IMAP benchmark: a QRESYNC client
// coming back after 1% of the mailbox changed (RFC 7162 §3.2.5), the same through UID
// FETCH CHANGEDSINCE with VANISHED, and SORT and THREAD of the whole mailbox. The
// server side (touchMailbox) runs in the benchmark's server process.
import { Flag, type Store } from '../src/store/index.js';
import { verdict } from './serverproc.js';
import type { ImapClient } from './imapclient.js';

const TARGET_RESYNC_S = 0.05;
const TARGET_SORT_S = 0.5;
const RUNS = 3;
/** Percent of the mailbox changed between the two sessions; a tenth of it expunged. */
export const CHANGED_PERCENT = 1;

const ms = (s: number) => `${(s * 1000).toFixed(s < 0.1 ? 1 : 0)} ms`;

/** Server side: flags 0.9% of the messages and expunges 0.1%, in two transactions. */
export async function touchMailbox(
  store: Store,
  account: string,
  mailbox: string,
  percent: number,
): Promise<{ changed: number; expunged: number }> {
  const a = await store.account(account);
  const mb = await a.mailbox(mailbox);
  if (!mb) throw new Error(`no mailbox ${mailbox}`);
  const step = Math.round(100 / percent);
  const picked = (await a.uids(mb.id)).filter((_, i) => i % step === 0);
  const gone = picked.filter((_, i) => i % 10 === 0);
  const changed = picked.filter((_, i) => i % 10 !== 0);
  await a.storeFlags(mb.id, changed, { mode: 'add', flags: Flag.Flagged }, null);
  await a.storeFlags(mb.id, gone, { mode: 'add', flags: Flag.Deleted }, null);
  await a.expunge(mb.id, gone, null);
  return { changed: changed.length, expunged: gone.length };
}

/** Runs a command and returns its time in seconds and its untagged lines. */
async function timed(c: ImapClient, command: string): Promise<{ s: number; lines: string[] }> {
  const lines: string[] = [];
  c.onUntagged = (l) => lines.push(l);
  const t = performance.now();
  try {
    await c.ok(command);
  } finally {
    c.onUntagged = null;
  }
  return { s: (performance.now() - t) / 1000, lines };
}

/**
 * Client side, on a connection logged in to the account that holds `mailbox` with
 * `total` messages; `touch` asks the server to change CHANGED_PERCENT of it.
 */
export async function benchResync(
  c: ImapClient,
  mailbox: string,
  total: number,
  touch: () => Promise<{ changed: number; expunged: number }>,
): Promise<void> {
  await c.ok('ENABLE QRESYNC');
  const sel = await timed(c, `SELECT ${mailbox}`);
  const code = (name: string) => {
    const l = sel.lines.find((x) => x.startsWith(`* OK [${name} `));
    if (!l) throw new Error(`no ${name} in SELECT`);
    return Number(/\[\w+ (\d+)\]/.exec(l)![1]);
  };
  const uidvalidity = code('UIDVALIDITY');
  const known = code('HIGHESTMODSEQ');
  const t = await touch();
  console.log(
    `imap resync: ${t.changed} messages flagged and ${t.expunged} expunged (${CHANGED_PERCENT}% of ${total}) since the client's HIGHESTMODSEQ`,
  );
  for (let run = 1; run <= RUNS; run++) {
    const r = await timed(c, `SELECT ${mailbox} (QRESYNC (${uidvalidity} ${known}))`);
    const fetches = r.lines.filter((l) => / FETCH /.test(l)).length;
    const vanished = r.lines.filter((l) => l.startsWith('* VANISHED (EARLIER) ')).length;
    const ok = fetches === t.changed && vanished > 0;
    console.log(
      `imap resync: run ${run}: SELECT (QRESYNC) ${ms(r.s)} with ${fetches} FETCH and ${vanished} VANISHED (EARLIER) lines ` +
        `(target < ${ms(TARGET_RESYNC_S)}: ${verdict(r.s < TARGET_RESYNC_S && ok)})`,
    );
  }
  const f = await timed(c, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${known} VANISHED)`);
  console.log(
    `imap resync: UID FETCH 1:* (FLAGS) (CHANGEDSINCE VANISHED) ${ms(f.s)} for ${f.lines.length} responses`,
  );
  for (const cmd of [
    'UID SORT (ARRIVAL) UTF-8 ALL',
    'UID SORT (SUBJECT) UTF-8 ALL',
    'UID SORT (REVERSE DATE) UTF-8 ALL',
    'UID SORT (FROM) UTF-8 UNSEEN',
    'UID THREAD ORDEREDSUBJECT UTF-8 ALL',
    'UID THREAD REFERENCES UTF-8 ALL',
  ]) {
    const times: number[] = [];
    for (let run = 0; run < RUNS; run++) times.push((await timed(c, cmd)).s);
    const best = Math.min(...times);
    console.log(
      `imap sort: ${cmd}: ${times.map(ms).join(', ')} (target < ${ms(TARGET_SORT_S)}: ${verdict(best < TARGET_SORT_S)})`,
    );
  }
}
