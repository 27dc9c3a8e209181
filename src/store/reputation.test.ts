// The evidence queries: what counts as junk and as wanted, and that every source is
// answered through an index (a scan would grow with the account).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempStore, sampleMessage } from './testutil.js';
import { rawDatabase } from './testing.js';
import { SOURCE_CONDITIONS, dkimSql, sourceCountSql } from './reputation.js';
import { Flag } from './flags.js';
import type { DeliveryFacts } from './rows.js';

const FACTS: DeliveryFacts = {
  remoteIPMasked: ['192.0.2.1', '192.0.2.0', '192.0.0.0'],
  mailFromDomain: 'good.example',
  mailFromValidated: true,
  msgFromLocalpart: 'alice',
  msgFromDomain: 'good.example',
  msgFromOrgDomain: 'good.example',
  msgFromValidated: true,
  dkimDomains: ['Good.Example'],
};

let n = 0;

test("junk and wanted: user actions count, the server's own Junk placement does not", async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('rep');
    await a.createMailbox('Junk', { specialUse: '\\Junk' });
    const add = async (mailbox: string, flags = 0, facts: DeliveryFacts = FACTS) => {
      const p = await t.store.prepareMessage(sampleMessage(++n));
      try {
        return (await a.addMessages(mailbox, [{ message: p, flags, facts }])).messages[0]!;
      } finally {
        await p.cleanup();
      }
    };
    const q = {
      recent: 10,
      fromAddress: { localpart: 'ALICE', domain: 'good.example' },
      dkimDomains: ['good.example'],
      mailFromDomain: 'good.example',
      fromOrgDomain: 'good.example',
      ipMasked: ['192.0.2.1', '192.0.2.0', '192.0.0.0'] as const,
    };
    const inbox = (await a.mailbox('Inbox'))!.id;
    const junk = (await a.mailbox('Junk'))!.id;
    await add('Inbox'); // unread: nothing yet
    await add('Junk'); // put there by the server: nothing yet
    let e = await a.senderEvidence(q);
    assert.deepEqual(e.from, { ham: 0, spam: 0 });
    assert.deepEqual(e.ip, [
      { ham: 0, spam: 0 },
      { ham: 0, spam: 0 },
      { ham: 0, spam: 0 },
    ]);
    await add('Inbox', Flag.Seen); // read: wanted
    const moved = await add('Inbox');
    await a.moveMessages(inbox, [moved.uid], junk); // moved into Junk: junk
    // A message remembers where delivery put it, wherever it moves.
    const [there] = await a.messages(junk, (await a.uids(junk)).slice(-1));
    assert.deepEqual(
      [there!.id, there!.mailboxId, there!.mailboxDestinedId],
      [moved.id, junk, inbox],
    );
    await add('Junk', Flag.NotJunk); // in Junk, but $NotJunk: wanted
    await add('Inbox', Flag.Junk | Flag.Seen); // $Junk wins over read
    await add('Inbox', Flag.Seen, { ...FACTS, isReject: true }); // a kept reject: never
    e = await a.senderEvidence(q);
    const want = { ham: 2, spam: 2 };
    assert.deepEqual(e.from, want);
    assert.deepEqual(e.dkim, want, 'dkim domains follow moves');
    assert.deepEqual(e.mailFrom, want);
    assert.deepEqual(e.orgDomain, want);
    assert.deepEqual(e.ip, [want, want, want]);
    assert.equal(e.sentTo, false);
    // Once a source decides, the broader ones are not looked up.
    const seen: string[] = [];
    const first = await a.senderEvidence({
      ...q,
      decides: (source) => {
        seen.push(source);
        return source === 'mailFrom';
      },
    });
    assert.deepEqual(seen, ['from', 'dkim', 'mailFrom']);
    assert.deepEqual([first.orgDomain, first.ip], [null, [null, null, null]]);
    await a.recordOutgoing(['Alice@Good.example']);
    assert.equal((await a.senderEvidence(q)).sentTo, true);
    // Copies carry their DKIM domains: an unread copy says nothing, a read one counts.
    await a.createMailbox('Archive');
    const archive = (await a.mailbox('Archive'))!.id;
    const [unread, read] = await a.uids(inbox);
    await a.copyMessages(inbox, [unread!], archive);
    assert.deepEqual((await a.senderEvidence(q)).dkim, { ham: 2, spam: 2 });
    await a.copyMessages(inbox, [read!], archive);
    assert.deepEqual((await a.senderEvidence(q)).dkim, { ham: 3, spam: 2 });
    // Only the most recent messages count.
    for (let i = 0; i < 10; i++) await add('Inbox', Flag.Seen);
    assert.deepEqual((await a.senderEvidence(q)).from, { ham: 10, spam: 0 });
    // Unverified facts are no evidence for the verified sources.
    const other = { ...q, mailFromDomain: 'bad.example', fromOrgDomain: 'bad.example' };
    await add('Inbox', Flag.Seen, {
      ...FACTS,
      mailFromDomain: 'bad.example',
      mailFromValidated: false,
      msgFromOrgDomain: 'bad.example',
      msgFromValidated: false,
    });
    const e2 = await a.senderEvidence(other);
    assert.deepEqual(
      [e2.mailFrom, e2.orgDomain],
      [
        { ham: 0, spam: 0 },
        { ham: 0, spam: 0 },
      ],
    );
  } finally {
    await t.cleanup();
  }
});

