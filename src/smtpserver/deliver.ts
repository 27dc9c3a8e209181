// The incoming delivery pipeline: verification of the message (iprev, SPF, DKIM, ARC,
// DMARC), then per recipient analysis and delivery into the account's mailbox with the
// trace and verification headers prepended (RFC 5321 §4.4, RFC 8601). When some
// recipients fail, the sender gets one DSN (RFC 3464); when all fail, the reply says why.
import type { CommandResult } from './command.js';
import type { Recipient, SmtpConn, Transaction } from './conn.js';
import { userError } from './errors.js';
import type { MessageInfo } from './msginfo.js';
import { receivedHeader } from './received.js';
import { analyze, REASON_NO_BAD_SIGNALS, type Analysis } from './analyze.js';
import { ingestReport, isReportError } from '../reports/index.js';
import { open, readFile } from 'node:fs/promises';
import { JunkFilter, classifyCounts, type Classification, type Tokens } from '../junk/index.js';
import { obscureOwnAuthResults } from './authheaders.js';
import {
  verificationHeaders,
  verifiedDomains,
  verifyIncoming,
  type DmarcOverride,
  type Verification,
} from './verify.js';
import { organizationalDomain, type DnsblCheck } from '../msgauth/index.js';
import { RECENT_PER_SOURCE, sourceDecides } from '../junk/reputation.js';
import { matchRule, type MatchedRule } from './rules.js';
import { queueDSN, type RcptError } from './partialdsn.js';
import { dmarcEvaluation } from './evaluation.js';
import { localserveEffect, localserveError, localserveTimeoutError } from './localserve.js';
import { smtpMetrics } from './metrics.js';
import { maskIP } from '../net/index.js';
import {
  isStoreError,
  isStorageFull,
  Flag,
  type Account,
  type DeliveryFacts,
  type EvidenceQuery,
  type PreparedMessage,
} from '../store/index.js';
import { C, SE, formatLocalpart } from '../smtp/index.js';
import { resolveAddress, type DestinationConfig, type DomainsConfig } from '../config/index.js';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';

/** Messages up to this size are read into memory once for all the checks. */
const IN_MEMORY = 1024 * 1024;

/** The content filter reads at most this much of a message. */
const CONTENT_READ_LIMIT = 2 * 1024 * 1024;
/** Wanted and junk messages a filter must have learnt before its verdict counts. */
const MIN_TRAINED = 10;

/** The first `limit` bytes of a file. */
async function readHead(path: string, limit: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(limit, (await fh.stat()).size));
    let n = 0;
    while (n < limit) {
      const r = await fh.read(buf, n, limit - n, n);
      if (r.bytesRead === 0) break;
      n += r.bytesRead;
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}

/** A report message is read into memory to be parsed: larger ones are not reports. */
const MAX_REPORT_MESSAGE = 25 * 1024 * 1024;

const sleep = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

const ORDER = { account: 0, alias: 1, remote: 2, 'unknown-user': 3 } as const;

export async function deliver(
  c: SmtpConn,
  tx: Transaction,
  msg: PreparedMessage,
  info: MessageInfo,
  has8bit: boolean,
): Promise<CommandResult> {
  void has8bit;
  const rcpts = [...tx.recipients].sort((a, b) => ORDER[a.target.kind] - ORDER[b.target.kind]);
  if (rcpts.every((r) => r.target.kind === 'unknown-user')) {
    // Every recipient unknown looks like address guessing: slow it down.
    for (const _ of rcpts) smtpMetrics.delivery.inc({ result: 'unknownuser', reason: '' });
    await sleep(c.ctx.delays.unknownRecipients);
    throw userError(C.MailboxUnavailablePerm, SE.BadDestMailbox1, 'no such user(s)');
  }
  let verification: Verification | null = null;
  // A message of ordinary size is read once, for verification, the content filter and
  // report parsing alike.
  const data = !c.ctx.localserve && msg.size <= IN_MEMORY ? await readFile(msg.path) : null;
  if (!c.ctx.localserve) {
    verification = await verifyIncoming(c, tx, msg, info, data);
    if (verification.spf.explanation) {
      // The sender's own words: logged, never shown in headers (they could mislead).
      c.log.info({ explanation: verification.spf.explanation }, 'spf fail explanation');
    }
    await obscureOwnAuthResults(msg, info, c.ctx.hostname);
  }
  const d = new Delivery(c, tx, msg, info, verification, data);
  for (const r of rcpts) await d.recipient(r);
  const errors = d.errors;
  if (errors.length === tx.recipients.length) throw joinedError(errors);
  if (errors.length > 0) await queueDSN(c, tx, msg, info, errors);
  c.reply(C.Completed, SE.Other0, 'message accepted');
  return { code: C.Completed, secode: SE.Other0 };
}

