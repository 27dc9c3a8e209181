// Selected-state commands (RFC 9051 §6.4): CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE,
// UID EXPUNGE (RFC 4315), STORE, COPY (with COPYUID), MOVE (RFC 6851).
import type { Handler } from './types.js';
import type { ImapSession, SelectedSession } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { UserError } from '../errors.js';
import {
  addOwn,
  announceKeywords,
  applyChanges,
  flagsFetch,
  leaveSelected,
  reportExpunged,
} from '../changes.js';
import { condstoreOn, enableCondstore, qresyncOn } from '../condstore.js';
import { fetchHead } from '../uidonly.js';
import { compactSet } from '../uids.js';
import { flagBit, isStoreError } from '../../store/index.js';

// RFC 3501 §6.4.1 CHECK (not in RFC 9051); syntax RFC 3501 §9 "command-select". Nothing
// to do: every change is committed when made.
export const check: Handler<SelectedSession> = async (_c, _tag, p) => {
  p.end();
};

// RFC 9051 §6.4.1 CLOSE; syntax §9 "command-select".
export const close: Handler<SelectedSession> = async (c, _tag, p) => {
  p.end();
  const sel = c.selected!;
  if (!sel.readonly) {
    // Silently expunge \Deleted messages; the mailbox may be gone already.
    try {
      await c.account.expunge(sel.mailbox.id, sel.uids.toArray(), c.session);
    } catch (e) {
      if (!isStoreError(e, 'nonexistent')) throw e;
    }
  }
  unselectNow(c);
};

// RFC 9051 §6.4.2 and RFC 3691 §2 UNSELECT; syntax RFC 9051 §9 "command-select".
export const unselect: Handler<SelectedSession> = async (c, _tag, p) => {
  p.end();
  unselectNow(c);
};

function unselectNow(c: ImapSession): void {
  leaveSelected(c);
  c.state = 'auth';
}

/** The tagged OK's code after an expunge or move: the mailbox's new HIGHESTMODSEQ. */
async function highestModseqCode(c: SelectedSession): Promise<string> {
  return `[HIGHESTMODSEQ ${await c.account.mailboxHighestModseq(c.selected.mailbox.id)}]`;
}

async function doExpunge(c: SelectedSession, uids: number[]): Promise<string | void> {
  const sel = await c.requireSelected(true);
  const r = await c.account.expunge(sel.mailbox.id, uids, c.session);
  reportExpunged(c, sel, r.uids);
  // RFC 7162 §3.2.7, §3.2.9: with CONDSTORE on, the modseq the expunge reached, which no
  // FETCH can carry.
  if (condstoreOn(c)) return highestModseqCode(c);
}

// RFC 9051 §6.4.3 EXPUNGE; syntax §9 "expunge".
export const expunge: Handler<SelectedSession> = async (c, _tag, p) => {
  p.end();
  // Only messages this session knows: others are not in its numbering yet.
  return doExpunge(c, (await c.requireSelected(true)).uids.toArray());
};

// RFC 9051 §6.4.9 and RFC 4315 §2.1 UID EXPUNGE; syntax RFC 9051 §9 "uid-expunge".
export const uidExpunge: Handler<SelectedSession> = async (c, _tag, p) => {
  p.sp();
  const spec = p.sequenceSet();
  p.end();
  return doExpunge(c, c.resolveSet(spec, true));
};

// ---- STORE ----

