// MAIL and RCPT: the envelope of a transaction (RFC 5321 §4.1.1.2-3). Parameters: SIZE
// (RFC 1870), BODY (RFC 6152, RFC 3030), SMTPUTF8 (RFC 6531), REQUIRETLS (RFC 8689),
// HOLDFOR/HOLDUNTIL (RFC 4865), RET/ENVID/NOTIFY/ORCPT (RFC 3461), AUTH (RFC 4954 §5).
import { requireHello, type Command, type CommandResult } from './command.js';
import type { Recipient, RcptTarget, SmtpConn, Transaction } from './conn.js';
import { SmtpError, userError, fatalError, serverError } from './errors.js';
import {
  AddressError,
  C,
  ParamError,
  SE,
  decodeXtext,
  formatLocalpart,
  parseEnvid,
  parseMailFrom,
  parseNotify,
  parseOrcpt,
  parseRcptTo,
  parseRet,
  type Param,
  type Path,
} from '../smtp/index.js';
import { postmasterTarget, resolveAddress, type DomainsConfig } from '../config/index.js';
import { checkMailFromDomain } from '../dns/index.js';
import { FUTURE_RELEASE_MAX_MS } from '../queue/index.js';
import { localserveFailure } from './localserve.js';

/**
 * The address of a path for the queue, logs and trace headers: ASCII domain, quoted
 * localpart. A bare "<Postmaster>" is postmaster at our host name (RFC 5321 §4.1.1.3),
 * so Delivered-To and "for" get a complete address.
 */
export function pathAddress(p: Path, hostname: string): string {
  const lp = formatLocalpart(p.localpart);
  if (p.ipLiteral) return `${lp}@[${p.ipLiteral.includes(':') ? 'IPv6:' : ''}${p.ipLiteral}]`;
  return `${lp}@${p.domain?.ascii ?? hostname}`;
}

/** Submission needs TLS (unless the listener allows it without) and a logged-in account. */
export function requireAuth(c: SmtpConn): void {
  if (!c.submission) return;
  // RFC 3207 §4: 530 5.7.0 until STARTTLS; the missing TLS is the problem to name first.
  if (c.ctx.requireTLSForAuth && !c.tlsActive) {
    throw userError(
      C.AuthRequired,
      SE.OtherSecurity0,
      'submission requires TLS: use STARTTLS first',
    );
  }
  if (!c.account) throw userError(C.AuthRequired, SE.OtherSecurity0, 'authentication required');
}

/** Parses "FROM:" / "TO:" and the arguments, with 501 replies for bad input. */
function parseArgs<T>(args: string, keyword: string, parse: (rest: string) => T): T {
  if (args.slice(0, keyword.length).toUpperCase() !== keyword) {
    throw userError(C.SyntaxErrorParams, SE.SyntaxError2, `missing "${keyword}" in command`);
  }
  try {
    return parse(args.slice(keyword.length));
  } catch (e) {
    if (e instanceof ParamError)
      throw userError(
        C.SyntaxErrorParams,
        SE.InvalidParams4,
        e.duplicate ? 'duplicate param' : e.message,
      );
    if (e instanceof AddressError)
      throw userError(
        C.SyntaxErrorParams,
        keyword === 'FROM:' ? SE.BadSenderSyntax7 : SE.BadDestMailboxSyntax3,
        e.message,
      );
    throw e;
  }
}

// RFC 5321 §4.1.1.2 MAIL; syntax §4.1.2.
export const mail: Command = async (c, args) => {
  try {
    return await mailCommand(c, args);
  } catch (e) {
    if (e instanceof SmtpError && e.user) c.badTransactions++;
    throw e;
  }
};