/**
 * The reply when every recipient failed: the same code for all gives that code with each
 * distinct text on its own line (multiline, RFC 5321 §4.2.1); mixed codes give a line per
 * recipient under 554 5.3.0 if any was permanent, else 451 4.3.0.
 */
function joinedError(errors: RcptError[]) {
  const first = errors[0]!;
  if (errors.every((e) => e.code === first.code && e.secode === first.secode)) {
    return userError(first.code, first.secode, [...new Set(errors.map((e) => e.msg))].join('\n'));
  }
  const perm = errors.some((e) => e.code >= 500);
  const lines = errors.map(
    (e) => `${e.rcpt.address}: ${e.code} ${Math.floor(e.code / 100)}.${e.secode} ${e.msg}`,
  );
  lines.push('multiple errors');
  return userError(
    perm ? C.TransactionFailed : C.LocalError,
    SE.OtherMailSystem0,
    lines.join('\n'),
  );
}

class Delivery {
  readonly errors: RcptError[] = [];
  private readonly explicit: Set<string>;
  private readonly fromAddress: string;
  private readonly facts: DeliveryFacts;
  private delayed = false;
  /** SHA-256 of the message file, computed when a reject is kept. */
  private hash: Buffer | undefined;
  private dnsbl: Promise<DnsblCheck> | undefined;
  private report: Promise<'dmarc' | 'tls' | null> | undefined;
  private tokens: Promise<Tokens> | undefined;
  private bytes: Promise<Buffer> | undefined;

  /** The whole message in memory, read once (callers check its size first). */
  private data(): Promise<Buffer> {
    return (this.bytes ??= readFile(this.msg.path));
  }

  constructor(
    private readonly c: SmtpConn,
    private readonly tx: Transaction,
    private readonly msg: PreparedMessage,
    private readonly info: MessageInfo,
    private readonly verification: Verification | null,
    data: Buffer | null,
  ) {
    if (data) this.bytes = Promise.resolve(data);
    this.explicit = new Set(
      tx.recipients.flatMap((r) => (r.target.kind === 'account' ? [r.target.canonical] : [])),
    );
    this.fromAddress = info.from ? canonicalFrom(c.ctx.domains(), info.from) : '';
    this.facts = baseFacts(c, tx, info, verification);
  }

  private fail(rcpt: Recipient, code: number, secode: string, msg: string, result: string): void {
    smtpMetrics.delivery.inc({ result, reason: '' });
    this.errors.push({ rcpt, code, secode, msg });
  }

