// Not-authenticated commands: STARTTLS, LOGIN, AUTHENTICATE (RFC 9051 §6.2; RFC 4959
// SASL-IR; RFC 5530 response codes).
import { HANDLED, type Handler } from './types.js';
import { ParseError } from '../parser.js';
import { UserError } from '../errors.js';
import type { ImapSession } from '../session.js';
import {
  channelBindingFromSocket,
  createSaslServer,
  lookupLogin as lookupAccount,
  spendPasswordCheck,
  verifyPassword,
  type SaslContext,
  type SaslStep,
  type StoredSecrets,
} from '../../sasl/index.js';
import type { LoginResult } from '../../store/index.js';
import { mechanismRefusal, type MechanismRefusal } from '../../auth/mechanisms.js';
import type { TLSSocket } from 'node:tls';

// RFC 9051 §6.2.1 STARTTLS; syntax §9 "command-nonauth".
export const starttls: Handler = async (c, tag, p) => {
  p.end();
  if (c.tlsActive) throw new ParseError('TLS already active');
  if (!c.ctx.tls) throw new ParseError('STARTTLS not available');
  // Capabilities are not repeated: the client must ask again (RFC 9051 §6.2.1).
  c.send(`${tag} OK STARTTLS (${c.cid}) done\r\n`);
  await c.flush();
  await c.startTLS();
  return HANDLED;
};

/** The account and login address for a user name: an address, or an account name. */
export function lookupLogin(
  c: ImapSession,
  username: string,
): { account: string; address: string } | null {
  return lookupAccount(c.ctx.domains(), username);
}

async function secretsOf(c: ImapSession, account: string): Promise<StoredSecrets | null> {
  return (await c.ctx.store.account(account)).secrets<StoredSecrets>();
}

/**
 * A failed authentication: how it is recorded (and whether it counts for slow mode and
 * the failed-auth limiter), and the reply the client gets.
 */
class AuthFailed extends Error {
  constructor(
    readonly result: LoginResult,
    readonly counted: boolean,
    readonly reply: UserError | ParseError,
  ) {
    super(reply.message);
  }
}

/** Who an attempt is recorded for: filled in as the exchange learns it. */
type Attempt = { account: string; address: string; mechanism: string };

/** Records a failure and returns the reply to throw; other errors pass unchanged. */
function recordFailure(c: ImapSession, a: Attempt, e: unknown): unknown {
  if (!(e instanceof AuthFailed)) return e;
  c.authFailure(a.account, a.address, a.mechanism, e.result, e.counted);
  return e.reply;
}

const loginFailed = () =>
  new AuthFailed('badcredentials', true, new UserError('AUTHENTICATIONFAILED', 'login failed'));

/**
 * Too many failures against the account from networks it does not log in from: answered
 * like a wrong password, so that guessing learns nothing, and recorded as rate limited.
 */
const throttled = (text: string) =>
  new AuthFailed('ratelimited', true, new UserError('AUTHENTICATIONFAILED', text));

// RFC 9051 §6.2.3 LOGIN; syntax §9 "login".
export const login: Handler = async (c, _tag, p) => {
  p.sp();
  const user = await p.astring();
  p.sp();
  const pass = await p.astring();
  p.end();
  await c.authBackoff();
  const a: Attempt = { account: '', address: user, mechanism: 'login' };
  try {
    await checkLogin(c, a, user, pass);
  } catch (e) {
    throw recordFailure(c, a, e);
  }
  return `[CAPABILITY ${c.capabilities()}]`;
};

async function checkLogin(c: ImapSession, a: Attempt, user: string, pass: string): Promise<void> {
  const who = lookupLogin(c, user);
  a.account = who?.account ?? '';
  if (!c.plaintextAllowed) {
    // Counted against the failed-auth limiter too: a client that keeps sending passwords
    // in the clear is slowed down like one that guesses them.
    const reply = new UserError('PRIVACYREQUIRED', 'login only allowed with TLS');
    throw new AuthFailed('badprotocol', true, reply);
  }
  if (!who) {
    await spendPasswordCheck(pass);
    throw loginFailed();
  }
  if (!c.accountAttemptAllowed(who.account)) {
    await spendPasswordCheck(pass);
    throw throttled('login failed');
  }
  // A TLS client certificate already identified an account: only that one may log in.
  if (c.tlsIdentity && c.tlsIdentity.account !== who.account) throw loginFailed();
  const secrets = await secretsOf(c, who.account);
  if (!secrets?.scrypt) {
    // The account has no password hash to check against (it must be set again): not
    // the client's fault, so not counted as a failure.
    const reply = new UserError('AUTHENTICATIONFAILED', 'login failed');
    throw new AuthFailed('error', false, reply);
  }
  if (!(await verifyPassword(secrets, pass))) throw loginFailed();
  await c.loginAccount(who.account, who.address, 'login');
}

/** Base64 of a client response; "=" is an empty initial response (RFC 4959 §3). */
function decode64(s: string): Buffer {
  if (s === '=') return Buffer.alloc(0);
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new AuthFailed('badprotocol', true, new ParseError('invalid base64'));
  }
  return Buffer.from(s, 'base64');
}

const aborted = () => new AuthFailed('aborted', false, new ParseError('authentication aborted'));

// RFC 9051 §6.2.2 AUTHENTICATE, RFC 4959 §3 SASL-IR; syntax RFC 9051 §9 "authenticate".
export const authenticate: Handler = async (c, _tag, p) => {
  p.sp();
  const mech = p.atom().toUpperCase();
  // SASL-IR (RFC 4959): an initial response on the command line.
  const initial = p.take(' ') ? p.atom() : null;
  p.end();
  await c.authBackoff();
  const a: Attempt = { account: '', address: '', mechanism: mech.toLowerCase() };
  try {
    return await runSasl(c, mech, initial, a);
  } catch (e) {
    throw recordFailure(c, a, e);
  }
};

