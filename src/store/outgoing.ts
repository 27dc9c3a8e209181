// Recipients of mail an account submitted: per-day send limits and sender history.
import type { AccountCore } from './core.js';

const DAY = 24 * 3600 * 1000;

export type SendCounts = {
  /** Recipients (one per message copy) submitted in the past 24 hours. */
  messages: number;
  /** Of those, addresses that had never been sent to before. */
  firstTimeRecipients: number;
  /** Of the given recipients, those never sent to before. */
  newRecipients: number;
};

const norm = (a: string) => a.toLowerCase();

/** Counts for the send limits, including the recipients about to be added. */
export function sendCounts(core: AccountCore, recipients: string[], now = Date.now()): SendCounts {
  const since = now - DAY;
  const row = core
    .stmt(
      'SELECT count(*) AS n, coalesce(sum(first_time), 0) AS f FROM outgoing WHERE submitted > ?',
    )
    .get(since) as { n: number; f: number };
  const known = core.stmt('SELECT 1 FROM recipients WHERE address = ?');
  const fresh = new Set(recipients.map(norm).filter((r) => known.get(r) === undefined));
  return { messages: row.n, firstTimeRecipients: row.f, newRecipients: fresh.size };
}

/** Records submitted recipients; rows older than a day are pruned as it goes. */
export function recordOutgoing(
  core: AccountCore,
  recipients: string[],
  now = Date.now(),
): Promise<void> {
  return core.write(null, () => {
    const known = core.stmt('SELECT 1 FROM recipients WHERE address = ?');
    const ins = core.stmt(
      'INSERT INTO outgoing (recipient, submitted, first_time) VALUES (?, ?, ?)',
    );
    const up = core.stmt(
      `INSERT INTO recipients (address, domain, first_sent, last_sent, count) VALUES (?, ?, ?, ?, 1)
       ON CONFLICT (address) DO UPDATE SET last_sent = excluded.last_sent, count = count + 1`,
    );
    for (const r of recipients.map(norm)) {
      const first = known.get(r) === undefined ? 1 : 0;
      ins.run(r, now, first);
      up.run(r, r.slice(r.lastIndexOf('@') + 1), now, now);
    }
    core.stmt('DELETE FROM outgoing WHERE submitted <= ?').run(now - DAY);
  });
}