  async recipient(r: Recipient): Promise<void> {
    const t = r.target;
    if (t.kind === 'unknown-user' || t.kind === 'remote') {
      this.fail(r, C.MailboxUnavailablePerm, SE.BadDestMailbox1, 'no such user', 'unknownuser');
      return;
    }
    if (t.kind === 'account') {
      const e = await this.toAccount(r, t.account, t.destination, r.address);
      if (e) this.fail(r, e.code, e.secode, e.msg, e.result);
      return;
    }
    // An alias: who may post (a member; the alias itself with allow_msg_from; anyone with
    // post_public), then each member once.
    const a = t.alias;
    const members = t.members;
    const memberFrom = members.some((m) => m.canonical === this.fromAddress);
    const allowed =
      memberFrom || (a.allow_msg_from && this.fromAddress === t.canonical) || a.post_public;
    if (!allowed) {
      this.fail(
        r,
        C.MailboxUnavailablePerm,
        SE.ExpnProhibited2,
        'not allowed to send to destination',
        'reject',
      );
      return;
    }
    let delivered = false;
    let firstError: Awaited<ReturnType<Delivery['toAccount']>> = null;
    for (const m of members) {
      if (this.explicit.has(m.canonical) || m.canonical === this.fromAddress) continue;
      const e = await this.toAccount(r, m.account, m.destination, m.canonical);
      if (!e) delivered = true;
      else {
        firstError ??= e;
        // After a failure that is not about quota, stop unless something got through.
        if (e.code !== C.InsufficientStorage && !delivered) break;
      }
    }
    if (!delivered && firstError) {
      this.fail(r, firstError.code, firstError.secode, firstError.msg, firstError.result);
    } else if (!delivered) {
      // Every member was skipped: they get the message another way.
      smtpMetrics.delivery.inc({ result: 'delivered', reason: 'alias' });
    }
  }

  /**
   * Why this account does not enforce a failing DMARC policy, if it does not: a valid ARC
   * chain sealed by a forwarder it (or the server) trusts (RFC 8617 §7.2.1), or a From
   * domain it allows.
   */
  private dmarcOverride(account: string): DmarcOverride {
    const v = this.verification;
    if (!v || v.dmarc.status !== 'fail' || v.dmarc.policy === 'none') return null;
    const accCfg = this.c.ctx.domains().accounts[account];
    const sealers = [
      ...(this.c.ctx.verification?.trustedArcSealers ?? []),
      ...(accCfg?.trusted_arc_sealers ?? []),
    ];
    if (v.arc.result === 'pass' && sealers.includes(v.arc.sealer)) {
      return { type: 'trusted_forwarder', comment: `arc sealed by ${v.arc.sealer}` };
    }
    const from = v.dmarc.domain;
    const allowed = (accCfg?.allow_dmarc_failures_from ?? []).find(
      (d) => from === d || from.endsWith(`.${d}`),
    );
    if (allowed) return { type: 'local_policy', comment: `account allows ${allowed}` };
    return null;
  }

  /** Keeps the DMARC evaluation for the From domain's aggregate report, if it asks for one. */
  private async evaluate(
    acc: Account,
    analysis: Analysis,
    mailbox: string,
    override: DmarcOverride,
    facts: DeliveryFacts,
    reportAddress: boolean,
  ): Promise<void> {
    const c = this.c;
    const v = this.verification;
    if (!v || !c.ctx.dmarcReports || !this.info.from) return;
    try {
      const e = await dmarcEvaluation({
        verification: v,
        analysis,
        mailbox,
        override,
        isForward: facts.isForward === true,
        remoteIP: c.remoteIP,
        envelopeTo: facts.rcptToDomain ?? '',
        envelopeFrom: this.tx.mailFrom?.domain?.ascii ?? c.hello?.name ?? '',
        headerFrom: this.info.from.domain.toLowerCase(),
        reportAddress,
        knownDomain: (d) => acc.knownOrgDomain(d),
        now: c.ctx.verification?.evaluatedAt?.() ?? Date.now(),
      });
      if (e) await c.ctx.store.global.addDMARCEvaluation(e);
    } catch (err) {
      c.log.error({ err }, 'keeping dmarc evaluation for aggregate report');
    }
  }

  /**
   * Whether this delivery waits as from a first-time sender: nothing else decided (no
   * bad signals), not a delivery report, forward or mailing list, and the account has
   * never corresponded with the From address.
   */
  private async firstTimeSender(
    acc: Account,
    reason: string,
    facts: DeliveryFacts,
  ): Promise<boolean> {
    const c = this.c;
    if (c.submission || c.ctx.delays.firstTimeSender <= 0) return false;
    if (reason !== REASON_NO_BAD_SIGNALS || this.info.isDSN) return false;
    if (facts.isForward || facts.isMailingList) return false;
    if (c.ctx.domains().accounts[acc.name]?.no_first_time_sender_delay) return false;
    const from = this.info.from;
    if (!from) return true;
    return !(await acc.knownSender(from.localpart, from.domain));
  }

