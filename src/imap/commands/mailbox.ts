// Authenticated-state mailbox commands (RFC 9051 §6.3): ENABLE, SELECT, EXAMINE, CREATE,
// DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (RFC 5258 LIST-EXTENDED, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE), LSUB, NAMESPACE, STATUS.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { UserError } from '../errors.js';
import { UidList } from '../uids.js';
import { applyChanges } from '../changes.js';
import { mailboxName } from '../response.js';
import { SYSTEM_FLAGS, parseSpecialUse, type Mailbox } from '../../store/index.js';

// ---- ENABLE (RFC 5161) ----

// Capabilities that can be enabled, by upper-case name, with their announced spelling.
// Unknown and unsupported ones are ignored (RFC 5161 §3.1).
const ENABLEABLE = new Map([
  ['IMAP4REV2', 'IMAP4rev2'],
  ['UTF8=ACCEPT', 'UTF8=ACCEPT'],
]);

export const enable: Handler<AuthSession> = async (c, _tag, p) => {
  const asked: string[] = [];
  do {
    p.sp();
    asked.push(p.atom().toUpperCase());
  } while (!p.atEnd);
  p.end();
  // ENABLED lists only what this command newly enabled (RFC 5161 §3.2).
  const enabled: string[] = [];
  for (const up of asked) {
    const known = ENABLEABLE.get(up);
    if (known && !c.enabled.has(up)) {
      c.enabled.add(up);
      enabled.push(known);
    }
  }
  c.untagged(`ENABLED${enabled.map((x) => ' ' + x).join('')}`);
};

// ---- SELECT / EXAMINE ----

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
  const mb = account.mailbox(name);
  if (!mb) throw new UserError('', 'mailbox does not exist');
  // Read the UIDs, then drop pending changes committed before the read ("initial" mode).
  const uids = new UidList(account.uidArray(mb.id));
  c.selected = { mailbox: mb, readonly, uids, searchResult: null };
  c.state = 'selected';
  if (c.session?.hasPending) applyChanges(c, c.session.take(), true);
  const flags = [...SYSTEM_FLAGS, ...mb.keywords].join(' ');
  c.untagged(`FLAGS (${flags})`);
  c.untagged(
    readonly
      ? 'OK [PERMANENTFLAGS ()] read-only'
      : `OK [PERMANENTFLAGS (${flags} \\*)] flags permitted`,
  );
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
  c.untagged(`LIST (${mb.specialUse ?? ''}) "/" ${mailboxName(mb.name, c.utf8)}`);
  return readonly ? '[READ-ONLY]' : '[READ-WRITE]';
}

export const select: Handler<AuthSession> = (c, _t, p) => selectMailbox(c, p, false);
export const examine: Handler<AuthSession> = (c, _t, p) => selectMailbox(c, p, true);

// ---- CREATE / DELETE / RENAME / SUBSCRIBE ----

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

export const del: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account.deleteMailbox(name, c.session);
};

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
  if (!sel || sel.mailbox.id !== account.mailbox('Inbox')?.id) return;
  // Messages that arrived before the move are in the pending changes: take them first.
  c.applyPending();
  const live = new Set(account.uids(sel.mailbox.id));
  const kept: number[] = [];
  const old = sel.uids.toArray();
  for (let i = 0; i < old.length; i++) {
    const uid = old[i] as number;
    if (live.has(uid)) kept.push(uid);
    // Earlier removals already shifted the numbering: this message is now kept.length + 1.
    else c.untagged(`${kept.length + 1} EXPUNGE`);
    if (i % 1000 === 999) await c.flushIfLarge();
  }
  sel.uids = new UidList(kept);
}

export const subscribe: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account.subscribe(name, c.session);
};

export const unsubscribe: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account.unsubscribe(name, c.session);
};

export const namespace: Handler<AuthSession> = async (c, _tag, p) => {
  p.end();
  c.untagged('NAMESPACE (("" "/")) NIL NIL');
};

// ---- LIST / LSUB ----

// Pattern tokens: a code unit to match literally, or a wildcard (RFC 9051 §6.3.9).
const STAR = -1; // "*": zero or more characters
const PERCENT = -2; // "%": zero or more characters other than the hierarchy delimiter
const DELIM = 0x2f; // "/"

