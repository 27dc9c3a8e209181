// QUOTA (RFC 9208): the account's quotas, storage and number of messages, as one quota
// root, "", that every mailbox belongs to. GETQUOTAROOT and GETQUOTA report them;
// SETQUOTA is for administrators, who set quotas in domains.toml, so it is refused here.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { UserError } from '../errors.js';
import { mailboxName } from '../response.js';

/** The root's resources, or null without a limit (RFC 9208 §4.2.1: a root has some). */
async function quotaResponse(c: AuthSession): Promise<string | null> {
  const res: string[] = [];
  const limit = await c.account.quotaLimit();
  if (limit > 0) {
    // RFC 9208 §5.1: STORAGE in units of 1024 octets.
    const used = await c.account.diskUsage();
    res.push(`STORAGE ${Math.ceil(used / 1024)} ${Math.floor(limit / 1024)}`);
  }
  const most = await c.account.messageLimit();
  if (most > 0) {
    // RFC 9208 §5.2: MESSAGE, the messages in all mailboxes of the root.
    res.push(`MESSAGE ${await c.account.messageCount()} ${most}`);
  }
  return res.length > 0 ? `QUOTA "" (${res.join(' ')})` : null;
}

// RFC 9208 §4.1.2 GETQUOTAROOT; syntax §7 "getquotaroot".
export const getquotaroot: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  // The mailbox need not exist: the root it would belong to is answered.
  const quota = await quotaResponse(c);
  c.untagged(`QUOTAROOT ${mailboxName(name, c.utf8)}${quota ? ' ""' : ''}`);
  if (quota) c.untagged(quota);
};

// RFC 9208 §4.1.1 GETQUOTA; syntax §7 "getquota".
export const getquota: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const root = await p.astring();
  p.end();
  const quota = root === '' ? await quotaResponse(c) : null;
  if (!quota) throw new UserError('NONEXISTENT', `no quota root ${JSON.stringify(root)}`);
  c.untagged(quota);
};

// RFC 9208 §4.1.3 SETQUOTA; syntax §7 "setquota". Parsed fully, then refused.
export const setquota: Handler<AuthSession> = async (_c, _tag, p) => {
  p.sp();
  await p.astring();
  p.sp();
  p.expect('(');
  while (!p.take(')')) {
    p.take(' ');
    p.atom();
    p.sp();
    p.number64();
  }
  p.end();
  throw new UserError('NOPERM', 'quotas are set by the administrator in domains.toml');
};
