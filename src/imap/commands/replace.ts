// REPLACE (RFC 8508): a new version of a message (a draft saved again) appended to a
// mailbox, and the old one expunged from the selected mailbox, in one command.
import type { Handler } from './types.js';
import type { SelectedSession } from '../session.js';
import { UserError } from '../errors.js';
import { Flag } from '../../store/index.js';
import { addAppended, readAppendMessages } from './append.js';
import { reportExpunged } from '../changes.js';
import { requireUids } from '../uidonly.js';
import type { NewMessage, PreparedMessage } from '../../store/index.js';

// RFC 8508 §3 REPLACE and UID REPLACE; syntax §6 "replace".
export const replace: Handler<SelectedSession> = async (c, _tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const n = p.nzNumber();
  p.sp();
  const target = await p.mailbox();
  p.sp();
  if (!isUid) requireUids(c, 'REPLACE');
  const sel = await c.requireSelected(true);
  const uid = isUid
    ? sel.uids.indexOf(n) >= 0
      ? n
      : 0
    : n <= sel.uids.length
      ? sel.uids.at(n - 1)
      : 0;
  // Refused before the literal is invited (RFC 8508 §3.3: nothing is appended then).
  if (uid === 0) throw new UserError('', `no message ${n} to replace`);
  const mb = await c.account.mailbox(target);
  const read = { items: [] as NewMessage[], prepared: [] as PreparedMessage[] };
  try {
    await readAppendMessages(c, p, mb, read, true);
    p.end();
    // The new message first: if it cannot be added, the old one stays.
    await addAppended(c, mb!, read.items, (code) => c.untagged(`OK [${code}] replacement`));
    await c.account.storeFlags(
      sel.mailbox.id,
      [uid],
      { mode: 'add', flags: Flag.Deleted },
      c.session,
    );
    const r = await c.account.expunge(sel.mailbox.id, [uid], c.session);
    reportExpunged(c, sel, r.uids);
  } finally {
    await Promise.all(read.prepared.map((pm) => pm.cleanup()));
  }
};
