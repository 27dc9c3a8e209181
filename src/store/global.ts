// The global database (data/tidings.db): login attempts, TLS client public keys,
// received DMARC and TLS reports, and what outgoing reports are made of (DMARC
// evaluations, TLS results); the queue keeps its own tables in it.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { GLOBAL_MIGRATIONS, migrate } from './schema.js';
import { ensurePrivateFileSync } from './fsmode.js';
import {
  addReport,
  dmarcColumns,
  dmarcSummaryFromRow,
  getReport,
  listReports,
  tlsColumns,
  tlsSummaryFromRow,
  type AddedReport,
  type NewReceivedDMARCReport,
  type NewReceivedTLSReport,
  type ReceivedDMARCReport,
  type ReceivedDMARCSummary,
  type ReceivedTLSReport,
  type ReceivedTLSSummary,
  type ReportListOptions,
} from './reports.js';
import * as evaluations from './evaluations.js';
import type {
  DMARCEvaluation,
  DMARCPeriod,
  TLSDay,
  TLSDayResults,
  TLSResult,
} from './evaluations.js';

export type LoginResult =
  | 'success'
  | 'badcredentials'
  | 'error'
  | 'aborted'
  | 'logindisabled'
  | 'badchannelbinding'
  | 'badprotocol'
  | 'ratelimited';

export type LoginAttempt = {
  time?: number;
  account: string;
  address: string;
  protocol: string; // imap, submission, webmail, ...
  mechanism: string; // login, plain, scram-sha-256-plus, tlsclientauth, ...
  result: LoginResult;
  remoteIP: string;
  localIP: string;
  tls: string; // '' for plaintext, else e.g. "TLSv1.3 TLS_AES_128_GCM_SHA256"
  tlsKeyFingerprint?: string;
  userAgent?: string;
};

export type LoginAttemptRow = Required<LoginAttempt> & {
  first: number;
  last: number;
  count: number;
};

export type TLSPublicKey = {
  fingerprint: string;
  created: number;
  name: string;
  type: string;
  certDER: Buffer;
  account: string;
  loginAddress: string;
  noIMAPPreauth: boolean;
};

/** Login attempts are kept this long... */
export const LOGIN_ATTEMPT_RETENTION_MS = 30 * 24 * 3600 * 1000;
/** ...and at most this many per account. */
export const LOGIN_ATTEMPT_MAX_PER_ACCOUNT = 10000;

export class GlobalDB {
  readonly db: Database.Database;
  private addsSinceCleanup = 0;

