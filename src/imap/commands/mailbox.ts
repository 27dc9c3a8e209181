// Authenticated-state mailbox commands (RFC 9051 §6.3): ENABLE, SELECT, EXAMINE, CREATE,
// DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, LIST (RFC 5258 LIST-EXTENDED, RFC 5819
// LIST-STATUS, RFC 6154 SPECIAL-USE), LSUB, NAMESPACE, STATUS.
import type { Handler } from './types.js';
import type { Conn } from '../connection.js';
import { ParseError, type Parser } from '../parser.js';
import { UserError } from '../errors.js';
import { UidList } from '../uids.js';
import { applyChanges } from '../changes.js';
import { mailboxName } from '../response.js';
import { SYSTEM_FLAGS, parseSpecialUse, Flag, type Mailbox } from '../../store/index.js';

// ---- ENABLE (RFC 5161) ----

const ENABLEABLE = new Set(['IMAP4REV2', 'UTF8=ACCEPT']);

export const enable: Handler = async (c, _tag, p) => {
  const enabled: string[] = [];
  do {
    p.sp();
    const cap = p.atom();
    const up = cap.toUpperCase();
    if (ENABLEABLE.has(up) && !c.enabled.has(up)) {
      c.enabled.add(up);
      enabled.push(cap);
    }
  } while (!p.atEnd);
  p.end();
  c.untagged(`ENABLED${enabled.map((x) => ' ' + x).join('')}`);
};

// ---- SELECT / EXAMINE ----

async function selectMailbox(c: Conn, p: Parser, readonly: boolean): Promise<string> {
  p.sp();
  const name = await p.mailbox();
  if (p.take(' ')) {
    // RFC 4466 select parameters; none are supported (CONDSTORE/QRESYNC are not announced).
    p.expect('(');
    if (!p.take(')')) throw new ParseError(`unknown select parameter ${p.atom()}`);
  }
  p.end();
  if (c.selected) {
    // RFC 9051 §6.3.2: the previous mailbox is closed first, even if this SELECT fails.
    c.selected = null;
    c.state = 'auth';
    c.untagged('OK [CLOSED] x');
  }
  const account = c.account!;
  const mb = account.mailbox(name);
  if (!mb) throw new UserError('', 'mailbox does not exist');
  // Read the UIDs, then drop pending changes committed before the read ("initial" mode).
  const uids = new UidList(account.uids(mb.id));
  c.selected = { mailbox: mb, readonly, uids, searchResult: null };
  c.state = 'selected';
  if (c.session?.hasPending) applyChanges(c, c.session.take(), true);
  const flags = [...SYSTEM_FLAGS, ...mb.keywords].join(' ');
  c.untagged(`FLAGS (${flags})`);
  c.untagged(
    readonly ? 'OK [PERMANENTFLAGS ()] read-only' : `OK [PERMANENTFLAGS (${flags} \\*)] x`,
  );
  if (!c.rev2) c.untagged('0 RECENT');
  c.untagged(`${uids.length} EXISTS`);
  if (!c.rev2) {
    const first = account.db
      .prepare(
        'SELECT MIN(uid) AS u FROM messages WHERE mailbox_id = ? AND expunged = 0 AND (flags & ?) = 0',
      )
      .get(mb.id, Flag.Seen) as { u: number | null };
    if (first.u !== null) {
      const i = uids.indexOf(first.u);
      if (i >= 0) c.untagged(`OK [UNSEEN ${i + 1}] x`);
    }
  }
  c.untagged(`OK [UIDVALIDITY ${mb.uidvalidity}] x`);
  c.untagged(`OK [UIDNEXT ${mb.uidnext}] x`);
  c.untagged(`LIST (${mb.specialUse ?? ''}) "/" ${mailboxName(mb.name, c.utf8)}`);
  return readonly ? '[READ-ONLY]' : '[READ-WRITE]';
}

export const select: Handler = (c, _t, p) => selectMailbox(c, p, false);
export const examine: Handler = (c, _t, p) => selectMailbox(c, p, true);

// ---- CREATE / DELETE / RENAME / SUBSCRIBE ----

