// Not-authenticated commands: STARTTLS, LOGIN, AUTHENTICATE (RFC 9051 §6.2; RFC 4959
// SASL-IR; RFC 5530 response codes). The login itself is the shared one of src/auth;
// here are IMAP's framing and its replies to each failure.
import { HANDLED, type Handler } from './types.js';
import { ParseError } from '../parser.js';
import { UserError } from '../errors.js';
import type { ImapSession } from '../session.js';
import { AuthFailure, type FailureReason } from '../../auth/failure.js';
import { runExchange, type SaslTransport } from '../../auth/exchange.js';
import { passwordLogin } from '../../auth/password.js';
import type { Attempt } from '../../auth/attempt.js';

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
    const who = await passwordLogin(c.loginEnv(), a, user, pass);
    await c.loginAccount(who.account, who.address, 'login');
  } catch (e) {
    throw recordFailure(c, a, e, true);
  }
  return `[CAPABILITY ${c.capabilities()}]`;
};

// RFC 9051 §6.2.2 AUTHENTICATE, RFC 4959 SASL-IR; syntax §9 "authenticate".
export const authenticate: Handler = async (c, _tag, p) => {
  p.sp();
  const mech = p.atom().toUpperCase();
  // SASL-IR (RFC 4959): an initial response on the command line.
  const initial = p.take(' ') ? p.atom() : null;
  p.end();
  await c.authBackoff();
  const a: Attempt = { account: '', address: '', mechanism: mech.toLowerCase() };
  try {
    const who = await runExchange(c.loginEnv(), transport(c), mech, initial, a);
    await c.loginAccount(who.account, who.address, a.mechanism);
  } catch (e) {
    throw recordFailure(c, a, e, false);
  }
  return `[CAPABILITY ${c.capabilities()}]`;
};

/**
 * RFC 9051 §6.2.2: server data goes in a continuation, "+ " and base64 ("+ " alone when
 * empty); the client answers with a line, "*" to cancel.
 */
function transport(c: ImapSession): SaslTransport {
  return {
    challenge: async (data) => {
      c.send(`+ ${data.toString('base64')}\r\n`);
      await c.flush();
      return (await c.responseLine()).toString('latin1');
    },
  };
}

/** Records a failure and returns the reply to throw; other errors pass unchanged. */
function recordFailure(c: ImapSession, a: Attempt, e: unknown, login: boolean): unknown {
  if (!(e instanceof AuthFailure)) return e;
  c.logins.recordFailure(a, e);
  return failureReply(e, login);
}

const failed = (text: string) => new UserError('AUTHENTICATIONFAILED', text);

/**
 * The reply to each failure (RFC 5530 codes), for AUTHENTICATE or, with `login`, the
 * LOGIN command. Malformed client data is BAD; everything else is NO. Whether the user
 * exists, is throttled or gave a wrong password reads the same.
 */
export function failureReply(f: AuthFailure, login: boolean): UserError | ParseError {
  const mech = f.mechanism;
  const scram = mech.startsWith('SCRAM-');
  const wrong = login ? 'login failed' : 'authentication failed';
  const replies: Record<FailureReason, () => UserError | ParseError> = {
    'tls-required': () =>
      new UserError('PRIVACYREQUIRED', `${login ? 'login' : mech} only allowed with TLS`),
    'needs-tls': () => new UserError('PRIVACYREQUIRED', `${mech} only allowed with TLS`),
    'no-certificate': () => new UserError('', 'no client certificate'),
    unsupported: () => new UserError('', 'method not supported'),
    'bad-base64': () => new ParseError('invalid base64'),
    aborted: () => new ParseError('authentication aborted'),
    throttled: () => failed(wrong),
    // A malformed SCRAM message is a plain NO; PLAIN and CRAM-MD5 syntax errors are BAD.
    'bad-protocol': () => (scram ? new UserError('', f.message) : new ParseError(f.message)),
    'missing-secrets': () =>
      login
        ? failed(wrong)
        : new UserError('', `${mech} not possible for this account: set the password again`),
    // No code for SCRAM: do not tell whether the account exists.
    'unknown-user': () =>
      scram && !login ? new UserError('', 'scram not possible') : failed(wrong),
    'authz-failed': () => new UserError('AUTHORIZATIONFAILED', 'authorization failed'),
    'bad-credentials': () => failed(wrong),
    'bad-channel-binding': () => failed('channel binding mismatch, potential mitm'),
    'channel-binding-unavailable': () => new UserError('', f.message),
    'final-not-empty': () => new ParseError('expected empty response after final server data'),
    'certificate-mismatch': () => failed(wrong),
    'login-disabled': () => new UserError('', `login disabled: ${f.message}`),
  };
  return replies[f.reason]();
}
