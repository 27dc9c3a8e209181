// STATUS (RFC 9051 §6.3.11): counts of a mailbox without selecting it.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { UserError } from '../errors.js';
import { parseStatusAttrs, statusEnables, statusLineOf } from './mailboxstatus.js';

// RFC 9051 §6.3.11 STATUS (HIGHESTMODSEQ: RFC 7162 §3.1.7); syntax §9 "status".
export const status: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.sp();
  const attrs = parseStatusAttrs(p);
  p.end();
  const mb = await c.account.mailbox(name);
  if (!mb) throw new UserError('NONEXISTENT', 'mailbox does not exist');
  await statusEnables(c, attrs);
  c.untagged(await statusLineOf(c, mb, attrs));
};