async function runSasl(c: ImapSession, mech: string, initial: string | null, a: Attempt) {
  const refusal = mechanismRefusal('imap', c.authPolicy, c.authState, mech);
  if (refusal) throw refused(mech, refusal);
  const server = createSaslServer(mech, saslContext(c, a));
  if (!server) throw new UserError('', 'method not supported');
  let response = initial === null ? null : decode64(initial);
  for (;;) {
    const step = await server.step(response);
    if (step.kind === 'failure') throw failureOf(c, mech, step);
    if (step.kind === 'success') return succeed(c, step, a);
    // RFC 9051 §6.2.2: a challenge is a continuation with base64 data, "+ " when empty.
    c.send(`+ ${step.data.toString('base64')}\r\n`);
    await c.flush();
    const line = await readResponse(c);
    response = line === '' ? Buffer.alloc(0) : decode64(line);
  }
}

/** The reply to a mechanism this connection cannot use (RFC 5530 codes). */
function refused(mech: string, why: MechanismRefusal): AuthFailed | UserError {
  switch (why) {
    case 'tls-required':
    case 'needs-tls': {
      // Counted: a client that sends credentials in the clear is told, and slowed down.
      const reply = new UserError('PRIVACYREQUIRED', `${mech} only allowed with TLS`);
      return new AuthFailed('badprotocol', true, reply);
    }
    case 'no-certificate':
      return new AuthFailed('badprotocol', false, new UserError('', 'no client certificate'));
    case 'disabled':
    case 'unknown':
      return new UserError('', 'method not supported');
  }
}

/** The mechanisms' view of the connection; lookups also fill in the attempt record. */
function saslContext(c: ImapSession, a: Attempt): SaslContext {
  if (c.tlsIdentity) {
    a.account = c.tlsIdentity.account;
    a.address = c.tlsIdentity.loginAddress;
  }
  return {
    hostname: c.ctx.hostname,
    lookup: async (username) => {
      const who = lookupLogin(c, username);
      a.address = username;
      a.account = who?.account ?? '';
      if (!who) return null;
      if (!c.accountAttemptAllowed(who.account)) throw throttled('authentication failed');
      return { account: who.account, secrets: await secretsOf(c, who.account) };
    },
    tls: c.tlsActive ? channelBindingFromSocket(c.socket as TLSSocket) : null,
    externalIdentity: c.tlsIdentity,
    allowAddresses: async (account, address) => lookupLogin(c, address)?.account === account,
  };
}

/** A client response line; "*" aborts the exchange (RFC 9051 §6.2.2). */
async function readResponse(c: ImapSession): Promise<string> {
  const line = (await c.responseLine()).toString('latin1');
  if (line === '*') throw aborted();
  return line;
}

async function succeed(
  c: ImapSession,
  step: Extract<SaslStep, { kind: 'success' }>,
  a: Attempt,
): Promise<string> {
  a.account = step.account;
  a.address = step.username;
  if (step.final && step.final.length > 0) {
    // RFC 9051 §6.2.2: server-final data goes in a continuation; the client answers
    // with an empty line.
    c.send(`+ ${step.final.toString('base64')}\r\n`);
    await c.flush();
    if ((await readResponse(c)) !== '') {
      const reply = new ParseError('expected empty response after final server data');
      throw new AuthFailed('badprotocol', true, reply);
    }
  }
  if (c.tlsIdentity && c.tlsIdentity.account !== step.account) {
    const reply = new UserError('AUTHENTICATIONFAILED', 'authentication failed');
    throw new AuthFailed('badcredentials', true, reply);
  }
  const address = lookupLogin(c, step.username)?.address ?? step.username;
  await c.loginAccount(step.account, address, a.mechanism);
  return `[CAPABILITY ${c.capabilities()}]`;
}

/** The reply to a failed mechanism step (RFC 9051 §6.2.2; RFC 5530 codes). */
function failureOf(
  c: ImapSession,
  mech: string,
  step: Extract<SaslStep, { kind: 'failure' }>,
): AuthFailed {
  const scram = mech.startsWith('SCRAM-');
  const failed = (code: string, msg: string) =>
    new AuthFailed('badcredentials', true, new UserError(code, msg));
  switch (step.reason) {
    case 'badProtocol': {
      // A malformed SCRAM message is a plain NO; PLAIN and CRAM-MD5 syntax errors are BAD.
      const reply = scram ? new UserError('', step.message) : new ParseError(step.message);
      return new AuthFailed('badprotocol', true, reply);
    }
    case 'aborted':
      return aborted();
    case 'missingSecrets': {
      // The stored secrets predate this mechanism: not the client's fault, not counted.
      const msg = `${mech} not possible for this account: set the password again`;
      return new AuthFailed('error', false, new UserError('', msg));
    }
    case 'unknownUser':
      // No code for SCRAM: do not tell whether the account exists.
      return scram
        ? failed('', 'scram not possible')
        : failed('AUTHENTICATIONFAILED', 'authentication failed');
    case 'authzFailed':
      return failed('AUTHORIZATIONFAILED', 'authorization failed');
    case 'badChannelBinding': {
      c.log.warn({ mech }, 'channel binding mismatch, potential man-in-the-middle');
      const reply = new UserError(
        'AUTHENTICATIONFAILED',
        'channel binding mismatch, potential mitm',
      );
      return new AuthFailed('badchannelbinding', true, reply);
    }
    case 'channelBindingUnavailable':
      return new AuthFailed('badprotocol', false, new UserError('', step.message));
    default:
      return failed('AUTHENTICATIONFAILED', 'authentication failed');
  }
}