/**
 * A LIST/LSUB pattern, matched by following all pattern positions at once (an NFA)
 * instead of backtracking. Each character of a name advances a position by at most one
 * literal, so at most about twice the name length positions are live: a pattern full of
 * wildcards costs little, however long it is.
 */
export class MailboxPattern {
  private readonly toks: number[] = [];
  // Live positions before and after the current character, and a stamp per position
  // so each is listed once per step.
  private cur: Uint32Array;
  private next: Uint32Array;
  private seen: Uint32Array;
  private stamp = 0;

  constructor(full: string) {
    for (let i = 0; i < full.length; i++) {
      const ch = full.charCodeAt(i);
      const t = ch === 0x2a ? STAR : ch === 0x25 ? PERCENT : ch;
      const last = this.toks.length - 1;
      // A run of wildcards matches what "*" matches if it holds one, else what "%" does.
      if (t < 0 && last >= 0 && (this.toks[last] as number) < 0) {
        if (t === STAR) this.toks[last] = STAR;
      } else {
        this.toks.push(t);
      }
    }
    const n = this.toks.length + 1;
    this.cur = new Uint32Array(n);
    this.next = new Uint32Array(n);
    this.seen = new Uint32Array(n);
  }

  matches(name: string): boolean {
    const toks = this.toks;
    const end = toks.length;
    let cur = this.cur;
    let next = this.next;
    let live = this.add(0, cur, 0, this.newStamp());
    for (let i = 0; i < name.length; i++) {
      const ch = name.charCodeAt(i);
      const stamp = this.newStamp();
      let n = 0;
      for (let j = 0; j < live; j++) {
        const pos = cur[j] as number;
        if (pos === end) continue;
        const t = toks[pos] as number;
        if (t === STAR || (t === PERCENT && ch !== DELIM)) n = this.add(pos, next, n, stamp);
        else if (t === ch) n = this.add(pos + 1, next, n, stamp);
      }
      if (n === 0) return false;
      [cur, next] = [next, cur];
      live = n;
    }
    for (let j = 0; j < live; j++) if (cur[j] === end) return true;
    return false;
  }

  /** Adds a position, and the one after it when it is a wildcard (which may match nothing). */
  private add(pos: number, list: Uint32Array, n: number, stamp: number): number {
    let p = pos;
    while (this.seen[p] !== stamp) {
      this.seen[p] = stamp;
      list[n++] = p;
      if (p === this.toks.length || (this.toks[p] as number) >= 0) break;
      p++;
    }
    return n;
  }

  private newStamp(): number {
    if (this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }
}

/** The names a LIST/LSUB reference and patterns select (RFC 9051 §6.3.9). */
class NameMatcher {
  private readonly patterns: MailboxPattern[];

  constructor(ref: string, patterns: string[]) {
    this.patterns = patterns.map((p) => new MailboxPattern(canonicalPattern(ref, p)));
  }

  /**
   * INBOX is listed when "INBOX" matches the pattern (RFC 9051 §6.3.9); the stored
   * name "Inbox" matches as well.
   */
  matches(name: string): boolean {
    const inbox = name.startsWith('Inbox') && (name.length === 5 || name[5] === '/');
    const upper = inbox ? 'INBOX' + name.slice(5) : '';
    return this.patterns.some((p) => p.matches(name) || (inbox && p.matches(upper)));
  }
}

/** Reference and pattern as one pattern: a pattern starting with "/" stands alone. */
function canonicalPattern(ref: string, pattern: string): string {
  let full = pattern;
  if (ref !== '' && !pattern.startsWith('/')) {
    full = ref.endsWith('/') ? ref + pattern : `${ref}/${pattern}`;
  }
  // A first level of INBOX in any case is the INBOX (RFC 9051 §5.1).
  if (/^inbox(\/|$)/i.test(full)) full = 'Inbox' + full.slice(5);
  return full;
}

/** The names that have children, for \HasChildren (RFC 5258 §4). */
function parentNames(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const n of names) {
    for (let i = n.indexOf('/'); i >= 0; i = n.indexOf('/', i + 1)) out.add(n.slice(0, i));
  }
  return out;
}

type ListItem = { name: string; attrs: string[]; childinfo: boolean; mailbox: Mailbox | null };

const STATUS_ATTRS = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'APPENDLIMIT',
];