export const create: Handler = async (c, _tag, p) => {
  p.sp();
  const raw = await p.mailbox();
  let use: string | null = null;
  if (p.take(' ')) {
    // RFC 6154 §3: CREATE mailbox (USE (\Drafts))
    p.expect('(');
    p.expect('USE', 'USE');
    p.sp();
    const attrs = p.flagList();
    p.expect(')');
    for (const a of attrs) {
      const u = parseSpecialUse(a);
      if (!u) throw new UserError('USEATTR', `unsupported special-use attribute ${a}`);
      if (use && use !== u)
        throw new UserError('USEATTR', 'only one special-use attribute per mailbox');
      use = u;
    }
  }
  p.end();
  const name = raw.replace(/\/+$/, '');
  if (name === 'Inbox') throw new UserError('ALREADYEXISTS', 'mailbox already exists');
  const created = await c.account!.createMailbox(name, { specialUse: use }, c.session);
  for (const mb of created) {
    const old =
      c.rev2 && mb.name === created[created.length - 1]?.name && mb.name !== raw
        ? ` ("OLDNAME" (${mailboxName(raw, c.utf8)}))`
        : '';
    c.untagged(
      `LIST (\\Subscribed${mb.specialUse ? ' ' + mb.specialUse : ''}) "/" ${mailboxName(mb.name, c.utf8)}${old}`,
    );
  }
};

export const del: Handler = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account!.deleteMailbox(name, c.session);
};

export const rename: Handler = async (c, _tag, p) => {
  p.sp();
  const from = await p.mailbox();
  p.sp();
  const to = await p.mailbox();
  p.end();
  await c.account!.renameMailbox(from, to.replace(/\/+$/, ''), c.session);
};

export const subscribe: Handler = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account!.subscribe(name, c.session);
};

export const unsubscribe: Handler = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.end();
  await c.account!.unsubscribe(name, c.session);
};

export const namespace: Handler = async (c, _tag, p) => {
  p.end();
  c.untagged('NAMESPACE (("" "/")) NIL NIL');
};

// ---- LIST / LSUB ----