  /**
   * The header fields prepended to a stored copy, in this order: X-Tidings-Reason, the
   * analysis's own, Delivered-To (RFC 9228), Return-Path, Authentication-Results and
   * Received-SPF (RFC 8601 §2.1: above the Received field of this hop), Received.
   */
  private prefix(
    r: Recipient,
    analysis: { reason: string; reasonText: string[]; headers: string },
    deliverTo: string,
    override: DmarcOverride,
  ): Buffer {
    const c = this.c;
    const reason = [analysis.reason, ...analysis.reasonText].join('; ').replace(/[\r\n]+/g, ' ');
    return Buffer.from(
      `X-Tidings-Reason: ${reason}\r\n` +
        analysis.headers +
        `Delivered-To: ${deliverTo}\r\n` +
        `Return-Path: <${this.tx.mailFrom ? returnPath(this.tx) : ''}>\r\n` +
        (this.verification ? verificationHeaders(c, this.verification, override) : '') +
        receivedHeader(c, {
          forRcpt: r.address,
          smtputf8: this.tx.smtputf8,
          requireTLS: this.tx.requireTLS,
        }),
      'utf8',
    );
  }

  /**
   * Stores the report this message carries, for an address that receives reports: only
   * from a sender whose From address DMARC verified, only about a domain of ours. Returns
   * the kind when stored (or stored before), else null: the message is then judged as
   * any other. Once per message, whatever the number of recipients.
   */
  private ingest(kind: 'dmarc' | 'tls'): Promise<'dmarc' | 'tls' | null> {
    this.report ??= (async () => {
      const c = this.c;
      const v = this.verification;
      if (!v || v.dmarc.status !== 'pass') {
        c.log.info({ kind }, 'report from an unverified sender, not stored');
        return null;
      }
      if (this.msg.size > MAX_REPORT_MESSAGE) {
        c.log.info({ kind, size: this.msg.size }, 'report message too large, not stored');
        return null;
      }
      try {
        const domains = c.ctx.domains().domains;
        const r = await ingestReport(kind, await this.data(), c.ctx.store, {
          forDomain: (d) => domains[d.toLowerCase()] !== undefined,
        });
        smtpMetrics.reports.inc({ kind, result: r.added ? 'stored' : 'duplicate' });
        c.log.info({ kind, id: r.id, org: r.org, domain: r.domain, added: r.added }, 'report');
        return kind;
      } catch (e) {
        if (!isReportError(e)) throw e;
        smtpMetrics.reports.inc({ kind, result: 'refused' });
        c.log.info({ kind, err: e.message }, 'report refused');
        return null;
      }
    })();
    return this.report;
  }

  /**
   * The account's content filter on this message, or null when the account has it off
   * or it has learnt too little to say anything (fewer than MIN_TRAINED wanted or junk
   * messages). The message is read and tokenized once for all recipients.
   */
  private async classify(account: string): Promise<Classification | null> {
    const c = this.c;
    const settings = c.ctx.domains().accounts[account]?.junk_filter;
    if (!settings?.enabled) return null;
    try {
      const filter = await JunkFilter.open(c.ctx.store, account, settings);
      // Untrained, the filter is not asked: the message is not even read for it.
      const { totals } = await filter.db.counts([]);
      if (totals.ham < MIN_TRAINED || totals.spam < MIN_TRAINED) return null;
      this.tokens ??= (async () => {
        const whole = this.msg.size <= CONTENT_READ_LIMIT;
        const data = whole ? await this.data() : await readHead(this.msg.path, CONTENT_READ_LIMIT);
        return filter.tokens(data, whole ? this.msg.part : undefined);
      })();
      const tokens = await this.tokens;
      const counts = await filter.db.counts(tokens.keys);
      const r = classifyCounts(tokens, counts, counts.totals, { threshold: settings.threshold });
      smtpMetrics.junkProbability.observe(r.probability);
      return r;
    } catch (e) {
      c.log.error({ err: e, account }, 'junk filter');
      return null;
    }
  }

