// SQL of the queue tables. Every method is one statement or one transaction, and
// reads are bounded or batched so the event loop is never held for long.
import type Database from 'better-sqlite3';
import type { AttemptResult, DSNParams, NewQueueMessage, Notify, QueueMessage } from './types.js';

/** A queue row with the bookkeeping the runner needs beside the public fields. */
export type Stored = {
  m: QueueMessage;
  /** First allowed delivery (queued, or the FUTURERELEASE time); retries expire from here. */
  releaseAt: number;
  delayDSNSent: boolean;
};

/** How one attempt changes a row that stays queued. */
export type RetryUpdate = {
  id: number;
  attempts: number;
  lastAttempt: number;
  lastError: string;
  results: AttemptResult[];
  nextAttempt: number;
  delayDSNSent: boolean;
};

/** Attempts kept per message. */
const MAX_RESULTS = 50;
/** Ids per IN (...) list, well under SQLite's parameter limit. */
const ID_CHUNK = 500;

type Row = Record<string, unknown>;

export class QueueDB {
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  /** The lowest file id never handed out. */
  nextFileId(): number {
    const meta = this.stmt('SELECT next_file_id AS n FROM queue_meta WHERE id = 1').get() as {
      n: number;
    };
    const max = this.stmt('SELECT MAX(id) AS n FROM queue_files').get() as { n: number | null };
    return Math.max(meta.n, (max.n ?? 0) + 1);
  }

  /**
   * Inserts a file and its messages in one transaction. `beforeCommit` runs inside it,
   * after the inserts (a throw rolls everything back).
   */
  insert(
    fileId: number,
    fileSize: number,
    now: number,
    msgs: NewQueueMessage[],
    beforeCommit?: () => void,
  ): QueueMessage[] {
    return this.db.transaction(() => {
      const recipients = msgs.map((m) => `${m.recipient.localpart}@${m.recipient.domain}`);
      this.stmt('INSERT INTO queue_files (id, size, created, recipients) VALUES (?, ?, ?, ?)').run(
        fileId,
        fileSize,
        now,
        JSON.stringify(recipients),
      );
      this.stmt('UPDATE queue_meta SET next_file_id = MAX(next_file_id, ?) WHERE id = 1').run(
        fileId + 1,
      );
      const ids = msgs.map((m) => this.insertMessage(fileId, fileSize, now, m));
      beforeCommit?.();
      return ids.map((id) => (this.get(id) as Stored).m);
    })();
  }

