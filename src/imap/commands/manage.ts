// Mailbox management (RFC 9051 §6.3.4–§6.3.8): CREATE (with RFC 6154 special use),
// DELETE, RENAME, SUBSCRIBE and UNSUBSCRIBE.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { UserError } from '../errors.js';
import { reportExpunged } from '../changes.js';
import { mailboxName, mailboxObjectId } from '../response.js';
import { parseSpecialUse } from '../../store/index.js';

// RFC 9051 §6.3.4 CREATE, RFC 6154 §3 USE; syntax RFC 9051 §9 "create",
// RFC 6154 "create-param".
export const create: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const raw = await p.mailbox();
  let attrs: string[] = [];
  if (p.take(' ')) {
    // RFC 6154 §3: CREATE mailbox (USE (\Drafts))
    p.expect('(');
    p.expect('USE', 'USE');
    p.sp();
    attrs = p.flagList();
    p.expect(')');
  }
  p.end();
  const use = specialUseOf(attrs);
  // A trailing delimiter only declares that children may follow (RFC 9051 §6.3.4).
  const name = raw.replace(/\/+$/, '');
  if (name === 'Inbox') throw new UserError('ALREADYEXISTS', 'mailbox already exists');
  const created = await c.account.createMailbox(name, { specialUse: use }, c.session);
  created.forEach((mb, i) => {
    // IMAP4rev2 clients learn the name used when it differs from theirs (RFC 9051 §6.3.4).
    const old =
      c.rev2 && i === created.length - 1 && mb.name !== raw
        ? ` ("OLDNAME" (${mailboxName(raw, c.utf8)}))`
        : '';
    const flags = mb.specialUse ? `\\Subscribed ${mb.specialUse}` : '\\Subscribed';
    c.untagged(`LIST (${flags}) "/" ${mailboxName(mb.name, c.utf8)}${old}`);
  });
  // RFC 8474 §4.1: the new mailbox's MAILBOXID in the tagged OK.
  const made = created[created.length - 1];
  return made ? `[MAILBOXID (${mailboxObjectId(made)})]` : undefined;
};

/** The one special use a CREATE asks for, or null; others get USEATTR (RFC 6154 §3). */
function specialUseOf(attrs: string[]): string | null {
  let use: string | null = null;
  for (const a of attrs) {
    const u = parseSpecialUse(a);
    if (!u) throw new UserError('USEATTR', `unsupported special-use attribute ${a}`);
    if (use && use !== u) {
      throw new UserError('USEATTR', 'only one special-use attribute per mailbox');
    }
    use = u;
  }
  return use;
}

// RFC 9051 §6.3.5 DELETE; syntax §9 "delete".
export const del: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account.deleteMailbox(name, c.session);
};

// RFC 9051 §6.3.6 RENAME; syntax §9 "rename".
export const rename: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const from = await p.mailbox();
  p.sp();
  const to = await p.mailbox();
  p.end();
  await c.account.renameMailbox(from, to.replace(/\/+$/, ''), c.session);
  if (from === 'Inbox') await expungeMovedFromInbox(c);
};

/**
 * Renaming INBOX moves its messages to the new mailbox (RFC 9051 §6.3.6). Other sessions
 * learn of it through their changes; when this session has INBOX selected, it expunges
 * the moved messages from its own view.
 */
async function expungeMovedFromInbox(c: AuthSession): Promise<void> {
  const sel = c.selected;
  const account = c.account;
  if (!sel || sel.mailbox.id !== (await account.mailbox('Inbox'))?.id) return;
  // Messages that arrived before the move are in the pending changes: take them first.
  await c.applyPending();
  const live = new Set(await account.uids(sel.mailbox.id));
  reportExpunged(
    c,
    sel,
    sel.uids.toArray().filter((u) => !live.has(u)),
  );
}

// RFC 9051 §6.3.7 SUBSCRIBE; syntax §9 "subscribe".
export const subscribe: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account.subscribe(name, c.session);
};

// RFC 9051 §6.3.8 UNSUBSCRIBE; syntax §9 "unsubscribe".
export const unsubscribe: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account.unsubscribe(name, c.session);
};
