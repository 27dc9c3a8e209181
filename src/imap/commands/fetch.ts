// FETCH and UID FETCH (RFC 9051 §6.4.5, §6.4.9, §7.5.2), with BINARY (RFC 3516).
//
// Messages are read in batches; each message's response is queued and flushed as the
// output grows, and large body sections are streamed from the message file, so a FETCH
// of a whole large mailbox never sits in memory. A FETCH reads only the columns its
// items need: flags for FLAGS and UID, MIME structure for ENVELOPE and BODYSTRUCTURE.
// The items themselves are parsed by ../fetchatt.ts.
import type { Handler } from './types.js';
import type { SelectedSession, Selected } from '../session.js';
import { announceKeywords } from '../changes.js';
import { condstoreOn, enableCondstore, qresyncOn, sendVanished } from '../condstore.js';
import { inRanges, toRanges } from '../searchkeys.js';
import { progressFor } from '../progress.js';
import { uidOnly } from '../uidonly.js';
import type { NumSetSpec, Parser } from '../parser.js';
import { emailObjectId, flagList, str, threadObjectId } from '../response.js';
import { bodyStructureText, envelopeText, type StructureOptions } from '../bodystructure.js';
import { Flag, type Message, type MessageRow } from '../../store/index.js';
import { messagePreview, type Envelope, type Part } from '../../message/index.js';
import {
  binaryPart,
  binaryPiece,
  binarySize,
  bodyPiece,
  emitRange,
  type Piece,
} from './sections.js';
import { parseFetchAtts, type FetchItem, type SimpleKind } from '../fetchatt.js';

/** Messages per database read. */
const BATCH = 200;

// ---- reading rows ----

/**
 * One message as FETCH needs it. A FLAGS/UID FETCH reads only the flag columns; a FETCH
 * of ENVELOPE, BODYSTRUCTURE, INTERNALDATE or RFC822.SIZE adds date, size and MIME
 * structure; only body sections read the full row (m), for the message file.
 */
type Row = {
  /** The message's row id (EMAILID, RFC 8474). */
  id: number;
  uid: number;
  flags: number;
  keywords: string[];
  expunged: boolean;
  /** Read only when the responses carry MODSEQ (0 otherwise). */
  modseq: number;
  info: RowInfo | null;
  m: Message | null;
};

/**
 * Date, size and MIME structure; for an envelope-level read, the stored envelope (JSON)
 * instead of the structure.
 */
type RowInfo = {
  internalDate: number;
  /** When the message was saved into the mailbox (RFC 8514). */
  saveDate: number;
  size: number;
  part: Part | null;
  fileId?: number;
  loadEnvelope?: () => Envelope;
};

/** How much of each message a FETCH needs. */
type RowLevel = 'flags' | 'envelope' | 'structure' | 'full';

function rowInfo(r: MessageRow): RowInfo {
  const info: RowInfo = {
    internalDate: r.internalDate as number,
    saveDate: r.saveDate as number,
    size: r.size as number,
    part: r.part ?? null,
  };
  if (r.fileId !== undefined) info.fileId = r.fileId;
  if (r.loadEnvelope) info.loadEnvelope = r.loadEnvelope;
  return info;
}

/** Rows without the full message: flags only, or with date, size and envelope or structure. */
async function lightRows(
  c: SelectedSession,
  mailboxId: number,
  uids: number[],
  level: Exclude<RowLevel, 'full'>,
  withModseq: boolean,
): Promise<Row[]> {
  const rows = await c.account.messageRows(mailboxId, uids, level, withModseq);
  return rows.map((r) => ({
    id: r.id,
    uid: r.uid,
    flags: r.flags,
    keywords: r.keywords,
    expunged: r.expunged,
    modseq: r.modseq ?? 0,
    info: level === 'flags' ? null : rowInfo(r),
    m: null,
  }));
}

