// An account's junk filter end to end: learning from messages, classifying new ones,
// idempotent training by key, untraining, what stored messages teach, and retraining an
// account from its mailboxes and flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Flag, type Account, type Store } from '../store/index.js';
import { tempStore } from '../store/testutil.js';
import { JunkFilter, contentKey, messageKey, retrain, trainingClass } from './filter.js';

const HAM = [
  'Can we move the project meeting to Thursday afternoon? The agenda is attached.',
  'Here are the minutes of the project meeting; please review the agenda items.',
  'The build is green again, the release notes for the project are in the wiki.',
  'Thursday works for me, I will bring the agenda and the release notes.',
  'Lunch after the meeting? The team wants to discuss the release plan.',
  'Thanks for the review, I fixed the build and updated the wiki page.',
];
const SPAM = [
  'WINNER! Claim your cash prize now, click here to claim the money today.',
  'Cheap pills, no prescription, click here for the best price on pills.',
  'You have won a cash prize! Send your bank details to claim the money.',
  'Make money fast from home, click here, cash guaranteed, no risk.',
  'Lowest price pills, order now and claim your free bonus cash.',
  'Urgent: your prize money is waiting, click here to claim your cash.',
];

const mail = (from: string, subject: string, body: string) =>
  Buffer.from(`From: ${from}\r\nTo: me@example.com\r\nSubject: ${subject}\r\n\r\n${body}\r\n`);
const ham = HAM.map((b, i) => mail('colleague@work.example', `project ${i}`, b));
const spam = SPAM.map((b, i) => mail('promo@offers.example', `offer ${i}`, b));

async function withStore(fn: (store: Store, account: Account) => Promise<void>) {
  const t = await tempStore({
    initialMailboxes: () => ({ archive: 'Archive', junk: 'Spam', trash: 'Trash' }),
  });
  try {
    await fn(t.store, await t.store.account('alice'));
  } finally {
    await t.cleanup();
  }
}

test('learns from messages and classifies new ones, with the deciding words', async () => {
  await withStore(async (store) => {
    const f = await JunkFilter.open(store, 'alice');
    assert.deepEqual(await f.classify(spam[0]!), { probability: 0.5, spam: false, words: [] });
    await f.train([
      ...ham.map((m) => ({ key: contentKey(m), spam: false, message: m })),
      ...spam.map((m) => ({ key: contentKey(m), spam: true, message: m })),
    ]);
    const bad = await f.classify(
      mail('promo@offers.example', 'cash', 'Claim your free cash prize, click here.'),
    );
    assert.equal(bad.spam, true, JSON.stringify(bad));
    assert.ok(
      bad.words.some((w) => /^(click|here|click here)$/.test(w.token) && w.probability >= 0.85),
    );
    assert.ok(bad.words.some((w) => w.token === 'from:domain:offers.example'));
    const good = await f.classify(
      mail('colleague@work.example', 'agenda', 'The agenda for the project meeting.'),
    );
    assert.equal(good.spam, false);
    assert.ok(good.probability < 0.05, String(good.probability));
    // The threshold comes from the settings.
    const strict = await JunkFilter.open(store, 'alice', { threshold: 0.01 });
    assert.equal(
      (await strict.classify(mail('x@y.example', 'agenda', 'Cash prize meeting'))).spam,
      true,
    );
  });
});

test('Chinese and Japanese text is learned by its pairs of characters', async () => {
  await withStore(async (store) => {
    const f = await JunkFilter.open(store, 'alice');
    // The same sender and subject for all: only the body tells them apart.
    const cjk = (body: string) =>
      Buffer.from(
        `From: x@mail.example\r\nSubject: hi\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`,
      );
    const hamBodies = [
      '明天的会议改到下午三点',
      '会议纪要已经发到群里了',
      '项目进度报告请查收',
      '明日の会議は午後です',
    ];
    const spamBodies = [
      '免费领取现金大奖点击链接',
      '恭喜您中奖了免费领取',
      '低价发票代开免费咨询',
      '現金プレゼント無料で今すぐ',
    ];
    await f.train([
      ...hamBodies.map((b) => ({ key: b, spam: false, message: cjk(b) })),
      ...spamBodies.map((b) => ({ key: b, spam: true, message: cjk(b) })),
    ]);
    const bad = await f.classify(cjk('点击链接免费领取大奖'));
    assert.equal(bad.spam, true, JSON.stringify(bad));
    assert.ok(bad.words.some((w) => w.token === '免费'));
    const good = await f.classify(cjk('下午的会议纪要'));
    assert.equal(good.spam, false, JSON.stringify(good));
  });
});

