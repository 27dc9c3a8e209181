// Selected-state commands (RFC 9051 §6.4): CHECK, CLOSE, UNSELECT (RFC 3691), EXPUNGE,
// UID EXPUNGE (RFC 4315), STORE, COPY (with COPYUID), MOVE (RFC 6851).
import type { Handler } from './types.js';
import type { ImapSession, SelectedSession } from '../session.js';
import { ParseError } from '../parser.js';
import { UserError } from '../errors.js';
import { announceKeywords, applyChanges } from '../changes.js';
import { compactSet } from '../uids.js';
import { flagList } from '../response.js';
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
  c.selected = null;
  c.state = 'auth';
}

async function doExpunge(c: SelectedSession, uids: number[]): Promise<void> {
  const sel = await c.requireSelected(true);
  const r = await c.account.expunge(sel.mailbox.id, uids, c.session);
  for (const uid of r.uids) {
    const i = sel.uids.remove(uid);
    if (i >= 0) c.untagged(`${i + 1} EXPUNGE`);
  }
}

// RFC 9051 §6.4.3 EXPUNGE; syntax §9 "expunge".
export const expunge: Handler<SelectedSession> = async (c, _tag, p) => {
  p.end();
  // Only messages this session knows: others are not in its numbering yet.
  await doExpunge(c, (await c.requireSelected(true)).uids.toArray());
};

// RFC 9051 §6.4.9 and RFC 4315 §2.1 UID EXPUNGE; syntax RFC 9051 §9 "uid-expunge".
export const uidExpunge: Handler<SelectedSession> = async (c, _tag, p) => {
  p.sp();
  const spec = p.sequenceSet();
  p.end();
  await doExpunge(c, c.resolveSet(spec, true));
};

// ---- STORE ----

const STORABLE_SYSTEM = new Set(['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft']);

// RFC 9051 §6.4.6 STORE, §6.4.9 UID STORE; syntax §9 "store".
export const store: Handler<SelectedSession> = async (c, _tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const spec = p.sequenceSet();
  p.sp();
  if (p.peek('(')) throw new ParseError('store modifiers (UNCHANGEDSINCE) are not supported');
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
  if (uids.length === 0) return;
  const r = await c.account.storeFlags(
    sel.mailbox.id,
    uids,
    { mode, flags: bits, keywords },
    c.session,
  );
  if (silent) return;
  announceKeywords(
    c,
    r.messages.flatMap((m) => m.keywords),
  );
  for (const m of r.messages) {
    const i = sel.uids.indexOf(m.uid);
    if (i < 0) continue;
    // UID is always included: UID STORE needs it (RFC 9051 §6.4.9), and for STORE it
    // spares the client a sequence-number lookup.
    c.untagged(`${i + 1} FETCH (UID ${m.uid} FLAGS ${flagList(m.flags, m.keywords)})`);
  }
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
    if (c.session) applyChanges(c, c.session.takeBeforeOwnCommit(), false);
    for (const u of r.dstUids) sel.uids.append(u);
    c.untagged(`${sel.uids.length} EXISTS`);
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
  for (const uid of r.srcUids) {
    const i = sel.uids.remove(uid);
    if (i >= 0) c.untagged(`${i + 1} EXPUNGE`);
  }
  if (dst.id === sel.mailbox.id) {
    // Into the selected mailbox (RFC 6851 §3.3): the messages are back under new UIDs.
    if (c.session) applyChanges(c, c.session.takeBeforeOwnCommit(), false);
    for (const u of r.dstUids) sel.uids.append(u);
    c.untagged(`${sel.uids.length} EXISTS`);
  }
};
