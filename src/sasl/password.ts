// Password verification shared by PLAIN and LOGIN.
import { parseScryptHash, spendPasswordCheck, verifyPassword } from './secrets.js';
import { failure, type SaslContext, type SaslStep } from './types.js';

/** Looks up `username` (already NFC-normalised) and checks `password` against its hash. */
export async function authenticatePassword(
  ctx: SaslContext,
  username: string,
  password: string,
): Promise<SaslStep> {
  const user = await ctx.lookup(username);
  if (user === null) {
    // Same cost as a real check, so timing does not reveal whether the account exists.
    await spendPasswordCheck(password);
    return failure('unknownUser', 'unknown user');
  }
  const hash = user.secrets?.scrypt;
  if (hash === undefined || parseScryptHash(hash) === null) {
    return failure(
      'missingSecrets',
      'no usable password hash stored; the password must be set again',
    );
  }
  if (!(await verifyPassword(user.secrets, password))) {
    return failure('badCredentials', 'bad user name or password');
  }
  return { kind: 'success', username, account: user.account };
}
