// Schema migrations: their numbering, and account databases upgraded with messages in them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ACCOUNT_MIGRATIONS, GLOBAL_MIGRATIONS, migrate } from './schema.js';
import { Store } from './store.js';
import { tempStore, sampleMessage } from './testutil.js';
import { rawDatabase } from './testing.js';
import { Flag } from './flags.js';

test('migrations are numbered 1, 2, 3, ... and a gap or repeat is refused', () => {
  for (const list of [ACCOUNT_MIGRATIONS, GLOBAL_MIGRATIONS]) {
    assert.deepEqual(
      list.map((m) => m.version),
      list.map((_, i) => i + 1),
    );
  }
  const db = new Database(':memory:');
  const bad = [
    ACCOUNT_MIGRATIONS[0]!,
    ACCOUNT_MIGRATIONS[1]!,
    { ...ACCOUNT_MIGRATIONS[2]!, version: 2 },
  ];
  assert.throws(() => migrate(db, bad, 'test.db'), /^Error: test\.db: migration 3 has version 2$/);
  assert.equal(db.pragma('user_version', { simple: true }), 0);
  db.close();
});

test('schema 4: messages stored before get their envelope from their structure', async () => {
  const t = await tempStore();
  try {
    let a = await t.store.account('olga');
    const p = await t.store.prepareMessage(sampleMessage(1));
    const r = await a.addMessages('Inbox', [{ message: p }]);
    await p.cleanup();
    const expected = JSON.stringify(r.messages[0]!.part.envelope);
    await t.store.close();
    // Make it a database of schema 3, from before the envelope column.
    const file = join(t.dir, 'accounts', 'olga', 'index.db');
    const db = new Database(file);
    // Schemas 12, 11, 10, 9, 8, 7, 6 and 5, then 4.
    db.exec('DROP INDEX messages_thread');
    db.exec('ALTER TABLE messages DROP COLUMN thread_id');
    db.exec('ALTER TABLE messages DROP COLUMN preview');
    db.exec('ALTER TABLE messages DROP COLUMN sent_date');
    db.exec('ALTER TABLE mailboxes DROP COLUMN recent_uid');
    for (const i of ['msgfrom', 'mailfrom', 'org', 'ip1', 'ip2', 'ip3', 'live']) {
      db.exec(`DROP INDEX messages_rep_${i}`);
    }
    db.exec('DROP TABLE message_dkim');
    db.exec('ALTER TABLE messages DROP COLUMN envelope');
    db.pragma('user_version = 3');
    db.close();

    const store = await Store.open({ dataDir: t.dir });
    try {
      a = await store.account('olga');
      assert.equal(
        rawDatabase(a).pragma('user_version', { simple: true }),
        ACCOUNT_MIGRATIONS.length,
      );
      const env = rawDatabase(a).prepare('SELECT envelope FROM messages').pluck().all();
      assert.deepEqual(env, [expected]);
      assert.match(expected, /"subject":"Re: message 1"/);
      // New messages get theirs when stored.
      const q = await store.prepareMessage(sampleMessage(2));
      await a.addMessages('Inbox', [{ message: q }]);
      await q.cleanup();
      assert.match(
        String(rawDatabase(a).prepare('SELECT envelope FROM messages WHERE uid = 2').pluck().get()),
        /"subject":"Re: message 2"/,
      );
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('schema 7: reputation indexes replaced by covering ones, the evidence unchanged', async () => {
  const t = await tempStore();
  try {
    let a = await t.store.account('rita');
    await a.createMailbox('Junk', { specialUse: '\\Junk' });
    const facts = {
      remoteIPMasked: ['192.0.2.1', '192.0.2.0', '192.0.0.0'] as [string, string, string],
      mailFromDomain: 'rep.example',
      mailFromValidated: true,
      msgFromLocalpart: 'rita',
      msgFromDomain: 'rep.example',
      msgFromOrgDomain: 'rep.example',
      msgFromValidated: true,
      dkimDomains: ['rep.example'],
    };
    for (const [mailbox, flags] of [
      ['Inbox', Flag.Seen],
      ['Inbox', Flag.Junk],
      ['Junk', Flag.NotJunk],
      ['Inbox', 0],
    ] as const) {
      const p = await t.store.prepareMessage(sampleMessage(1));
      await a.addMessages(mailbox, [{ message: p, flags, facts }]);
      await p.cleanup();
    }
    const q = {
      recent: 10,
      fromAddress: { localpart: 'rita', domain: 'rep.example' },
      dkimDomains: ['rep.example'],
      mailFromDomain: 'rep.example',
      fromOrgDomain: 'rep.example',
      ipMasked: facts.remoteIPMasked,
    };
    const before = await a.senderEvidence(q);
    assert.deepEqual(before.from, { ham: 2, spam: 1 });
    await t.store.close();
    // Back to schema 6: its indexes instead of version 7's, no preview (8), sent date (9),
    // recent_uid (10), threading index (11) or thread ids (12).
    const file = join(t.dir, 'accounts', 'rita', 'index.db');
    const db = new Database(file);
    db.exec('DROP INDEX messages_thread');
    db.exec('ALTER TABLE messages DROP COLUMN thread_id');
    db.exec('ALTER TABLE messages DROP COLUMN preview');
    db.exec('ALTER TABLE messages DROP COLUMN sent_date');
    db.exec('ALTER TABLE mailboxes DROP COLUMN recent_uid');
    for (const i of ['msgfrom', 'mailfrom', 'org', 'ip1', 'ip2', 'ip3', 'live']) {
      db.exec(`DROP INDEX messages_rep_${i}`);
    }
    db.exec(ACCOUNT_MIGRATIONS[4]!.sql);
    db.exec(ACCOUNT_MIGRATIONS[5]!.sql.replace(/CREATE TABLE message_dkim[^]*$/, ''));
    db.pragma('user_version = 6');
    db.close();

    const store = await Store.open({ dataDir: t.dir });
    try {
      a = await store.account('rita');
      const raw = rawDatabase(a);
      assert.equal(raw.pragma('user_version', { simple: true }), ACCOUNT_MIGRATIONS.length);
      const indexes = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'messages_%'")
        .pluck()
        .all() as string[];
      for (const gone of ['msgfrom', 'mailfrom_domain', 'msgfrom_org', 'ip1', 'ip2', 'ip3']) {
        assert.ok(!indexes.includes(`messages_${gone}`), gone);
      }
      for (const made of ['msgfrom', 'mailfrom', 'org', 'ip1', 'ip2', 'ip3', 'live']) {
        assert.ok(indexes.includes(`messages_rep_${made}`), made);
      }
      assert.deepEqual(await a.senderEvidence(q), before);
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('schema 9: messages stored before get their sent date the first time they are sorted', async () => {
  const t = await tempStore();
  try {
    let a = await t.store.account('sara');
    const dated = Buffer.from('Date: Tue, 01 Apr 2025 10:00:00 +0200\r\nSubject: a\r\n\r\nx\r\n');
    const undated = Buffer.from('Subject: b\r\n\r\nx\r\n');
    for (const [data, internalDate] of [
      [dated, Date.UTC(2026, 0, 1)],
      [undated, Date.UTC(2026, 0, 2)],
    ] as const) {
      const p = await t.store.prepareMessage(data);
      await a.addMessages('Inbox', [{ message: p, internalDate }]);
      await p.cleanup();
    }
    const stored = () =>
      rawDatabase(a).prepare('SELECT sent_date FROM messages ORDER BY uid').pluck().all();
    // Stored with the message: the Date header, or the internal date without one.
    const want = [Date.UTC(2025, 3, 1, 8), Date.UTC(2026, 0, 2)];
    assert.deepEqual(stored(), want);
    await t.store.close();
    const db = new Database(join(t.dir, 'accounts', 'sara', 'index.db'));
    db.exec('DROP INDEX messages_thread');
    db.exec('ALTER TABLE messages DROP COLUMN thread_id');
    db.exec('ALTER TABLE messages DROP COLUMN sent_date');
    db.exec('ALTER TABLE mailboxes DROP COLUMN recent_uid');
    db.pragma('user_version = 8');
    db.close();

    const store = await Store.open({ dataDir: t.dir });
    try {
      a = await store.account('sara');
      assert.deepEqual(stored(), [null, null]);
      const mb = (await a.mailbox('Inbox'))!;
      // THREAD works them out from the envelope (not in its covering index) and keeps
      // them; SORT then reads them.
      const threads = await a.threadRows(mb.id, [1, 2]);
      assert.deepEqual(
        threads.map((r) => r.sentDate),
        want,
      );
      assert.deepEqual(stored(), want, 'kept once worked out');
      // SORT works them out as well.
      rawDatabase(a).exec('UPDATE messages SET sent_date = NULL');
      const rows = await a.sortRows(mb.id, [1, 2], false);
      assert.deepEqual(
        rows.map((r) => r.sentDate),
        want,
      );
      assert.deepEqual(stored(), want);
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('schema 10: in mailboxes from before, no message is \\Recent', async () => {
  const t = await tempStore();
  try {
    let a = await t.store.account('rosa');
    for (let i = 0; i < 2; i++) {
      const p = await t.store.prepareMessage(sampleMessage(i));
      await a.addMessages('Inbox', [{ message: p }]);
      await p.cleanup();
    }
    const inbox = (await a.mailbox('Inbox'))!;
    // A new mailbox's messages are all unclaimed.
    assert.equal(await a.recentCount(inbox.id), 2);
    await t.store.close();
    const db = new Database(join(t.dir, 'accounts', 'rosa', 'index.db'));
    db.exec('DROP INDEX messages_thread');
    db.exec('ALTER TABLE messages DROP COLUMN thread_id');
    db.exec('ALTER TABLE mailboxes DROP COLUMN recent_uid');
    db.pragma('user_version = 9');
    db.close();
    const store = await Store.open({ dataDir: t.dir });
    try {
      a = await store.account('rosa');
      assert.equal(await a.recentCount(inbox.id), 0);
      assert.equal(a.recentFromSync(inbox.id), 3);
      const p = await store.prepareMessage(sampleMessage(3));
      await a.addMessages('Inbox', [{ message: p }]);
      await p.cleanup();
      assert.equal(await a.recentCount(inbox.id), 1);
      // The first claim gets it, the next none.
      assert.equal(a.claimRecentSync(inbox.id, 3), 3);
      assert.equal(a.claimRecentSync(inbox.id, 3), 4);
      assert.equal(await a.recentCount(inbox.id), 0);
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});

test('schema 12: messages stored before get thread ids at open, as if given then', async () => {
  const t = await tempStore();
  try {
    let a = await t.store.account('tess');
    const texts = [
      'Message-ID: <a@x>\r\n\r\na\r\n',
      'Message-ID: <b@x>\r\nIn-Reply-To: <a@x>\r\n\r\nb\r\n',
      'Message-ID: <c@x>\r\nReferences: <a@x> <b@x>\r\n\r\nc\r\n',
      'Message-ID: <d@x>\r\n\r\nd\r\n',
      'Message-ID: <a@x>\r\n\r\na again\r\n',
    ];
    for (const text of texts) {
      const p = await t.store.prepareMessage(Buffer.from(text));
      await a.addMessages('Inbox', [{ message: p }]);
      await p.cleanup();
    }
    const threads = () =>
      rawDatabase(a).prepare('SELECT thread_id FROM messages ORDER BY id').pluck().all();
    const given = threads();
    const first = (given as number[])[0]!;
    assert.deepEqual(given, [first, first, first, first + 3, first]);
    await t.store.close();
    const db = new Database(join(t.dir, 'accounts', 'tess', 'index.db'));
    db.exec('ALTER TABLE messages DROP COLUMN thread_id');
    db.pragma('user_version = 11');
    db.close();
    const store = await Store.open({ dataDir: t.dir });
    try {
      a = await store.account('tess');
      assert.deepEqual(threads(), given);
      const ids = await a.threadIds([first, first + 3]);
      assert.deepEqual([...ids.values()], [first, first + 3]);
    } finally {
      await store.close();
    }
  } finally {
    await t.cleanup();
  }
});
