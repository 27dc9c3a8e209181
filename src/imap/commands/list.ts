// LIST (RFC 9051 §6.3.9 with RFC 5258 LIST-EXTENDED, RFC 5819 LIST-STATUS and RFC 6154
// SPECIAL-USE), LSUB (RFC 3501 §6.3.9) and NAMESPACE (RFC 9051 §6.3.10): which mailboxes
// exist and how they are named.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { astr, mailboxName } from '../response.js';
import type { Mailbox } from '../../store/index.js';
import { NameMatcher } from './listpattern.js';
import { parseStatusAttrs, statusEnables, statusLineOf } from './mailboxstatus.js';
import { entryValue, parseEntry } from './metadata.js';

/** The names that have children, for \HasChildren (RFC 5258 §4). */
function parentNames(names: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const n of names) {
    for (let i = n.indexOf('/'); i >= 0; i = n.indexOf('/', i + 1)) out.add(n.slice(0, i));
  }
  return out;
}

type ListItem = { name: string; attrs: string[]; childinfo: boolean; mailbox: Mailbox | null };

const SELECT_OPTIONS = ['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'];
const RETURN_OPTIONS = ['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'STATUS', 'METADATA'];

type ListCommand = {
  sel: Set<string>;
  ref: string;
  patterns: string[];
  ret: Set<string>;
  statusAttrs: string[];
  /** RFC 9590 LIST-METADATA: entries to return with each mailbox. */
  metadata: string[];
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
    metadata: [],
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
      } else if (o === 'METADATA') {
        // RFC 9590 §3: METADATA (entries).
        p.sp();
        p.expect('(');
        do cmd.metadata.push(await parseEntry(p));
        while (p.take(' '));
        p.expect(')');
      }
      cmd.ret.add(o);
    }
  }
  p.end();
  return cmd;
}

// RFC 9051 §6.3.9 LIST, with RFC 5258 §3, RFC 5819 §2 and RFC 6154 §2; syntax RFC 9051 §9
// "list" and the formal syntax of those RFCs (list-select-opts, list-return-opts).
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
  await statusEnables(c, cmd.statusAttrs);
  const withSubscribed = cmd.ret.has('SUBSCRIBED') || cmd.sel.has('SUBSCRIBED');
  const items = await listItems(c, matcher, cmd.sel, withSubscribed);
  for (let i = 0; i < items.length; i++) {
    const it = items[i] as ListItem;
    const extra = it.childinfo ? ' ("CHILDINFO" ("SUBSCRIBED"))' : '';
    c.untagged(`LIST (${it.attrs.join(' ')}) "/" ${mailboxName(it.name, c.utf8)}${extra}`);
    // RFC 5819 §2: a STATUS response follows the LIST response of each selectable mailbox.
    if (cmd.statusAttrs.length > 0 && it.mailbox) {
      c.untagged(await statusLineOf(c, it.mailbox, cmd.statusAttrs));
    }
    // RFC 9590 §3: the entries asked for, NIL for those the mailbox does not have.
    if (cmd.metadata.length > 0 && it.mailbox) {
      const have = new Map((await c.account.annotations(it.mailbox.id)).map((a) => [a.key, a]));
      const items = cmd.metadata.map((k) => {
        const a = have.get(k);
        return `${astr(k, false)} ${a ? entryValue(a) : 'NIL'}`;
      });
      c.untagged(`METADATA ${mailboxName(it.name, c.utf8)} (${items.join(' ')})`);
    }
    if (i % 500 === 499) await c.flushIfLarge();
  }
};

async function listItems(
  c: AuthSession,
  matcher: NameMatcher,
  sel: Set<string>,
  withSubscribed: boolean,
): Promise<ListItem[]> {
  const account = c.account;
  const mailboxes = await account.mailboxes();
  const subs = new Set(withSubscribed ? await account.subscriptions() : []);
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

// RFC 3501 §6.3.9 LSUB (deprecated by RFC 9051 Appendix E); syntax RFC 3501 §9 "lsub".
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
  const subs = await account.subscriptions();
  const existing = new Set((await account.mailboxes()).map((m) => m.name));
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

// RFC 9051 §6.3.10 and RFC 2342 NAMESPACE; syntax RFC 9051 §9 "namespace-command".
export const namespace: Handler<AuthSession> = async (c, _tag, p) => {
  p.end();
  c.untagged('NAMESPACE (("" "/")) NIL NIL');
};
