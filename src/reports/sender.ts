// Sends the outgoing reports once their period has ended: DMARC aggregate reports per
// policy domain and period (RFC 7489 §7.2), and TLS reports per recipient domain and
// UTC day (RFC 8460 §4). Runs a few minutes after every hour; each run sends what is
// due, then drops what it reported. A period with only optional entries is dropped
// without a report. The run also removes received reports past their retention.
import type { Resolver } from '../dns/index.js';
import type { Logger } from '../log/index.js';
import type { DMARCPeriod, GlobalDB, TLSDay, TLSDayResults } from '../store/index.js';
import { utcDay } from '../store/index.js';
import { dmarcReportMail } from './dmarcsend.js';
import {
  acceptsReports,
  parseReportURI,
  tlsrptAddresses,
  type ReportAddress,
} from './reportmail.js';
import { tlsReportFile, tlsReportMail } from './tlssend.js';
import { httpsPost, type ReportPost } from './httpspost.js';
import { defineCounter } from '../metrics/index.js';

export const reportMetrics = {
  sent: defineCounter({
    name: 'tidings_reports_sent_total',
    help: 'Outgoing DMARC and TLS reports, by kind and result (queued, posted, skipped, error).',
    labelNames: ['kind', 'result'],
  }),
};

/** Queues one report message to one address. */
export type ReportEnqueue = (
  data: Buffer,
  m: { to: ReportAddress; messageId: string; subject: string },
) => Promise<void>;

export type ReportSenderOptions = {
  hostname: string;
  global: GlobalDB;
  resolver: Resolver;
  log: Logger;
  enqueue: ReportEnqueue;
  /** Send DMARC aggregate reports; TLS reports. */
  dmarc: boolean;
  tls: boolean;
  /** Received reports are removed this long after they arrived; 0 keeps them. */
  keepReceivedMs?: number;
  /** Posts TLS reports to "https:" reporting URIs; default httpsPost with `resolver`. */
  post?: ReportPost;
  clock?: () => number;
};

export type ReportRun = { dmarc: number; tls: number; dropped: number; expired: number };

/** Reporting addresses of one record used at most: more is no use, and costs us. */
export const MAX_REPORT_ADDRESSES = 4;
/** TLS results whose report cannot be sent for this many days are dropped. */
const TLS_KEEP_DAYS = 3;
const HOUR = 3600_000;
/** Minutes past the hour for a run: after the period, not on the minute everyone uses. */
const RUN_OFFSET = 7 * 60_000;

export class ReportSender {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<ReportRun> | null = null;
  private readonly clock: () => number;
  private readonly log: Logger;

  private readonly post: ReportPost;

  constructor(private readonly o: ReportSenderOptions) {
    this.clock = o.clock ?? Date.now;
    this.log = o.log.child({ pkg: 'reports' });
    this.post = o.post ?? httpsPost({ resolver: o.resolver });
  }

