import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { stat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { tempStore, sampleMessage } from './testutil.js';
import { Flag } from './flags.js';
import { isStoreError } from './errors.js';
import type { Account } from './account.js';
import type { Store } from './store.js';
import { rawDatabase, messagePath } from './testing.js';

async function add(store: Store, a: Account, mailbox: string, n: number, flags = 0) {
  const items = [];
  for (let i = 0; i < n; i++)
    items.push({ message: await store.prepareMessage(sampleMessage(i)), flags });
  const r = await a.addMessages(mailbox, items);
  for (const it of items) await it.message.cleanup();
  return r;
}

async function clean(a: Account) {
  await a.settle();
  const r = await a.verify();
  assert.deepEqual(r.problems, []);
  return r;
}

describe('account store', () => {
  test('new account has Inbox and initial special-use mailboxes, all subscribed', async () => {
    const t = await tempStore({
      initialMailboxes: () => ({ sent: 'Sent', trash: 'Trash', regular: ['Lists/Work'] }),
    });
    try {
      const a = await t.store.account('alice');
      assert.deepEqual(
        (await a.mailboxes()).map((m) => [m.name, m.specialUse]),
        [
          ['Inbox', null],
          ['Lists', null],
          ['Lists/Work', null],
          ['Sent', '\\Sent'],
          ['Trash', '\\Trash'],
        ],
      );
      assert.deepEqual(await a.subscriptions(), ['Inbox', 'Lists', 'Lists/Work', 'Sent', 'Trash']);
      assert.equal((await a.mailboxBySpecialUse('\\Sent'))?.name, 'Sent');
      const uidvalidities = (await a.mailboxes()).map((m) => m.uidvalidity);
      assert.equal(new Set(uidvalidities).size, uidvalidities.length);
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('UIDs are monotonic per mailbox and never reused, also after reopen', async () => {
    const t = await tempStore();
    try {
      let a = await t.store.account('bob');
      const r1 = await add(t.store, a, 'Inbox', 3);
      assert.deepEqual(
        r1.messages.map((m) => m.uid),
        [1, 2, 3],
      );
      await a.storeFlags(r1.mailbox.id, [3], { mode: 'add', flags: Flag.Deleted });
      assert.deepEqual((await a.expunge(r1.mailbox.id, null)).uids, [3]);
      const r2 = await add(t.store, a, 'Inbox', 2);
      assert.deepEqual(
        r2.messages.map((m) => m.uid),
        [4, 5],
      );
      assert.deepEqual(await a.uids(r1.mailbox.id), [1, 2, 4, 5]);
      await t.store.close();
      const { Store } = await import('./store.js');
      const s2 = await Store.open({ dataDir: t.dir, cleanup: true });
      a = await s2.account('bob');
      const r3 = await add(s2, a, 'Inbox', 1);
      assert.deepEqual(
        r3.messages.map((m) => m.uid),
        [6],
      );
      assert.equal(r3.mailbox.uidnext, 7);
      await clean(a);
      await s2.close();
    } finally {
      await t.cleanup();
    }
  });

  test('one modseq per transaction, shared by all its changes', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('carol');
      const before = await a.highestModseq();
      const r = await add(t.store, a, 'Inbox', 3);
      assert.equal(await a.highestModseq(), before + 1);
      assert.deepEqual(
        r.messages.map((m) => m.modseq),
        [before + 1, before + 1, before + 1],
      );
      assert.deepEqual(
        r.messages.map((m) => m.createseq),
        [before + 1, before + 1, before + 1],
      );
      const f = await a.storeFlags(r.mailbox.id, [1, 2, 3], { mode: 'add', flags: Flag.Seen });
      assert.equal(f.modseq, before + 2);
      assert.deepEqual(
        (await a.messages(r.mailbox.id, [1, 2, 3])).map((m) => m.modseq),
        [before + 2, before + 2, before + 2],
      );
      // A store that changes nothing takes no modseq.
      const g = await a.storeFlags(r.mailbox.id, [1, 2, 3], { mode: 'add', flags: Flag.Seen });
      assert.equal(g.modseq, null);
      assert.deepEqual(g.changed, []);
      assert.equal(await a.highestModseq(), before + 2);
      // CONDSTORE unchangedsince: message 1 changed after modseq before+1.
      await a.storeFlags(r.mailbox.id, [1], { mode: 'add', flags: Flag.Flagged });
      const h = await a.storeFlags(r.mailbox.id, [1, 2], {
        mode: 'add',
        flags: Flag.Answered,
        unchangedSince: before + 2,
      });
      assert.deepEqual(h.modified, [1]);
      assert.deepEqual(h.changed, [2]);
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('expunged rows are kept with their modseq; live queries exclude them', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('dave');
      const r = await add(t.store, a, 'Inbox', 3, Flag.Deleted);
      const mb = r.mailbox.id;
      const e = await a.expunge(mb, [1, 3]);
      assert.deepEqual(e.uids, [1, 3]);
      assert.deepEqual(await a.uids(mb), [2]);
      const rows = rawDatabase(a)
        .prepare('SELECT uid, expunged, modseq FROM messages WHERE mailbox_id = ? ORDER BY uid')
        .all(mb);
      assert.deepEqual(rows, [
        { uid: 1, expunged: 1, modseq: e.modseq },
        { uid: 2, expunged: 0, modseq: r.messages[1]?.modseq },
        { uid: 3, expunged: 1, modseq: e.modseq },
      ]);
      assert.equal((await a.mailboxById(mb))?.counts.total, 1);
      await clean(a);
      // With no other session, the files are gone once erasure settles.
      assert.equal(await a.fileSize(r.messages[0]!.fileId), null);
      assert.notEqual(await a.fileSize(r.messages[1]!.fileId), null);
    } finally {
      await t.cleanup();
    }
  });

  test('expunged message file stays until every other session has taken the removal', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('erin');
      const s1 = a.switchboard.register();
      const s2 = a.switchboard.register();
      const r = await add(t.store, a, 'Inbox', 1, Flag.Deleted);
      const m = r.messages[0]!;
      assert.deepEqual(
        s1.take().map((c) => c.kind),
        ['addUID', 'mailboxCounts'],
      );
      await a.expunge(r.mailbox.id, null, s1);
      await a.settle();
      assert.notEqual(await a.fileSize(m.fileId), null, 'session 2 still references it');
      // Still readable for session 2 until it takes the change.
      const old = await a.message(r.mailbox.id, m.uid, { includeExpunged: true });
      assert.ok(old);
      assert.equal((await a.readMessage(old)).toString(), sampleMessage(0).toString());
      const changes = s2.take();
      assert.deepEqual(
        changes.map((c) => c.kind),
        ['addUID', 'mailboxCounts', 'removeUIDs', 'mailboxCounts'],
      );
      assert.deepEqual(s1.take().length, 0, 'the writer is not told of its own changes');
      await a.settle();
      assert.equal(await a.fileSize(m.fileId), null);
      await clean(a);
      s1.unregister();
      s2.unregister();
    } finally {
      await t.cleanup();
    }
  });

  test('changes reach other sessions in commit order; unregister releases references', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('fred');
      const watcher = a.switchboard.register();
      const other = a.switchboard.register();
      let woke = 0;
      const idle = a.switchboard.register(() => woke++);
      const r = await add(t.store, a, 'Inbox', 2);
      await a.storeFlags(
        r.mailbox.id,
        [2],
        { mode: 'add', flags: Flag.Deleted | Flag.Seen },
        other,
      );
      await a.expunge(r.mailbox.id, null, other);
      await a.createMailbox('Work', {}, other);
      const kinds = watcher
        .take()
        .filter((c) => c.kind !== 'mailboxCounts')
        .map((c) =>
          'uid' in c
            ? `${c.kind}:${c.uid}`
            : 'uids' in c
              ? `${c.kind}:${c.uids.join(',')}`
              : c.kind,
        );
      assert.deepEqual(kinds, [
        'addUID:1',
        'addUID:2',
        'flags:2',
        'removeUIDs:2',
        'addMailbox',
        'addSubscription',
      ]);
      assert.ok(woke >= 4);
      await a.settle();
      assert.notEqual(await a.fileSize(r.messages[1]!.fileId), null);
      watcher.unregister();
      idle.unregister();
      await a.settle();
      assert.equal(await a.fileSize(r.messages[1]!.fileId), null);
      other.unregister();
    } finally {
      await t.cleanup();
    }
  });

  test('bare LF is stored as CRLF and the size is that of the stored bytes', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('gina');
      const raw = Buffer.from('Subject: lf\nFrom: a@b.c\n\nline1\nline2\r\nline3\n');
      const p = await t.store.prepareMessage(raw);
      const prefix = Buffer.from('Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n');
      const r = await a.addMessages('Inbox', [{ message: p, prefix }]);
      await p.cleanup();
      const m = r.messages[0]!;
      const stored = await readFile(messagePath(a, m.fileId));
      assert.equal(
        stored.toString(),
        'Subject: lf\r\nFrom: a@b.c\r\n\r\nline1\r\nline2\r\nline3\r\n',
      );
      assert.equal(m.size, stored.length + prefix.length);
      const full = await a.readMessage(m);
      assert.equal(full.toString(), prefix.toString() + stored.toString());
      // Offsets in the stored structure point into prefix+file.
      const part = m.part as unknown as { headerStart: number; bodyStart: number; end: number };
      assert.equal(part.headerStart, 0);
      assert.equal(
        full.subarray(part.bodyStart, part.end).toString(),
        'line1\r\nline2\r\nline3\r\n',
      );
      assert.equal((await a.readMessage(m, 3, 10)).toString(), full.subarray(3, 10).toString());
      assert.equal(m.messageId, '');
      assert.equal(m.subjectBase, 'lf');
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('threading fields are stored', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('hank');
      const p = await t.store.prepareMessage(
        sampleMessage(1, 'In-Reply-To: <parent@x>\r\nReferences: <root@x> <parent@x>\r\n'),
      );
      const r = await a.addMessages('Inbox', [{ message: p }]);
      await p.cleanup();
      const m = r.messages[0]!;
      assert.equal(m.messageId, 'm1@example.org');
      assert.equal(m.inReplyTo, 'parent@x');
      assert.deepEqual(m.references, ['root@x', 'parent@x']);
      assert.equal(m.subjectBase, 'message 1');
    } finally {
      await t.cleanup();
    }
  });

  test('header fields in the delivery prefix count for envelope and threading', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('ida');
      // As submission stores a message it gave a Message-ID and Date.
      const data = Buffer.from('From: ida@example.org\r\nSubject: Re: plans\r\n\r\nHi.\r\n');
      const prefix = Buffer.from(
        'Received: from x by y; Sun, 22 Nov 2026 05:00:00 +0000\r\n' +
          'Message-Id: <added@example.org>\r\nDate: Sun, 22 Nov 2026 05:00:00 +0000\r\n',
      );
      const p = await t.store.prepareMessage(data);
      // A trace-only prefix (incoming delivery) leaves the file's own fields.
      const trace = Buffer.from('Delivered-To: ida@example.org\r\nReturn-Path: <a@b>\r\n');
      const r = await a.addMessages('Inbox', [
        { message: p, prefix },
        { message: p, prefix: trace },
      ]);
      await p.cleanup();
      const [withFields, traced] = r.messages;
      assert.deepEqual(withFields!.part.envelope, {
        date: 'Sun, 22 Nov 2026 05:00:00 +0000',
        subject: 'Re: plans',
        from: [{ name: null, adl: null, mailbox: 'ida', host: 'example.org' }],
        messageId: '<added@example.org>',
      });
      assert.equal(withFields!.messageId, 'added@example.org');
      assert.equal(withFields!.subjectBase, 'plans');
      assert.equal(withFields!.part.headerStart, 0);
      assert.equal(withFields!.part.bodyStart, prefix.length + data.indexOf('\r\n\r\n') + 4);
      assert.equal(traced!.part.envelope?.date, undefined);
      assert.equal(traced!.messageId, '');
      const env = rawDatabase(a)
        .prepare('SELECT envelope FROM messages ORDER BY uid')
        .pluck()
        .all();
      assert.deepEqual(env, [
        JSON.stringify(withFields!.part.envelope),
        JSON.stringify(traced!.part.envelope),
      ]);
    } finally {
      await t.cleanup();
    }
  });

  test('mailbox create, rename (children, Inbox rule), delete (leaf only), subscribe', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('ivan');
      const created = await a.createMailbox('a/b/c');
      assert.deepEqual(
        created.map((m) => m.name),
        ['a', 'a/b', 'a/b/c'],
      );
      await assert.rejects(a.createMailbox('a/b'), (e) => isStoreError(e, 'alreadyexists'));
      await assert.rejects(a.createMailbox('a//b'), (e) => isStoreError(e, 'cannot'));
      assert.equal((await a.createMailbox('INBOX/sub'))[0]?.name, 'Inbox/sub');

      await a.renameMailbox('a', 'x/y');
      assert.deepEqual(
        (await a.mailboxes()).map((m) => m.name),
        ['Inbox', 'Inbox/sub', 'x', 'x/y', 'x/y/b', 'x/y/b/c'],
      );
      await assert.rejects(a.renameMailbox('nope', 'z'), (e) => isStoreError(e, 'nonexistent'));
      await assert.rejects(a.renameMailbox('x', 'Inbox/sub'), (e) =>
        isStoreError(e, 'alreadyexists'),
      );
      await assert.rejects(a.renameMailbox('x', 'x/y/b/q'), (e) => isStoreError(e, 'cannot'));

      const r = await add(t.store, a, 'Inbox', 2);
      const inbox = r.mailbox;
      const moved = await a.renameMailbox('Inbox', 'Old');
      assert.deepEqual(await a.uids(moved.id), [1, 2]);
      assert.deepEqual(await a.uids(inbox.id), []);
      assert.equal((await a.mailbox('Inbox'))?.id, inbox.id, 'Inbox keeps its identity');
      assert.ok(await a.mailbox('Inbox/sub'), 'children of Inbox stay');

      await assert.rejects(a.deleteMailbox('x/y'), (e) => isStoreError(e, 'haschildren'));
      await assert.rejects(a.deleteMailbox('Inbox'), (e) => isStoreError(e, 'cannot'));
      await assert.rejects(a.deleteMailbox('nope'), (e) => isStoreError(e, 'nonexistent'));
      await a.deleteMailbox('Old');
      assert.equal(await a.mailbox('Old'), null);
      // A new mailbox with the same name gets a new UIDVALIDITY.
      const again = (await a.createMailbox('Old'))[0]!;
      assert.notEqual(again.uidvalidity, moved.uidvalidity);
      assert.deepEqual(await a.uids(again.id), []);

      await a.subscribe('Not/There');
      assert.ok((await a.subscriptions()).includes('Not/There'));
      await a.unsubscribe('Not/There');
      await assert.rejects(a.unsubscribe('Not/There'), (e) => isStoreError(e, 'nonexistent'));
      await a.unsubscribe('Old');
      await a.unsubscribe('Old'); // exists: no error even when not subscribed
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('copy hard-links files; move leaves a tombstone sharing the file', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('jane');
      const r = await add(t.store, a, 'Inbox', 3, Flag.Seen);
      const dst = (await a.createMailbox('Archive'))[0]!;
      const c = await a.copyMessages(r.mailbox.id, [1, 3], dst.id);
      assert.deepEqual(c.srcUids, [1, 3]);
      assert.deepEqual(c.dstUids, [1, 2]);
      const copies = await a.messages(dst.id, [1, 2]);
      const srcIno = (await stat(messagePath(a, r.messages[0]!.fileId))).ino;
      assert.equal((await stat(messagePath(a, copies[0]!.fileId))).ino, srcIno);
      const sizes = r.messages.map((m) => m.size);
      assert.equal(await a.diskUsage(), sizes[0]! + sizes[1]! + sizes[2]! + sizes[0]! + sizes[2]!);

      const mv = await a.moveMessages(r.mailbox.id, [2], dst.id);
      assert.deepEqual(mv.dstUids, [3]);
      assert.deepEqual(await a.uids(r.mailbox.id), [1, 3]);
      const movedRow = (await a.message(dst.id, 3))!;
      assert.equal(movedRow.fileId, r.messages[1]!.fileId);
      await a.settle();
      assert.notEqual(
        await a.fileSize(movedRow.fileId),
        null,
        'tombstone erase keeps the shared file',
      );
      assert.equal((await a.mailbox('Inbox'))?.counts.total, 2);
      assert.equal((await a.mailbox('Archive'))?.counts.total, 3);
      // Every row keeps the envelope: originals, copies, the moved row and the tombstone.
      const envelopes = rawDatabase(a)
        .prepare('SELECT envelope FROM messages ORDER BY id')
        .pluck()
        .all() as string[];
      assert.equal(envelopes.length, 6);
      for (const e of envelopes) assert.match(e, /^\{"date":"[^"]+","subject":"Re: message \d"/);
      await assert.rejects(a.moveMessages(r.mailbox.id, [99], dst.id), (e) =>
        isStoreError(e, 'notfound'),
      );
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('quota: additions beyond the limit fail with overquota and store nothing', async () => {
    let limit = 0;
    const t = await tempStore({ quota: () => limit });
    try {
      const a = await t.store.account('kim');
      const r = await add(t.store, a, 'Inbox', 2);
      const b = (await a.createMailbox('B'))[0]!;
      limit = (await a.diskUsage()) + 10;
      await assert.rejects(add(t.store, a, 'Inbox', 1), (e) => isStoreError(e, 'overquota'));
      await assert.rejects(a.copyMessages(r.mailbox.id, [1], b.id), (e) =>
        isStoreError(e, 'overquota'),
      );
      assert.deepEqual(await a.uids(b.id), []);
      assert.deepEqual(await a.uids(r.mailbox.id), [1, 2]);
      assert.equal(await a.canAdd(10), true);
      assert.equal(await a.canAdd(11), false);
      limit = 0;
      await add(t.store, a, 'Inbox', 1);
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('concurrent adds are stored as one group; each succeeds or fails on its own', async () => {
    let limit = 0;
    const t = await tempStore({ quota: () => limit });
    try {
      const a = await t.store.account('gus');
      const watcher = a.switchboard.register();
      const appender = a.switchboard.register();
      const msgs = [];
      for (let i = 0; i < 8; i++) msgs.push(await t.store.prepareMessage(sampleMessage(i)));
      const size = msgs[0]!.size;
      // Room for four messages: the add of two after them is over quota.
      limit = (await a.diskUsage()) + 4 * size + size / 2;
      // The adds wait for the lock held by the mailbox creation, and are stored together.
      const busy = a.createMailbox('Busy');
      const group = [
        a.addMessages('Inbox', [{ message: msgs[0]! }]),
        a.addMessages('Inbox', [{ message: msgs[1]! }]),
        // An IMAP session's append: that session is not told of it, the others are.
        a.addMessages('Inbox', [{ message: msgs[7]! }], { from: appender }),
        a.addMessages('Nope', [{ message: msgs[2]! }]),
        a.addMessages('Lists/New', [{ message: msgs[3]! }], { create: true }),
        a.addMessages('Inbox', [{ message: msgs[4]! }, { message: msgs[5]! }]),
        a.addMessages('Inbox', [{ message: msgs[6]! }], { checkQuota: false }),
      ];
      await busy;
      const rs = await Promise.allSettled(group);
      const ok = (i: number) => {
        const r = rs[i]!;
        assert.equal(r.status, 'fulfilled', `add ${i}`);
        return (r as PromiseFulfilledResult<Awaited<(typeof group)[0]>>).value;
      };
      const why = (i: number) => (rs[i] as PromiseRejectedResult).reason as unknown;
      assert.ok(isStoreError(why(3), 'nonexistent'));
      assert.ok(isStoreError(why(5), 'overquota'));
      const uids = (i: number) => ok(i).messages.map((m) => m.uid);
      assert.deepEqual(
        [0, 1, 2, 4, 6].map((i) => uids(i)),
        [[1], [2], [3], [1], [4]],
      );
      assert.equal(ok(4).mailbox.name, 'Lists/New');
      // One transaction: one modseq for the whole group.
      const seq = ok(0).messages[0]!.modseq;
      for (const i of [1, 2, 4, 6]) assert.equal(ok(i).messages[0]!.modseq, seq);
      const inbox = (await a.mailbox('Inbox'))!;
      assert.deepEqual(await a.uids(inbox.id), [1, 2, 3, 4]);
      assert.equal(inbox.uidnext, 5);
      assert.equal(inbox.counts.total, 4);
      const nw = ok(4).mailbox.id;
      const addsSeen = (s: typeof watcher) =>
        s
          .take()
          .filter((c) => c.kind === 'addUID')
          .map((c) => `${c.mailboxId}:${(c as { uid: number }).uid}`);
      // Every other session sees the additions in commit order.
      assert.deepEqual(addsSeen(watcher), [
        `${inbox.id}:1`,
        `${inbox.id}:2`,
        `${inbox.id}:3`,
        `${nw}:1`,
        `${inbox.id}:4`,
      ]);
      assert.deepEqual(addsSeen(appender), [
        `${inbox.id}:1`,
        `${inbox.id}:2`,
        `${nw}:1`,
        `${inbox.id}:4`,
      ]);
      for (const m of msgs) await m.cleanup();
      // Nothing of the failed adds is left: one file per stored message.
      await clean(a);
      const files = await readdir(join(a.dir, 'msg', '0'));
      assert.equal(files.length, 5);
      watcher.unregister();
      appender.unregister();
    } finally {
      await t.cleanup();
    }
  });

  test('take: the prepared file is moved into place, not linked', async () => {
    let limit = 0;
    const t = await tempStore({ quota: () => limit });
    try {
      const a = await t.store.account('tia');
      const data = sampleMessage(1);
      const p = await t.store.prepareMessage(data);
      const r = await a.addMessages('Inbox', [{ message: p, take: true }]);
      await assert.rejects(stat(p.path), /ENOENT/);
      assert.deepEqual(await a.readMessage(r.messages[0]!), data);
      // One name only: nothing is left in the temp directory.
      assert.equal((await stat(join(a.dir, 'msg', '0', '1'))).nlink, 1);
      await p.cleanup();
      // A take that fails leaves the prepared file to its owner.
      limit = 1;
      const q = await t.store.prepareMessage(data);
      await assert.rejects(a.addMessages('Inbox', [{ message: q, take: true }]), (e) =>
        isStoreError(e, 'overquota'),
      );
      assert.equal((await stat(q.path)).size, data.length);
      await q.cleanup();
      await assert.rejects(stat(q.path), /ENOENT/);
      limit = 0;
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('a message whose data is still being flushed is committed only once it is on disk', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('fay');
      const inbox = (await a.mailbox('Inbox'))!;
      let flushed!: () => void;
      const p = await t.store.prepareMessage(sampleMessage(1));
      const slow = { ...p, durable: new Promise<void>((r) => (flushed = r)) };
      const stored = a.addMessages('Inbox', [{ message: slow }]);
      // Linked, but nothing committed while the flush runs.
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      assert.deepEqual(await a.uids(inbox.id), []);
      flushed();
      assert.deepEqual(
        (await stored).messages.map((m) => m.uid),
        [1],
      );
      // A flush that fails fails the add: no row, no file.
      const q = await t.store.prepareMessage(sampleMessage(2));
      const flushFailed = Promise.reject(new Error('EIO: flush failed'));
      flushFailed.catch(() => {}); // as finish({ syncLater }) does
      const failing = { ...q, durable: flushFailed };
      await assert.rejects(a.addMessages('Inbox', [{ message: failing }]), /EIO: flush failed/);
      assert.deepEqual(await a.uids(inbox.id), [1]);
      assert.deepEqual(await readdir(join(a.dir, 'msg', '0')), ['1']);
      await p.cleanup();
      await q.cleanup();
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });

  test('a failure between file link and commit leaves no file and no row', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('lou');
      await add(t.store, a, 'Inbox', 1);
      (a as unknown as { opts: { beforeCommit?: () => void } }).opts.beforeCommit = () => {
        throw new Error('simulated failure');
      };
      await assert.rejects(add(t.store, a, 'Inbox', 2), /simulated failure/);
      // Concurrent adds stored as a group all fail with it.
      const rs = await Promise.allSettled([
        add(t.store, a, 'Inbox', 1),
        add(t.store, a, 'Inbox', 2),
        add(t.store, a, 'Other', 1),
      ]);
      assert.deepEqual(
        rs.map((r) => (r.status === 'rejected' ? String(r.reason) : 'stored')),
        [
          'Error: simulated failure',
          'Error: simulated failure',
          'StoreError: mailbox does not exist',
        ],
      );
      (a as unknown as { opts: { beforeCommit?: () => void } }).opts.beforeCommit = undefined;
      assert.deepEqual(await a.uids((await a.mailbox('Inbox'))!.id), [1]);
      const files = await readdir(join(a.dir, 'msg', '0'));
      assert.deepEqual(files, ['1']);
      const r = await add(t.store, a, 'Inbox', 1);
      assert.deepEqual(
        r.messages.map((m) => m.uid),
        [2],
      );
      await clean(a);
    } finally {
      await t.cleanup();
    }
  });
});

describe('annotations', () => {
  test('set, replace, remove; limits; mailbox modseq; broadcast', async () => {
    const t = await tempStore();
    try {
      const a = await t.store.account('meta');
      const inbox = (await a.mailbox('Inbox'))!;
      const s = a.switchboard.register();
      await a.setAnnotations(inbox.id, [
        { key: '/private/comment', value: Buffer.from('hello'), isString: true },
      ]);
      await a.setAnnotations(0, [{ key: '/private/vendor/tidings/x', value: Buffer.from([0, 1]) }]);
      assert.deepEqual(
        (await a.annotations(inbox.id)).map((x) => [x.key, x.value?.toString(), x.isString]),
        [['/private/comment', 'hello', true]],
      );
      assert.equal((await a.annotations(0)).length, 1);
      const mbSeq = (await a.mailbox('Inbox'))!.modseq;
      assert.equal(mbSeq, (await a.annotations(inbox.id))[0]!.modseq, 'mailbox modseq bumped');
      assert.deepEqual(
        s
          .take()
          .filter((c) => c.kind === 'annotation')
          .map((c) => [c.mailboxId, 'key' in c ? c.key : '']),
        [
          [inbox.id, '/private/comment'],
          [0, '/private/vendor/tidings/x'],
        ],
      );
      await a.setAnnotations(inbox.id, [{ key: '/PRIVATE/Comment', value: null }]);
      assert.deepEqual(await a.annotations(inbox.id), []);
      for (const key of [
        '/other/x',
        '/private/vendor/x',
        '/private//x',
        '/private/x/',
        '/private/*',
        '/private/é',
      ]) {
        await assert.rejects(a.setAnnotations(0, [{ key, value: Buffer.from('v') }]), (e) =>
          isStoreError(e, 'invalid'),
        );
      }
      const many = Array.from({ length: 1000 }, (_, i) => ({
        key: `/private/k${i}`,
        value: Buffer.from('v'),
      }));
      await assert.rejects(a.setAnnotations(inbox.id, many), (e) => isStoreError(e, 'toomany'));
      assert.equal((await a.annotations(inbox.id)).length, 0, 'nothing stored when refused');
      await assert.rejects(
        a.setAnnotations(0, [{ key: '/private/big', value: Buffer.alloc(1_000_001) }]),
        (e) => isStoreError(e, 'toolarge'),
      );
      s.unregister();
    } finally {
      await t.cleanup();
    }
  });
});

test('a move of 150,000 messages in one command: committed, then its files erased', async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('mia');
    const [seed] = await a.createMailbox('Seed');
    const items = [];
    for (let i = 0; i < 1000; i++)
      items.push({ message: await t.store.prepareMessage(sampleMessage(i)) });
    await a.addMessages(seed!.id, items);
    for (const it of items) await it.message.cleanup();
    const [src] = await a.createMailbox('Src');
    const seedUids = await a.uids(seed!.id);
    for (let i = 0; i < 150; i++) await a.copyMessages(seed!.id, seedUids, src!.id);
    const [dst] = await a.createMailbox('Dst');
    // The move's tombstones go to erasure in one list: more ids than a spread call takes.
    const r = await a.moveMessages(src!.id, await a.uids(src!.id), dst!.id);
    assert.equal(r.dstUids.length, 150_000);
    await clean(a);
    assert.equal((await a.uids(dst!.id)).length, 150_000);
    assert.equal((await a.uids(src!.id)).length, 0);
  } finally {
    await t.cleanup();
  }
});
