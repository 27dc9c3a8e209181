// AUTH (RFC 4954) on the submission ports, through the shared login path (RFC 4422
// SASL, src/auth): here are SMTP's framing ("334 " challenges, the 12288-octet response
// line) and its replies to each failure, with enhanced codes as in RFC 4954 §6.
import { TLSSocket } from 'node:tls';
import { requireHello, type Command, type CommandResult } from './command.js';
import type { SmtpConn } from './conn.js';
import { SmtpError, userError } from './errors.js';
import { C, SE } from '../smtp/index.js';
import { LineTooLongError, ReadTimeoutError } from '../net/index.js';
import type { AuthConnState, AuthPolicy } from '../auth/mechanisms.js';
import { AuthFailure, type FailureReason } from '../auth/failure.js';
import {
  accountRefusal,
  runExchange,
  type LoginEnv,
  type SaslTransport,
} from '../auth/exchange.js';
import type { Attempt } from '../auth/attempt.js';

/** RFC 4954 §4: authentication lines of at least 12288 octets must be accepted. */
const MAX_AUTH_LINE = 12288;

// RFC 4954 §4 AUTH; syntax §4 and §8 (mechanism, optional initial response).
export const auth: Command = async (c, args) => {
  requireHello(c);
  if (!c.submission)
    throw userError(
      C.BadSequence,
      SE.InvalidCmd1,
      'authentication not allowed during smtp delivery',
    );
  if (c.tx)
    throw userError(
      C.BadSequence,
      SE.InvalidCmd1,
      'authentication not allowed during mail transaction',
    );
  // RFC 4954 §4: no AUTH after a successful one. A certificate login still allows one that
  // confirms the same account, for clients that always authenticate; another is refused.
  if (c.authSASL || (c.account && !c.tlsIdentity)) {
    throw userError(C.BadSequence, SE.InvalidCmd1, 'already authenticated');
  }
  const parts = args.split(' ').filter((s, i) => s !== '' || i === 0);
  const mech = (parts[0] ?? '').toUpperCase();
  if (!mech) throw userError(C.SyntaxErrorParams, SE.InvalidParams4, 'missing mechanism');
  // Windows Mail sends two spaces before the initial response; tolerate that.
  const initial = parts.length > 1 ? (parts[parts.length - 1] ?? '') : null;
  await c.authBackoff();
  const a: Attempt = { account: '', address: '', mechanism: mech.toLowerCase() };
  try {
    const who = await runExchange(loginEnv(c), transport(c), mech, initial, a);
    const refusal = accountRefusal(c.ctx.domains(), who.account, mech);
    if (refusal) throw refusal;
    c.authSucceeded(who.account, who.address, a.mechanism);
  } catch (e) {
    if (!(e instanceof AuthFailure)) throw e;
    if (e.reason === 'missing-secrets') {
      c.log.info(
        { mech, account: c.account },
        'secrets for mechanism missing, set the password again',
      );
    }
    c.logins.recordFailure(a, e);
    throw failureReply(e);
  }
  c.authSASL = true;
  c.reply(C.AuthSuccess, SE.OtherSecurity0, 'authentication successful');
  return { code: C.AuthSuccess, secode: SE.OtherSecurity0 } satisfies CommandResult;
};

/** The listener's rule: TLS for any authentication unless no_require_starttls. */
export function authPolicy(c: SmtpConn): AuthPolicy {
  return { requireTLS: c.ctx.requireTLSForAuth, mechanisms: c.ctx.authMechanisms ?? null };
}

export function authState(c: SmtpConn): AuthConnState {
  return { tls: c.tlsActive, certificate: c.tlsIdentity !== null };
}

/** The connection as the shared login path sees it. */
function loginEnv(c: SmtpConn): LoginEnv {
  return {
    protocol: 'smtp',
    policy: authPolicy(c),
    state: authState(c),
    hostname: c.ctx.hostname,
    domains: c.ctx.domains,
    store: c.ctx.store,
    tls: c.tlsActive && c.socket instanceof TLSSocket ? c.socket : null,
    identity: c.tlsIdentity,
    attempts: c.logins,
    log: c.log,
  };
}

