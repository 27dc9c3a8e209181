// The evidence an account's own mail gives about a sender: of the most recent messages
// from the same From address, DKIM domain, SPF-verified MAIL FROM domain, From
// organisational domain or network, how many the user treated as junk and how many as
// wanted. Each source is one query on a covering index of live messages (schema version
// 7), counted in SQL, however many messages the account holds.
import { Flag } from './flags.js';
import type { AccountCore } from './core.js';

/** Of the recent messages from one source: how many count as wanted and as junk. */
export type Evidence = { ham: number; spam: number };

export type EvidenceQuery = {
  /** The From address, only when DMARC verified it (or anyone could claim it). */
  fromAddress?: { localpart: string; domain: string };
  /** Verified DKIM signing domains. */
  dkimDomains?: string[];
  /** The MAIL FROM domain, when SPF passed for it. */
  mailFromDomain?: string;
  /** The From organisational domain, when DMARC verified the From domain. */
  fromOrgDomain?: string;
  /** The client IP masked to /32, /26, /21 (IPv4) or /64, /48, /32 (IPv6). */
  ipMasked?: readonly [string, string, string];
  /** How many recent messages of each source to look at. */
  recent: number;
  /**
   * Whether a source's evidence already decides: the sources are looked up from the
   * most specific (sent to, From address, DKIM, MAIL FROM, organisation, networks) and
   * the rest are skipped (left null) once one decides.
   */
  decides?: (source: EvidenceSource, e: Evidence) => boolean;
};

export type EvidenceSource = 'from' | 'dkim' | 'mailFrom' | 'orgDomain' | 'ip1' | 'ip2' | 'ip3';

export type SenderEvidence = {
  /** The account wrote to the From address. */
  sentTo: boolean;
  from: Evidence | null;
  dkim: Evidence | null;
  mailFrom: Evidence | null;
  orgDomain: Evidence | null;
  ip: [Evidence | null, Evidence | null, Evidence | null];
};

type Row = { id: number; flags: number; junkbox: number };

/**
 * Junk: marked $Junk, or moved into the Junk mailbox (without $NotJunk). Wanted: marked
 * $NotJunk, or read, answered or flagged outside Junk. Unread mail, and mail the server
 * itself put in Junk, says nothing yet. Rejects (kept for review) never count.
 */
function tally(rows: Row[]): Evidence {
  const e = { ham: 0, spam: 0 };
  for (const r of rows) {
    if (r.flags & Flag.NotJunk) e.ham++;
    else if (r.flags & Flag.Junk || r.junkbox) e.spam++;
    else if (r.flags & (Flag.Seen | Flag.Answered | Flag.Flagged)) e.ham++;
  }
  return e;
}

// The same judgement in SQL, so a source's recent messages come back as one row of two
// counts rather than a row object each.
const WANTED = Flag.Seen | Flag.Answered | Flag.Flagged;
const HAM = `CASE WHEN flags & ${Flag.NotJunk} THEN 1 WHEN flags & ${Flag.Junk} OR junkbox THEN 0 WHEN flags & ${WANTED} THEN 1 ELSE 0 END`;
const SPAM = `CASE WHEN flags & ${Flag.NotJunk} THEN 0 WHEN flags & ${Flag.Junk} OR junkbox THEN 1 ELSE 0 END`;

// In Junk by the user's doing: a message the server delivered there says nothing yet.
// The Junk mailbox's id is the first parameter (looked up once per evidence query).
const SELECT = `SELECT m.id AS id, m.flags AS flags,
    (m.mailbox_id = ? AND m.mailbox_destined_id != m.mailbox_id) AS junkbox
  FROM messages m`;
// The covering indexes of schema version 7 hold live messages only: these two terms, as
// written, let the planner use them.
const LIVE = 'm.expunged = 0 AND m.is_reject = 0';

/** Conditions per source; each matches a covering index of schema version 7. */
export const SOURCE_CONDITIONS = {
  from: 'm.msgfrom_domain = ? AND m.msgfrom_localpart = ? COLLATE NOCASE',
  mailFrom: "m.mailfrom_domain = ? AND m.mailfrom_validated = 1 AND m.mailfrom_domain != ''",
  orgDomain: "m.msgfrom_org_domain = ? AND m.msgfrom_validated = 1 AND m.msgfrom_org_domain != ''",
  ip1: "m.remote_ip_masked1 = ? AND m.remote_ip_masked1 != ''",
  ip2: "m.remote_ip_masked2 = ? AND m.remote_ip_masked2 != ''",
  ip3: "m.remote_ip_masked3 = ? AND m.remote_ip_masked3 != ''",
} as const;