const SELECT_OPTIONS = ['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'];
const RETURN_OPTIONS = ['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'STATUS'];

type ListCommand = {
  sel: Set<string>;
  ref: string;
  patterns: string[];
  ret: Set<string>;
  statusAttrs: string[];
  /** Any RFC 5258 syntax: selection options, a pattern list or return options. */
  extended: boolean;
};

/** LIST arguments (RFC 9051 §6.3.9, RFC 5258 §3, RFC 6154 §6, RFC 5819 §2). */
async function parseList(p: Parser): Promise<ListCommand> {
  const cmd: ListCommand = {
    sel: new Set(),
    ref: '',
    patterns: [],
    ret: new Set(),
    statusAttrs: [],
    extended: false,
  };
  p.sp();
  if (p.take('(')) {
    cmd.extended = true;
    for (let n = 0; !p.take(')'); n++) {
      if (n > 0) p.sp();
      const o = p.atom().toUpperCase();
      if (!SELECT_OPTIONS.includes(o)) throw new ParseError(`unknown list selection option ${o}`);
      cmd.sel.add(o);
    }
    p.sp();
  }
  // RECURSIVEMATCH needs a base option; REMOTE and SPECIAL-USE are independent options
  // (RFC 5258 §3.1, RFC 6154 §6).
  if (cmd.sel.has('RECURSIVEMATCH') && !cmd.sel.has('SUBSCRIBED')) {
    throw new ParseError('RECURSIVEMATCH needs the SUBSCRIBED selection option');
  }
  cmd.ref = await p.mailboxRef();
  p.sp();
  if (p.take('(')) {
    cmd.extended = true;
    do cmd.patterns.push(await p.listMailbox());
    while (p.take(' '));
    p.expect(')');
  } else {
    cmd.patterns.push(await p.listMailbox());
  }
  if (p.take(' ')) {
    cmd.extended = true;
    p.expect('RETURN', 'RETURN');
    p.sp();
    p.expect('(');
    for (let n = 0; !p.take(')'); n++) {
      if (n > 0) p.sp();
      const o = p.atom().toUpperCase();
      if (!RETURN_OPTIONS.includes(o)) throw new ParseError(`unknown list return option ${o}`);
      if (o === 'STATUS') {
        p.sp();
        cmd.statusAttrs = parseStatusAttrs(p);
      }
      cmd.ret.add(o);
    }
  }
  p.end();
  return cmd;
}

export const list: Handler<AuthSession> = async (c, _tag, p) => {
  const cmd = await parseList(p);
  // A basic LIST with an empty pattern asks for the hierarchy delimiter; the root is
  // empty: names are not rooted (RFC 9051 §6.3.9).
  if (!cmd.extended && cmd.patterns[0] === '') {
    c.untagged('LIST (\\Noselect) "/" ""');
    return;
  }
  // In an extended LIST, empty patterns match nothing.
  const matcher = new NameMatcher(
    cmd.ref,
    cmd.patterns.filter((x) => x !== ''),
  );
  const withSubscribed = cmd.ret.has('SUBSCRIBED') || cmd.sel.has('SUBSCRIBED');
  const items = listItems(c, matcher, cmd.sel, withSubscribed);
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as ListItem;
    const extra = it.childinfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
    c.untagged(`LIST (${it.attrs.join(' ')}) "/" ${mailboxName(it.name, c.utf8)}${extra}`);
    // RFC 5819 §2: a STATUS response follows the LIST response of each selectable mailbox.
    if (cmd.statusAttrs.length > 0 && it.mailbox) {
      c.untagged(statusLine(c, it.mailbox, cmd.statusAttrs));
    }
    if (i % 500 === 499) await c.flushIfLarge();
  }
};