/** RFC 4954 §4: "334 " and the base64 challenge; the client answers with a line. */
function transport(c: SmtpConn): SaslTransport {
  return {
    challenge: async (data) => {
      c.writer.write(`${C.AuthContinue} ${data.toString('base64')}\r\n`);
      return readResponse(c);
    },
  };
}

/** A client response line, with the limits of a command line. */
async function readResponse(c: SmtpConn): Promise<string> {
  await c.flush();
  c.reader.setTimeout(c.timeouts.io);
  let line: Buffer;
  try {
    ({ line } = await c.reader.readLine(MAX_AUTH_LINE));
  } catch (e) {
    // Answered like the same trouble with a command line, then the connection ends.
    if (e instanceof LineTooLongError) {
      throw new SmtpError(
        C.CommandUnrecognized,
        SE.OtherProto0,
        `line too long, auth max is ${MAX_AUTH_LINE}`,
        { close: true },
      );
    }
    if (e instanceof ReadTimeoutError) {
      throw new SmtpError(C.ServiceNotAvailable, SE.BadConnection2, 'timeout, closing connection', {
        close: true,
      });
    }
    throw e;
  }
  return line.toString('latin1').trim();
}

/**
 * The reply to each failure (RFC 4954 §6 codes). Whether the user exists, is throttled
 * or gave a wrong password reads the same.
 */
function failureReply(f: AuthFailure): SmtpError {
  const mech = f.mechanism;
  const scram = mech.startsWith('SCRAM-');
  const creds = () => userError(C.AuthInvalidCreds, SE.AuthBadCreds8, 'authentication failed');
  const replies: Record<FailureReason, () => SmtpError> = {
    'tls-required': () =>
      userError(
        C.EncryptionRequiredForAuth,
        SE.EncReqForAuth11,
        'authentication requires TLS: use STARTTLS first',
      ),
    'needs-tls': () =>
      userError(C.EncryptionRequiredForAuth, SE.EncReqForAuth11, `${mech} requires TLS`),
    'no-certificate': () =>
      userError(C.AuthInvalidCreds, SE.AuthBadCreds8, 'no tls client certificate'),
    unsupported: () =>
      userError(C.ParamNotImplemented, SE.InvalidParams4, `mechanism ${mech} not supported`),
    'bad-base64': () => userError(C.SyntaxErrorParams, SE.SyntaxError2, 'invalid base64'),
    aborted: () => userError(C.SyntaxErrorParams, SE.OtherProto0, 'authentication aborted'),
    throttled: creds,
    'bad-protocol': () =>
      scram
        ? userError(C.AuthInvalidCreds, SE.OtherSecurity0, 'bad scram protocol message')
        : userError(C.SyntaxErrorParams, SE.InvalidParams4, f.message),
    'missing-secrets': () =>
      userError(
        C.TempAuthFailure,
        SE.OtherMailSystem0,
        `${mech.toLowerCase()} not possible for this account`,
      ),
    'unknown-user': () =>
      scram ? userError(C.TempAuthFailure, SE.OtherMailSystem0, 'scram not possible') : creds(),
    'authz-failed': creds,
    'bad-credentials': creds,
    'bad-channel-binding': () =>
      userError(
        C.AuthInvalidCreds,
        SE.MsgIntegrity7,
        'channel bindings do not match, potential mitm',
      ),
    'channel-binding-unavailable': () =>
      userError(C.EncryptionRequiredForAuth, SE.EncReqForAuth11, f.message),
    'final-not-empty': () =>
      userError(
        C.SyntaxErrorParams,
        SE.InvalidParams4,
        'expected empty response after server final message',
      ),
    'certificate-mismatch': creds,
    // RFC 4954 §6: 525 5.7.13 user account disabled.
    'login-disabled': () =>
      userError(C.AccountDisabled, SE.AccountDisabled13, `login disabled: ${f.message}`),
  };
  return replies[f.reason]();
}
