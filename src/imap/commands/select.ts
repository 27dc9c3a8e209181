// SELECT and EXAMINE (RFC 9051 §6.3.2, §6.3.3): open a mailbox read-write or read-only
// and describe it with untagged FLAGS, EXISTS, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ and
// LIST responses; with QRESYNC (RFC 7162 §3.2.5), also what changed since the client's
// last session: VANISHED (EARLIER) for messages gone, FETCH for flags changed.
import type { Handler } from './types.js';
import { newSelected, type AuthSession, type Selected } from '../session.js';
import type { Parser } from '../parser.js';
import { UserError } from '../errors.js';
import { UidList } from '../uids.js';
import {
  applyChanges,
  flagsFetch,
  leaveSelected,
  sendFlags,
  takeRecentAtSelect,
} from '../changes.js';
import { enableCondstore, qresyncOn, sendVanished } from '../condstore.js';
import { inRanges, toRanges } from '../searchkeys.js';
import { mailboxName, mailboxObjectId } from '../response.js';
import { requireUids } from '../uidonly.js';
import type { NumSetSpec } from '../parser.js';

/** The QRESYNC select parameter (RFC 7162 §3.2.5): what the client remembers. */
type Qresync = {
  uidvalidity: number;
  modseq: number;
  knownUids: NumSetSpec | null;
  /** Message numbers and the UIDs the client has for them, in pairs (§3.2.5.2). */
  seqMatch: { seqs: number[]; uids: number[] } | null;
};

type SelectParams = { condstore: boolean; qresync: Qresync | null };

/** Most numbers a client may list in sequence match data: samples, not a mailbox. */
const MAX_SEQ_MATCH = 10_000;

/** select-params (RFC 4466 §2.1): CONDSTORE (RFC 7162 §3.1.8) and QRESYNC (§3.2.5). */
function parseSelectParams(c: AuthSession, p: Parser): SelectParams {
  const out: SelectParams = { condstore: false, qresync: null };
  if (!p.take(' ')) return out;
  p.expect('(');
  const seen = new Set<string>();
  do {
    const w = p.atom().toUpperCase();
    if (seen.has(w)) p.fail(`select parameter ${w} given twice`);
    seen.add(w);
    if (w === 'CONDSTORE') out.condstore = true;
    else if (w === 'QRESYNC') {
      // RFC 7162 §3.2.5: only after ENABLE QRESYNC.
      if (!qresyncOn(c)) p.fail('QRESYNC parameter without ENABLE QRESYNC');
      p.sp();
      out.qresync = parseQresync(p);
    } else p.fail(`unknown select parameter ${w}`);
  } while (p.take(' '));
  p.expect(')');
  return out;
}

/**
 * "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")" (RFC 7162
 * §7). A modseq of 0, which the syntax does not allow, is read as "knows nothing".
 */
function parseQresync(p: Parser): Qresync {
  p.expect('(');
  const uidvalidity = p.nzNumber();
  p.sp();
  const q: Qresync = { uidvalidity, modseq: p.modSeq(), knownUids: null, seqMatch: null };
  if (p.take(' ')) {
    if (!p.peek('(')) {
      q.knownUids = p.sequenceSet(false);
      if (p.take(' ')) q.seqMatch = parseSeqMatch(p);
    } else q.seqMatch = parseSeqMatch(p);
  }
  p.expect(')');
  return q;
}

/** seq-match-data = "(" known-sequence-set SP known-uid-set ")", paired in order. */
function parseSeqMatch(p: Parser): { seqs: number[]; uids: number[] } {
  p.expect('(');
  const seqs = increasing(p, p.sequenceSet(false), 'message numbers');
  p.sp();
  const uids = increasing(p, p.sequenceSet(false), 'UIDs');
  p.expect(')');
  if (seqs.length !== uids.length)
    p.fail('sequence match data: message numbers and UIDs differ in count');
  return { seqs, uids };
}

/** The numbers of a set as written, which must rise strictly and hold no "*". */
function increasing(p: Parser, set: NumSetSpec, what: string): number[] {
  const out: number[] = [];
  for (const [a, b] of set.ranges) {
    if (a === -1 || b === -1) p.fail(`sequence match data: "*" in ${what}`);
    if (b < a || (out.length > 0 && a <= (out[out.length - 1] as number)))
      p.fail(`sequence match data: ${what} not strictly increasing`);
    if (out.length + b - a >= MAX_SEQ_MATCH) p.fail(`sequence match data: too many ${what}`);
    for (let n = a; n <= b; n++) out.push(n);
  }
  return out;
}