async function mailCommand(c: SmtpConn, args: string): Promise<CommandResult> {
  requireHello(c);
  requireAuth(c);
  const lim = c.ctx.limits;
  // Many failures and no success: the client is guessing addresses, close.
  if (c.badTransactions > lim.maxBadTransactions && c.goodTransactions === 0) {
    throw fatalError(C.MailboxUnavailablePerm, SE.OtherAddress0, 'too many failures');
  }
  if (c.tx) throw userError(C.BadSequence, SE.InvalidCmd1, 'already have MAIL');
  const { path, params } = parseArgs(args, 'FROM:', parseMailFrom);
  const tx: Transaction = {
    mailFrom: path,
    size: null,
    body: null,
    smtputf8: false,
    requireTLS: false,
    holdUntil: null,
    futureReleaseRequest: '',
    ret: null,
    envid: '',
    recipients: [],
    chunks: null,
  };
  // RFC 4865 §3: one release request; the conflict is reported before either value
  // (on port 25 the parameters are unknown, which mailParam reports).
  const holds = params.filter((p) => p.key === 'HOLDFOR' || p.key === 'HOLDUNTIL');
  if (c.submission && holds.length > 1) {
    throw userError(
      C.SyntaxErrorParams,
      SE.InvalidParams4,
      'cannot use both HOLDFOR and HOLDUNTIL',
    );
  }
  for (const p of params) mailParam(c, tx, p);
  if (c.ctx.localserve && path) {
    await localserveFailure(c, path.localpart, 'mailfrom');
  }
  if (c.submission) checkSubmissionSender(c, path);
  else await checkDeliverySender(c, path);
  c.tx = tx;
  c.reply(C.Completed, SE.OtherAddress0, 'sender ok');
  return { code: C.Completed, secode: SE.OtherAddress0 };
}

function mailParam(c: SmtpConn, tx: Transaction, p: Param): void {
  const v = p.value;
  const need = (): string => {
    if (v === null || v === '')
      throw userError(C.SyntaxErrorParams, SE.InvalidParams4, `missing value for ${p.key}`);
    return v;
  };
  switch (p.key) {
    case 'SIZE': {
      // RFC 1870 §6
      const s = need();
      if (!/^\d{1,20}$/.test(s))
        throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'bad SIZE value');
      const n = Number(s);
      const lim = c.ctx.limits;
      if (n > lim.maxMessageSize) {
        const listenerLimit = lim.maxMessageSize < lim.defaultMaxMessageSize;
        throw userError(
          C.ExceededStorage,
          listenerLimit ? SE.MsgLimitExceeded3 : SE.MsgTooBig4,
          'message too large',
        );
      }
      tx.size = n;
      return;
    }
    case 'BODY': {
      const b = need().toUpperCase();
      if (b !== '7BIT' && b !== '8BITMIME' && b !== 'BINARYMIME') {
        throw userError(C.ParamsNotRecognized, SE.InvalidParams4, `unrecognized BODY value ${b}`);
      }
      tx.body = b;
      return;
    }
    case 'SMTPUTF8':
      if (v !== null)
        throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'SMTPUTF8 takes no value');
      tx.smtputf8 = true;
      return;
    case 'REQUIRETLS':
      // RFC 8689 §3
      if (!c.ctx.requireTLSExtension)
        throw userError(C.ParamsNotRecognized, SE.NotSupported3, 'REQUIRETLS not supported');
      if (!c.tlsActive)
        throw userError(C.AuthRequired, SE.EncNeeded10, 'REQUIRETLS only allowed over TLS');
      if (v !== null)
        throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'REQUIRETLS takes no value');
      tx.requireTLS = true;
      return;
    case 'HOLDFOR':
    case 'HOLDUNTIL':
      futureRelease(c, tx, p.key, need());
      return;
    case 'RET':
      // RFC 3461 §4.3
      try {
        tx.ret = parseRet(need());
      } catch {
        throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'RET must be FULL or HDRS');
      }
      return;
    case 'ENVID':
      // RFC 3461 §4.4
      try {
        tx.envid = parseEnvid(need());
      } catch (e) {
        throw userError(
          C.SyntaxErrorParams,
          SE.InvalidParams4,
          `bad ENVID: ${(e as Error).message}`,
        );
      }
      return;
    case 'AUTH':
      // RFC 4954 §5: the original submitter; we record nothing from it.
      decodeCheck(need());
      return;
    default:
      throw userError(C.ParamsNotRecognized, SE.NotSupported3, `unrecognized parameter ${p.key}`);
  }
}

function decodeCheck(v: string): void {
  try {
    decodeXtext(v);
  } catch {
    throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'bad xtext in AUTH parameter');
  }
}