  /** The listener's blocklists, asked at most once per message and only if needed. */
  private blocklists() {
    const checker = this.c.ctx.dnsbl;
    if (!checker || !this.verification || checker.zones.length === 0) return null;
    return {
      zones: checker.zones,
      check: () => (this.dnsbl ??= checker.check(this.c.remoteIP)),
    };
  }

  /** The destination rule this message matches, if any. */
  private matchRule(destination: DestinationConfig): MatchedRule | null {
    if (destination.rules.length === 0) return null;
    const v = this.verification;
    const from = this.info.from;
    return matchRule(destination.rules, {
      mailFrom: this.tx.mailFrom ? returnPath(this.tx) : '',
      msgFrom: from ? `${from.localpart}@${from.domain}` : '',
      verifiedDomains: v ? verifiedDomains(v) : [],
      fields: this.info.fields,
    });
  }

  /**
   * The sources whose history with the account is looked up (verified ones only). For
   * a forward only the From address: the network, envelope and signatures are the
   * forwarder's, and the user chose to trust the forwarder with the rule.
   */
  private evidenceQuery(forward: boolean): EvidenceQuery {
    const v = this.verification!;
    const f = this.facts;
    const from = this.info.from;
    if (forward) return { recent: RECENT_PER_SOURCE, ...(from ? { fromAddress: from } : {}) };
    return {
      recent: RECENT_PER_SOURCE,
      decides: sourceDecides,
      ...(from && v.dmarc.status === 'pass' ? { fromAddress: from } : {}),
      dkimDomains: f.dkimDomains ?? [],
      ...(v.spf.status === 'pass' && v.spf.identity === 'mailfrom'
        ? { mailFromDomain: v.spf.domain }
        : {}),
      ...(v.dmarc.status === 'pass' && f.msgFromOrgDomain
        ? { fromOrgDomain: f.msgFromOrgDomain }
        : {}),
      ...(f.remoteIPMasked ? { ipMasked: f.remoteIPMasked } : {}),
    };
  }

  /**
   * Keeps a copy of a rejected message in the account's Rejects mailbox, if it has one
   * (read, marked as a reject, once per content); failures are logged, never replied.
   */
  private async keepReject(
    acc: Account,
    r: Recipient,
    analysis: { reason: string; reasonText: string[] },
    facts: DeliveryFacts,
  ): Promise<void> {
    const c = this.c;
    const accCfg = c.ctx.domains().accounts[acc.name];
    const name = accCfg?.rejects_mailbox;
    if (!name) return;
    try {
      // From memory when the message is there already; a larger one is streamed.
      this.hash ??=
        this.msg.size <= IN_MEMORY
          ? createHash('sha256')
              .update(await this.data())
              .digest()
          : await fileHash(this.msg.path);
      const existing = await acc.mailbox(name);
      if (existing && (await acc.hasMessageHash(existing.id, this.hash))) return;
      if (existing && !accCfg.keep_rejects) await acc.tidyRejects(existing.id, this.msg.size);
      const prefix = this.prefix(r, { ...analysis, headers: '' }, r.address, null);
      await acc.addMessages(
        name,
        [
          {
            message: this.msg,
            prefix,
            flags: Flag.Seen,
            facts: { ...facts, isReject: true, messageHash: this.hash },
          },
        ],
        { create: true },
      );
    } catch (e) {
      c.log.error({ err: e, account: acc.name }, 'keeping rejected message');
    }
  }

