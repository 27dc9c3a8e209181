// A login with a user name and a password in the clear (IMAP LOGIN, and web logins): the
// same checks, in the same order, as a SASL PLAIN exchange makes.
import { lookupLogin, spendPasswordCheck, verifyPassword } from '../sasl/index.js';
import { mechanismRefusal } from './mechanisms.js';
import { AuthFailure } from './failure.js';
import { secretsOf, type LoginEnv, type LoginSuccess } from './exchange.js';
import type { Attempt } from './attempt.js';

/** Checks `user` and `pass`, filling in the attempt's account; throws an AuthFailure. */
export async function passwordLogin(
  env: LoginEnv,
  a: Attempt,
  user: string,
  pass: string,
): Promise<LoginSuccess> {
  const mech = a.mechanism.toUpperCase();
  const who = lookupLogin(env.domains(), user);
  a.account = who?.account ?? '';
  // A password in the clear is allowed where PLAIN is.
  if (mechanismRefusal(env.protocol, env.policy, env.state, 'PLAIN') !== null) {
    throw new AuthFailure('tls-required', mech);
  }
  // Unknown users and throttled accounts take as long as a wrong password.
  if (!who) {
    await spendPasswordCheck(pass);
    throw new AuthFailure('unknown-user', mech);
  }
  if (!env.attempts.accountAllowed(who.account)) {
    await spendPasswordCheck(pass);
    throw new AuthFailure('throttled', mech);
  }
  if (env.identity && env.identity.account !== who.account) {
    throw new AuthFailure('certificate-mismatch', mech);
  }
  const secrets = await secretsOf(env, who.account);
  // No password hash to check against (it must be set again): not the client's fault.
  if (!secrets?.scrypt) throw new AuthFailure('missing-secrets', mech);
  if (!(await verifyPassword(secrets, pass))) throw new AuthFailure('bad-credentials', mech);
  return who;
}