const STORABLE_SYSTEM = new Set(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft']);

/** store-modifiers (RFC 4466 §2.5): only UNCHANGEDSINCE (RFC 7162 §3.1.3) is known. */
function storeModifiers(p: Parser): number | undefined {
  if (!p.take('(')) return undefined;
  let unchangedSince: number | undefined;
  do {
    const m = p.atom().toUpperCase();
    if (m !== 'UNCHANGEDSINCE') p.fail(`unknown STORE modifier ${m}`);
    if (unchangedSince !== undefined) p.fail('UNCHANGEDSINCE given twice');
    p.sp();
    unchangedSince = p.modSeq();
  } while (p.take(' '));
  p.expect(')');
  p.sp();
  return unchangedSince;
}

// RFC 9051 §6.4.6 STORE, §6.4.9 UID STORE, RFC 7162 §3.1.3 UNCHANGEDSINCE; syntax RFC 9051
// §9 "store", RFC 7162 §7 "store-modifier".
export const store: Handler<SelectedSession> = async (c, _tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const spec = p.sequenceSet();
  p.sp();
  const unchangedSince = storeModifiers(p);
  let mode: 'set' | 'add' | 'remove' = 'set';
  if (p.take('+')) mode = 'add';
  else if (p.take('-')) mode = 'remove';
  p.expect('FLAGS', 'FLAGS');
  const silent = p.take('.SILENT');
  p.sp();
  let names: string[];
  if (p.peek('(')) names = p.flagList();
  else {
    names = [p.flag()];
    while (p.take(' ')) names.push(p.flag());
  }
  p.end();
  let bits = 0;
  const keywords: string[] = [];
  for (const f of names) {
    if (f.startsWith('\\')) {
      if (!STORABLE_SYSTEM.has(f.toLowerCase())) throw new ParseError(`cannot store flag ${f}`);
      bits |= flagBit(f);
    } else {
      const b = flagBit(f);
      if (b) bits |= b;
      else keywords.push(f);
    }
  }
  const sel = await c.requireSelected(true);
  const uids = c.resolveSet(spec, isUid);
  // A CONDSTORE enabling command (RFC 7162 §3.1).
  if (unchangedSince !== undefined) await enableCondstore(c);
  if (uids.length === 0) return;
  const op = {
    mode,
    flags: bits,
    keywords,
    ...(unchangedSince !== undefined && { unchangedSince }),
  };
  const r = await c.account.storeFlags(sel.mailbox.id, uids, op, c.session);
  const changed = new Set(r.changed);
  if (!silent) {
    announceKeywords(
      c,
      r.messages.flatMap((m) => m.keywords),
    );
  }
  for (const m of r.messages) {
    const i = sel.uids.indexOf(m.uid);
    if (i < 0) continue;
    // UID is always included: UID STORE needs it (RFC 9051 §6.4.9), and for STORE it
    // spares the client a sequence-number lookup. With .SILENT and CONDSTORE, a changed
    // message's new MODSEQ is still sent (RFC 7162 §3.1.3), without its flags.
    if (!silent) c.untagged(flagsFetch(c, i + 1, m));
    else if (condstoreOn(c) && changed.has(m.uid))
      c.untagged(`${fetchHead(c, i + 1, m.uid)}MODSEQ (${m.modseq}))`);
  }
  // RFC 7162 §3.1.3: the messages left alone because they changed after UNCHANGEDSINCE.
  if (r.modified.length === 0) return;
  const nums = isUid ? r.modified : r.modified.map((u) => sel.uids.indexOf(u) + 1);
  return `[MODIFIED ${compactSet(nums.filter((n) => n > 0).sort((a, b) => a - b))}]`;
};

// ---- COPY / MOVE ----

// RFC 9051 §6.4.7 COPY, §6.4.9 UID COPY; syntax §9 "copy".
export const copy: Handler<SelectedSession> = async (c, _tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const spec = p.sequenceSet();
  p.sp();
  const dstName = await p.mailbox();
  p.end();
  const sel = await c.requireSelected();
  const uids = c.resolveSet(spec, isUid);
  const dst = await c.account.mailbox(dstName);
  if (!dst) throw new UserError('TRYCREATE', 'destination mailbox does not exist');
  if (uids.length === 0) return;
  let r;
  try {
    r = await c.account.copyMessages(sel.mailbox.id, uids, dst.id, c.session);
  } catch (e) {
    if (isStoreError(e, 'notfound')) return; // all expunged meanwhile: nothing copied
    throw e;
  }
  if (dst.id === sel.mailbox.id) {
    if (c.session) applyChanges(c, c.session.takeBeforeOwnCommit(), 'own');
    addOwn(c, sel, r.dstUids);
  }
  return `[COPYUID ${r.uidvalidity} ${compactSet(r.srcUids)} ${compactSet(r.dstUids)}]`;
};

// RFC 9051 §6.4.8 and RFC 6851 §3.1 MOVE, §6.4.9 UID MOVE; syntax RFC 9051 §9 "move".
export const move: Handler<SelectedSession> = async (c, _tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const spec = p.sequenceSet();
  p.sp();
  const dstName = await p.mailbox();
  p.end();
  const sel = await c.requireSelected(true);
  const uids = c.resolveSet(spec, isUid);
  const dst = await c.account.mailbox(dstName);
  if (!dst) throw new UserError('TRYCREATE', 'destination mailbox does not exist');
  if (uids.length === 0) return;
  let r;
  try {
    r = await c.account.moveMessages(sel.mailbox.id, uids, dst.id, c.session);
  } catch (e) {
    if (isStoreError(e, 'notfound')) return;
    throw e;
  }
  // RFC 6851 §4.3: COPYUID in an untagged OK before the expunges.
  c.untagged(
    `OK [COPYUID ${r.uidvalidity} ${compactSet(r.srcUids)} ${compactSet(r.dstUids)}] moved`,
  );
  reportExpunged(c, sel, r.srcUids);
  if (dst.id === sel.mailbox.id) {
    // Into the selected mailbox (RFC 6851 §3.3): the messages are back under new UIDs.
    if (c.session) applyChanges(c, c.session.takeBeforeOwnCommit(), 'own');
    addOwn(c, sel, r.dstUids);
  }
  // With QRESYNC, RFC 6851 has MOVE end like UID EXPUNGE (RFC 7162 §3.2.9).
  if (qresyncOn(c)) return highestModseqCode(c);
};
