// The content filter in the delivery decision, and its training from what the user
// does: a trained account refuses a message that reads like its junk and accepts one
// that reads like its wanted mail (saying how likely junk it was); marking a message
// $Junk, moving it into Junk, or taking it out of Rejects trains the filter, and mail
// the server itself put in Junk does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DOMAINS,
  ZONE,
  message,
  send,
  smtp,
  storedHeads,
  textOf,
  withServer,
  type SmtpTestServer,
} from './harness.js';
import { JunkFilter, JunkTrainer, messageKey } from '../../src/junk/index.js';
import { Flag, type Account } from '../../src/store/index.js';
import { createLogger } from '../../src/log/index.js';
import type { MockZone } from '../../src/dns/index.js';

const WITH_REJECTS = DOMAINS.replace(
  '[accounts.mjl]\ndomain = "example.org"\n',
  '[accounts.mjl]\ndomain = "example.org"\nrejects_mailbox = "Rejects"\n',
);

/** The client has a forward-confirmed name (iprev pass). */
const NAMED: MockZone = {
  ...ZONE,
  a: { ...ZONE.a, 'client.example': ['127.0.0.1'] },
  ptr: { '127.0.0.1': ['client.example'] },
};

const SPAM = [
  'Cheap pills online, buy viagra now, limited offer, click here to order',
  'Win a free prize today, claim your casino bonus, click the link now',
  'Lose weight fast with our miracle pills, order now, free shipping offer',
];
const HAM = [
  'The project meeting moves to Thursday; the agenda and the minutes are attached',
  'Could you review the release notes before the meeting on Friday, thanks',
  'Lunch with the team after the review? The agenda is short this week',
];

const text = (subject: string, body: string) =>
  Buffer.from(message({ from: 'someone@sender.example', subject, body }));

async function train(s: SmtpTestServer) {
  const f = await JunkFilter.open(s.store, 'mjl');
  const items = [];
  for (let i = 0; i < 12; i++) {
    items.push({ key: `spam${i}`, spam: true, message: text(`offer ${i}`, SPAM[i % 3]!) });
    items.push({ key: `ham${i}`, spam: false, message: text(`meeting ${i}`, HAM[i % 3]!) });
  }
  await f.train(items);
  return f;
}

const reason = async (a: Account, name: string) =>
  (await storedHeads(a, name)).map((h) =>
    [
      /^X-Tidings-Reason: ([^;\r]*)/m.exec(h.text)?.[1],
      /^X-Tidings-Junk: ([^\r]*)/m.exec(h.text)?.[1],
    ]
      .filter(Boolean)
      .join(' | '),
  );

test('junk filter: trained, it refuses junk-like mail and accepts wanted-like mail', async () => {
  await withServer({ domains: WITH_REJECTS, verification: { jitter: () => 0 } }, async (s) => {
    s.resolver.setZone(NAMED);
    await train(s);
    const a = await s.store.account('mjl');
    const c = await smtp(s);
    const spam = message({ from: 'x@sender.example', subject: 'offer', body: SPAM[0]! });
    assert.deepEqual(textOf(await send(c, 'x@sender.example', ['mjl@example.org'], spam)), [
      '451 4.3.0 error processing',
    ]);
    assert.deepEqual(await reason(a, 'Rejects'), ['junk-content']);
    const ham = message({ from: 'y@sender.example', subject: 'meeting', body: HAM[1]! });
    assert.deepEqual(textOf(await send(c, 'y@sender.example', ['mjl@example.org'], ham)), [
      '250 2.0.0 message accepted',
    ]);
    const [got] = await reason(a, 'Inbox');
    assert.match(got!, /^no-bad-signals \| probability 0\.0\d\d$/);
    // Without a forward-confirmed name the threshold is strict.
    s.resolver.setZone(ZONE);
    assert.deepEqual(textOf(await send(c, 'x@sender.example', ['mjl@example.org'], spam)), [
      '451 4.3.0 error processing',
    ]);
    c.close();
  });
});

test('junk filter: a high threshold plus the jitter still refuses sure junk', async () => {
  const HIGH = WITH_REJECTS.replace(
    'rejects_mailbox = "Rejects"\n',
    'rejects_mailbox = "Rejects"\njunk_filter = { threshold = 0.99 }\n',
  );
  // The jitter at its top: 0.99 + 0.05 would be above any probability.
  await withServer({ domains: HIGH, verification: { jitter: () => 1 } }, async (s) => {
    s.resolver.setZone(NAMED);
    await train(s);
    const c = await smtp(s);
    const spam = message({ from: 'x@sender.example', subject: 'offer', body: SPAM[0]! });
    assert.deepEqual(textOf(await send(c, 'x@sender.example', ['mjl@example.org'], spam)), [
      '451 4.3.0 error processing',
    ]);
    c.close();
  });
});

test('junk filter: an untrained filter says nothing, even where the threshold is strict', async () => {
  await withServer({ verification: { jitter: () => 0 } }, async (s) => {
    const c = await smtp(s);
    const spam = message({ from: 'x@sender.example', subject: 'offer', body: SPAM[0]! });
    assert.deepEqual(textOf(await send(c, 'x@sender.example', ['mjl@example.org'], spam)), [
      '250 2.0.0 message accepted',
    ]);
    c.close();
  });
});

test('junk filter: the user trains it by flags and moves, not the server by its placement', async () => {
  await withServer({}, async (s) => {
    const a = await s.store.account('mjl');
    const trainer = await JunkTrainer.start(s.store, a, {}, createLogger({ level: 'error' }));
    const f = await JunkFilter.open(s.store, 'mjl');
    try {
      const c = await smtp(s);
      for (const n of [1, 2, 3]) {
        const m = message({ from: `p${n}@sender.example`, subject: `s${n}`, body: SPAM[n - 1]! });
        await send(c, 'x@sender.example', ['mjl@example.org'], m);
      }
      c.close();
      const inbox = (await a.mailbox('Inbox'))!;
      const junk = (await a.mailboxBySpecialUse('\\Junk'))!;
      const [m1, m2, m3] = await a.messages(inbox.id, await a.uids(inbox.id));
      // Delivered into the Inbox: nothing learnt yet.
      await trainer.settled();
      assert.equal(await f.db.trainedAs(messageKey(m1!)), null);
      // $Junk on the first, a move into Junk of the second.
      await a.storeFlags(inbox.id, [m1!.uid], { mode: 'add', flags: Flag.Junk });
      await a.moveMessages(inbox.id, [m2!.uid], junk.id);
      await trainer.settled();
      assert.equal(await f.db.trainedAs(messageKey(m1!)), 'spam');
      assert.equal(await f.db.trainedAs(messageKey(m2!)), 'spam');
      assert.equal(await f.db.trainedAs(messageKey(m3!)), null);
      // A change of mind: moved back out of Junk, and $NotJunk on the first.
      const [moved] = await a.messages(junk.id, await a.uids(junk.id));
      await a.moveMessages(junk.id, [moved!.uid], inbox.id);
      await a.storeFlags(inbox.id, [m1!.uid], { mode: 'set', flags: Flag.NotJunk });
      await trainer.settled();
      assert.equal(await f.db.trainedAs(messageKey(m1!)), 'ham');
      assert.equal(await f.db.trainedAs(messageKey(m2!)), 'ham');
      const stats = await f.stats();
      assert.deepEqual([stats.hamMessages, stats.spamMessages], [2, 0]);
    } finally {
      trainer.close();
    }
  });
});
