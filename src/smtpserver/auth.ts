// AUTH (RFC 4954) on the submission ports, through the shared SASL mechanisms (RFC 4422);
// replies and enhanced codes as in RFC 4954 §6.
import type { TLSSocket } from 'node:tls';
import { requireHello, type Command, type CommandResult } from './command.js';
import type { SmtpConn } from './conn.js';
import { SmtpError, userError } from './errors.js';
import { C, SE } from '../smtp/index.js';
import {
  channelBindingFromSocket,
  createSaslServer,
  lookupLogin,
  type SaslContext,
  type SaslStep,
  type StoredSecrets,
} from '../sasl/index.js';
import type { LoginResult } from '../store/index.js';
import { LineTooLongError, ReadTimeoutError } from '../net/index.js';
import {
  mechanismRefusal,
  type AuthConnState,
  type AuthPolicy,
  type MechanismRefusal,
} from '../auth/mechanisms.js';

/** RFC 4954 §4: authentication lines of at least 12288 octets must be accepted. */
const MAX_AUTH_LINE = 12288;

/** A failed attempt: how it is recorded and whether it counts against the client. */
class AuthFailed extends Error {
  constructor(
    readonly result: LoginResult,
    readonly counted: boolean,
    readonly reply: SmtpError,
  ) {
    super(reply.message);
  }
}

type Attempt = { account: string; address: string; mechanism: string };

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
    return await runSasl(c, mech, initial, a);
  } catch (e) {
    if (!(e instanceof AuthFailed)) throw e;
    c.authFailure(a.account, a.address, a.mechanism, e.result, e.counted);
    throw e.reply;
  }
};

function decode64(s: string): Buffer {
  if (s === '=') return Buffer.alloc(0); // RFC 4954 §4: an empty initial response
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new AuthFailed(
      'badprotocol',
      true,
      userError(C.SyntaxErrorParams, SE.SyntaxError2, 'invalid base64'),
    );
  }
  return Buffer.from(s, 'base64');
}

/** The listener's rule: TLS for any authentication unless no_require_starttls. */
export function authPolicy(c: SmtpConn): AuthPolicy {
  return { requireTLS: c.ctx.requireTLSForAuth, mechanisms: c.ctx.authMechanisms ?? null };
}

export function authState(c: SmtpConn): AuthConnState {
  return { tls: c.tlsActive, certificate: c.tlsIdentity !== null };
}

/** The reply to a mechanism this connection cannot use (RFC 4954 §6). */
function refused(mech: string, why: MechanismRefusal): AuthFailed | SmtpError {
  switch (why) {
    case 'tls-required': {
      const reply = userError(
        C.EncryptionRequiredForAuth,
        SE.EncReqForAuth11,
        'authentication requires TLS: use STARTTLS first',
      );
      return new AuthFailed('badprotocol', true, reply);
    }
    case 'needs-tls':
      return new AuthFailed(
        'badprotocol',
        true,
        userError(C.EncryptionRequiredForAuth, SE.EncReqForAuth11, `${mech} requires TLS`),
      );
    case 'no-certificate':
      return new AuthFailed(
        'badprotocol',
        false,
        userError(C.AuthInvalidCreds, SE.AuthBadCreds8, 'no tls client certificate'),
      );
    case 'disabled':
    case 'unknown':
      return userError(C.ParamNotImplemented, SE.InvalidParams4, `mechanism ${mech} not supported`);
  }
}

async function runSasl(
  c: SmtpConn,
  mech: string,
  initial: string | null,
  a: Attempt,
): Promise<CommandResult> {
  const refusal = mechanismRefusal('smtp', authPolicy(c), authState(c), mech);
  if (refusal) throw refused(mech, refusal);
  const server = createSaslServer(mech, saslContext(c, a));
  if (!server)
    throw userError(C.ParamNotImplemented, SE.InvalidParams4, `mechanism ${mech} not supported`);
  let response = initial === null ? null : decode64(initial);
  for (;;) {
    const step = await server.step(response);
    if (step.kind === 'failure') throw failureOf(c, mech, step);
    if (step.kind === 'success') return succeed(c, step, a);
    // RFC 4954 §4: "334 " and the base64 challenge.
    c.writer.write(`${C.AuthContinue} ${step.data.toString('base64')}\r\n`);
    response = decode64(await readResponse(c));
  }
}

function saslContext(c: SmtpConn, a: Attempt): SaslContext {
  if (c.tlsIdentity) {
    a.account = c.tlsIdentity.account;
    a.address = c.tlsIdentity.loginAddress;
  }
  return {
    hostname: c.ctx.hostname,
    lookup: async (username) => {
      const who = lookupLogin(c.ctx.domains(), username);
      a.address = username;
      a.account = who?.account ?? '';
      if (!who) return null;
      if (!c.accountAttemptAllowed(who.account)) {
        // Answered like a wrong password, so that guessing learns nothing.
        throw new AuthFailed(
          'ratelimited',
          true,
          userError(C.AuthInvalidCreds, SE.AuthBadCreds8, 'authentication failed'),
        );
      }
      const acc = await c.ctx.store.account(who.account);
      return { account: who.account, secrets: acc.secrets<StoredSecrets>() };
    },
    tls: c.tlsActive ? channelBindingFromSocket(c.socket as TLSSocket) : null,
    externalIdentity: c.tlsIdentity,
    allowAddresses: async (account, address) =>
      lookupLogin(c.ctx.domains(), address)?.account === account,
  };
}