/** RFC 4865 FUTURERELEASE, on submission only. */
function futureRelease(c: SmtpConn, tx: Transaction, key: string, v: string): void {
  if (!c.submission)
    throw userError(C.ParamsNotRecognized, SE.NotSupported3, `unrecognized parameter ${key}`);
  const now = Date.now();
  let at: number;
  if (key === 'HOLDFOR') {
    if (!/^\d{1,9}$/.test(v))
      throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'bad HOLDFOR value');
    const secs = Number(v);
    if (secs * 1000 > FUTURE_RELEASE_MAX_MS)
      throw userError(C.TransactionFailed, SE.InvalidParams4, 'HOLDFOR too far in the future');
    at = now + secs * 1000;
    tx.futureReleaseRequest = `for;${v}`;
  } else {
    // RFC 3339 date-time (RFC 4865 §4)
    const m = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i.test(v);
    at = m ? Date.parse(v) : NaN;
    if (Number.isNaN(at))
      throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'bad HOLDUNTIL date-time');
    if (at <= now)
      throw userError(C.TransactionFailed, SE.InvalidParams4, 'HOLDUNTIL is in the past');
    if (at - now > FUTURE_RELEASE_MAX_MS)
      throw userError(C.TransactionFailed, SE.InvalidParams4, 'HOLDUNTIL too far in the future');
    tx.futureReleaseRequest = `until;${v}`;
  }
  tx.holdUntil = new Date(at);
}

/** Whether the account may send as this address (its own, or an alias allowing it). */
export function mayUseAddress(
  cfg: DomainsConfig,
  account: string,
  localpart: string,
  domain: string,
): boolean {
  const r = resolveAddress(cfg, { localpart, domain });
  if (r.kind === 'account') return r.account === account;
  if (r.kind === 'alias')
    return r.alias.allow_msg_from && r.members.some((m) => m.account === account);
  return false;
}

function checkSubmissionSender(c: SmtpConn, path: Path | null): void {
  if (!path || c.ctx.localserve) return;
  const owned =
    path.domain !== null &&
    mayUseAddress(c.ctx.domains(), c.account!, path.localpart, path.domain.ascii);
  if (!owned)
    throw userError(C.MailboxUnavailablePerm, SE.DeliveryNotAuth1, 'must match authenticated user');
}

async function checkDeliverySender(c: SmtpConn, path: Path | null): Promise<void> {
  if (!path) return;
  if (path.ipLiteral || !path.domain)
    throw userError(C.MailboxUnavailablePerm, SE.OtherSecurity0, 'domain name required');
  if (c.ctx.localserve) return;
  // RFC 7505 §4.2 null MX; RFC 5321 §5.1 implicit MX: we must be able to reply.
  const domain = path.domain.ascii;
  switch (await checkMailFromDomain(c.ctx.resolver, domain)) {
    case 'ok':
      return;
    case 'temperror':
      throw userError(
        C.LocalError,
        SE.DirectoryFailure3,
        `cannot look up sender domain ${domain} in DNS now, try later`,
      );
    case 'nxdomain':
      throw userError(
        C.MailboxUnavailablePerm,
        SE.BadSenderSystem8,
        `sender domain ${domain} does not exist`,
      );
    case 'nomail':
      throw userError(
        C.MailboxUnavailablePerm,
        SE.BadSenderSystem8,
        `sender domain ${domain} has no MX or address records for replies`,
      );
    case 'nullmx':
      // RFC 7505 §4.2: the one case for 5.7.27.
      throw userError(
        C.MailboxUnavailablePerm,
        SE.SenderHasNullMX27,
        `sender domain ${domain} has a null MX: it receives no mail`,
      );
  }
}

// RFC 5321 §4.1.1.3 RCPT; syntax §4.1.2.
export const rcpt: Command = async (c, args) => {
  try {
    return await rcptCommand(c, args);
  } catch (e) {
    if (e instanceof SmtpError && e.user) c.badTransactions++;
    throw e;
  }
};