/** A LIST pattern as a regular expression: * is anything, % anything but "/" (RFC 9051 §6.3.9). */
function patternRegex(ref: string, pattern: string): RegExp {
  let full = pattern;
  if (ref !== '' && !pattern.startsWith('/'))
    full = ref.endsWith('/') ? ref + pattern : `${ref}/${pattern}`;
  // INBOX is case-insensitive (RFC 9051 §5.1).
  if (/^inbox(\/|$)/i.test(full)) full = 'Inbox' + full.slice(5);
  let re = '';
  for (const ch of full) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
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

export const list: Handler = async (c, _tag, p) => {
  p.sp();
  const sel = new Set<string>();
  if (p.take('(')) {
    // RFC 5258 selection options
    while (!p.take(')')) {
      if (sel.size > 0) p.sp();
      const o = p.atom().toUpperCase();
      if (!['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'].includes(o)) {
        throw new ParseError(`unknown list selection option ${o}`);
      }
      sel.add(o);
    }
    p.sp();
  }
  if (sel.has('RECURSIVEMATCH') && !sel.has('SUBSCRIBED') && !sel.has('SPECIAL-USE')) {
    throw new ParseError('RECURSIVEMATCH needs another selection option');
  }
  const ref = await p.mailboxRef();
  p.sp();
  const patterns: string[] = [];
  if (p.take('(')) {
    do patterns.push(await p.listMailbox());
    while (p.take(' '));
    p.expect(')');
  } else {
    patterns.push(await p.listMailbox());
  }
  const ret = new Set<string>();
  let statusAttrs: string[] = [];
  if (p.take(' ')) {
    p.expect('RETURN', 'RETURN');
    p.sp();
    p.expect('(');
    while (!p.take(')')) {
      if (ret.size > 0) p.sp();
      const o = p.atom().toUpperCase();
      if (o === 'STATUS') {
        p.sp();
        statusAttrs = parseStatusAttrs(p);
      } else if (!['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE'].includes(o)) {
        throw new ParseError(`unknown list return option ${o}`);
      }
      ret.add(o);
    }
  }
  p.end();

  // An empty pattern asks for the hierarchy delimiter (RFC 9051 §6.3.9).
  if (patterns.length === 1 && patterns[0] === '' && sel.size === 0) {
    c.untagged('LIST (\\Noselect) "/" ""');
    return;
  }
  const items = listItems(c, ref, patterns, sel, ret.has('SUBSCRIBED') || sel.has('SUBSCRIBED'));
  for (const it of items) {
    const extra = it.childinfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
    c.untagged(`LIST (${it.attrs.join(' ')}) "/" ${mailboxName(it.name, c.utf8)}${extra}`);
    if (statusAttrs.length > 0 && it.mailbox) c.untagged(statusLine(c, it.mailbox, statusAttrs));
  }
};

function listItems(
  c: Conn,
  ref: string,
  patterns: string[],
  sel: Set<string>,
  withSubscribed: boolean,
): ListItem[] {
  const account = c.account!;
  const mailboxes = account.mailboxes();
  const subs = new Set(account.subscriptions());
  const byName = new Map(mailboxes.map((m) => [m.name, m]));
  const res = patterns.filter((x) => x !== '').map((x) => patternRegex(ref, x));
  const matches = (n: string) => res.some((r) => r.test(n));
  const hasChildren = (n: string) => mailboxes.some((m) => m.name.startsWith(n + '/'));
  const attrsFor = (name: string, mb: Mailbox | null): string[] => {
    const a: string[] = [];
    if (!mb) a.push('\\NonExistent');
    else a.push(hasChildren(name) ? '\\HasChildren' : '\\HasNoChildren');
    if (withSubscribed && subs.has(name)) a.push('\\Subscribed');
    if (mb?.specialUse) a.push(mb.specialUse);
    return a;
  };
  const out: ListItem[] = [];
  if (sel.has('SUBSCRIBED')) {
    const names = new Set<string>([...subs].filter(matches));
    if (sel.has('RECURSIVEMATCH')) {
      // Parents that match and have subscribed descendants get CHILDINFO (RFC 5258 §3.5).
      const parents = new Set<string>();
      for (const s of subs) {
        const parts = s.split('/');
        for (let i = 1; i < parts.length; i++) parents.add(parts.slice(0, i).join('/'));
      }
      for (const pn of parents) {
        if (!matches(pn)) continue;
        if (names.has(pn)) {
          out.push({
            name: pn,
            attrs: attrsFor(pn, byName.get(pn) ?? null),
            childinfo: true,
            mailbox: byName.get(pn) ?? null,
          });
          names.delete(pn);
        } else {
          const mb = byName.get(pn) ?? null;
          out.push({
            name: pn,
            attrs: mb ? attrsFor(pn, mb).filter((x) => x !== '\\Subscribed') : ['\\NonExistent'],
            childinfo: true,
            mailbox: mb,
          });
        }
      }
    }
    for (const n of names)
      out.push({
        name: n,
        attrs: attrsFor(n, byName.get(n) ?? null),
        childinfo: false,
        mailbox: byName.get(n) ?? null,
      });
    out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return sel.has('SPECIAL-USE') ? out.filter((x) => x.mailbox?.specialUse) : out;
  }
  for (const mb of mailboxes) {
    if (!matches(mb.name)) continue;
    if (sel.has('SPECIAL-USE') && !mb.specialUse) continue;
    out.push({ name: mb.name, attrs: attrsFor(mb.name, mb), childinfo: false, mailbox: mb });
  }
  return out;
}

export const lsub: Handler = async (c, _tag, p) => {
  p.sp();
  const ref = await p.mailboxRef();
  p.sp();
  const pattern = await p.listMailbox();
  p.end();
  if (ref.startsWith('/')) return;
  const account = c.account!;
  const re = patternRegex(ref, pattern);
  const subs = account.subscriptions();
  const existing = new Set(account.mailboxes().map((m) => m.name));
  const sent = new Set<string>();
  for (const s of subs) {
    if (re.test(s)) {
      sent.add(s);
      c.untagged(`LSUB (${existing.has(s) ? '' : '\\NoSelect'}) "/" ${mailboxName(s, c.utf8)}`);
    }
  }
  // RFC 3501 §6.3.9: with a trailing %, unsubscribed parents of subscribed mailboxes
  // are listed with \Noselect.
  if (pattern.endsWith('%')) {
    for (const s of subs) {
      const parts = s.split('/');
      for (let i = 1; i < parts.length; i++) {
        const pn = parts.slice(0, i).join('/');
        if (!sent.has(pn) && re.test(pn)) {
          sent.add(pn);
          c.untagged(`LSUB (\\NoSelect) "/" ${mailboxName(pn, c.utf8)}`);
        }
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

function statusLine(c: Conn, mb: Mailbox, attrs: string[]): string {
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

export const status: Handler = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.sp();
  const attrs = parseStatusAttrs(p);
  p.end();
  const mb = c.account!.mailbox(name);
  if (!mb) throw new UserError('NONEXISTENT', 'mailbox does not exist');
  c.untagged(statusLine(c, mb, attrs));
};
