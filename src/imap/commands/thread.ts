// THREAD (RFC 5256 §3): the messages a search selects, grouped into threads by base
// subject (ORDEREDSUBJECT) or by Message-ID, In-Reply-To and References (REFERENCES,
// the algorithm of RFC 5256 §2.2), from the threading fields stored with each message.
import type { Handler } from './types.js';
import type { SelectedSession } from '../session.js';
import { ParseError } from '../parser.js';
import { parseCharsetKeys, searchSelected } from './search.js';
import { casemap } from '../sortkeys.js';
import { requireUids } from '../uidonly.js';
import type { ThreadRow } from '../../store/index.js';

type Msg = { num: number; seq: number; date: number; subject: string; row: ThreadRow };

/** A node of a thread tree: a message, or a dummy holding children (RFC 5256 §2.2). */
type Node = { msg: Msg | null; parent: Node | null; children: Node[] };

const byDate = (a: Msg, b: Msg) => a.date - b.date || a.seq - b.seq;

/** ORDEREDSUBJECT: by base subject, then date; each thread's first message is the parent. */
function orderedSubject(msgs: Msg[]): Node[] {
  const groups = new Map<string, Msg[]>();
  for (const m of [...msgs].sort(byDate)) {
    const k = casemap(m.subject);
    const g = groups.get(k);
    if (g) g.push(m);
    else groups.set(k, [m]);
  }
  // Threads in the order of their first messages' dates (groups were filled in it).
  return [...groups.values()].map((g) => {
    const root: Node = { msg: g[0]!, parent: null, children: [] };
    for (const m of g.slice(1)) root.children.push({ msg: m, parent: root, children: [] });
    return root;
  });
}

const lower = (id: string) => id.toLowerCase();

function isAncestor(a: Node, b: Node): boolean {
  for (let x: Node | null = b; x; x = x.parent) if (x === a) return true;
  return false;
}

function unlink(child: Node): void {
  const p = child.parent;
  if (!p) return;
  const i = p.children.indexOf(child);
  if (i >= 0) p.children.splice(i, 1);
  child.parent = null;
}

function link(parent: Node, child: Node): void {
  unlink(child);
  child.parent = parent;
  parent.children.push(child);
}

/** The date a node sorts by: its message's, or a dummy's first child's (RFC 5256 §2.2). */
function nodeDate(n: Node): Msg | null {
  return n.msg ?? (n.children[0] ? nodeDate(n.children[0]) : null);
}

function sortTree(nodes: Node[]): void {
  for (const n of nodes) sortTree(n.children);
  nodes.sort((a, b) => {
    const x = nodeDate(a);
    const y = nodeDate(b);
    return x && y ? byDate(x, y) : 0;
  });
}

