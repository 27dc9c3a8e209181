// The command table and the session commands (RFC 5321 §4.1.1, replies §4.2 and RFC 3463
// enhanced codes).
import type { SmtpConn } from './conn.js';
import { userError, SmtpError } from './errors.js';
import type { Command, CommandResult } from './command.js';
import { C, SE, parseEhloArg, AddressError } from '../smtp/index.js';
import { announcedMechanisms } from '../auth/mechanisms.js';
import { authPolicy, authState } from './auth.js';
import { auth } from './auth.js';
import { mail, rcpt } from './envelope.js';
import { data, bdat } from './data.js';
import { FUTURE_RELEASE_MAX_MS } from '../queue/index.js';
import { isNotFound } from '../dns/index.js';

const ok = (c: SmtpConn, code: number, secode: string | null, msg: string): CommandResult => {
  c.reply(code, secode, msg);
  return { code, secode: secode ?? '' };
};

/** Ensures a command has no arguments (RFC 5321 §4.1.1). */
function noArgs(args: string): void {
  if (args.trim() !== '')
    throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'no parameters allowed');
}

// RFC 5321 §4.1.1.1 HELO and EHLO; syntax §4.1.1.1 (Domain §4.1.2, address literal §4.1.3).
const helo: Command = (c, args) => hello(c, args, false);
const ehlo: Command = (c, args) => hello(c, args, true);

async function hello(c: SmtpConn, args: string, isEhlo: boolean): Promise<CommandResult> {
  const arg = args.trim();
  if (arg === '')
    throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'missing domain or address literal');
  let parsed: { domain: import('../smtp/index.js').Domain | null; ipLiteral: string | null };
  if (c.submission) {
    // Mail clients send all kinds of names; the connection's IP is what counts.
    parsed = { domain: null, ipLiteral: c.remoteIP };
  } else {
    try {
      parsed = parseEhloArg(arg, true);
    } catch (e) {
      if (e instanceof AddressError)
        throw userError(
          C.SyntaxErrorParams,
          SE.InvalidParams4,
          `invalid ${isEhlo ? 'EHLO' : 'HELO'} argument: ${e.message}`,
        );
      throw e;
    }
  }
  if (!isEhlo && !c.submission && parsed.domain) await checkHeloDomain(c, parsed.domain.ascii);
  // RFC 5321 §4.1.4: EHLO/HELO resets the transaction.
  await c.resetTransaction();
  c.hello = { ehlo: isEhlo, name: arg.split(' ')[0] ?? arg, ...parsed };
  const host = c.ctx.hostname;
  if (!isEhlo) return ok(c, C.Completed, null, host);
  const lines = [host, 'PIPELINING', `SIZE ${c.ctx.limits.maxMessageSize}`];
  if (!c.tlsActive && c.ctx.tls) lines.push('STARTTLS');
  else if (c.tlsActive && c.ctx.requireTLSExtension) lines.push('REQUIRETLS'); // RFC 8689 §2
  if (c.submission) {
    const mechs = announcedMechanisms('smtp', authPolicy(c), authState(c));
    if (mechs.length > 0) lines.push(`AUTH ${mechs.join(' ')}`);
    // RFC 4865 §3: the maximum interval and the latest date.
    const secs = Math.floor(FUTURE_RELEASE_MAX_MS / 1000);
    const until = new Date(Date.now() + FUTURE_RELEASE_MAX_MS)
      .toISOString()
      .replace(/\.\d+Z$/, 'Z');
    lines.push(`FUTURERELEASE ${secs} ${until}`);
  }
  lines.push(
    'ENHANCEDSTATUSCODES',
    '8BITMIME',
    'BINARYMIME',
    'CHUNKING',
    'DSN',
    `LIMITS RCPTMAX=${c.ctx.limits.maxRecipients}`,
    'SMTPUTF8',
  );
  return ok(c, C.Completed, null, lines.join('\n'));
}

/**
 * A HELO name must have an address; temporary DNS trouble is not held against it. Not
 * under localserve: test clients say HELO with whatever name they like.
 */
async function checkHeloDomain(c: SmtpConn, domain: string): Promise<void> {
  if (c.ctx.localserve) return;
  const r = c.ctx.resolver;
  const results = await Promise.allSettled([r.a(domain), r.aaaa(domain)]);
  if (results.some((x) => x.status === 'fulfilled')) return;
  if (results.every((x) => x.status === 'rejected' && isNotFound(x.reason))) {
    throw userError(
      C.MailboxUnavailablePerm,
      SE.OtherProto0,
      'your ehlo domain does not resolve to an IP address',
    );
  }
}

// RFC 3207 §4 STARTTLS; syntax §4 (no parameters).
const starttls: Command = async (c, args) => {
  noArgs(args);
  if (c.tlsActive) throw userError(C.BadSequence, SE.InvalidCmd1, 'already speaking tls');
  if (c.account)
    throw userError(C.BadSequence, SE.InvalidCmd1, 'cannot starttls after authentication');
  if (!c.ctx.tls) throw userError(C.BadSequence, SE.InvalidCmd1, 'starttls not offered');
  c.reply(C.ServiceReady, SE.Other0, `ready to start TLS (${c.cid})`);
  await c.startTLS();
  return { code: C.ServiceReady, secode: SE.Other0 };
};

// RFC 5321 §4.1.1.5 RSET; syntax §4.1.1.5 (no parameters).
const rset: Command = async (c, args) => {
  noArgs(args);
  await c.resetTransaction();
  return ok(c, C.Completed, SE.Other0, 'all clear');
};

// RFC 5321 §4.1.1.6 VRFY and §4.1.1.7 EXPN; syntax there (one string, ignored). Neither
// ever reveals addresses: 252 (RFC 5321 §3.5.3).
const vrfy: Command = async (c) =>
  ok(c, C.CannotVerifyUser, SE.OtherSecurity0, 'no verify/expand but will try delivery');

// RFC 5321 §4.1.1.8 HELP; syntax §4.1.1.8 (an optional string, ignored).
const help: Command = async (c) => ok(c, C.HelpMessage, SE.Other0, 'see rfc 5321 (smtp)');

// RFC 5321 §4.1.1.10 QUIT; syntax §4.1.1.10 (no parameters).
const quit: Command = async (c, args) => {
  noArgs(args);
  c.close();
  return ok(c, C.ServiceClosing, SE.Other0, 'okay thanks bye');
};

// RFC 5321 §4.1.1.9 NOOP; syntax §4.1.1.9 (an optional string, ignored).
const noopWithArg: Command = async (c) => ok(c, C.Completed, SE.Other0, 'alrighty');

export const COMMANDS = new Map<string, Command>([
  ['HELO', helo],
  ['EHLO', ehlo],
  ['STARTTLS', starttls],
  ['AUTH', auth],
  ['MAIL', mail],
  ['RCPT', rcpt],
  ['DATA', data],
  ['BDAT', bdat],
  ['RSET', rset],
  ['VRFY', vrfy],
  ['EXPN', vrfy],
  ['HELP', help],
  // RFC 5321 §4.1.1.9: NOOP may carry a string, which is ignored.
  ['NOOP', noopWithArg],
  ['QUIT', quit],
]);

export { SmtpError };