async function fullRows(c: SelectedSession, mailboxId: number, uids: number[]): Promise<Row[]> {
  // Messages expunged by another session stay fetchable until this session is told.
  return (await c.account.messages(mailboxId, uids, { includeExpunged: true })).map((m) => ({
    id: m.id,
    uid: m.uid,
    flags: m.flags,
    keywords: m.keywords,
    expunged: m.expunged,
    modseq: m.modseq,
    info: m,
    m,
  }));
}

async function readRows(
  c: SelectedSession,
  mailboxId: number,
  uids: number[],
  level: RowLevel,
  withModseq: boolean,
): Promise<Row[]> {
  return level === 'full'
    ? fullRows(c, mailboxId, uids)
    : lightRows(c, mailboxId, uids, level, withModseq);
}

/** Items answered from the flag columns (and the row id). */
const FLAG_LEVEL = new Set(['uid', 'flags', 'emailid', 'threadid', 'modseq']);

/** The least FETCH must read for the items. */
function rowLevel(items: FetchItem[]): RowLevel {
  let level: RowLevel = 'flags';
  for (const it of items) {
    if (it.kind === 'section' || it.kind === 'binarysize' || it.kind === 'preview') return 'full';
    if (it.kind === 'body' || it.kind === 'bodystructure') level = 'structure';
    else if (!FLAG_LEVEL.has(it.kind) && level === 'flags') level = 'envelope';
  }
  return level;
}