  private insertMessage(fileId: number, fileSize: number, now: number, m: NewQueueMessage) {
    const next = m.nextAttempt?.getTime() ?? now;
    const r = this.stmt(
      `INSERT INTO queue_messages (file_id, queued, account, sender_localpart, sender_domain,
         rcpt_localpart, rcpt_domain, has8bit, smtputf8, message_id, subject, require_tls, prefix,
         size, dsn_notify, dsn_ret, dsn_envid, dsn_orcpt_type, dsn_orcpt, release_at, next_attempt,
         future_release_request, hold, is_dsn, is_report)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      fileId,
      now,
      m.account,
      m.sender?.localpart ?? null,
      m.sender?.domain ?? null,
      m.recipient.localpart,
      m.recipient.domain,
      m.has8bit ? 1 : 0,
      m.smtputf8 ? 1 : 0,
      m.messageId,
      m.subject,
      m.requireTLS === null ? null : m.requireTLS ? 1 : 0,
      m.prefix,
      m.prefix.length + fileSize,
      notifyText(m.dsn?.notify),
      m.dsn?.ret ?? null,
      m.dsn?.envid ?? null,
      m.dsn?.orcpt?.addrType ?? null,
      m.dsn?.orcpt?.address ?? null,
      Math.max(now, next),
      next,
      m.futureReleaseRequest ?? '',
      m.hold ? 1 : 0,
      m.isDSN ? 1 : 0,
      m.isReport ? 1 : 0,
    );
    return Number(r.lastInsertRowid);
  }

  get(id: number): Stored | null {
    const r = this.stmt('SELECT * FROM queue_messages WHERE id = ?').get(id) as Row | undefined;
    return r ? storedFromRow(r) : null;
  }

  /** Rows by id, in id order; missing ids are skipped. */
  byIds(ids: number[]): Stored[] {
    const out: Stored[] = [];
    // One cached statement for any number of ids.
    const sel = this.stmt(
      'SELECT * FROM queue_messages WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id',
    );
    for (const chunk of chunks([...new Set(ids)].sort((a, b) => a - b))) {
      for (const r of sel.all(JSON.stringify(chunk)) as Row[]) out.push(storedFromRow(r));
    }
    return out;
  }

  list(filter: { account?: string; hold?: boolean } = {}): QueueMessage[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.account !== undefined) {
      where.push('account = ?');
      args.push(filter.account);
    }
    if (filter.hold !== undefined) {
      where.push('hold = ?');
      args.push(filter.hold ? 1 : 0);
    }
    const sql = `SELECT * FROM queue_messages${where.length ? ' WHERE ' + where.join(' AND ') : ''} ORDER BY id`;
    return (this.stmt(sql).all(...args) as Row[]).map((r) => storedFromRow(r).m);
  }

  /** Messages in the queue, and how many of them are on hold. */
  counts(): { messages: number; held: number } {
    const r = this.stmt(
      'SELECT COUNT(*) AS n, COALESCE(SUM(hold), 0) AS h FROM queue_messages',
    ).get() as { n: number; h: number };
    return { messages: r.n, held: r.h };
  }

  /** Ids of messages due at `now`, oldest due first. */
  dueIds(now: number, limit = -1): number[] {
    return this.stmt(
      'SELECT id FROM queue_messages WHERE hold = 0 AND next_attempt <= ? ORDER BY next_attempt, id LIMIT ?',
    )
      .pluck()
      .all(now, limit) as number[];
  }

  /** The earliest attempt time after `now` of a message not on hold. */
  nextDueAfter(now: number): number | null {
    const r = this.stmt(
      'SELECT MIN(next_attempt) AS t FROM queue_messages WHERE hold = 0 AND next_attempt > ?',
    ).get(now) as { t: number | null };
    return r.t;
  }

  setHold(ids: number[], hold: boolean): number {
    return this.updateIds(ids, 'hold = ?', [hold ? 1 : 0]);
  }

  reschedule(ids: number[], at: number): number {
    return this.updateIds(ids, 'next_attempt = ?', [at]);
  }

  private updateIds(ids: number[], set: string, args: unknown[]): number {
    return this.db.transaction(() => {
      let n = 0;
      for (const chunk of chunks(ids)) {
        n += this.db
          .prepare(`UPDATE queue_messages SET ${set} WHERE id IN (${marks(chunk.length)})`)
          .run(...args, ...chunk).changes;
      }
      return n;
    })();
  }

  /**
   * Records retries and removes finished messages in one transaction. Returns the ids
   * of files no row references any more (their rows are gone; unlink after this).
   */
  apply(retries: RetryUpdate[], remove: number[]): { removed: number; files: number[] } {
    return this.db.transaction(() => {
      const upd = this.stmt(
        `UPDATE queue_messages SET attempts = ?, last_attempt = ?, last_error = ?, results = ?,
           next_attempt = ?, delay_dsn_sent = ? WHERE id = ?`,
      );
      for (const u of retries) {
        upd.run(
          u.attempts,
          u.lastAttempt,
          u.lastError,
          JSON.stringify(u.results.slice(-MAX_RESULTS)),
          u.nextAttempt,
          u.delayDSNSent ? 1 : 0,
          u.id,
        );
      }
      const { removed, fileIds } = this.deleteMessages(remove);
      return { removed, files: this.deleteUnreferencedFiles(fileIds) };
    })();
  }

  private deleteMessages(ids: number[]): { removed: number; fileIds: Set<number> } {
    const fileIds = new Set<number>();
    let removed = 0;
    const del = this.stmt('DELETE FROM queue_messages WHERE id = ? RETURNING file_id');
    for (const id of ids) {
      const r = del.get(id) as { file_id: number } | undefined;
      if (!r) continue;
      removed++;
      fileIds.add(r.file_id);
    }
    return { removed, fileIds };
  }

  private deleteUnreferencedFiles(fileIds: Iterable<number>): number[] {
    const used = this.stmt('SELECT 1 FROM queue_messages WHERE file_id = ? LIMIT 1').pluck();
    const del = this.stmt('DELETE FROM queue_files WHERE id = ?');
    const gone: number[] = [];
    for (const f of fileIds) {
      if (used.get(f) !== undefined) continue;
      del.run(f);
      gone.push(f);
    }
    return gone;
  }

  /** Every file row: id and size. */
  files(): { id: number; size: number }[] {
    return this.stmt('SELECT id, size FROM queue_files ORDER BY id').all() as {
      id: number;
      size: number;
    }[];
  }

  /** The recipients queued together with a file ("localpart@domain"). */
  fileRecipients(fileId: number): string[] {
    const r = this.stmt('SELECT recipients FROM queue_files WHERE id = ?').get(fileId) as
      { recipients: string } | undefined;
    return r ? (JSON.parse(r.recipients) as string[]) : [];
  }

  /** Ids of messages that use a file. */
  messagesOfFile(fileId: number): number[] {
    return this.stmt('SELECT id FROM queue_messages WHERE file_id = ? ORDER BY id')
      .pluck()
      .all(fileId) as number[];
  }

  /** Removes file rows no message references (left by nothing but a bug; checked at open). */
  removeUnusedFiles(): number[] {
    return this.db.transaction(() => {
      const ids = this.stmt(
        'SELECT id FROM queue_files WHERE NOT EXISTS (SELECT 1 FROM queue_messages WHERE file_id = queue_files.id)',
      )
        .pluck()
        .all() as number[];
      return this.deleteUnreferencedFiles(ids);
    })();
  }
}

function* chunks(ids: number[]): Generator<number[]> {
  for (let i = 0; i < ids.length; i += ID_CHUNK) yield ids.slice(i, i + ID_CHUNK);
}

function marks(n: number): string {
  return new Array<string>(n).fill('?').join(', ');
}

function notifyText(n: Notify | undefined): string | null {
  if (n === undefined) return null;
  return n === 'NEVER' ? 'NEVER' : n.join(',');
}

function parseNotify(s: string): Notify {
  if (s === 'NEVER') return 'NEVER';
  return s === '' ? [] : (s.split(',') as Array<'SUCCESS' | 'FAILURE' | 'DELAY'>);
}

function dsnFromRow(r: Row): DSNParams | undefined {
  const d: DSNParams = {};
  if (r.dsn_notify !== null) d.notify = parseNotify(r.dsn_notify as string);
  if (r.dsn_orcpt !== null) {
    d.orcpt = { addrType: r.dsn_orcpt_type as string, address: r.dsn_orcpt as string };
  }
  if (r.dsn_ret !== null) d.ret = r.dsn_ret as 'FULL' | 'HDRS';
  if (r.dsn_envid !== null) d.envid = r.dsn_envid as string;
  return Object.keys(d).length > 0 ? d : undefined;
}

function resultsFromJSON(s: string): AttemptResult[] {
  const list = JSON.parse(s) as (Omit<AttemptResult, 'start'> & { start: string })[];
  return list.map((a) => ({ ...a, start: new Date(a.start) }));
}

function storedFromRow(r: Row): Stored {
  const sender =
    r.sender_domain === null
      ? null
      : { localpart: r.sender_localpart as string, domain: r.sender_domain as string };
  const m: QueueMessage = {
    id: r.id as number,
    fileId: r.file_id as number,
    queued: new Date(r.queued as number),
    account: r.account as string,
    sender,
    recipient: { localpart: r.rcpt_localpart as string, domain: r.rcpt_domain as string },
    has8bit: r.has8bit === 1,
    smtputf8: r.smtputf8 === 1,
    messageId: r.message_id as string,
    subject: r.subject as string,
    requireTLS: r.require_tls === null ? null : r.require_tls === 1,
    prefix: r.prefix as Buffer,
    size: r.size as number,
    nextAttempt: new Date(r.next_attempt as number),
    futureReleaseRequest: r.future_release_request as string,
    hold: r.hold === 1,
    isDSN: r.is_dsn === 1,
    isReport: r.is_report === 1,
    attempts: r.attempts as number,
    lastAttempt: r.last_attempt === null ? null : new Date(r.last_attempt as number),
    lastError: r.last_error as string,
    results: resultsFromJSON(r.results as string),
  };
  const dsn = dsnFromRow(r);
  if (dsn) m.dsn = dsn;
  return {
    m,
    releaseAt: r.release_at as number,
    delayDSNSent: r.delay_dsn_sent === 1,
  };
}
