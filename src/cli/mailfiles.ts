// Messages from files given on the command line: a message file, a Maildir (its cur/
// and new/ directories), or an mbox file (mboxrd or mboxo: ">From " lines unescaped).
// A message file that starts with an mbox "From " line is read as a one-message mbox.
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './common.js';

export type MailFile = { path: string; data: Buffer };

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

/**
 * The messages of an mbox file, read in chunks. A message starts at a "From " line at
 * the start of the file or after an empty line; that line is not part of it.
 */
async function* mboxMessages(path: string): AsyncGenerator<MailFile> {
  const fh = await open(path, 'r');
  try {
    let buf = Buffer.alloc(0);
    // Where the search for the next separator goes on after reading more.
    let scanned = 0;
    let index = 0;
    let eof = false;
    const emit = (msg: Buffer): MailFile => ({
      path: `${path}#${++index}`,
      data: unquote(msg),
    });
    for (;;) {
      if (!eof) {
        const chunk = Buffer.alloc(CHUNK);
        const { bytesRead } = await fh.read(chunk, 0, CHUNK, null);
        if (bytesRead === 0) eof = true;
        buf = Buffer.concat([buf, chunk.subarray(0, bytesRead)]);
      }
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
      const end = next < 0 ? buf.length : next;
      // The empty line before the next separator belongs to the mbox format.
      let bodyEnd = end;
      if (next >= 0) {
        bodyEnd--;
        if (buf[bodyEnd - 1] === 0x0d) bodyEnd--;
      }
      yield emit(Buffer.from(buf.subarray(nl + 1, bodyEnd)));
      if (next < 0) return;
      buf = buf.subarray(next);
    }
  } finally {
    await fh.close();
  }
}

/** Reads a message file whole. */
async function messageFile(path: string): Promise<MailFile> {
  const fh = await open(path, 'r');
  try {
    const data = await fh.readFile();
    return { path, data };
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
      throw new CliError(
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
        throw new CliError(`${path}: a directory, but not a Maildir (it has no cur/ or new/)`);
      }
      for (const [i, dir] of subdirs.entries()) {
        if (!found[i]) continue;
        for (const name of (await readdir(dir)).sort()) {
          if (name.startsWith('.')) continue;
          const f = await messageFile(join(dir, name)).catch(() => null);
          if (f) yield f;
        }
      }
      continue;
    }
    const fh = await open(path, 'r').catch((e: Error) => {
      throw new CliError(`${path}: ${e.message}`);
    });
    const head = Buffer.alloc(FROM_.length);
    await fh.read(head, 0, head.length, 0);
    await fh.close();
    if (isMbox(head)) yield* mboxMessages(path);
    else yield await messageFile(path);
  }
}

/** One message from a file for checking: an mbox "From " line at its start is dropped. */
export async function singleMessage(path: string): Promise<Buffer> {
  const st = await stat(path).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`${path}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
  });
  if (!st.isFile()) throw new CliError(`${path}: not a file`);
  const { data } = await messageFile(path);
  if (!isMbox(data)) return data;
  const nl = data.indexOf(0x0a);
  return unquote(data.subarray(nl < 0 ? data.length : nl + 1));
}