  /** Runs at RUN_OFFSET past every hour until stop(). */
  start(): void {
    if (this.timer) return;
    const now = this.clock();
    let next = Math.floor(now / HOUR) * HOUR + RUN_OFFSET;
    if (next <= now) next += HOUR;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run()
        .catch((e: unknown) => this.log.error({ err: e }, 'sending reports'))
        .finally(() => this.start());
    }, next - now);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /** Sends every report that is due; one run at a time. */
  run(): Promise<ReportRun> {
    this.running ??= this.runOnce().finally(() => (this.running = null));
    return this.running;
  }

  private async runOnce(): Promise<ReportRun> {
    const now = this.clock();
    const out: ReportRun = { dmarc: 0, tls: 0, dropped: 0, expired: 0 };
    const keep = this.o.keepReceivedMs ?? 0;
    if (keep > 0) out.expired = await this.o.global.removeReceivedReportsBefore(now - keep);
    if (this.o.dmarc) {
      for (const p of await this.o.global.dmarcPeriods(now)) {
        if (p.optionalOnly) {
          out.dropped++;
          await this.o.global.removeDMARCEvaluations(p);
          continue;
        }
        out.dmarc += await this.sendDMARC(p, now);
      }
    }
    if (this.o.tls) {
      const today = utcDay(now);
      for (const d of await this.o.global.tlsDays(today)) {
        if (d.optionalOnly) {
          out.dropped++;
          await this.o.global.removeTLSResults(d);
          continue;
        }
        out.tls += await this.sendTLS(d, now);
      }
    }
    return out;
  }

  /** One period's report to each agreeing address; returns how many were queued. */
  private async sendDMARC(p: DMARCPeriod, now: number): Promise<number> {
    const evals = await this.o.global.dmarcEvaluations(p);
    const uris = evals[evals.length - 1]?.addresses ?? [];
    const log = this.log.child({ domain: p.policyDomain, start: new Date(p.start).toISOString() });
    let sent = 0;
    for (const a of this.addresses(uris, log)) {
      if (!(await acceptsReports(this.o.resolver, p.policyDomain, a.domain))) {
        log.info(
          { to: `${a.localpart}@${a.domain}` },
          'dmarc report address outside the domain has not agreed to take its reports (RFC 7489 §7.1), skipped',
        );
        reportMetrics.sent.inc({ kind: 'dmarc', result: 'skipped' });
        continue;
      }
      const to = `${a.localpart}@${a.domain}`;
      const mail = await dmarcReportMail({
        hostname: this.o.hostname,
        to,
        period: p,
        evals,
        now: new Date(now),
      });
      if (a.maxBytes > 0 && mail.data.length > a.maxBytes) {
        log.warn(
          { to, size: mail.data.length, max: a.maxBytes },
          'dmarc report larger than the address takes, skipped',
        );
        reportMetrics.sent.inc({ kind: 'dmarc', result: 'skipped' });
        continue;
      }
      // Kept for the next run when it cannot be queued: nothing is dropped unsent.
      if (!(await this.queue('dmarc', a, mail, log))) return sent;
      sent++;
    }
    await this.o.global.removeDMARCEvaluations(p);
    return sent;
  }

  private async sendTLS(d: TLSDay, now: number): Promise<number> {
    const log = this.log.child({ domain: d.policyDomain, day: d.day });
    const stale = Date.parse(`${d.day}T00:00:00Z`) < now - TLS_KEEP_DAYS * 24 * HOUR;
    let uris: string[];
    try {
      uris = await tlsrptAddresses(this.o.resolver, d.policyDomain);
    } catch (e) {
      if (!stale) {
        log.info({ err: (e as Error).message }, 'tlsrpt record lookup failed, trying again later');
        return 0;
      }
      uris = [];
    }
    const results = await this.o.global.tlsDayResults(d);
    let sent = 0;
    const mailto = this.addresses(uris, log);
    sent += await this.postTLS(
      uris.filter((u) => /^https:/i.test(u.trim())).slice(0, MAX_REPORT_ADDRESSES - mailto.length),
      results,
      log,
    );
    for (const a of mailto) {
      const to = `${a.localpart}@${a.domain}`;
      const mail = await tlsReportMail({
        hostname: this.o.hostname,
        to,
        results,
        now: new Date(now),
      });
      if (!(await this.queue('tls', a, mail, log))) return sent;
      sent++;
    }
    await this.o.global.removeTLSResults(d);
    return sent;
  }

  /**
   * Posts the report to each "https:" reporting URI (RFC 8460 §5.3.2); returns how many
   * took it. One attempt each: a URI that fails is logged, and the mail addresses of the
   * record still get theirs.
   */
  private async postTLS(uris: string[], results: TLSDayResults, log: Logger): Promise<number> {
    if (uris.length === 0) return 0;
    const file = await tlsReportFile(this.o.hostname, results);
    let posted = 0;
    for (const u of uris) {
      const url = u.trim();
      try {
        await this.post(url, file.gz, 'application/tlsrpt+gzip');
      } catch (e) {
        log.warn({ url, err: (e as Error).message }, 'posting tls report failed');
        reportMetrics.sent.inc({ kind: 'tls', result: 'error' });
        continue;
      }
      posted++;
      reportMetrics.sent.inc({ kind: 'tls', result: 'posted' });
      log.info({ url, reportId: file.reportId }, 'tls report posted');
    }
    return posted;
  }

  /** Queues one report; false (logged) when it could not be. */
  private async queue(
    kind: 'dmarc' | 'tls',
    a: ReportAddress,
    mail: { data: Buffer; messageId: string; subject: string; reportId: string },
    log: Logger,
  ): Promise<boolean> {
    const to = `${a.localpart}@${a.domain}`;
    try {
      await this.o.enqueue(mail.data, { to: a, messageId: mail.messageId, subject: mail.subject });
    } catch (e) {
      log.error({ err: e, to }, `queueing ${kind} report`);
      reportMetrics.sent.inc({ kind, result: 'error' });
      return false;
    }
    reportMetrics.sent.inc({ kind, result: 'queued' });
    log.info({ to, reportId: mail.reportId }, `${kind} report queued`);
    return true;
  }

  /** The mailto addresses of a record's reporting URIs, at most MAX_REPORT_ADDRESSES. */
  private addresses(uris: string[], log: Logger): ReportAddress[] {
    const out: ReportAddress[] = [];
    for (const u of uris) {
      const a = parseReportURI(u);
      if (!a) {
        // "https:" URIs of TLS reports are posted (postTLS); DMARC reports go by mail only.
        if (!/^https:/i.test(u.trim())) log.debug({ uri: u }, 'reporting uri not used, skipped');
        continue;
      }
      if (out.some((o) => o.localpart === a.localpart && o.domain === a.domain)) continue;
      if (out.length >= MAX_REPORT_ADDRESSES) break;
      out.push(a);
    }
    return out;
  }
}