async function selectMailbox(c: AuthSession, p: Parser, readonly: boolean): Promise<string> {
  p.sp();
  const name = await p.mailbox();
  const params = parseSelectParams(c, p);
  p.end();
  if (params.qresync?.seqMatch) requireUids(c, 'sequence match data');
  if (c.selected) {
    // RFC 9051 §6.3.2: the previous mailbox is closed first, even if this SELECT fails.
    leaveSelected(c);
    c.state = 'auth';
    c.untagged('OK [CLOSED] previous mailbox closed');
  }
  // A CONDSTORE enabling command (RFC 7162 §3.1), before anything is selected.
  if (params.condstore) await enableCondstore(c);
  const account = c.account;
  const mb = await account.mailbox(name);
  if (!mb) throw new UserError('', 'mailbox does not exist');
  // Read the UIDs and the highest modseq together, then drop pending changes committed
  // before the read ("initial" mode).
  const view = await account.selectView(mb.id);
  const uids = new UidList(view.uids);
  const sel = newSelected(mb, readonly, uids);
  c.selected = sel;
  c.state = 'selected';
  if (c.session?.hasPending) applyChanges(c, c.session.take(), 'initial');
  // RFC 3501 §2.3.2: an IMAP4rev1 SELECT claims the messages no session has been told
  // of; EXAMINE only looks.
  takeRecentAtSelect(c, sel);
  sendFlags(c, sel);
  if (!c.rev2) c.untagged(`${sel.recent.size} RECENT`);
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
  // RFC 7162 §3.1.2.1: with every SELECT, as modseqs here are kept for good.
  c.untagged(`OK [HIGHESTMODSEQ ${view.highestModseq}] highest modseq`);
  c.untagged(`OK [MAILBOXID (${mailboxObjectId(mb)})] mailbox id`); // RFC 8474 §4.1
  c.untagged(`LIST (${mb.specialUse ?? ''}) "/" ${mailboxName(mb.name, c.utf8)}`);
  const q = params.qresync;
  // RFC 7162 §3.2.5.1: another UIDVALIDITY means the client must start over.
  if (q && q.uidvalidity === mb.uidvalidity) await resync(c, sel, q, view.highestModseq);
  return readonly ? '[READ-ONLY]' : '[READ-WRITE]';
}

/**
 * RFC 7162 §3.2.5.1, §3.2.5.2: everything that changed after the client's modseq, up to
 * the HIGHESTMODSEQ just sent (later changes come as the usual updates). Expunged rows
 * are kept for good here, so the VANISHED list is exact; sequence match data only trims
 * it, and a client that still has a message expunged before its modseq gets everything.
 */
async function resync(c: AuthSession, sel: Selected, q: Qresync, highest: number): Promise<void> {
  const mailboxId = sel.mailbox.id;
  let since = q.modseq;
  const last = sel.mailbox.uidnext - 1;
  let known = q.knownUids ? toRanges(q.knownUids, last) : null;
  // Expunges below the UID of the last message number the client still has right
  // cannot have happened: the numbers would have shifted.
  let floor = 0;
  if (q.seqMatch) {
    const { seqs, uids } = q.seqMatch;
    for (let k = 0; k < seqs.length; k++) {
      const seq = seqs[k] as number;
      const uid = uids[k] as number;
      if (seq <= sel.uids.length && sel.uids.at(seq - 1) === uid) {
        floor = uid + 1;
        continue;
      }
      const state = sel.uids.indexOf(uid) < 0 ? await c.account.uidState(mailboxId, uid) : null;
      if (state?.expunged && state.modseq <= since) {
        c.untagged(
          'OK [ALERT] your copy of this mailbox does not match the modseq you gave: sending all changes',
        );
        since = 0;
        floor = 0;
        known = null;
      }
      break;
    }
  }
  const ch = await c.account.changedSince(mailboxId, since, highest);
  const vanished = ch.vanished.filter(
    (u) => u >= floor && u <= last && (known === null || inRanges(known, u)),
  );
  if (vanished.length > 0) sendVanished(c, vanished, true);
  for (const m of ch.changed) {
    const i = sel.uids.indexOf(m.uid);
    if (i >= 0) c.untagged(flagsFetch(c, i + 1, m));
    await c.flushIfLarge();
  }
}

// RFC 9051 §6.3.2 SELECT, RFC 7162 §3.1.8 and §3.2.5; syntax RFC 9051 §9 "select",
// select-params RFC 4466 §2.1 and RFC 7162 §7.
export const select: Handler<AuthSession> = (c, _t, p) => selectMailbox(c, p, false);

// RFC 9051 §6.3.3 EXAMINE, RFC 7162 §3.1.8 and §3.2.5; syntax RFC 9051 §9 "examine",
// select-params RFC 4466 §2.1 and RFC 7162 §7.
export const examine: Handler<AuthSession> = (c, _t, p) => selectMailbox(c, p, true);
