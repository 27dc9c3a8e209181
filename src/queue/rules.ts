// Suppression lists (per account: addresses outgoing mail is no longer sent to) and
// hold rules (newly queued messages matching one wait on hold for an administrator).
import type Database from 'better-sqlite3';
import { QueueError } from './errors.js';
import type { NewQueueMessage, Path } from './types.js';

export type Suppression = {
  id: number;
  account: string;
  /** Canonical form: lower-cased "localpart@domain". */
  address: string;
  created: Date;
  /** Added by an administrator, rather than by a delivery failure. */
  manual: boolean;
  reason: string;
};

export type HoldRule = {
  id: number;
  /** '' matches every account (and system messages). */
  account: string;
  /** '' matches every sender domain; otherwise ASCII, lower case. */
  senderDomain: string;
  recipientDomain: string;
  created: Date;
};

/**
 * Permanent failures that say the address will not start working by itself: the
 * mailbox does not exist, moved, is disabled, or the domain takes no mail
 * (RFC 3463 §3.2, §3.3; RFC 7505 §4.2 for null MX). Sending to it again harms the
 * sender's reputation.
 */
const SUPPRESSING_CODES = new Set(['5.1.1', '5.1.2', '5.1.6', '5.1.10', '5.2.1']);

export function suppressingFailure(code: number, secode: string): boolean {
  if (code !== 0 && (code < 500 || code > 599)) return false;
  const full = secode.split('.').length === 3 ? secode : `5.${secode}`;
  return SUPPRESSING_CODES.has(full);
}

/** The form suppressions are kept and compared in. */
export function canonicalAddress(p: Path): string {
  return `${p.localpart}@${p.domain}`.toLowerCase();
}

/** Parses "localpart@domain" as typed by an administrator; throws QueueError. */
export function parseAddressArg(s: string): Path {
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) {
    throw new QueueError('invalid', `not an email address: ${JSON.stringify(s)}`);
  }
  return { localpart: s.slice(0, at), domain: s.slice(at + 1).toLowerCase() };
}

type Row = Record<string, unknown>;

function suppressionFromRow(r: Row): Suppression {
  return {
    id: r.id as number,
    account: r.account as string,
    address: r.address as string,
    created: new Date(r.created as number),
    manual: r.manual === 1,
    reason: r.reason as string,
  };
}

function holdRuleFromRow(r: Row): HoldRule {
  return {
    id: r.id as number,
    account: r.account as string,
    senderDomain: r.sender_domain as string,
    recipientDomain: r.recipient_domain as string,
    created: new Date(r.created as number),
  };
}

export class Rules {
  /** Hold rules are few and consulted on every add: kept in memory. */
  private holdRules: HoldRule[] | null = null;

  private readonly stmts = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  /** Prepared once: suppressed() runs for every delivery attempt. */
  private stmt(sql: string): Database.Statement {
    let st = this.stmts.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.stmts.set(sql, st);
    }
    return st;
  }

  // ---- suppression ----

  suppressions(account?: string): Suppression[] {
    const rows =
      account === undefined
        ? this.stmt('SELECT * FROM queue_suppressions ORDER BY account, address').all()
        : this.stmt('SELECT * FROM queue_suppressions WHERE account = ? ORDER BY address').all(
            account,
          );
    return (rows as Row[]).map(suppressionFromRow);
  }

  /** Adds (or keeps) a suppression; returns whether it is new. */
  suppress(account: string, address: Path, reason: string, manual: boolean, now: number): boolean {
    const r = this.stmt(
      `INSERT INTO queue_suppressions (account, address, created, manual, reason)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (account, address) DO NOTHING`,
    ).run(account, canonicalAddress(address), now, manual ? 1 : 0, reason);
    return r.changes > 0;
  }

  unsuppress(account: string, address: Path): boolean {
    const r = this.stmt('DELETE FROM queue_suppressions WHERE account = ? AND address = ?').run(
      account,
      canonicalAddress(address),
    );
    return r.changes > 0;
  }

  suppressed(account: string, address: Path): Suppression | null {
    const r = this.stmt('SELECT * FROM queue_suppressions WHERE account = ? AND address = ?').get(
      account,
      canonicalAddress(address),
    ) as Row | undefined;
    return r ? suppressionFromRow(r) : null;
  }

  // ---- hold rules ----

  listHoldRules(): HoldRule[] {
    if (!this.holdRules) {
      const rows = this.stmt('SELECT * FROM queue_holdrules ORDER BY id').all() as Row[];
      this.holdRules = rows.map(holdRuleFromRow);
    }
    return this.holdRules;
  }

  addHoldRule(
    rule: { account?: string; senderDomain?: string; recipientDomain?: string },
    now: number,
  ): HoldRule {
    const r = this.stmt(
      'INSERT INTO queue_holdrules (account, sender_domain, recipient_domain, created) VALUES (?, ?, ?, ?)',
    ).run(
      rule.account ?? '',
      (rule.senderDomain ?? '').toLowerCase(),
      (rule.recipientDomain ?? '').toLowerCase(),
      now,
    );
    this.holdRules = null;
    const row = this.stmt('SELECT * FROM queue_holdrules WHERE id = ?').get(
      Number(r.lastInsertRowid),
    ) as Row;
    return holdRuleFromRow(row);
  }

  removeHoldRule(id: number): boolean {
    const r = this.stmt('DELETE FROM queue_holdrules WHERE id = ?').run(id);
    this.holdRules = null;
    return r.changes > 0;
  }

  /** The first hold rule a new message matches, or null. */
  holdRuleFor(m: NewQueueMessage): HoldRule | null {
    const sender = m.sender?.domain.toLowerCase() ?? '';
    const rcpt = m.recipient.domain.toLowerCase();
    for (const h of this.listHoldRules()) {
      if (h.account !== '' && h.account !== m.account) continue;
      if (h.senderDomain !== '' && h.senderDomain !== sender) continue;
      if (h.recipientDomain !== '' && h.recipientDomain !== rcpt) continue;
      return h;
    }
    return null;
  }
}
