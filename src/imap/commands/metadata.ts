// METADATA (RFC 5464): GETMETADATA and SETMETADATA of a mailbox's entries, or with the
// mailbox "" of the server's (here: the account's); /private/ and /shared/ entries,
// the DEPTH and MAXSIZE options, and the responses LIST-METADATA (RFC 9590) shares.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import type { Parser } from '../parser.js';
import { UserError } from '../errors.js';
import { astr, mailboxName, str } from '../response.js';
import {
  MAX_ANNOTATION_BYTES,
  isStoreError,
  type Annotation,
  type Mailbox,
} from '../../store/index.js';

/** entry = astring, a slash-separated path (RFC 5464 §3.2, §5), checked for syntax. */
export async function parseEntry(p: Parser): Promise<string> {
  const e = await p.astring();
  const k = e.toLowerCase();
  if (!/^\/[\x21-\x7e]*$/.test(k) || /[*%]/.test(k) || k.includes('//') || k.endsWith('/'))
    p.fail(`invalid entry name ${JSON.stringify(e)}`);
  return k;
}

/** entries = entry / "(" entry *(SP entry) ")". */
export async function parseEntries(p: Parser): Promise<string[]> {
  if (!p.take('(')) return [await parseEntry(p)];
  const out = [await parseEntry(p)];
  while (p.take(' ')) out.push(await parseEntry(p));
  p.expect(')');
  return out;
}

/** An entry's value: a string, or a literal8 for one given as one or holding NUL. */
export function entryValue(a: Annotation): string {
  const v = a.value ?? Buffer.alloc(0);
  if (!a.isString || v.includes(0)) return `~{${v.length}}\r\n${v.toString('latin1')}`;
  return str(v, false);
}

/** The server's entries the account cannot set (RFC 5464 §3.2.1.1). */
function serverEntries(c: AuthSession): Annotation[] {
  const admin = `mailto:postmaster@${c.ctx.hostname}`;
  return [{ key: '/shared/admin', value: Buffer.from(admin), isString: true, modseq: 0 }];
}

/** The mailbox an entry belongs to: null for "" (the server's), else the mailbox or NO. */
async function target(c: AuthSession, name: string, code: string): Promise<Mailbox | null> {
  if (name === '') return null;
  const mb = await c.account.mailbox(name);
  if (!mb) throw new UserError(code, 'mailbox does not exist');
  return mb;
}

/** Whether `key` is `want` or lies below it within `depth` levels. */
function within(key: string, want: string, depth: number): boolean {
  if (key === want) return true;
  if (depth === 0 || !key.startsWith(want + '/')) return false;
  return depth === Infinity || key.slice(want.length + 1).split('/').length <= depth;
}

/** getmetadata-options (RFC 5464 §4.2): MAXSIZE and DEPTH, each once. */
function parseOptions(p: Parser): { maxSize: number; depth: number } {
  const out = { maxSize: Infinity, depth: 0 };
  if (!p.take('(')) return out;
  const seen = new Set<string>();
  do {
    const o = p.atom().toUpperCase();
    if (seen.has(o)) p.fail(`GETMETADATA option ${o} given twice`);
    seen.add(o);
    p.sp();
    if (o === 'MAXSIZE') out.maxSize = p.number();
    else if (o === 'DEPTH') {
      const d = p.atom().toLowerCase();
      if (d !== '0' && d !== '1' && d !== 'infinity') p.fail(`invalid DEPTH ${d}`);
      out.depth = d === 'infinity' ? Infinity : Number(d);
    } else p.fail(`unknown GETMETADATA option ${o}`);
  } while (p.take(' '));
  p.expect(')');
  p.sp();
  return out;
}

// RFC 5464 §4.2 GETMETADATA; syntax §5 "getmetadata".
export const getmetadata: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const opts = parseOptions(p);
  const name = await p.mailbox();
  p.sp();
  const wanted = await parseEntries(p);
  p.end();
  const mb = await target(c, name, 'NONEXISTENT');
  const stored = await c.account.annotations(mb?.id ?? 0);
  const all = mb ? stored : [...serverEntries(c), ...stored];
  const found = all.filter((a) => wanted.some((w) => within(a.key, w, opts.depth)));
  // RFC 5464 §4.2.1: values over MAXSIZE are left out; LONGENTRIES says how big.
  let longest = 0;
  const items: string[] = [];
  for (const a of found) {
    const size = a.value?.length ?? 0;
    if (size > opts.maxSize) longest = Math.max(longest, size);
    else items.push(`${astr(a.key, false)} ${entryValue(a)}`);
  }
  if (items.length > 0) c.untagged(`METADATA ${mailboxName(name, c.utf8)} (${items.join(' ')})`);
  if (longest > 0) return `[METADATA LONGENTRIES ${longest}]`;
};

// RFC 5464 §4.3 SETMETADATA; syntax §5 "setmetadata".
export const setmetadata: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.sp();
  p.expect('(');
  const entries: { key: string; value: Buffer | null; isString: boolean }[] = [];
  do {
    const key = await parseEntry(p);
    p.sp();
    if (p.take('NIL')) entries.push({ key, value: null, isString: true });
    else {
      // A literal8 value is binary (RFC 5464 §5 "value").
      const binary = p.literalHere()?.binary ?? false;
      entries.push({ key, value: await p.string(true), isString: !binary });
    }
  } while (p.take(' '));
  p.expect(')');
  p.end();
  const mb = await target(c, name, 'TRYCREATE');
  if (!mb && entries.some((e) => serverEntries(c).some((s) => s.key === e.key)))
    throw new UserError('NOPERM', 'the server sets that entry');
  try {
    await c.account.setAnnotations(mb?.id ?? 0, entries, c.session);
  } catch (e) {
    // RFC 5464 §4.3: MAXSIZE names the most that can be stored.
    if (isStoreError(e, 'toolarge'))
      throw new UserError(`METADATA MAXSIZE ${MAX_ANNOTATION_BYTES}`, (e as Error).message);
    throw e;
  }
};
