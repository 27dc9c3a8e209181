// Writes to an account's mailboxes: the initial set, create (with missing parents),
// delete, rename (with children), subscriptions and special-use flags. Names are
// `/`-separated with Inbox normalised; parents exist before their children.
import { StoreError } from './errors.js';
import { mailboxFromRow, type Mailbox } from './rows.js';
import type { Session } from './switchboard.js';
import { WriteTx, type AccountCore } from './core.js';
import { mailboxExists, requireMailbox, uids } from './reads.js';
import { moveLocked } from './messages.js';
import { checkMailboxName } from '../config/index.js';

export type InitialMailboxes = {
  archive?: string;
  drafts?: string;
  junk?: string;
  sent?: string;
  trash?: string;
  regular?: string[];
};

/** A normalised mailbox name; invalid names are a 'cannot' error. */
export function validName(name: string): string {
  try {
    return checkMailboxName(name);
  } catch (e) {
    throw new StoreError('cannot', (e as Error).message);
  }
}

/** The names of a mailbox's ancestors, outermost first. */
function ancestors(name: string): string[] {
  const parts = name.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** A LIKE pattern matching names that start with prefix (escape character \). */
function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => '\\' + c) + '%';
}

function nextUidvalidity(core: AccountCore): number {
  const r = core.stmt('SELECT next_uidvalidity AS v FROM meta').get() as { v: number };
  core.stmt('UPDATE meta SET next_uidvalidity = next_uidvalidity + 1').run();
  return r.v;
}

function createMailboxTx(
  core: AccountCore,
  tx: WriteTx,
  name: string,
  specialUse: string | null,
  subscribe: boolean,
): Mailbox {
  const seq = tx.modseq();
  if (specialUse) clearSpecialUse(core, tx, specialUse);
  const info = core
    .stmt(
      'INSERT INTO mailboxes (name, uidvalidity, uidnext, modseq, createseq, special_use) VALUES (?, ?, 1, ?, ?, ?)',
    )
    .run(name, nextUidvalidity(core), seq, seq, specialUse);
  const id = Number(info.lastInsertRowid);
  tx.changes.push({ kind: 'addMailbox', mailboxId: id, name, specialUse });
  if (subscribe) subscribeTx(core, tx, name);
  return core.mailboxByIdSync(id) as Mailbox;
}

/** Creates a mailbox (which must not exist) and its missing parents, all subscribed. */
export function createWithParentsTx(core: AccountCore, tx: WriteTx, name: string): Mailbox {
  for (const p of ancestors(name)) {
    if (!mailboxExists(core, p)) createMailboxTx(core, tx, p, null, true);
  }
  return createMailboxTx(core, tx, name, null, true);
}

function clearSpecialUse(core: AccountCore, tx: WriteTx, use: string): void {
  const rows = core
    .stmt('SELECT id, name FROM mailboxes WHERE deleted = 0 AND special_use = ?')
    .all(use) as { id: number; name: string }[];
  for (const r of rows) {
    core
      .stmt('UPDATE mailboxes SET special_use = NULL, modseq = ? WHERE id = ?')
      .run(tx.modseq(), r.id);
    tx.changes.push({
      kind: 'mailboxSpecialUse',
      mailboxId: r.id,
      name: r.name,
      specialUse: null,
    });
  }
}

function subscribeTx(core: AccountCore, tx: WriteTx, name: string): boolean {
  const r = core
    .stmt('INSERT INTO subscriptions (name) VALUES (?) ON CONFLICT DO NOTHING')
    .run(name);
  if (r.changes > 0) tx.changes.push({ kind: 'addSubscription', name });
  return r.changes > 0;
}

