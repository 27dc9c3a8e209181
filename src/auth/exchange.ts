// A SASL exchange (RFC 4422) independent of the protocol that carries it: the protocol
// supplies a transport that sends a challenge and returns the client's answer line, and
// gets back the account that logged in, or an AuthFailure with a protocol-neutral reason.
import type { TLSSocket } from 'node:tls';
import {
  channelBindingFromSocket,
  createSaslServer,
  lookupLogin,
  type SaslContext,
  type SaslStep,
  type StoredSecrets,
} from '../sasl/index.js';
import type { DomainsConfig } from '../config/index.js';
import type { Logger } from '../log/index.js';
import type { Store } from '../store/index.js';
import {
  mechanismRefusal,
  type AuthConnState,
  type AuthPolicy,
  type MechanismRefusal,
} from './mechanisms.js';
import { AuthFailure, type FailureReason } from './failure.js';
import type { Attempt, LoginAttempts } from './attempt.js';

/** What a login needs to know of its connection and server. */
export type LoginEnv = {
  protocol: 'imap' | 'smtp';
  policy: AuthPolicy;
  state: AuthConnState;
  hostname: string;
  domains(): DomainsConfig;
  store: Pick<Store, 'account'>;
  /** The TLS socket, for channel binding; null on plaintext. */
  tls: TLSSocket | null;
  /** The account a TLS client certificate identified: only that one may log in. */
  identity: { account: string; loginAddress: string } | null;
  attempts: LoginAttempts;
  log: Logger;
};

/** How the protocol carries the exchange. */
export interface SaslTransport {
  /**
   * Sends server data (a challenge, or the final data of a success) and returns the
   * client's answer line: base64, empty, or "*" to cancel.
   */
  challenge(data: Buffer): Promise<string>;
}

/** Who logged in: the account, and the address used (canonical when it is one). */
export type LoginSuccess = { account: string; address: string };

/**
 * Runs mechanism `mech` (upper case) with an optional initial response (RFC 4422 §3.3),
 * filling in `a` as the exchange learns who it is for.
 */
export async function runExchange(
  env: LoginEnv,
  t: SaslTransport,
  mech: string,
  initial: string | null,
  a: Attempt,
): Promise<LoginSuccess> {
  const refusal = mechanismRefusal(env.protocol, env.policy, env.state, mech);
  if (refusal) throw new AuthFailure(REFUSALS[refusal], mech);
  const server = createSaslServer(mech, saslContext(env, mech, a));
  if (!server) throw new AuthFailure('unsupported', mech);
  let response = initial === null ? null : decode64(initial, mech);
  for (;;) {
    const step = await server.step(response);
    if (step.kind === 'failure') throw stepFailure(env, mech, step);
    if (step.kind === 'success') return finish(env, t, mech, step, a);
    response = decode64(await answer(t, step.data, mech), mech);
  }
}

const REFUSALS: Record<MechanismRefusal, FailureReason> = {
  'tls-required': 'tls-required',
  'needs-tls': 'needs-tls',
  'no-certificate': 'no-certificate',
  disabled: 'unsupported',
  unknown: 'unsupported',
};

/** Base64 of a client response; "=" is an empty initial response (RFC 4422 §3.3). */
function decode64(s: string, mech: string): Buffer {
  if (s === '=') return Buffer.alloc(0);
  if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) {
    throw new AuthFailure('bad-base64', mech, 'invalid base64');
  }
  return Buffer.from(s, 'base64');
}

/** Sends server data and reads the answer; "*" cancels the exchange (RFC 4422 §3.5). */
async function answer(t: SaslTransport, data: Buffer, mech: string): Promise<string> {
  const line = await t.challenge(data);
  if (line === '*') throw new AuthFailure('aborted', mech, 'authentication aborted');
  return line;
}

async function finish(
  env: LoginEnv,
  t: SaslTransport,
  mech: string,
  step: Extract<SaslStep, { kind: 'success' }>,
  a: Attempt,
): Promise<LoginSuccess> {
  a.account = step.account;
  a.address = step.username;
  // Server data with the success (the SCRAM server-final message) goes out as a
  // challenge, answered with an empty line (RFC 4422 §3.6).
  if (step.final && step.final.length > 0 && (await answer(t, step.final, mech)) !== '') {
    throw new AuthFailure('final-not-empty', mech);
  }
  if (env.identity && env.identity.account !== step.account) {
    throw new AuthFailure('certificate-mismatch', mech);
  }
  const address = lookupLogin(env.domains(), step.username)?.address ?? step.username;
  return { account: step.account, address };
}

const STEP_FAILURES: Record<Extract<SaslStep, { kind: 'failure' }>['reason'], FailureReason> = {
  badCredentials: 'bad-credentials',
  missingSecrets: 'missing-secrets',
  badProtocol: 'bad-protocol',
  aborted: 'aborted',
  badChannelBinding: 'bad-channel-binding',
  authzFailed: 'authz-failed',
  unknownUser: 'unknown-user',
  channelBindingUnavailable: 'channel-binding-unavailable',
};

function stepFailure(
  env: LoginEnv,
  mech: string,
  step: Extract<SaslStep, { kind: 'failure' }>,
): AuthFailure {
  const reason = STEP_FAILURES[step.reason] ?? 'bad-credentials';
  if (reason === 'bad-channel-binding') {
    env.log.warn({ mech }, 'channel binding mismatch, potential man-in-the-middle');
  }
  return new AuthFailure(reason, mech, step.message);
}

/** The stored secrets of an account. */
export async function secretsOf(env: LoginEnv, account: string): Promise<StoredSecrets | null> {
  return (await env.store.account(account)).secrets<StoredSecrets>();
}

/** The mechanisms' view of the connection; lookups also fill in the attempt record. */
function saslContext(env: LoginEnv, mech: string, a: Attempt): SaslContext {
  if (env.identity) {
    a.account = env.identity.account;
    a.address = env.identity.loginAddress;
  }
  return {
    hostname: env.hostname,
    lookup: async (username) => {
      const who = lookupLogin(env.domains(), username);
      a.address = username;
      a.account = who?.account ?? '';
      if (!who) return null;
      // Answered like a wrong password, so that guessing learns nothing.
      if (!env.attempts.accountAllowed(who.account)) throw new AuthFailure('throttled', mech);
      return { account: who.account, secrets: await secretsOf(env, who.account) };
    },
    tls: env.tls ? channelBindingFromSocket(env.tls) : null,
    externalIdentity: env.identity,
    allowAddresses: async (account, address) =>
      lookupLogin(env.domains(), address)?.account === account,
  };
}

/**
 * Whether `account` may log in now: null, or why not. An account gone from the
 * configuration fails like a wrong password.
 */
export function accountRefusal(
  domains: DomainsConfig,
  account: string,
  mech: string,
): AuthFailure | null {
  const acc = domains.accounts[account];
  if (!acc) return new AuthFailure('bad-credentials', mech);
  if (acc.login_disabled === undefined) return null;
  return new AuthFailure('login-disabled', mech, acc.login_disabled);
}