async function rcptCommand(c: SmtpConn, args: string): Promise<CommandResult> {
  requireHello(c);
  requireAuth(c);
  const tx = c.tx;
  if (!tx) throw userError(C.BadSequence, SE.InvalidCmd1, 'missing MAIL FROM');
  if (tx.chunks) throw userError(C.BadSequence, SE.InvalidCmd1, 'RCPT not allowed during BDAT');
  const { path, params } = parseArgs(args, 'TO:', (rest) => parseRcptTo(rest, tx.smtputf8));
  const r: Recipient = { path: path!, address: '', target: { kind: 'unknown-user' } };
  for (const p of params) rcptParam(r, p);
  const lim = c.ctx.limits;
  if (tx.recipients.length >= lim.maxRecipients) {
    // RFC 5321 §4.5.3.1.10: too many recipients is 452 (the client may send the rest later).
    throw userError(
      C.InsufficientStorage,
      SE.TooManyRcpts3,
      `max of ${lim.maxRecipients} recipients reached`,
    );
  }
  if (!c.submission && c.ctx.requireTLSForDelivery && !c.tlsActive) {
    throw userError(C.AuthRequired, SE.OtherSecurity0, 'STARTTLS required for mail delivery');
  }
  // A real bounce (null sender, RFC 5321 §4.5.5) goes to the one original sender; many
  // recipients means spam posing as bounces.
  if (!c.submission && !c.ctx.localserve && tx.mailFrom === null && tx.recipients.length > 0) {
    throw userError(
      C.InsufficientStorage,
      SE.TooManyRcpts3,
      'only one recipient allowed with null reverse address',
    );
  }
  if (c.ctx.localserve) await localserveFailure(c, r.path.localpart, 'rcptto');
  r.address = pathAddress(r.path, c.ctx.hostname);
  r.target = target(c, r.path);
  tx.recipients.push(r);
  c.reply(C.Completed, SE.DestAddrValid5, 'recipient ok');
  return { code: C.Completed, secode: SE.DestAddrValid5 };
}

function rcptParam(r: Recipient, p: Param): void {
  const v = p.value ?? '';
  try {
    switch (p.key) {
      case 'NOTIFY':
        r.notify = parseNotify(v);
        return;
      case 'ORCPT':
        r.orcpt = parseOrcpt(v);
        return;
    }
  } catch (e) {
    throw userError(
      C.SyntaxErrorParams,
      SE.InvalidParams4,
      `bad ${p.key} parameter: ${(e as Error).message}`,
    );
  }
  throw userError(C.ParamsNotRecognized, SE.NotSupported3, `unrecognized parameter ${p.key}`);
}

/** Where mail for a recipient goes, or the RCPT error. */
function target(c: SmtpConn, path: Path): RcptTarget {
  if (path.ipLiteral) {
    if (c.submission) return { kind: 'remote' };
    throw userError(C.MailboxUnavailablePerm, SE.BadDestMailbox1, 'not accepting email for ip');
  }
  const cfg = c.ctx.domains();
  // RFC 5321 §4.1.1.3: a bare "postmaster" is ours.
  const domain = path.domain?.ascii ?? c.ctx.hostname;
  let res;
  try {
    res = resolveAddress(cfg, { localpart: path.localpart, domain });
  } catch (e) {
    throw serverError(C.LocalError, SE.OtherMailSystem0, 'error processing', e);
  }
  if (res.kind === 'account' || res.kind === 'alias') return res;
  // A bare "<postmaster>" when the host name is no configured domain.
  const pm = path.domain === null ? postmasterTarget(cfg, `postmaster@${domain}`) : null;
  if (pm) return pm;
  const ls = c.ctx.localserve;
  if (ls) {
    // Development mode: everything goes to the one account.
    const acc = cfg.accounts[ls.account];
    const destinationAddress = Object.keys(acc?.destinations ?? {})[0] ?? '';
    return {
      kind: 'account',
      account: ls.account,
      destination: acc?.destinations[destinationAddress] ?? { mailbox: 'Inbox', rules: [] },
      destinationAddress,
      canonical: destinationAddress,
    };
  }
  if (res.kind === 'unknown-user' || !c.submission) {
    // The address may be one the admin is adding right now: a configuration problem must
    // not become a permanent failure.
    if (c.ctx.configProblem?.()) {
      throw userError(
        C.LocalError,
        SE.SystemMisconfigured5,
        'mail system configuration being fixed, try again later',
      );
    }
  }
  if (res.kind === 'unknown-user') {
    // Submission tells the user at once; delivery waits until after DATA, so probing
    // for addresses costs a whole message and a delay.
    if (c.submission) throw userError(C.MailboxUnavailablePerm, SE.BadDestMailbox1, 'no such user');
    return { kind: 'unknown-user' };
  }
  if (c.submission) return { kind: 'remote' };
  throw userError(C.MailboxUnavailablePerm, SE.BadDestMailbox1, 'not accepting email for domain');
}