  constructor(readonly file: string) {
    ensurePrivateFileSync(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a commit only writes the WAL, without blocking the event loop on fsync;
    // callers that must be durable (the queue) await durable(), which syncs the WAL
    // off the event loop, once for all commits made meanwhile.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db, GLOBAL_MIGRATIONS, file);
  }

  /**
   * Records a login attempt; identical attempts (same account, address, protocol,
   * mechanism, result, remote IP, TLS and user agent) are grouped with a count.
   */
  async addLoginAttempt(a: LoginAttempt): Promise<void> {
    const now = a.time ?? Date.now();
    const row = {
      account: a.account,
      address: a.address,
      protocol: a.protocol,
      mechanism: a.mechanism,
      result: a.result,
      remote_ip: a.remoteIP,
      local_ip: a.localIP,
      tls: a.tls,
      tls_key_fingerprint: a.tlsKeyFingerprint ?? '',
      user_agent: a.userAgent ?? '',
    };
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          row.account,
          row.address,
          row.protocol,
          row.mechanism,
          row.result,
          row.remote_ip,
          row.local_ip,
          row.tls,
          row.tls_key_fingerprint,
          row.user_agent,
        ]),
      )
      .digest('base64url');
    this.db
      .prepare(
        `INSERT INTO login_attempts (key, first, last, count, account, address, protocol, mechanism, result, remote_ip, local_ip, tls, tls_key_fingerprint, user_agent)
         VALUES (@key, @now, @now, 1, @account, @address, @protocol, @mechanism, @result, @remote_ip, @local_ip, @tls, @tls_key_fingerprint, @user_agent)
         ON CONFLICT (key) DO UPDATE SET last = MAX(last, excluded.last), count = count + 1`,
      )
      .run({ key, now, ...row });
    // Trimming needs a scan per account: do it every so often, not on every attempt.
    if (++this.addsSinceCleanup >= 100) {
      this.addsSinceCleanup = 0;
      await this.cleanupLoginAttempts(now);
    }
  }

  /** Drops attempts older than the retention and beyond the per-account maximum. */
  async cleanupLoginAttempts(now = Date.now()): Promise<void> {
    this.db.transaction(() => {
      this.db
        .prepare('DELETE FROM login_attempts WHERE last < ?')
        .run(now - LOGIN_ATTEMPT_RETENTION_MS);
      const over = this.db
        .prepare('SELECT account FROM login_attempts GROUP BY account HAVING COUNT(*) > ?')
        .pluck()
        .all(LOGIN_ATTEMPT_MAX_PER_ACCOUNT) as string[];
      for (const acc of over) {
        this.db
          .prepare(
            `DELETE FROM login_attempts WHERE account = ? AND id NOT IN
               (SELECT id FROM login_attempts WHERE account = ? ORDER BY last DESC, id DESC LIMIT ?)`,
          )
          .run(acc, acc, LOGIN_ATTEMPT_MAX_PER_ACCOUNT);
      }
    })();
  }

  async loginAttempts(account: string, limit = 100): Promise<LoginAttemptRow[]> {
    const rows = this.db
      .prepare('SELECT * FROM login_attempts WHERE account = ? ORDER BY last DESC, id DESC LIMIT ?')
      .all(account, limit) as Record<string, unknown>[];
    return rows.map((r) => ({
      time: r.last as number,
      first: r.first as number,
      last: r.last as number,
      count: r.count as number,
      account: r.account as string,
      address: r.address as string,
      protocol: r.protocol as string,
      mechanism: r.mechanism as string,
      result: r.result as LoginResult,
      remoteIP: r.remote_ip as string,
      localIP: r.local_ip as string,
      tls: r.tls as string,
      tlsKeyFingerprint: r.tls_key_fingerprint as string,
      userAgent: r.user_agent as string,
    }));
  }

  async addTLSPublicKey(k: TLSPublicKey): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO tls_public_keys (fingerprint, created, name, type, cert_der, account, login_address, no_imap_preauth)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        k.fingerprint,
        k.created,
        k.name,
        k.type,
        k.certDER,
        k.account,
        k.loginAddress,
        k.noIMAPPreauth ? 1 : 0,
      );
  }

  async tlsPublicKey(fingerprint: string): Promise<TLSPublicKey | null> {
    const r = this.db
      .prepare('SELECT * FROM tls_public_keys WHERE fingerprint = ?')
      .get(fingerprint) as Record<string, unknown> | undefined;
    return r ? tlsKeyFromRow(r) : null;
  }

  async tlsPublicKeys(account: string): Promise<TLSPublicKey[]> {
    return (
      this.db
        .prepare('SELECT * FROM tls_public_keys WHERE account = ? ORDER BY created')
        .all(account) as Record<string, unknown>[]
    ).map(tlsKeyFromRow);
  }

  async removeTLSPublicKey(fingerprint: string): Promise<boolean> {
    return (
      this.db.prepare('DELETE FROM tls_public_keys WHERE fingerprint = ?').run(fingerprint)
        .changes > 0
    );
  }

  /**
   * Stores a received DMARC aggregate report unless one with the same org and report id
   * is stored already; resolves once a new report is on disk.
   */
  async addReceivedDMARCReport(r: NewReceivedDMARCReport): Promise<AddedReport> {
    const a = addReport(this.db, 'dmarc_reports', dmarcColumns(r));
    if (a.added) await this.durable();
    return a;
  }

  /** Received DMARC reports, newest first, without the reports themselves. */
  async receivedDMARCReports(o: ReportListOptions = {}): Promise<ReceivedDMARCSummary[]> {
    return listReports(this.db, 'dmarc_reports', o).map(dmarcSummaryFromRow);
  }

  async receivedDMARCReport(id: number): Promise<ReceivedDMARCReport | null> {
    const r = getReport(this.db, 'dmarc_reports', id);
    return r ? { ...dmarcSummaryFromRow(r), report: JSON.parse(r.report as string) } : null;
  }

  /** As addReceivedDMARCReport, for TLS reports. */
  async addReceivedTLSReport(r: NewReceivedTLSReport): Promise<AddedReport> {
    const a = addReport(this.db, 'tls_reports', tlsColumns(r));
    if (a.added) await this.durable();
    return a;
  }

  async receivedTLSReports(o: ReportListOptions = {}): Promise<ReceivedTLSSummary[]> {
    return listReports(this.db, 'tls_reports', o).map(tlsSummaryFromRow);
  }

  async receivedTLSReport(id: number): Promise<ReceivedTLSReport | null> {
    const r = getReport(this.db, 'tls_reports', id);
    return r ? { ...tlsSummaryFromRow(r), report: JSON.parse(r.report as string) } : null;
  }

  /**
   * Keeps a DMARC evaluation for the aggregate report of its period. Not awaited to
   * disk: an evaluation lost in a crash only makes a report a message short.
   */
  async addDMARCEvaluation(e: DMARCEvaluation): Promise<void> {
    evaluations.addDMARCEvaluation(this.db, e);
  }

  /** Periods with evaluations that have ended by `now`, oldest first. */
  async dmarcPeriods(now = Date.now()): Promise<DMARCPeriod[]> {
    return evaluations.dmarcPeriods(this.db, now);
  }

  async dmarcEvaluations(p: DMARCPeriod): Promise<DMARCEvaluation[]> {
    return evaluations.dmarcEvaluations(this.db, p);
  }

  /** Drops a period's evaluations (its report was sent, or needs none). */
  async removeDMARCEvaluations(p: DMARCPeriod): Promise<number> {
    return evaluations.removeDMARCEvaluations(this.db, p);
  }

  /** Counts the TLS result of an outgoing session for its day's report. */
  async addTLSResult(r: TLSResult): Promise<void> {
    evaluations.addTLSResult(this.db, r);
  }

  /** Recipient domains and UTC days with TLS results, before `beforeDay` ("YYYY-MM-DD"). */
  async tlsDays(beforeDay: string): Promise<TLSDay[]> {
    return evaluations.tlsDays(this.db, beforeDay);
  }

  async tlsDayResults(d: TLSDay): Promise<TLSDayResults> {
    return evaluations.tlsDayResults(this.db, d);
  }

  async removeTLSResults(d: TLSDay): Promise<number> {
    return evaluations.removeTLSResults(this.db, d);
  }

  /** Removes received DMARC and TLS reports that arrived before `time`; returns how many. */
  async removeReceivedReportsBefore(time: number): Promise<number> {
    return this.db.transaction(
      () =>
        this.db.prepare('DELETE FROM dmarc_reports WHERE received < ?').run(time).changes +
        this.db.prepare('DELETE FROM tls_reports WHERE received < ?').run(time).changes,
    )();
  }

  /** Removes an account's keys and login attempts (account removal). */
  async removeAccount(account: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM tls_public_keys WHERE account = ?').run(account);
      this.db.prepare('DELETE FROM login_attempts WHERE account = ?').run(account);
    })();
  }

  private wal: FileHandle | null = null;
  private syncing: Promise<void> | null = null;
  private nextSync: Promise<void> | null = null;

  /**
   * Resolves once every commit made before the call is on disk. A sync already running
   * may have started before that commit, so a call during one waits for the next sync,
   * which also covers every other caller that arrived meanwhile (group commit).
   */
  durable(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.syncWAL();
      return this.syncing;
    }
    this.nextSync ??= this.syncing
      .catch(() => undefined)
      .then(() => {
        this.nextSync = null;
        this.syncing ??= this.syncWAL();
        return this.syncing;
      });
    return this.nextSync;
  }

  private async syncWAL(): Promise<void> {
    try {
      this.wal ??= await open(`${this.file}-wal`, 'r');
      await this.wal.datasync();
    } finally {
      this.syncing = null;
    }
  }

  async close(): Promise<void> {
    await this.durable().catch(() => undefined);
    await this.wal?.close().catch(() => undefined);
    this.wal = null;
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.close();
  }
}

/** The key identifier: base64url (no padding) of SHA-256 over the SubjectPublicKeyInfo. */
export function publicKeyFingerprint(spkiDER: Buffer): string {
  return createHash('sha256').update(spkiDER).digest('base64url');
}

function tlsKeyFromRow(r: Record<string, unknown>): TLSPublicKey {
  return {
    fingerprint: r.fingerprint as string,
    created: r.created as number,
    name: r.name as string,
    type: r.type as string,
    certDER: r.cert_der as Buffer,
    account: r.account as string,
    loginAddress: r.login_address as string,
    noIMAPPreauth: r.no_imap_preauth === 1,
  };
}