  /** A message accepted after all: its copies in the Rejects mailbox go. */
  private async removeRejected(acc: Account): Promise<void> {
    const name = this.c.ctx.domains().accounts[acc.name]?.rejects_mailbox;
    if (!name || !this.info.messageId) return;
    try {
      const mb = await acc.mailbox(name);
      if (mb) await acc.removeRejected(mb.id, this.msg.header);
    } catch (e) {
      this.c.log.error({ err: e, account: acc.name }, 'removing rejected copy');
    }
  }

  /** Delivers one copy; returns the error for this recipient, or null. */
  private async toAccount(
    r: Recipient,
    account: string,
    destination: DestinationConfig,
    deliverTo: string,
  ): Promise<{ code: number; secode: string; msg: string; result: string } | null> {
    const c = this.c;
    const mailbox = destination.mailbox;
    const rule = this.matchRule(destination);
    if (c.ctx.localserve) {
      const eff = localserveEffect(r.path.localpart, 'data');
      if (eff?.timeout) await sleep(c.ctx.delays.localserveTimeout);
      // The same replies as for the other stages and for submission.
      const e = eff ? (eff.timeout ? localserveTimeoutError() : localserveError(eff.code)) : null;
      if (e)
        return {
          code: e.code,
          secode: e.secode ?? SE.Other0,
          msg: e.message,
          result: 'delivererror',
        };
    }
    const size = this.msg.size;
    if (!c.ctx.limiters.delivery.add(account, c.remoteIP, size)) {
      c.setSlow(true);
      return {
        code: C.LocalError,
        secode: SE.DeliveryNotAuth1,
        msg: 'too many messages from your ip/network, try again later',
        result: 'reject',
      };
    }
    const cfg = c.ctx.domains();
    const facts: DeliveryFacts = {
      ...this.facts,
      rcptToLocalpart: r.path.localpart,
      rcptToDomain: r.path.domain?.ascii ?? c.ctx.hostname,
      isForward: rule?.rule.is_forward ?? false,
      isMailingList: rule?.rule.list_allow_domain !== undefined,
    };
    let acc: Account;
    try {
      acc = await c.ctx.store.account(account);
    } catch (e) {
      c.log.error({ err: e, account }, 'opening account for delivery');
      return deliveryError(e);
    }
    const override = this.dmarcOverride(account);
    const report = destination.reports ? await this.ingest(destination.reports) : null;
    const analysis: Analysis = report
      ? { accept: true, mailbox, reason: `${report}-report`, reasonText: [], headers: '' }
      : await analyze({
          cfg,
          account,
          mailbox,
          junkMailbox: async () => (await acc.mailboxBySpecialUse('\\Junk'))?.name ?? 'Junk',
          facts,
          size,
          verification: this.verification,
          dmarcOverride: override,
          evidence: this.verification
            ? await acc.senderEvidence(this.evidenceQuery(facts.isForward === true))
            : null,
          // A forward comes from the forwarder's address: its listing is not the sender's.
          blocklists: facts.isForward ? null : this.blocklists(),
          rule,
          content: this.verification ? () => this.classify(account) : null,
          junkThreshold: cfg.accounts[account]?.junk_filter.threshold,
          ...(c.ctx.verification?.jitter ? { jitter: c.ctx.verification.jitter } : {}),
        });
    await this.evaluate(acc, analysis, mailbox, override, facts, !!destination.reports);
    if (!analysis.accept) {
      c.setSlow(true);
      c.log.info({ account, reason: analysis.reason, text: analysis.reasonText }, 'rejected');
      await this.keepReject(acc, r, analysis, facts);
      return {
        code: analysis.code ?? C.LocalError,
        secode: analysis.secode ?? SE.OtherMailSystem0,
        msg: analysis.errmsg ?? 'error processing',
        result: 'reject',
      };
    }
    if (!this.delayed && (await this.firstTimeSender(acc, analysis.reason, facts))) {
      // A first-time sender with no bad signals: keep a possible spammer's connection
      // busy; a real mail server just waits.
      this.delayed = true;
      await sleep(c.ctx.delays.firstTimeSender);
    }
    const prefix = this.prefix(r, analysis, deliverTo, override);
    try {
      // The only copy: the store may move the temp file into place instead of linking.
      const take = this.tx.recipients.length === 1 && r.target.kind === 'account';
      await acc.addMessages(
        analysis.mailbox,
        // A stored report is delivered read: the user need not look at it.
        [{ message: this.msg, prefix, facts, take, flags: report ? Flag.Seen : 0 }],
        {
          create: true,
        },
      );
    } catch (e) {
      if (isStoreError(e) && e.code === 'overquota') {
        return {
          code: C.InsufficientStorage,
          secode: SE.MailboxFull2,
          msg: 'account storage full',
          result: 'accounterror',
        };
      }
      c.log.error(
        { err: isStorageFull(e) ? (e as Error).message : e, account },
        'delivering message',
      );
      return deliveryError(e);
    }
    await this.removeRejected(acc);
    smtpMetrics.delivery.inc({ result: 'delivered', reason: analysis.reason });
    c.log.info(
      { account, mailbox: analysis.mailbox, reason: analysis.reason },
      'message delivered',
    );
    return null;
  }
}