/** The recent live messages matching a source condition (n at most), newest first. */
export function sourceSql(cond: string, n: number): string {
  return `${SELECT} WHERE ${cond} AND ${LIVE} ORDER BY m.id DESC LIMIT ${n}`;
}

/** A source's evidence in one row: {ham, spam} over sourceSql's messages. */
export function sourceCountSql(cond: string, n: number): string {
  return `SELECT coalesce(sum(${HAM}), 0) AS ham, coalesce(sum(${SPAM}), 0) AS spam
  FROM (${sourceSql(cond, n)})`;
}

/**
 * The newest live messages signed by a DKIM domain (n at most): walked from the domain's
 * newest entry in message_dkim, each message found by its id in the covering index of live
 * messages, not in the wide message rows. (Earlier, an "id IN (...)" list let the planner
 * walk every live message instead, a cost that grew with the account.)
 */
export function dkimSql(n: number): string {
  return `SELECT m.id AS id, m.flags AS flags,
    (m.mailbox_id = ? AND m.mailbox_destined_id != m.mailbox_id) AS junkbox
  FROM message_dkim d JOIN messages m INDEXED BY messages_rep_live ON m.id = d.message_id
  WHERE d.domain = ? AND ${LIVE} ORDER BY d.message_id DESC LIMIT ${n}`;
}

// The statements' text by condition and length, built once: it is also the key of the
// prepared statement cache, looked up for every source of every message.
const sqlCache = new Map<string, string>();
function countSql(cond: string, n: number): string {
  const key = `${n}\n${cond}`;
  let sql = sqlCache.get(key);
  if (sql === undefined) {
    sql = cond === 'dkim' ? dkimSql(n) : sourceCountSql(cond, n);
    if (sqlCache.size < 100) sqlCache.set(key, sql);
  }
  return sql;
}

const JUNK_ID_SQL =
  "SELECT id FROM mailboxes WHERE special_use = '\\Junk' AND deleted = 0 ORDER BY id LIMIT 1";

export function senderEvidence(core: AccountCore, q: EvidenceQuery): SenderEvidence {
  const n = q.recent;
  // No Junk mailbox: no message can be in it (ids start at 1).
  const junk = (core.stmt(JUNK_ID_SQL).pluck().get() as number | undefined) ?? 0;
  const by = (cond: string, ...args: unknown[]): Evidence => {
    const r = core.stmt(countSql(cond, n)).get(junk, ...args) as Evidence;
    return { ham: r.ham, spam: r.spam };
  };
  const out: SenderEvidence = {
    sentTo: false,
    from: null,
    dkim: null,
    mailFrom: null,
    orgDomain: null,
    ip: [null, null, null],
  };
  const decided = (s: EvidenceSource, e: Evidence) => q.decides?.(s, e) ?? false;
  const f = q.fromAddress;
  if (f) {
    const address = `${f.localpart}@${f.domain}`.toLowerCase();
    out.sentTo = core.stmt('SELECT 1 FROM recipients WHERE address = ?').get(address) !== undefined;
    if (out.sentTo && q.decides) return out;
    out.from = by(SOURCE_CONDITIONS.from, f.domain.toLowerCase(), f.localpart);
    if (decided('from', out.from)) return out;
  }
  const dkim = [...new Set((q.dkimDomains ?? []).map((d) => d.toLowerCase()))];
  if (dkim.length > 0) {
    // Per domain its newest n; together, the newest n of those, each message once.
    const rows = new Map<number, Row>();
    for (const d of dkim) {
      for (const r of core.stmt(countSql('dkim', n)).all(junk, d) as Row[]) rows.set(r.id, r);
    }
    const newest = [...rows.values()].sort((a, b) => b.id - a.id).slice(0, n);
    out.dkim = tally(newest);
    if (decided('dkim', out.dkim)) return out;
  }
  if (q.mailFromDomain) {
    out.mailFrom = by(SOURCE_CONDITIONS.mailFrom, q.mailFromDomain.toLowerCase());
    if (decided('mailFrom', out.mailFrom)) return out;
  }
  if (q.fromOrgDomain) {
    out.orgDomain = by(SOURCE_CONDITIONS.orgDomain, q.fromOrgDomain.toLowerCase());
    if (decided('orgDomain', out.orgDomain)) return out;
  }
  if (q.ipMasked) {
    const [a, b, c] = q.ipMasked;
    const sources = [
      ['ip1', SOURCE_CONDITIONS.ip1, a],
      ['ip2', SOURCE_CONDITIONS.ip2, b],
      ['ip3', SOURCE_CONDITIONS.ip3, c],
    ] as const;
    for (const [i, [s, cond, v]] of sources.entries()) {
      const e = by(cond, v);
      out.ip[i] = e;
      if (decided(s, e)) return out;
    }
  }
  return out;
}