// ---- responses ----

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** date-time (RFC 9051 §9) in UTC: "dd-Mon-yyyy hh:mm:ss +0000" (date-day-fixed as 2DIGIT). */
export function imapDateTime(ms: number): string {
  const d = new Date(ms);
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  return (
    `${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${year} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}

/**
 * Rendered envelopes by file (a message's content never changes) and UTF-8 mode, per
 * account; the oldest go first. Message lists are fetched again and again (on every
 * connect, by every device), and this saves parsing and formatting each time.
 */
const ENVELOPE_CACHE_MAX = 4096;
const envelopeCache = new WeakMap<object, Map<number, string>>();

function envelope(info: RowInfo, opts: FetchRenderOptions): string {
  if (info.fileId === undefined) return envelopeText(info.part?.envelope, opts.utf8);
  let cache = envelopeCache.get(opts.account);
  if (!cache) envelopeCache.set(opts.account, (cache = new Map()));
  const key = info.fileId * 2 + (opts.utf8 ? 1 : 0);
  let text = cache.get(key);
  if (text === undefined) {
    const env = info.loadEnvelope ? info.loadEnvelope() : info.part?.envelope;
    // Kept flat: a rope of the pieces it was built from would be walked again on
    // every use and hold all of them.
    text = Buffer.from(envelopeText(env, opts.utf8), 'latin1').toString('latin1');
    if (cache.size >= ENVELOPE_CACHE_MAX) cache.delete(cache.keys().next().value as number);
    cache.set(key, text);
  }
  return text;
}

function structure(info: RowInfo): Part {
  if (info.part === null) throw new Error('message structure not read');
  return info.part;
}

/** An item answered from the row alone: flags, date, size, envelope or structure. */
/** Rendering options, and the account whose envelope cache to use. */
type FetchRenderOptions = StructureOptions & {
  account: object;
  /** Previews (RFC 8970) of the batch's messages, by row id. */
  previews?: Map<number, string>;
  /** Thread ids (RFC 8474 §5.2) of the batch's messages, by row id. */
  threadIds?: Map<number, number>;
  /** UIDs \Recent in this session (IMAP4rev1). */
  recent: ReadonlySet<number>;
};

/** A message's flags, \Recent included where it is recent in this session. */
const rowFlags = (row: Row, opts: FetchRenderOptions) =>
  flagList(row.flags, row.keywords, opts.recent.has(row.uid));

function simpleItem(row: Row, kind: SimpleKind, opts: FetchRenderOptions): string {
  if (kind === 'uid') return `UID ${row.uid}`;
  if (kind === 'flags') return `FLAGS ${rowFlags(row, opts)}`;
  if (kind === 'emailid') return `EMAILID (${emailObjectId(row.id)})`;
  if (kind === 'modseq') return `MODSEQ (${row.modseq})`;
  if (kind === 'threadid')
    return `THREADID (${threadObjectId(opts.threadIds?.get(row.id) ?? row.id)})`;
  const info = row.info;
  if (info === null) throw new Error('message data not read');
  switch (kind) {
    case 'internaldate':
      return `INTERNALDATE "${imapDateTime(info.internalDate)}"`;
    case 'savedate':
      // RFC 8514 §3: every message here has one (NIL is for mailboxes without).
      return `SAVEDATE "${imapDateTime(info.saveDate)}"`;
    case 'size':
      return `RFC822.SIZE ${info.size}`;
    case 'envelope':
      return `ENVELOPE ${envelope(info, opts)}`;
    case 'body':
      return `BODY ${bodyStructureText(structure(info), false, opts)}`;
    case 'bodystructure':
      return `BODYSTRUCTURE ${bodyStructureText(structure(info), true, opts)}`;
  }
}

/** The response pieces of one message. All data that may fail is read here, first. */
async function messagePieces(
  c: SelectedSession,
  row: Row,
  items: FetchItem[],
  addFlags: boolean,
  addModseq: boolean,
  opts: FetchRenderOptions,
): Promise<Piece[]> {
  const out: Piece[] = [];
  let s = '';
  for (const it of items) {
    if (s !== '' || out.length > 0) s += ' ';
    if (it.kind === 'preview') {
      // RFC 8970 §3: an nstring; every message here has one ("" without text).
      s += `PREVIEW ${str(opts.previews?.get(row.id) ?? '', opts.utf8)}`;
      continue;
    }
    if (it.kind !== 'section' && it.kind !== 'binarysize') {
      s += simpleItem(row, it.kind, opts);
      continue;
    }
    const m = row.m;
    if (m === null) throw new Error('message data not read');
    if (it.kind === 'binarysize') {
      s += `${it.label} ${await binarySize(c, m, it.section)}`;
      continue;
    }
    const piece = it.binary
      ? await binaryPiece(c, m, it.section, it.partial)
      : await bodyPiece(c, m, it.section, it.partial);
    s += `${it.label} `;
    if (typeof piece === 'string') s += piece;
    else {
      out.push(s, piece);
      s = '';
    }
  }
  // RFC 9051 §6.4.5: a flag change from an implicit \Seen is reported.
  if (addFlags) s += ` FLAGS ${rowFlags(row, opts)}`;
  if (addModseq) s += ` MODSEQ (${row.modseq})`;
  out.push(s);
  return out;
}

async function writeMessage(
  c: SelectedSession,
  seq: number,
  uid: number,
  pieces: Piece[],
): Promise<void> {
  // RFC 9586 §3.3: under UIDONLY the response is numbered by UID.
  c.send(uidOnly(c) ? `* ${uid} UIDFETCH (` : `* ${seq} FETCH (`);
  let failure: Error | null = null;
  for (const p of pieces) {
    if (typeof p === 'string') c.send(p);
    else failure = (await emitRange(c, p)) ?? failure;
  }
  c.send(')\r\n');
  if (failure) throw failure;
}

// ---- the command ----

/** Checks BINARY sections before anything is changed or sent for a batch. */
function checkBinary(rows: Row[], items: FetchItem[]): void {
  for (const it of items) {
    if ((it.kind !== 'section' || !it.binary) && it.kind !== 'binarysize') continue;
    if (it.section.path.length === 0) continue;
    for (const r of rows) if (r.m) binaryPart(r.m, it.section);
  }
}

/** Sets \Seen on the rows that lack it (RFC 9051 §6.4.5); returns the UIDs changed. */
async function markSeen(c: SelectedSession, sel: Selected, rows: Row[]): Promise<Set<number>> {
  const need = rows.filter((r) => !r.expunged && (r.flags & Flag.Seen) === 0).map((r) => r.uid);
  if (need.length === 0) return new Set();
  const res = await c.account.storeFlags(
    sel.mailbox.id,
    need,
    { mode: 'add', flags: Flag.Seen },
    c.session,
  );
  const now = new Map(res.messages.map((x) => [x.uid, x]));
  for (const r of rows) {
    const x = now.get(r.uid);
    if (x) {
      r.flags = x.flags;
      r.keywords = x.keywords;
      r.modseq = x.modseq;
    }
  }
  return new Set(res.changed);
}

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Previews of a batch (RFC 8970): those stored, and the others made from the message
 * text now and stored, so the next FETCH of them reads no file. With LAZY a client
 * allows NIL for previews not at hand; they are made anyway, as making them is cheap.
 */
async function previews(c: SelectedSession, rows: Row[]): Promise<Map<number, string>> {
  const live = rows.filter((r) => r.m !== null);
  const stored = await c.account.previews(live.map((r) => r.id));
  const out = new Map<number, string>();
  const made: { id: number; preview: string }[] = [];
  for (const r of live) {
    const have = stored.get(r.id);
    if (have !== null && have !== undefined) {
      out.set(r.id, have);
      continue;
    }
    const m = r.m as Message;
    const text = await messagePreview((a, b) => c.account.readMessage(m, a, b), m.part);
    out.set(r.id, text);
    made.push({ id: r.id, preview: text });
  }
  if (made.length > 0) await c.account.setPreviews(made);
  return out;
}

/** fetch-modifiers (RFC 4466 §2.4): CHANGEDSINCE (RFC 7162 §3.1.4.1), VANISHED (§3.2.6). */
type FetchModifiers = { changedSince: number | null; vanished: boolean };

function parseModifiers(c: SelectedSession, p: Parser, isUid: boolean): FetchModifiers {
  const out: FetchModifiers = { changedSince: null, vanished: false };
  if (!p.take(' ')) return out;
  p.expect('(');
  const seen = new Set<string>();
  do {
    const m = p.atom().toUpperCase();
    if (seen.has(m)) p.fail(`FETCH modifier ${m} given twice`);
    seen.add(m);
    if (m === 'CHANGEDSINCE') {
      p.sp();
      // mod-sequence-value is at least 1; some clients send 0 for "everything".
      out.changedSince = p.modSeq();
    } else if (m === 'VANISHED') {
      // RFC 7162 §3.2.6: UID FETCH only, once QRESYNC is enabled, with CHANGEDSINCE.
      if (!isUid) p.fail('VANISHED is a UID FETCH modifier');
      if (!qresyncOn(c)) p.fail('VANISHED without ENABLE QRESYNC');
      out.vanished = true;
    } else p.fail(`unknown FETCH modifier ${m}`);
  } while (p.take(' '));
  p.expect(')');
  if (out.vanished && out.changedSince === null) p.fail('VANISHED without CHANGEDSINCE');
  return out;
}

/**
 * CHANGEDSINCE (RFC 7162 §3.1.4.1): of the messages asked for, those changed after the
 * modseq. With VANISHED (§3.2.6), first "VANISHED (EARLIER)" for the UIDs of the set
 * expunged after it; those still in the session's numbering are left to the VANISHED
 * that removes them from it.
 */
async function changedOnly(
  c: SelectedSession,
  sel: Selected,
  spec: NumSetSpec,
  uids: number[],
  mods: FetchModifiers,
): Promise<number[]> {
  const ch = await c.account.changedSince(sel.mailbox.id, mods.changedSince ?? 0);
  const changed = new Set(ch.changed.map((m) => m.uid));
  if (mods.vanished) {
    // "*" as the highest UID ever given, so a set like "1:*" covers the last ones gone.
    const ranges = toRanges(spec, Math.max(sel.uids.last(), sel.mailbox.uidnext - 1));
    const saved = spec.saved ? new Set(sel.searchResult ?? []) : null;
    const gone = ch.vanished.filter(
      (u) => (saved ? saved.has(u) : inRanges(ranges, u)) && sel.uids.indexOf(u) < 0,
    );
    if (gone.length > 0) sendVanished(c, gone, true);
  }
  return uids.filter((u) => changed.has(u));
}

// RFC 9051 §6.4.5 FETCH (BINARY from RFC 3516 §4.2), §6.4.9 UID FETCH; syntax §9 "fetch",
// "fetch-att".
export const fetchHandler: Handler<SelectedSession> = async (c, tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const spec = p.sequenceSet();
  p.sp();
  const items = await parseFetchAtts(p);
  const mods = parseModifiers(c, p, isUid);
  p.end();
  const sel = await c.requireSelected();
  let uids = c.resolveSet(spec, isUid);
  // CONDSTORE enabling commands (RFC 7162 §3.1).
  if (items.some((i) => i.kind === 'modseq') || mods.changedSince !== null)
    await enableCondstore(c);
  if (mods.changedSince !== null) uids = await changedOnly(c, sel, spec, uids, mods);
  // RFC 9051 §6.4.9: UID FETCH responses always include UID; under UIDONLY the UID
  // numbers the response instead (RFC 9586 §3.3).
  if (isUid && !uidOnly(c) && !items.some((i) => i.kind === 'uid')) items.unshift({ kind: 'uid' });
  const progress = progressFor(c, tag, 'fetching');
  await writeFetches(c, sel, uids, items, {
    modseqAlways: mods.changedSince !== null || (isUid && qresyncOn(c)),
    tick: (i, n) => progress.tick(i, n),
  });
};

/**
 * The FETCH responses for messages of the selected mailbox: read in batches, \Seen set
 * where a body section without PEEK asks for it (RFC 9051 §6.4.5), flushed as they go.
 * Also answers NOTIFY's MessageNew with fetch attributes (RFC 5465 §5.1).
 */
export async function writeFetches(
  c: SelectedSession,
  sel: Selected,
  uids: readonly number[],
  items: FetchItem[],
  o: { modseqAlways: boolean; tick?: (done: number, total: number) => Promise<void> },
): Promise<void> {
  const wantsModseq = items.some((i) => i.kind === 'modseq');
  const level = rowLevel(items);
  const setsSeen = !sel.readonly && items.some((i) => i.kind === 'section' && !i.peek);
  // MODSEQ goes with every response to CHANGEDSINCE (RFC 7162 §3.1.4.1) and to UID FETCH
  // under QRESYNC (§3.2.4), and with a \Seen set by this FETCH under CONDSTORE (§3.1).
  const modseqAlways = !wantsModseq && o.modseqAlways;
  const modseqOnSeen = !wantsModseq && !modseqAlways && setsSeen && condstoreOn(c);
  const withModseq = wantsModseq || modseqAlways || modseqOnSeen;
  const wantsFlags = items.some((i) => i.kind === 'flags');
  const wantsPreview = items.some((i) => i.kind === 'preview');
  const wantsThread = items.some((i) => i.kind === 'threadid');
  // message/global is described as a message to clients that enabled UTF-8.
  const opts: FetchRenderOptions = {
    utf8: c.utf8,
    messageGlobal: c.utf8,
    account: c.account,
    recent: sel.recent,
  };
  for (let i = 0; i < uids.length; i += BATCH) {
    if (i > 0) await nextTick();
    await o.tick?.(i, uids.length);
    const batch = uids.slice(i, i + BATCH);
    const rows = await readRows(c, sel.mailbox.id, batch, level, withModseq);
    checkBinary(rows, items);
    const changed = setsSeen ? await markSeen(c, sel, rows) : new Set<number>();
    if (wantsPreview) opts.previews = await previews(c, rows);
    if (wantsThread) opts.threadIds = await c.account.threadIds(rows.map((r) => r.id));
    if (wantsFlags || changed.size > 0)
      announceKeywords(
        c,
        rows.flatMap((r) => r.keywords),
      );
    for (const row of rows) {
      const seq = sel.uids.indexOf(row.uid) + 1;
      if (seq === 0) continue;
      const seen = changed.has(row.uid);
      const addModseq = modseqAlways || (modseqOnSeen && seen);
      const pieces = await messagePieces(c, row, items, !wantsFlags && seen, addModseq, opts);
      await writeMessage(c, seq, row.uid, pieces);
      await c.flushIfLarge();
    }
  }
}
