// Messages in the files other mail programs keep them in, read and written: a message
// file, a Maildir (cur/ and new/, flags in the file names, keywords in Dovecot's
// dovecot-keywords), or an mbox file (mboxrd or mboxo: ">From " lines unquoted; flags in
// Status, X-Status and X-Keywords; the date of the "From " line). A message file that
// starts with an mbox "From " line is read as a one-message mbox. Reading streams: one
// message in memory at a time.
import { open, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { headerValue, parseHeaderBlock } from './header.js';

/** A message with what its file says of it: IMAP flag names and the date it arrived. */
export type MailFile = {
  path: string;
  data: Buffer;
  /** System flags ("\Seen", ...) and keywords, as IMAP names them. */
  flags: string[];
  /** When it arrived (ms), from the file: a Maildir file's mtime, an mbox "From " line. */
  date: number | null;
};

/** A path that cannot be read as mail, named with what is wrong. */
export class MailFileError extends Error {}

const FROM_ = Buffer.from('From ');
const CHUNK = 1024 * 1024;

/** Whether a buffer starts with an mbox separator line. */
function isMbox(head: Buffer): boolean {
  return head.subarray(0, FROM_.length).equals(FROM_);
}

/** Removes one ">" from lines that are ">From ", ">>From ", ...: mboxrd quoting. */
function unquote(msg: Buffer): Buffer {
  if (!msg.includes('>From ')) return msg;
  const text = msg.toString('latin1').replace(/^>(>*From )/gm, '$1');
  return Buffer.from(text, 'latin1');
}

/** Adds one ">" to lines that are "From ", ">From ", ...: mboxrd quoting. */
function quote(msg: Buffer): Buffer {
  if (!msg.includes('From ')) return msg;
  const text = msg.toString('latin1').replace(/^(>*From )/gm, '>$1');
  return Buffer.from(text, 'latin1');
}

// ---- flags in mbox header fields and Maildir names ----

/** Maildir info letters (in the order they are written) and the flags they stand for. */
const MAILDIR_FLAGS: [string, string][] = [
  ['D', '\\Draft'],
  ['F', '\\Flagged'],
  ['P', '$Forwarded'],
  ['R', '\\Answered'],
  ['S', '\\Seen'],
  ['T', '\\Deleted'],
];

/** Flags of an mbox message from its Status, X-Status and X-Keywords fields. */
function mboxFlags(msg: Buffer): string[] {
  const end = msg.indexOf('\r\n\r\n') >= 0 ? msg.indexOf('\r\n\r\n') : msg.indexOf('\n\n');
  const head = msg.subarray(0, end < 0 ? msg.length : end + 2);
  const fields = parseHeaderBlock(head);
  const field = (name: string) => (headerValue(fields, name) ?? '').trim();
  const flags: string[] = [];
  if (field('Status').includes('R')) flags.push('\\Seen');
  const x = field('X-Status');
  for (const [c, f] of [
    ['A', '\\Answered'],
    ['F', '\\Flagged'],
    ['T', '\\Draft'],
    ['D', '\\Deleted'],
  ] as const) {
    if (x.includes(c)) flags.push(f);
  }
  for (const k of field('X-Keywords').split(/[\s,]+/)) if (k !== '') flags.push(k);
  return flags;
}

/** Dovecot's dovecot-keywords of a Maildir: "0 keyword" lines, 0 for a, 1 for b, ... */
async function maildirKeywords(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const text = await readFile(join(dir, 'dovecot-keywords'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const m = /^(\d+) (\S+)$/.exec(line.trim());
    if (m && Number(m[1]) < 26) out.set(String.fromCharCode(97 + Number(m[1])), m[2]!);
  }
  return out;
}

/** Flags from a Maildir file name's ":2," info. */
function maildirFlags(name: string, keywords: Map<string, string>): string[] {
  const at = name.lastIndexOf(':2,');
  if (at < 0) return [];
  const flags: string[] = [];
  for (const c of name.slice(at + 3)) {
    const sys = MAILDIR_FLAGS.find(([l]) => l === c);
    if (sys) flags.push(sys[1]);
    else if (keywords.has(c)) flags.push(keywords.get(c)!);
  }
  return flags;
}

/** The date of an mbox "From sender date" line (asctime, UTC), or null. */
function fromLineDate(line: string): number | null {
  const m = /^From \S+\s+(.+?)\s*$/.exec(line);
  if (!m) return null;
  const t = Date.parse(`${m[1]!.replace(/\s+/g, ' ')} UTC`);
  return Number.isFinite(t) ? t : null;
}

// ---- reading ----

/**
 * The messages of an mbox file, read in chunks. A message starts at a "From " line at
 * the start of the file or after an empty line; that line is not part of it, and neither
 * is the empty line that ends the last message.
 */
async function* mboxMessages(path: string): AsyncGenerator<MailFile> {
  const fh = await open(path, 'r');
  try {
    // One buffer, read into and compacted as messages leave it: its size is bounded by
    // the largest message, and no buffer is made per read.
    let store = Buffer.allocUnsafe(2 * CHUNK);
    // The unread data is store[start, len).
    let start = 0;
    let len = 0;
    // Where the search for the next separator goes on after reading more.
    let scanned = 0;
    let index = 0;
    let eof = false;
    for (;;) {
      if (!eof) {
        // Compacted once per read, not once per message.
        if (start > 0) {
          store.copyWithin(0, start, len);
          len -= start;
          start = 0;
        }
        if (store.length - len < CHUNK) {
          const bigger = Buffer.allocUnsafe(Math.max(2 * store.length, len + CHUNK));
          store.copy(bigger, 0, 0, len);
          store = bigger;
        }
        const { bytesRead } = await fh.read(store, len, CHUNK, null);
        if (bytesRead === 0) eof = true;
        len += bytesRead;
      }
      const buf = store.subarray(start, len);
      // The separator line at the start of buf.
      const nl = buf.indexOf(0x0a);
      if (nl < 0) {
        if (eof) return;
        continue;
      }
      // The next separator: "\n\nFrom " or "\n\r\nFrom ".
      let next = -1;
      const from = Math.max(nl, scanned - 8);
      for (let at = buf.indexOf('\nFrom ', from); at >= 0; at = buf.indexOf('\nFrom ', at + 1)) {
        if (buf[at - 1] === 0x0a || (buf[at - 1] === 0x0d && buf[at - 2] === 0x0a)) {
          next = at + 1;
          break;
        }
      }
      if (next < 0 && !eof) {
        scanned = buf.length;
        continue;
      }
      scanned = 0;
      // The empty line before the next separator, or ending the file, is the format's.
      let bodyEnd = next < 0 ? buf.length : next - 1;
      if (next >= 0) {
        if (buf[bodyEnd - 1] === 0x0d) bodyEnd--;
      } else if (buf[bodyEnd - 1] === 0x0a) {
        let b = bodyEnd - 1;
        if (buf[b - 1] === 0x0d) b--;
        if (b > nl + 1 && buf[b - 1] === 0x0a) bodyEnd = b;
      }
      const data = unquote(Buffer.from(buf.subarray(nl + 1, bodyEnd)));
      const date = fromLineDate(buf.subarray(0, nl).toString('latin1'));
      start += next >= 0 ? next : buf.length;
      yield { path: `${path}#${++index}`, data, flags: mboxFlags(data), date };
      if (next < 0) return;
    }
  } finally {
    await fh.close();
  }
}

/** Reads a message file whole. */
async function messageFile(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/**
 * Every message under the paths, in order: files, Maildirs and mbox files. A path that
 * is missing, unreadable or a directory without cur/ and new/ is an error naming it.
 */
export async function* mailFiles(paths: readonly string[]): AsyncGenerator<MailFile> {
  for (const path of paths) {
    const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
      throw new MailFileError(
        `${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`,
      );
    });
    if (st.isDirectory()) {
      const subdirs = ['cur', 'new'].map((d) => join(path, d));
      const found = await Promise.all(
        subdirs.map((d) =>
          stat(d).then(
            (s) => s.isDirectory(),
            () => false,
          ),
        ),
      );
      if (!found.some(Boolean)) {
        throw new MailFileError(`${path}: a directory, but not a Maildir (it has no cur/ or new/)`);
      }
      const keywords = await maildirKeywords(path);
      for (const [i, dir] of subdirs.entries()) {
        if (!found[i]) continue;
        for (const name of (await readdir(dir)).sort()) {
          if (name.startsWith('.')) continue;
          const p = join(dir, name);
          const data = await messageFile(p).catch(() => null);
          if (!data) continue;
          const mtime = (await stat(p).catch(() => null))?.mtimeMs ?? null;
          yield { path: p, data, flags: maildirFlags(name, keywords), date: mtime };
        }
      }
      continue;
    }
    const fh = await open(path, 'r').catch((e: Error) => {
      throw new MailFileError(`${path}: ${e.message}`);
    });
    const head = Buffer.alloc(FROM_.length);
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    if (isMbox(head)) yield* mboxMessages(path);
    else yield { path, data: await messageFile(path), flags: [], date: null };
  }
}

/** One message from a file for checking: an mbox "From " line at its start is dropped. */
export async function singleMessage(path: string): Promise<Buffer> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new MailFileError(`${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  if (!st.isFile()) throw new MailFileError(`${path}: not a file`);
  const data = await messageFile(path);
  if (!isMbox(data)) return data;
  const nl = data.indexOf(0x0a);
  return unquote(data.subarray(nl < 0 ? data.length : nl + 1));
}

// ---- writing ----

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** asctime of a moment in UTC, as "From " lines have it: "Mon Jan  1 00:00:00 2024". */
function asctime(ms: number): string {
  const d = new Date(ms);
  return (
    `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCFullYear()}`
  );
}

/**
 * A message as an mbox entry (mboxrd): the "From " line with its date, the message with
 * its Status, X-Status and X-Keywords fields set from its flags (replacing any it had,
 * so that exporting an imported message gives the same bytes), quoted, and an empty line.
 */
export function mboxEntry(data: Buffer, flags: readonly string[], date: number): Buffer {
  const crlf = data.includes('\r\n');
  const eol = crlf ? '\r\n' : '\n';
  const split = data.indexOf(crlf ? '\r\n\r\n' : '\n\n');
  const headEnd = split < 0 ? data.length : split + eol.length;
  const head = data.subarray(0, headEnd).toString('latin1');
  const kept = head
    .split(eol)
    .filter((l, i, all) => {
      if (/^(status|x-status|x-keywords):/i.test(l)) return false;
      // A folded line of a field that goes.
      if (/^[ \t]/.test(l)) {
        for (let j = i - 1; j >= 0; j--) {
          if (/^[ \t]/.test(all[j]!)) continue;
          return !/^(status|x-status|x-keywords):/i.test(all[j]!);
        }
      }
      return true;
    })
    .join(eol);
  const has = (f: string) => flags.includes(f);
  const status = `Status: ${has('\\Seen') ? 'RO' : 'O'}`;
  const xs = [
    ['\\Answered', 'A'],
    ['\\Flagged', 'F'],
    ['\\Draft', 'T'],
    ['\\Deleted', 'D'],
  ]
    .filter(([f]) => has(f!))
    .map(([, c]) => c)
    .join('');
  const keywords = flags.filter((f) => !f.startsWith('\\'));
  const fields =
    `${status}${eol}X-Status: ${xs}${eol}` +
    (keywords.length > 0 ? `X-Keywords: ${keywords.join(' ')}${eol}` : '');
  const body = data.subarray(headEnd);
  const message = Buffer.concat([Buffer.from(fields + kept, 'latin1'), body]);
  return Buffer.concat([
    Buffer.from(`From MAILER-DAEMON ${asctime(date)}${eol}`),
    quote(message),
    Buffer.from(eol),
  ]);
}

/** A Maildir file name's ":2," info for flags; keyword letters from `letters`. */
export function maildirInfo(flags: readonly string[], letters: Map<string, string>): string {
  let info = '';
  for (const [c, f] of MAILDIR_FLAGS) if (flags.includes(f)) info += c;
  const kw = flags
    .filter((f) => letters.has(f))
    .map((f) => letters.get(f)!)
    .sort()
    .join('');
  return `:2,${info}${kw}`;
}
