// Moving mail in and out of an account: `tidings import` reads mbox files and Maildirs
// into a mailbox, with their flags, keywords and arrival dates, in batches (one message
// in memory at a time while reading, one transaction per batch); `tidings export` writes
// each mailbox as an mbox file or a Maildir, flags and keywords with it, so that an
// export imported and exported again gives the same files' contents.
import { createHash } from 'node:crypto';
import { mkdir, open, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { mailFiles, maildirInfo, mboxEntry } from '../message/index.js';
import {
  flagNames,
  splitFlags,
  type NewMessage,
  type PreparedMessage,
  type Store,
} from '../store/index.js';

/** Messages stored per transaction. */
const BATCH = 100;

export type ImportResult = {
  account: string;
  mailbox: string;
  messages: number;
  /** With rollback: the messages of the interrupted import that were removed. */
  rolledBack?: number;
};

/** What to do about an import of the same files into the same mailbox that was cut off. */
export type ImportMode = 'new' | 'resume' | 'rollback';

/** An import as the control socket carries it. */
export type ImportArgs = { account: string; mailbox: string; paths: string[]; mode?: ImportMode };

/** An import that cannot go on as asked; the text says what to do. */
export class ImportError extends Error {
  readonly code = 'invalid';
}

/**
 * Where an import gathers its messages before they go into their mailbox all at once:
 * named by the mailbox and the files, so that running the same import again finds it.
 */
export function stagingMailbox(mailbox: string, paths: readonly string[]): string {
  const h = createHash('sha256')
    .update([mailbox, ...paths].join('\0'))
    .digest('hex');
  return `Import-${h.slice(0, 10)}`;
}

/**
 * Imports the messages of `paths` (mbox files, Maildirs, message files) into a mailbox,
 * created when missing. The messages gather in a mailbox of their own, a batch per
 * transaction, and move into theirs in one step at the end: an import that is cut off
 * leaves exactly what it stored there, for `resume` to go on after (the files are read
 * again, and as many messages skipped as it holds) or for `rollback` to remove.
 */
export async function importMail(
  store: Store,
  account: string,
  mailbox: string,
  paths: readonly string[],
  onProgress?: (messages: number) => void,
  mode: ImportMode = 'new',
): Promise<ImportResult> {
  const a = await store.account(account);
  const stagingName = stagingMailbox(mailbox, paths);
  const staging = await a.mailbox(stagingName);
  const held = staging ? (await a.uids(staging.id)).length : 0;
  if (mode === 'rollback') {
    if (!staging) throw new ImportError(`no cut-off import of these files into ${mailbox}`);
    await a.deleteMailbox(stagingName);
    return { account, mailbox, messages: 0, rolledBack: held };
  }
  if (staging && mode === 'new') {
    throw new ImportError(
      `an import of these files into ${mailbox} was cut off after ${held} messages ` +
        `(they are in ${stagingName}): run it again with --resume to go on, or --rollback to remove them`,
    );
  }
  if (!staging && mode === 'resume') {
    throw new ImportError(`no cut-off import of these files into ${mailbox} to resume`);
  }
  let skip = held;
  let count = held;
  let batch: { item: NewMessage; prepared: PreparedMessage }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    try {
      await a.addMessages(
        stagingName,
        batch.map((b) => b.item),
        { create: true },
      );
      count += batch.length;
      onProgress?.(count);
    } finally {
      await Promise.all(batch.map((b) => b.prepared.cleanup()));
      batch = [];
    }
  };
  for await (const f of mailFiles(paths)) {
    if (f.data.length === 0) continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    // The files' flushes run on together; the batch's commit waits for all of them.
    const prepared = await store.prepareMessage(f.data, { syncLater: true });
    const { bits, keywords } = splitFlags(f.flags.filter((x) => x.toLowerCase() !== '\\recent'));
    batch.push({
      prepared,
      item: {
        message: prepared,
        // Moved into place rather than linked: the temp file is the import's own.
        take: true,
        flags: bits,
        keywords,
        ...(f.date !== null ? { internalDate: f.date } : {}),
      },
    });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  // All at once into the mailbox: one transaction, whatever the count.
  const from = await a.mailbox(stagingName);
  if (from) {
    if (!(await a.mailbox(mailbox))) await a.createMailbox(mailbox);
    const target = (await a.mailbox(mailbox))!;
    const uids = await a.uids(from.id);
    if (uids.length > 0) await a.moveMessages(from.id, uids, target.id);
    await a.deleteMailbox(stagingName);
  }
  return { account, mailbox, messages: count };
}

export type ExportResult = { mailboxes: number; messages: number };

/** A mailbox name as a path under the export directory ("Lists/Work" nests). */
const pathOf = (dir: string, name: string) => join(dir, ...name.split('/'));

/**
 * Writes each mailbox of the account (or only `mailbox`) under `dir`: NAME.mbox, or a
 * Maildir NAME/ with cur/, new/ and tmp/ and Dovecot's dovecot-keywords.
 */
export async function exportMail(
  store: Store,
  account: string,
  format: 'mbox' | 'maildir',
  dir: string,
  mailbox?: string,
): Promise<ExportResult> {
  const a = await store.account(account);
  const all = await a.mailboxes();
  const boxes = mailbox === undefined ? all : all.filter((m) => m.name === mailbox);
  if (mailbox !== undefined && boxes.length === 0) throw new Error(`no mailbox ${mailbox}`);
  const out: ExportResult = { mailboxes: 0, messages: 0 };
  const host = hostname().replace(/[/:]/g, '_');
  for (const mb of boxes) {
    const uids = await a.uids(mb.id);
    const base = pathOf(dir, mb.name);
    let mbox: Awaited<ReturnType<typeof open>> | null = null;
    const letters = new Map(
      mb.keywords.slice(0, 26).map((k, i) => [k, String.fromCharCode(97 + i)]),
    );
    if (format === 'mbox') {
      await mkdir(join(base, '..'), { recursive: true, mode: 0o700 });
      mbox = await open(`${base}.mbox`, 'wx', 0o600);
    } else {
      for (const d of ['cur', 'new', 'tmp'])
        await mkdir(join(base, d), { recursive: true, mode: 0o700 });
      const lines = [...letters.keys()].map((k, i) => `${i} ${k}\n`).join('');
      if (lines !== '') await writeFile(join(base, 'dovecot-keywords'), lines, { mode: 0o600 });
    }
    try {
      for (let i = 0; i < uids.length; i += BATCH) {
        for (const m of await a.messages(mb.id, uids.slice(i, i + BATCH))) {
          const data = await a.readMessage(m);
          const flags = [...flagNames(m.flags), ...m.keywords];
          if (mbox) {
            await mbox.write(mboxEntry(data, flags, m.internalDate));
          } else {
            const secs = Math.floor(m.internalDate / 1000);
            const file = join(
              base,
              'cur',
              `${secs}.M${m.id}.${host}${maildirInfo(flags, letters)}`,
            );
            await writeFile(file, data, { mode: 0o600, flag: 'wx' });
            await utimes(file, secs, m.internalDate / 1000);
          }
          out.messages++;
        }
      }
    } finally {
      await mbox?.close();
    }
    out.mailboxes++;
  }
  return out;
}