/** REFERENCES (RFC 5256 §2.2, after J. Zawinski's algorithm). */
function references(msgs: Msg[]): Node[] {
  // Containers by lower-cased Message-ID; every container, also those of messages with
  // no usable Message-ID, is in `all`.
  const table = new Map<string, Node>();
  const all: Node[] = [];
  const fresh = (): Node => {
    const n: Node = { msg: null, parent: null, children: [] };
    all.push(n);
    return n;
  };
  const container = (id: string): Node => {
    let n = table.get(id);
    if (!n) table.set(id, (n = fresh()));
    return n;
  };
  for (const m of msgs) {
    // (1)(A) A message without a Message-ID, or with one seen before, gets its own.
    const id = lower(m.row.messageId);
    let self = id === '' ? undefined : table.get(id);
    if (self === undefined) self = id === '' ? fresh() : container(id);
    else if (self.msg) self = fresh();
    self.msg = m;
    // (1)(B) References, else In-Reply-To, linked in order without creating loops.
    const refs = m.row.references;
    const count = refs.length > 0 ? refs.length : 1;
    let prev: Node | null = null;
    for (let k = 0; k < count; k++) {
      const raw = refs.length > 0 ? (refs[k] as string) : m.row.inReplyTo;
      if (raw === '') continue;
      const r = lower(raw);
      if (r === id) continue;
      const c = container(r);
      if (prev && !c.parent && !isAncestor(c, prev)) link(prev, c);
      prev = c;
    }
    // (1)(C) The message's parent is the last reference, unless that makes a loop.
    unlink(self);
    if (prev && prev !== self && !isAncestor(self, prev)) link(prev, self);
  }
  // (2) The root set.
  let roots = all.filter((n) => !n.parent);
  // (3) Prune dummies: childless ones go; others give their children to their parent,
  // except at the root with more than one child.
  const prune = (nodes: Node[], atRoot: boolean): Node[] => {
    const out: Node[] = [];
    for (const n of nodes) {
      n.children = prune(n.children, false);
      if (n.msg) out.push(n);
      else if (n.children.length === 0) continue;
      else if (atRoot && n.children.length > 1) out.push(n);
      else {
        for (const c of n.children) c.parent = n.parent;
        for (const c of n.children) out.push(c);
      }
    }
    return out;
  };
  roots = prune(roots, true);
  for (const r of roots) r.parent = null;
  // (4) Sort, so that grouping keeps the earliest thread of a subject first.
  sortTree(roots);
  // (5) Group roots by base subject: one thread per subject at the top level.
  const bySubject = new Map<string, Node>();
  const grouped: Node[] = [];
  for (const r of roots) {
    const m = r.msg ?? nodeDate(r);
    const key = m ? casemap(m.subject) : '';
    const first = key === '' ? undefined : bySubject.get(key);
    if (!first) {
      if (key !== '') bySubject.set(key, r);
      grouped.push(r);
      continue;
    }
    if (!first.msg && !r.msg) {
      for (const c of [...r.children]) link(first, c);
    } else if (!first.msg) {
      link(first, r);
    } else {
      // Two threads with the same subject under a dummy, in the first one's place.
      const dummy: Node = { msg: null, parent: null, children: [] };
      grouped[grouped.indexOf(first)] = dummy;
      bySubject.set(key, dummy);
      link(dummy, first);
      link(dummy, r);
    }
  }
  // (6) Sort again: merged children by date.
  sortTree(grouped);
  return grouped;
}

/** thread-members / thread-nested (RFC 5256 §5) of a node. */
function members(n: Node): string {
  const kids = n.children;
  const nested = kids.map((k) => `(${members(k)})`).join('');
  if (!n.msg) return nested;
  if (kids.length === 0) return `${n.msg.num}`;
  if (kids.length === 1) return `${n.msg.num} ${members(kids[0]!)}`;
  return `${n.msg.num} ${nested}`;
}

// RFC 5256 §3 THREAD and UID THREAD; syntax RFC 5256 §5 "thread".
export const threadHandler: Handler<SelectedSession> = async (c, _tag, p, name) => {
  const isUid = name.toUpperCase().startsWith('UID');
  p.sp();
  const algorithm = p.atom().toUpperCase();
  if (algorithm !== 'ORDEREDSUBJECT' && algorithm !== 'REFERENCES') {
    throw new ParseError(`unknown thread algorithm ${algorithm}`);
  }
  p.sp();
  const key = await parseCharsetKeys(p, c.utf8);
  if (!isUid) requireUids(c, 'THREAD');
  const sel = await c.requireSelected();
  const found = await searchSelected(c, key);
  const rows = await c.account.threadRows(sel.mailbox.id, found.uids);
  // Both ascending by UID, the rows a subset: one walk pairs each with its number.
  let j = 0;
  const msgs: Msg[] = [];
  for (const r of rows) {
    while (j < found.uids.length && found.uids[j] !== r.uid) j++;
    const seq = found.seqs[j];
    if (seq === undefined) break;
    msgs.push({ num: isUid ? r.uid : seq, seq, date: r.sentDate, subject: r.subjectBase, row: r });
  }
  const threads = algorithm === 'ORDEREDSUBJECT' ? orderedSubject(msgs) : references(msgs);
  // thread-data = "THREAD" [SP 1*thread-list] (RFC 5256 §5).
  c.send(threads.length > 0 ? '* THREAD ' : '* THREAD');
  for (const t of threads) {
    c.send(`(${members(t)})`);
    await c.flushIfLarge();
  }
  c.send('\r\n');
};