test('every source is one lookup in a covering index, never a scan of the messages', async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('plan');
    const db = rawDatabase(a);
    const plan = (sql: string, ...args: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as { detail: string }[]).map(
        (r) => r.detail,
      );
    const expected: Record<keyof typeof SOURCE_CONDITIONS, string> = {
      from: 'messages_rep_msgfrom',
      mailFrom: 'messages_rep_mailfrom',
      orgDomain: 'messages_rep_org',
      ip1: 'messages_rep_ip1',
      ip2: 'messages_rep_ip2',
      ip3: 'messages_rep_ip3',
    };
    for (const [k, cond] of Object.entries(SOURCE_CONDITIONS)) {
      const args = cond.split('?').length - 1;
      const p = plan(sourceCountSql(cond, 10), 1, ...Array(args).fill('x'));
      const index = expected[k as keyof typeof SOURCE_CONDITIONS];
      // Covering: the flags and mailboxes come from the index, no message row is read.
      assert.ok(
        p.some((d) => d.includes(`USING COVERING INDEX ${index} (`)),
        `${k}: ${p.join('; ')}`,
      );
      assert.ok(!p.some((d) => /^SCAN m\b/.test(d)), `${k} scans: ${p.join('; ')}`);
      assert.ok(!p.some((d) => d.includes('TEMP B-TREE')), `${k} sorts: ${p.join('; ')}`);
    }
    // DKIM: from the domain's newest message_dkim entries, each message by its id.
    const d = plan(dkimSql(10), 1, 'x');
    assert.deepEqual(d, [
      'SEARCH d USING COVERING INDEX message_dkim_domain (domain=?)',
      'SEARCH m USING COVERING INDEX messages_rep_live (id=?)',
    ]);
    // Whether a sender is known uses the From index too.
    const known = plan(
      `SELECT 1 FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
       WHERE m.msgfrom_domain = ? AND m.msgfrom_localpart = ? COLLATE NOCASE
         AND m.expunged = 0 AND m.is_reject = 0 AND b.special_use IS NOT '\\Junk'
         AND (m.flags & ?) = 0 LIMIT 1`,
      'x',
      'y',
      64,
    );
    assert.ok(
      known.some((x) => x.includes('USING COVERING INDEX messages_rep_msgfrom (')),
      known.join('; '),
    );
  } finally {
    await t.cleanup();
  }
});