/** Sets up a new account's database: meta rows, Inbox and the configured mailboxes. */
export function initialize(core: AccountCore, initial: InitialMailboxes): void {
  core.db.transaction(() => {
    core
      .stmt(
        'INSERT INTO meta (id, modseq, next_message_id, next_uidvalidity, created) VALUES (1, 0, 1, 1, ?)',
      )
      .run(Date.now());
    core.stmt('INSERT INTO disk_usage (id, message_size) VALUES (1, 0)').run();
    const tx = new WriteTx(core);
    createMailboxTx(core, tx, 'Inbox', null, true);
    const special: [string | undefined, string][] = [
      [initial.archive, '\\Archive'],
      [initial.drafts, '\\Drafts'],
      [initial.junk, '\\Junk'],
      [initial.sent, '\\Sent'],
      [initial.trash, '\\Trash'],
    ];
    const create = (name: string, use: string | null) => {
      const n = checkMailboxName(name);
      for (const p of ancestors(n)) {
        if (!mailboxExists(core, p)) createMailboxTx(core, tx, p, null, true);
      }
      if (!mailboxExists(core, n)) createMailboxTx(core, tx, n, use, true);
    };
    for (const [name, use] of special) if (name) create(name, use);
    for (const name of initial.regular ?? []) create(name, null);
  })();
}

/**
 * Creates a mailbox and any missing parents, all subscribed (RFC 9051 §6.3.4).
 * Returns the mailboxes created, parents first.
 */
export async function createMailbox(
  core: AccountCore,
  name: string,
  opts: { specialUse?: string | null; subscribe?: boolean },
  from: Session | null,
): Promise<Mailbox[]> {
  const n = validName(name);
  return core.write(from, (tx) => {
    if (mailboxExists(core, n)) throw new StoreError('alreadyexists', 'mailbox already exists');
    const created: Mailbox[] = [];
    for (const p of ancestors(n)) {
      if (!mailboxExists(core, p)) created.push(createMailboxTx(core, tx, p, null, true));
    }
    created.push(createMailboxTx(core, tx, n, opts.specialUse ?? null, opts.subscribe ?? true));
    return created;
  });
}

/**
 * Deletes a mailbox and its messages (RFC 9051 §6.3.5); one with children cannot be
 * deleted (they go first), nor can Inbox.
 */
export function deleteMailbox(
  core: AccountCore,
  name: string,
  from: Session | null,
): Promise<void> {
  return core.write(from, (tx) => {
    const mb = requireMailbox(core, name);
    if (mb.name === 'Inbox') throw new StoreError('cannot', 'cannot delete Inbox');
    const child = core
      .stmt('SELECT 1 FROM mailboxes WHERE deleted = 0 AND name LIKE ? ESCAPE ? LIMIT 1')
      .get(likePrefix(mb.name + '/'), '\\');
    if (child) throw new StoreError('haschildren', 'mailbox has children, delete them first');
    const seq = tx.modseq();
    const msgs = core
      .stmt(
        'SELECT id, uid, flags, size FROM messages WHERE mailbox_id = ? AND expunged = 0 ORDER BY uid',
      )
      .all(mb.id) as { id: number; uid: number; flags: number; size: number }[];
    if (msgs.length > 0) {
      core
        .stmt('UPDATE messages SET expunged = 1, modseq = ? WHERE mailbox_id = ? AND expunged = 0')
        .run(seq, mb.id);
      for (const m of msgs) {
        tx.count(mb.id, m.flags, m.size, -1);
        tx.removedMessageIds.push(m.id);
      }
      tx.changes.push({
        kind: 'removeUIDs',
        mailboxId: mb.id,
        uids: msgs.map((m) => m.uid),
        modseq: seq,
      });
    }
    core.stmt('DELETE FROM annotations WHERE mailbox_id = ?').run(mb.id);
    core
      .stmt('UPDATE mailboxes SET deleted = 1, modseq = ?, special_use = NULL WHERE id = ?')
      .run(seq, mb.id);
    core.stmt('UPDATE meta SET highest_deleted_modseq = MAX(highest_deleted_modseq, ?)').run(seq);
    tx.changes.push({ kind: 'removeMailbox', mailboxId: mb.id, name: mb.name });
  });
}

/**
 * Renames a mailbox with its children; new parents are created and subscribed.
 * Renaming Inbox moves its messages into a new mailbox and leaves Inbox (and its
 * children) in place (RFC 9051 §6.3.6).
 */