test('training by key is idempotent; untraining takes it back', async () => {
  await withStore(async (store) => {
    const f = await JunkFilter.open(store, 'alice');
    const m = spam[0]!;
    const item = { key: contentKey(m), spam: true, message: m };
    assert.deepEqual(await f.train([item]), { added: 1, changed: 0, unchanged: 0 });
    const once = await f.stats();
    assert.deepEqual(await f.train([item, item]), { added: 0, changed: 0, unchanged: 2 });
    assert.deepEqual(await f.stats(), once);
    assert.deepEqual(await f.train([{ ...item, spam: false }]), {
      added: 0,
      changed: 1,
      unchanged: 0,
    });
    const flipped = await f.stats();
    assert.equal(flipped.hamMessages, 1);
    assert.equal(flipped.spamMessages, 0);
    assert.equal(flipped.tokens, once.tokens);
    assert.equal(await f.untrain([{ key: item.key, message: m }]), 1);
    const empty = await f.stats();
    assert.equal(empty.tokens, 0);
    assert.equal(empty.hamMessages, 0);
    assert.equal(empty.trainedMessages, 0);
    // Tokens computed once can be given instead of the message.
    await f.train([{ key: 'k', spam: true, tokens: f.tokens(m) }]);
    assert.equal((await f.stats()).tokens, once.tokens);
  });
});

test('what a stored message teaches', () => {
  const mb = (name: string, specialUse: string | null = null) => ({
    id: 1,
    name,
    uidvalidity: 1,
    uidnext: 1,
    modseq: 1,
    createseq: 1,
    specialUse,
    keywords: [],
    counts: { total: 0, deleted: 0, unseen: 0, size: 0 },
  });
  const s = { ham_mailboxes: ['Inbox', '\\Archive'], spam_mailboxes: ['\\Junk', 'Bulk'] };
  const cls = (flags: number, box: ReturnType<typeof mb>) => trainingClass({ flags }, box, s);
  assert.equal(cls(0, mb('Inbox')), 'ham');
  assert.equal(cls(0, mb('Old', '\\Archive')), 'ham');
  assert.equal(cls(0, mb('Spam', '\\Junk')), 'spam');
  assert.equal(cls(0, mb('Bulk')), 'spam');
  assert.equal(cls(0, mb('Trash', '\\Trash')), null);
  assert.equal(cls(0, mb('Archive')), null, 'by role, not by name');
  assert.equal(cls(Flag.Junk, mb('Inbox')), 'spam');
  assert.equal(cls(Flag.Junk, mb('Trash', '\\Trash')), 'spam');
  assert.equal(cls(Flag.NotJunk, mb('Spam', '\\Junk')), 'ham');
  assert.equal(cls(Flag.NotJunk | Flag.Junk, mb('Inbox')), 'ham', 'both: the mailbox decides');
  assert.equal(cls(Flag.Seen, mb('Spam', '\\Junk')), 'spam');
});

test('retraining an account: forgets, then learns its mailboxes and flags', async () => {
  await withStore(async (store, account) => {
    const add = async (mailbox: string, data: Buffer, flags = 0) => {
      const p = await store.prepareMessage(data);
      const r = await account.addMessages(mailbox, [{ message: p, flags }]);
      await p.cleanup();
      return r.messages[0]!;
    };
    for (const m of ham.slice(0, 3)) await add('Inbox', m);
    for (const m of ham.slice(3, 5)) await add('Archive', m);
    await add('Inbox', spam[5]!, Flag.Junk);
    for (const m of spam.slice(0, 4)) await add('Spam', m);
    const rescued = await add('Spam', ham[5]!, Flag.NotJunk);
    await add('Trash', spam[4]!);

    const f = await JunkFilter.open(store, 'alice');
    await f.train([{ key: 'stale', spam: true, message: mail('a@b.example', 'x', 'stale') }]);
    const r = await retrain(account, f);
    assert.deepEqual(r, { ham: 6, spam: 5, skipped: 1, mailboxes: 4 });
    const s = await f.stats();
    assert.equal(s.hamMessages, 6);
    assert.equal(s.spamMessages, 5);
    assert.equal(s.trainedMessages, 11);
    assert.equal(await f.db.trainedAs('stale'), null);
    assert.equal(await f.db.trainedAs(messageKey(rescued)), 'ham');
    // Retraining again changes nothing.
    await retrain(account, f);
    assert.deepEqual(await f.stats(), s);
    const verdict = await f.classify(mail('promo@offers.example', 'prize', 'Claim cash now'));
    assert.equal(verdict.spam, true);
  });
});
