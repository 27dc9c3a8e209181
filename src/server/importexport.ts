// Moving mail in and out of an account: `tidings import` reads mbox files and Maildirs
// into a mailbox, with their flags, keywords and arrival dates, in batches (one message
// in memory at a time while reading, one transaction per batch); `tidings export` writes
// each mailbox as an mbox file or a Maildir, flags and keywords with it, so that an
// export imported and exported again gives the same files' contents.
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

export type ImportResult = { account: string; mailbox: string; messages: number };

/**
 * Imports the messages of `paths` (mbox files, Maildirs, message files) into a mailbox,
 * created when missing. What was stored before an error stays: each batch is whole.
 */
export async function importMail(
  store: Store,
  account: string,
  mailbox: string,
  paths: readonly string[],
  onProgress?: (messages: number) => void,
): Promise<ImportResult> {
  const a = await store.account(account);
  let count = 0;
  let batch: { item: NewMessage; prepared: PreparedMessage }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    try {
      await a.addMessages(
        mailbox,
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
    const prepared = await store.prepareMessage(f.data);
    const { bits, keywords } = splitFlags(f.flags.filter((x) => x.toLowerCase() !== '\\recent'));
    batch.push({
      prepared,
      item: {
        message: prepared,
        flags: bits,
        keywords,
        ...(f.date !== null ? { internalDate: f.date } : {}),
      },
    });
    if (batch.length >= BATCH) await flush();
  }
  await flush();
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