export async function renameMailbox(
  core: AccountCore,
  oldName: string,
  newName: string,
  from: Session | null,
): Promise<Mailbox> {
  const to = validName(newName);
  return core.withLock(async () => {
    const src = requireMailbox(core, oldName);
    if (to === src.name) throw new StoreError('alreadyexists', 'mailbox already exists');
    if (to === 'Inbox' || mailboxExists(core, to)) {
      throw new StoreError('alreadyexists', 'destination mailbox already exists');
    }
    if (src.name === 'Inbox') {
      const inbox = uids(core, src.id);
      const dst = core.runTx(from, (tx) => createWithParentsTx(core, tx, to));
      if (inbox.length > 0) await moveLocked(core, src.id, inbox, dst.id, from);
      return core.mailboxByIdSync(dst.id) as Mailbox;
    }
    if (to.startsWith(src.name + '/')) {
      throw new StoreError('cannot', 'cannot rename mailbox to a child of itself');
    }
    return core.runTx(from, (tx) => {
      const children = core
        .stmt('SELECT * FROM mailboxes WHERE deleted = 0 AND name LIKE ? ESCAPE ?')
        .all(likePrefix(src.name + '/'), '\\') as Record<string, unknown>[];
      const moving = [src, ...children.map(mailboxFromRow)];
      for (const m of moving) {
        const nn = to + m.name.slice(src.name.length);
        if (mailboxExists(core, nn) && !moving.some((x) => x.name === nn)) {
          throw new StoreError('alreadyexists', `destination mailbox ${nn} already exists`);
        }
      }
      for (const p of ancestors(to)) {
        if (!mailboxExists(core, p)) createMailboxTx(core, tx, p, null, true);
      }
      const seq = tx.modseq();
      // Rename longest names first is unnecessary: names are unique and the unique index
      // is checked per statement, so use a temporary marker to avoid transient clashes.
      const upd = core.stmt('UPDATE mailboxes SET name = ?, modseq = ? WHERE id = ?');
      for (const m of moving) upd.run(`\u0000rename\u0000${m.id}`, seq, m.id);
      for (const m of moving) {
        const nn = to + m.name.slice(src.name.length);
        upd.run(nn, seq, m.id);
        tx.changes.push({
          kind: 'renameMailbox',
          mailboxId: m.id,
          oldName: m.name,
          newName: nn,
          specialUse: m.specialUse,
        });
      }
      return core.mailboxByIdSync(src.id) as Mailbox;
    });
  });
}

export async function subscribe(
  core: AccountCore,
  name: string,
  from: Session | null,
): Promise<boolean> {
  const n = validName(name);
  return core.write(from, (tx) => subscribeTx(core, tx, n));
}

/**
 * Unsubscribes; an error only when neither subscribed nor existing (RFC 9051 §6.3.8
 * allows removing a subscription to a mailbox that no longer exists).
 */
export async function unsubscribe(
  core: AccountCore,
  name: string,
  from: Session | null,
): Promise<void> {
  const n = validName(name);
  return core.write(from, (tx) => {
    const r = core.stmt('DELETE FROM subscriptions WHERE name = ?').run(n);
    if (r.changes === 0 && !mailboxExists(core, n)) {
      throw new StoreError('nonexistent', 'not subscribed and mailbox does not exist');
    }
    if (r.changes > 0) tx.changes.push({ kind: 'removeSubscription', name: n });
  });
}

/** Sets (or clears, with null) a mailbox's special use; it is taken from any other mailbox. */
export function setSpecialUse(
  core: AccountCore,
  name: string,
  use: string | null,
  from: Session | null,
): Promise<void> {
  return core.write(from, (tx) => {
    const mb = requireMailbox(core, name);
    if (use) clearSpecialUse(core, tx, use);
    core
      .stmt('UPDATE mailboxes SET special_use = ?, modseq = ? WHERE id = ?')
      .run(use, tx.modseq(), mb.id);
    tx.changes.push({
      kind: 'mailboxSpecialUse',
      mailboxId: mb.id,
      name: mb.name,
      specialUse: use,
    });
  });
}
