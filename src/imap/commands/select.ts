// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3): open a mailbox read-write or read-only
// and describe it with untagged FLAGS, EXISTS, UIDVALIDITY, UIDNEXT and LIST responses.
import type { Handler } from './types.js';
import type { AuthSession, Selected } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { UserError } from '../errors.js';
import { UidList } from '../uids.js';
import { applyChanges, sendFlags } from '../changes.js';
import { mailboxName, mailboxObjectId } from '../response.js';

async function selectMailbox(c: AuthSession, p: Parser, readonly: boolean): Promise<string> {
  p.sp();
  const name = await p.mailbox();
  if (p.take(' ')) {
    // RFC 4466 §2.1 select-params hold at least one parameter; none is supported
    // (CONDSTORE and QRESYNC are not announced).
    p.expect('(');
    if (p.peek(')')) throw new ParseError('empty select parameter list');
    throw new ParseError(`unknown select parameter ${p.atom()}`);
  }
  p.end();
  if (c.selected) {
    // RFC 9051 §6.3.2: the previous mailbox is closed first, even if this SELECT fails.
    c.selected = null;
    c.state = 'auth';
    c.untagged('OK [CLOSED] previous mailbox closed');
  }
  const account = c.account;
  const mb = await account.mailbox(name);
  if (!mb) throw new UserError('', 'mailbox does not exist');
  // Read the UIDs, then drop pending changes committed before the read ("initial" mode).
  const uids = new UidList(await account.uidArray(mb.id));
  const sel: Selected = { mailbox: mb, readonly, uids, searchResult: null, keywords: new Set() };
  c.selected = sel;
  c.state = 'selected';
  if (c.session?.hasPending) applyChanges(c, c.session.take(), true);
  sendFlags(c, sel);
  if (!c.rev2) c.untagged('0 RECENT');
  c.untagged(`${uids.length} EXISTS`);
  if (!c.rev2) {
    const first = await account.firstUnseenUid(mb.id);
    if (first !== null) {
      const i = uids.indexOf(first);
      if (i >= 0) c.untagged(`OK [UNSEEN ${i + 1}] first unseen`);
    }
  }
  c.untagged(`OK [UIDVALIDITY ${mb.uidvalidity}] UIDs valid`);
  c.untagged(`OK [UIDNEXT ${mb.uidnext}] predicted next UID`);
  c.untagged(`OK [MAILBOXID (${mailboxObjectId(mb)})] mailbox id`); // RFC 8474 §4.1
  c.untagged(`LIST (${mb.specialUse ?? ''}) "/" ${mailboxName(mb.name, c.utf8)}`);
  return readonly ? '[READ-ONLY]' : '[READ-WRITE]';
}

// RFC 9051 §6.3.2 SELECT; syntax §9 "select", select-params RFC 4466 §2.1.
export const select: Handler<AuthSession> = (c, _t, p) => selectMailbox(c, p, false);

// RFC 9051 §6.3.3 EXAMINE; syntax §9 "examine", select-params RFC 4466 §2.1.
export const examine: Handler<AuthSession> = (c, _t, p) => selectMailbox(c, p, true);