/** SHA-256 of a file, streamed. */
async function fileHash(path: string): Promise<Buffer> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest();
}

/** The reply for a recipient whose delivery failed on our side. */
function deliveryError(e: unknown) {
  const full = isStorageFull(e);
  return {
    code: full ? C.InsufficientStorage : C.LocalError,
    secode: full ? SE.MailSystemFull1 : SE.OtherMailSystem0,
    msg: full ? 'insufficient system storage, try again later' : 'error processing',
    result: 'delivererror',
  };
}

/**
 * The From address in the form alias members and aliases are configured in, so that a
 * member writing from a tagged or differently cased address is still recognised.
 */
function canonicalFrom(cfg: DomainsConfig, from: { localpart: string; domain: string }): string {
  const r = resolveAddress(cfg, from);
  if (r.kind === 'account' || r.kind === 'alias') return r.canonical;
  return `${from.localpart}@${from.domain}`.toLowerCase();
}

function returnPath(tx: Transaction): string {
  const p = tx.mailFrom!;
  return `${formatLocalpart(p.localpart)}@${p.domain?.unicode ?? ''}`;
}

/** What reputation will want to know of this delivery (see DeliveryFacts). */
function baseFacts(
  c: SmtpConn,
  tx: Transaction,
  info: MessageInfo,
  v: Verification | null,
): DeliveryFacts {
  let masked: [string, string, string] | undefined;
  try {
    masked = maskIP(c.remoteIP);
  } catch {
    masked = undefined;
  }
  const version = { 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 } as Record<string, number>;
  const tlsVersion = c.tlsActive ? (version[c.tlsDescription().split(' ')[0] ?? ''] ?? 0) : 1;
  return {
    remoteIP: c.remoteIP,
    remoteIPMasked: masked,
    ehloDomain: c.hello?.domain?.ascii ?? '',
    mailFrom: tx.mailFrom ? returnPath(tx) : '',
    mailFromLocalpart: tx.mailFrom?.localpart ?? '',
    mailFromDomain: tx.mailFrom?.domain?.ascii ?? '',
    msgFromLocalpart: info.from?.localpart ?? '',
    msgFromDomain: info.from?.domain ?? '',
    msgFromOrgDomain: info.from ? organizationalDomain(info.from.domain) : '',
    ehloValidated: v?.spf.identity === 'helo' && v.spf.status === 'pass',
    mailFromValidated: v?.spf.identity === 'mailfrom' && v.spf.status === 'pass',
    msgFromValidated: v?.dmarc.status === 'pass',
    dkimDomains: v
      ? [...new Set(v.dkim.filter((d) => d.result === 'pass').map((d) => d.domain))]
      : [],
    receivedTLSVersion: tlsVersion,
    receivedRequireTLS: tx.requireTLS,
    dsn: info.isDSN,
  };
}