function listItems(
  c: AuthSession,
  matcher: NameMatcher,
  sel: Set<string>,
  withSubscribed: boolean,
): ListItem[] {
  const account = c.account;
  const mailboxes = account.mailboxes();
  const subs = new Set(withSubscribed ? account.subscriptions() : []);
  const byName = new Map(mailboxes.map((m) => [m.name, m]));
  const parents = parentNames(byName.keys());
  // RFC 5258 §3: \NonExistent for names that are listed but do not exist; every mailbox
  // gets \HasChildren or \HasNoChildren (§4) and its special use (RFC 6154 §2).
  const attrsFor = (name: string, mb: Mailbox | null, subscribedAttr: boolean): string[] => {
    const a: string[] = [];
    if (!mb) a.push('\\NonExistent');
    else a.push(parents.has(name) ? '\\HasChildren' : '\\HasNoChildren');
    if (subscribedAttr && subs.has(name)) a.push('\\Subscribed');
    if (mb?.specialUse) a.push(mb.specialUse);
    return a;
  };
  const item = (name: string, subscribedAttr: boolean, childinfo: boolean): ListItem => {
    const mb = byName.get(name) ?? null;
    return { name, attrs: attrsFor(name, mb, subscribedAttr), childinfo, mailbox: mb };
  };
  const specialOnly = sel.has('SPECIAL-USE');
  if (!sel.has('SUBSCRIBED')) {
    const out: ListItem[] = [];
    for (const mb of mailboxes) {
      if (specialOnly && !mb.specialUse) continue;
      if (matcher.matches(mb.name)) out.push(item(mb.name, withSubscribed, false));
    }
    return out;
  }
  // The SUBSCRIBED selection lists subscriptions, existing or not (RFC 5258 §3.1).
  const selected = (n: string) => subs.has(n) && (!specialOnly || !!byName.get(n)?.specialUse);
  const childinfo = new Set<string>();
  if (sel.has('RECURSIVEMATCH')) {
    // Parents of selected names get CHILDINFO, whether or not those names match the
    // pattern (RFC 5258 §3.5).
    for (const pn of parentNames([...subs].filter(selected))) childinfo.add(pn);
  }
  const names = new Set<string>([...subs].filter(selected));
  for (const pn of childinfo) names.add(pn);
  const out: ListItem[] = [];
  for (const n of [...names].sort(byCodeUnits)) {
    if (!matcher.matches(n)) continue;
    out.push(item(n, true, childinfo.has(n)));
  }
  return out;
}

const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export const lsub: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const ref = await p.mailboxRef();
  p.sp();
  const pattern = await p.listMailbox();
  p.end();
  // A reference starting with the delimiter names nothing here: no mailbox name starts
  // with "/" (RFC 3501 §6.3.8 leaves the meaning of references to the server).
  if (ref.startsWith('/')) return;
  const account = c.account;
  const matcher = new NameMatcher(ref, [pattern]);
  const subs = account.subscriptions();
  const existing = new Set(account.mailboxes().map((m) => m.name));
  const sent = new Set<string>();
  for (const s of subs) {
    if (matcher.matches(s)) {
      sent.add(s);
      c.untagged(`LSUB (${existing.has(s) ? '' : '\\NoSelect'}) "/" ${mailboxName(s, c.utf8)}`);
    }
  }
  // RFC 3501 §6.3.9: with a trailing %, unsubscribed parents of subscribed mailboxes
  // are listed with \Noselect.
  if (pattern.endsWith('%')) {
    for (const pn of [...parentNames(subs)].sort(byCodeUnits)) {
      if (!sent.has(pn) && matcher.matches(pn)) {
        c.untagged(`LSUB (\\NoSelect) "/" ${mailboxName(pn, c.utf8)}`);
      }
    }
  }
};

// ---- STATUS ----

function parseStatusAttrs(p: Parser): string[] {
  p.expect('(');
  const attrs: string[] = [];
  do {
    const a = p.atom().toUpperCase();
    if (!STATUS_ATTRS.includes(a)) throw new ParseError(`unknown status attribute ${a}`);
    attrs.push(a);
  } while (p.take(' '));
  p.expect(')');
  return attrs;
}

function statusLine(c: AuthSession, mb: Mailbox, attrs: string[]): string {
  const v = (a: string): number => {
    switch (a) {
      case 'MESSAGES':
        return mb.counts.total;
      case 'UIDNEXT':
        return mb.uidnext;
      case 'UIDVALIDITY':
        return mb.uidvalidity;
      case 'UNSEEN':
        return mb.counts.unseen;
      case 'DELETED':
        return mb.counts.deleted;
      case 'SIZE':
        return mb.counts.size;
      case 'APPENDLIMIT':
        return c.ctx.limits.maxMessageSize;
      default:
        return 0; // RECENT: not tracked (always 0)
    }
  };
  return `STATUS ${mailboxName(mb.name, c.utf8)} (${attrs.map((a) => `${a} ${v(a)}`).join(' ')})`;
}

export const status: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.sp();
  const attrs = parseStatusAttrs(p);
  p.end();
  const mb = c.account.mailbox(name);
  if (!mb) throw new UserError('NONEXISTENT', 'mailbox does not exist');
  c.untagged(statusLine(c, mb, attrs));
};
