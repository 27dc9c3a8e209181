// Who an account has corresponded with: recipients of mail it submitted (per-day send
// limits, first-time recipients) and whether an incoming sender is known.
import type { AccountCore } from './core.js';
import { Flag } from './flags.js';

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

/**
 * Whether the account knows this From address: it wrote to it, or holds a message from
 * it that is neither in the Junk mailbox nor marked $Junk, nor a kept reject.
 */
export function knownSender(core: AccountCore, localpart: string, domain: string): boolean {
  const address = `${localpart}@${domain}`.toLowerCase();
  if (core.stmt('SELECT 1 FROM recipients WHERE address = ?').get(address) !== undefined) {
    return true;
  }
  const row = core
    .stmt(
      `SELECT 1 FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
       WHERE m.msgfrom_domain = ? AND m.msgfrom_localpart = ? COLLATE NOCASE
         AND m.expunged = 0 AND m.is_reject = 0 AND b.special_use IS NOT '\\Junk'
         AND (m.flags & ?) = 0
       LIMIT 1`,
    )
    .get(domain.toLowerCase(), localpart, Flag.Junk);
  return row !== undefined;
}

/**
 * Whether the account has dealt with an organisational domain: it wrote to an address
 * in it, or holds a message whose From address in it passed DMARC and that is neither
 * junk nor a kept reject.
 */
export function knownOrgDomain(core: AccountCore, orgDomain: string): boolean {
  const d = orgDomain.toLowerCase();
  const sent = core
    .stmt("SELECT 1 FROM recipients WHERE domain = ? OR domain LIKE '%.' || ? LIMIT 1")
    .get(d, d);
  if (sent !== undefined) return true;
  return core.stmt(KNOWN_ORG_SQL).get(d, Flag.Junk) !== undefined;
}

/**
 * A wanted message from an organisation. The "!= ''" lets SQLite use the partial
 * covering index messages_rep_org, whose WHERE has it: a bound parameter alone does not
 * tell it the value is not empty, and it would scan every live message.
 */
export const KNOWN_ORG_SQL = `SELECT 1 FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
  WHERE m.msgfrom_org_domain = ? AND m.msgfrom_org_domain != '' AND m.msgfrom_validated = 1
    AND m.expunged = 0 AND m.is_reject = 0 AND b.special_use IS NOT '\\Junk'
    AND (m.flags & ?) = 0
  LIMIT 1`;

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