/** A client response line; "*" cancels the exchange (RFC 4954 §4). */
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
        {
          close: true,
        },
      );
    }
    if (e instanceof ReadTimeoutError) {
      throw new SmtpError(C.ServiceNotAvailable, SE.BadConnection2, 'timeout, closing connection', {
        close: true,
      });
    }
    throw e;
  }
  const s = line.toString('latin1').trim();
  if (s === '*') {
    throw new AuthFailed(
      'aborted',
      false,
      userError(C.SyntaxErrorParams, SE.OtherProto0, 'authentication aborted'),
    );
  }
  return s;
}

async function succeed(
  c: SmtpConn,
  step: Extract<SaslStep, { kind: 'success' }>,
  a: Attempt,
): Promise<CommandResult> {
  a.account = step.account;
  a.address = step.username;
  if (step.final && step.final.length > 0) {
    // SCRAM server-final message: sent as a challenge, answered with an empty line.
    c.writer.write(`${C.AuthContinue} ${step.final.toString('base64')}\r\n`);
    if ((await readResponse(c)) !== '') {
      const reply = userError(
        C.SyntaxErrorParams,
        SE.InvalidParams4,
        'expected empty response after server final message',
      );
      throw new AuthFailed('badprotocol', true, reply);
    }
  }
  const failed = () => userError(C.AuthInvalidCreds, SE.AuthBadCreds8, 'authentication failed');
  if (c.tlsIdentity && c.tlsIdentity.account !== step.account) {
    throw new AuthFailed('badcredentials', true, failed());
  }
  const acc = c.ctx.domains().accounts[step.account];
  if (!acc) throw new AuthFailed('badcredentials', true, failed());
  const address = lookupLogin(c.ctx.domains(), step.username)?.address ?? step.username;
  if (acc.login_disabled !== undefined) {
    // RFC 4954 §6: 525 5.7.13 user account disabled.
    const reply = userError(
      C.AccountDisabled,
      SE.AccountDisabled13,
      `login disabled: ${acc.login_disabled}`,
    );
    throw new AuthFailed('logindisabled', false, reply);
  }
  c.authSucceeded(step.account, address, a.mechanism);
  c.authSASL = true;
  c.reply(C.AuthSuccess, SE.OtherSecurity0, 'authentication successful');
  return { code: C.AuthSuccess, secode: SE.OtherSecurity0 };
}

/** The reply to a failed mechanism step (RFC 4954 §6 codes). */
function failureOf(
  c: SmtpConn,
  mech: string,
  step: Extract<SaslStep, { kind: 'failure' }>,
): AuthFailed {
  const scram = mech.startsWith('SCRAM-');
  const creds = () =>
    new AuthFailed(
      'badcredentials',
      true,
      userError(C.AuthInvalidCreds, SE.AuthBadCreds8, 'authentication failed'),
    );
  switch (step.reason) {
    case 'badProtocol':
      if (scram) {
        return new AuthFailed(
          'badprotocol',
          true,
          userError(C.AuthInvalidCreds, SE.OtherSecurity0, 'bad scram protocol message'),
        );
      }
      return new AuthFailed(
        'badprotocol',
        true,
        userError(C.SyntaxErrorParams, SE.InvalidParams4, step.message),
      );
    case 'aborted':
      return new AuthFailed(
        'aborted',
        false,
        userError(C.SyntaxErrorParams, SE.OtherProto0, 'authentication aborted'),
      );
    case 'missingSecrets':
      // The stored secrets predate this mechanism: not the client's fault.
      c.log.info(
        { mech, account: c.account },
        'secrets for mechanism missing, set the password again',
      );
      return new AuthFailed(
        'error',
        false,
        userError(
          C.TempAuthFailure,
          SE.OtherMailSystem0,
          `${mech.toLowerCase()} not possible for this account`,
        ),
      );
    case 'unknownUser':
      return scram
        ? new AuthFailed(
            'badcredentials',
            true,
            userError(C.TempAuthFailure, SE.OtherMailSystem0, 'scram not possible'),
          )
        : creds();
    case 'authzFailed':
      return creds();
    case 'badChannelBinding':
      c.log.warn({ mech }, 'channel binding mismatch, potential man-in-the-middle');
      return new AuthFailed(
        'badchannelbinding',
        true,
        userError(
          C.AuthInvalidCreds,
          SE.MsgIntegrity7,
          'channel bindings do not match, potential mitm',
        ),
      );
    case 'channelBindingUnavailable':
      return new AuthFailed(
        'badprotocol',
        false,
        userError(C.EncryptionRequiredForAuth, SE.EncReqForAuth11, step.message),
      );
    default:
      return creds();
  }
}
