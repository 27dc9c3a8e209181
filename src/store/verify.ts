// Consistency checks for `tidings verifydata`: reads an account's database and files, and
// the modes of the data directory, and reports every mismatch it finds. It changes nothing.
import { readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { AccountCore } from './core.js';
import { FILES_PER_DIR } from './files.js';
import { Flag } from './flags.js';
import { formatMode, scanModes, type WrongMode } from './fsmode.js';

export type VerifyReport = {
  account: string;
  mailboxes: number;
  messages: number;
  files: number;
  problems: string[];
};

type Counts = { total: number; deleted: number; unseen: number; size: number };

const BATCH = 2000;

/** Checks one account; the facade's verify() calls it. */
export async function verifyAccount(a: AccountCore): Promise<VerifyReport> {
  const problems: string[] = [];
  const db = a.db;
  const meta = db.prepare('SELECT * FROM meta').get() as
    { modseq: number; next_message_id: number } | undefined;
  if (!meta) {
    return { account: a.name, mailboxes: 0, messages: 0, files: 0, problems: ['meta row missing'] };
  }
  const mailboxes = db.prepare('SELECT * FROM mailboxes').all() as {
    id: number;
    name: string;
    deleted: number;
    uidnext: number;
    modseq: number;
    createseq: number;
    total: number;
    deleted_count: number;
    unseen: number;
    size: number;
  }[];
  const byId = new Map(mailboxes.map((m) => [m.id, m]));
  const computed = new Map<number, Counts>();
  const names = new Set<string>();
  for (const m of mailboxes) {
    computed.set(m.id, { total: 0, deleted: 0, unseen: 0, size: 0 });
    if (m.modseq > meta.modseq) {
      problems.push(`mailbox ${m.name}: modseq ${m.modseq} above account modseq ${meta.modseq}`);
    }
    if (m.deleted) continue;
    names.add(m.name);
  }
  for (const n of names) {
    const parts = n.split('/');
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join('/');
      if (!names.has(p)) problems.push(`mailbox ${n}: parent ${p} does not exist`);
    }
  }

  let usage = 0;
  let liveCount = 0;
  const liveFiles = new Set<number>();
  const expectFiles = new Map<number, number>(); // file id -> expected file size
  let lastId = 0;
  for (;;) {
    const rows = db
      .prepare(
        `SELECT id, file_id, mailbox_id, uid, modseq, createseq, expunged, erased, flags, size,
                length(prefix) AS plen, part FROM messages WHERE id > ? ORDER BY id LIMIT ${BATCH}`,
      )
      .all(lastId) as {
      id: number;
      file_id: number;
      mailbox_id: number;
      uid: number;
      modseq: number;
      createseq: number;
      expunged: number;
      erased: number;
      flags: number;
      size: number;
      plen: number | null;
      part: string;
    }[];
    if (rows.length === 0) break;
    for (const r of rows) {
      lastId = r.id;
      const where = `message ${r.id} (mailbox ${byId.get(r.mailbox_id)?.name ?? r.mailbox_id}, uid ${r.uid})`;
      if (r.modseq > meta.modseq)
        problems.push(`${where}: modseq ${r.modseq} above account modseq ${meta.modseq}`);
      if (r.createseq > r.modseq)
        problems.push(`${where}: createseq ${r.createseq} above modseq ${r.modseq}`);
      if (r.id >= meta.next_message_id)
        problems.push(`${where}: id not below next message id ${meta.next_message_id}`);
      const mb = byId.get(r.mailbox_id);
      if (!mb) {
        problems.push(`${where}: mailbox does not exist`);
        continue;
      }
      if (r.uid >= mb.uidnext) problems.push(`${where}: uid not below uidnext ${mb.uidnext}`);
      if (r.expunged) {
        if (!r.erased)
          expectFiles.set(r.file_id, expectFiles.get(r.file_id) ?? r.size - (r.plen ?? 0));
        continue;
      }
      if (mb.deleted) problems.push(`${where}: live message in deleted mailbox`);
      liveCount++;
      usage += r.size;
      liveFiles.add(r.file_id);
      expectFiles.set(r.file_id, r.size - (r.plen ?? 0));
      const c = computed.get(r.mailbox_id) as Counts;
      c.total++;
      if (r.flags & Flag.Deleted) c.deleted++;
      if (!(r.flags & Flag.Seen)) c.unseen++;
      c.size += r.size;
      try {
        JSON.parse(r.part);
      } catch {
        problems.push(`${where}: stored MIME structure is not valid JSON`);
      }
    }
    await new Promise((r) => setImmediate(r));
  }

  const dup = db
    .prepare(
      'SELECT mailbox_id, uid, COUNT(*) AS n FROM messages GROUP BY mailbox_id, uid HAVING n > 1',
    )
    .all() as { mailbox_id: number; uid: number; n: number }[];
  for (const d of dup)
    problems.push(`mailbox ${byId.get(d.mailbox_id)?.name}: uid ${d.uid} used ${d.n} times`);

  for (const m of mailboxes) {
    const c = computed.get(m.id) as Counts;
    const stored = { total: m.total, deleted: m.deleted_count, unseen: m.unseen, size: m.size };
    for (const k of ['total', 'deleted', 'unseen', 'size'] as const) {
      if (stored[k] !== c[k]) {
        problems.push(`mailbox ${m.name}: stored ${k} count ${stored[k]}, messages give ${c[k]}`);
      }
    }
  }
  const stored = (
    db.prepare('SELECT message_size FROM disk_usage').get() as { message_size: number }
  ).message_size;
  if (stored !== usage) problems.push(`disk usage: stored ${stored}, live messages total ${usage}`);

  // Files: every expected file exists with its size; no file without a row.
  let files = 0;
  const msgDir = join(a.dir, 'msg');
  const seen = new Set<number>();
  for (const d of await readdir(msgDir).catch(() => [] as string[])) {
    const dn = Number(d);
    for (const f of await readdir(join(msgDir, d)).catch(() => [] as string[])) {
      files++;
      const id = Number(f);
      if (!Number.isInteger(dn) || !Number.isInteger(id) || Math.floor(id / FILES_PER_DIR) !== dn) {
        problems.push(`file msg/${d}/${f}: unexpected name`);
        continue;
      }
      seen.add(id);
      // A file at or above the next id is a delivery in progress (or a crash leftover
      // that the server removes when it starts): not a problem of the committed data.
      if (id >= meta.next_message_id) continue;
      const want = expectFiles.get(id);
      if (want === undefined) {
        problems.push(`file msg/${d}/${f}: no message references it`);
        continue;
      }
      const st = await stat(join(msgDir, d, f));
      if (st.size !== want) problems.push(`file msg/${d}/${f}: size ${st.size}, recorded ${want}`);
    }
  }
  for (const id of liveFiles) {
    if (!seen.has(id)) problems.push(`message file ${id}: missing`);
  }

  return {
    account: a.name,
    mailboxes: mailboxes.filter((m) => !m.deleted).length,
    messages: liveCount,
    files,
    problems,
  };
}

/**
 * Paths under root (dataDir or a directory in it) whose mode is not 0700 (directories)
 * or 0600 (everything else), each named relative to dataDir with its mode and the
 * expected one.
 */
export async function verifyModes(
  dataDir: string,
  root = dataDir,
): Promise<{ paths: number; problems: string[] }> {
  const wrong: WrongMode[] = [];
  const r = await scanModes(root, { onWrong: (w) => wrong.push(w) });
  const problems = wrong
    .sort((x, y) => (x.path < y.path ? -1 : 1))
    .map(
      (w) =>
        `${relative(dataDir, w.path) || '.'}: mode ${formatMode(w.mode)}, expected ${formatMode(w.expected)}`,
    );
  if (r.failed > 0) problems.push(`${r.failed} paths could not be checked: ${r.error}`);
  return { paths: r.paths, problems };
}
