// Reputation through the SMTP server: sequences of deliveries and of what the user does
// with the messages (read, mark $Junk or $NotJunk, move into Junk), each decision and
// reason asserted; the Rejects mailbox that keeps what was refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DOMAINS,
  ZONE,
  message,
  reasonsIn,
  send,
  smtp,
  textOf,
  withServer,
  type SmtpTestServer,
} from './harness.js';
import { Flag, type Account } from '../../src/store/index.js';
import type { MockZone } from '../../src/dns/index.js';

/** good.example publishes SPF for the client (127.0.0.1) and DMARC: its From passes. */
const SENDERS: MockZone = {
  ...ZONE,
  a: {
    ...ZONE.a,
    'good.example': ['192.0.2.20'],
    'plain.example': ['192.0.2.21'],
    'other.example': ['192.0.2.22'],
  },
  txt: {
    'good.example': ['v=spf1 ip4:127.0.0.1 -all'],
    '_dmarc.good.example': ['v=DMARC1; p=none'],
  },
};

const DONE = ['250 2.0.0 message accepted'];
const REJECTED = ['451 4.3.0 error processing'];

const WITH_REJECTS = DOMAINS.replace(
  '[accounts.mjl]\ndomain = "example.org"\n',
  '[accounts.mjl]\ndomain = "example.org"\nrejects_mailbox = "Rejects"\n',
);

async function withSenders(fn: (s: SmtpTestServer, a: Account) => Promise<void>) {
  await withServer({ domains: WITH_REJECTS }, async (s) => {
    s.resolver.setZone(SENDERS);
    await fn(s, await s.store.account('mjl'));
  });
}

const reasons = (a: Account, name: string) => reasonsIn(a, name);

async function flag(a: Account, name: string, flags: number, mode: 'add' | 'remove' = 'add') {
  const mb = (await a.mailbox(name))!;
  await a.storeFlags(mb.id, await a.uids(mb.id), { mode, flags });
}

test('reputation: the From address, read, then marked junk, then not junk', async () => {
  await withSenders(async (s, a) => {
    const c = await smtp(s);
    const from = 'alice@good.example';
    // Each message once, so that sending it again is the same message (and Message-ID).
    const texts = new Map<number, string>();
    const mail = (n: number) => {
      if (!texts.has(n)) texts.set(n, message({ from, subject: `m${n}` }));
      return texts.get(n)!;
    };
    // Nothing known: delivered without bad signals.
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], mail(1))), DONE);
    // Unread, it says nothing yet.
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], mail(2))), DONE);
    assert.deepEqual(await reasons(a, 'Inbox'), ['no-bad-signals', 'no-bad-signals']);
    // Read: the address is wanted.
    await flag(a, 'Inbox', Flag.Seen);
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], mail(3))), DONE);
    assert.equal((await reasons(a, 'Inbox'))[2], 'reputation-from');
    // Marked $Junk: refused, generically, and kept once in Rejects.
    await flag(a, 'Inbox', Flag.Junk);
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], mail(4))), REJECTED);
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], mail(4))), REJECTED);
    assert.deepEqual(await reasons(a, 'Rejects'), ['reputation-from']);
    const rejects = (await a.mailbox('Rejects'))!;
    const [kept] = await a.messages(rejects.id, await a.uids(rejects.id));
    assert.equal(kept!.flags & Flag.Seen, Flag.Seen);
    // The user changes their mind: $NotJunk. The message comes again and is accepted;
    // its copy in Rejects goes.
    await flag(a, 'Inbox', Flag.Junk, 'remove');
    await flag(a, 'Inbox', Flag.NotJunk);
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], mail(4))), DONE);
    assert.equal((await reasons(a, 'Inbox')).at(-1), 'reputation-from');
    assert.deepEqual(await reasons(a, 'Rejects'), []);
    c.close();
  });
});

test('reputation: messages moved into Junk count against the network; a reply is let in', async () => {
  await withSenders(async (s, a) => {
    const c = await smtp(s);
    // Unverified senders (no SPF, no DKIM) from the same IP address.
    for (const n of [1, 2]) {
      const m = message({ from: `spam${n}@plain.example`, subject: `s${n}` });
      assert.deepEqual(textOf(await send(c, `x${n}@plain.example`, ['mjl@example.org'], m)), DONE);
    }
    const inbox = (await a.mailbox('Inbox'))!;
    await a.moveMessages(inbox.id, await a.uids(inbox.id), (await a.mailbox('Junk'))!.id);
    const third = message({ from: 'spam3@other.example', subject: 's3' });
    assert.deepEqual(
      textOf(await send(c, 'y@other.example', ['mjl@example.org'], third)),
      REJECTED,
    );
    assert.deepEqual(await reasons(a, 'Rejects'), ['reputation-ip1']);
    // Someone the user wrote to gets through even from that address.
    await a.recordOutgoing(['bob@good.example']);
    const reply = message({ from: 'bob@good.example', subject: 'Re: lunch' });
    assert.deepEqual(textOf(await send(c, 'bob@good.example', ['mjl@example.org'], reply)), DONE);
    assert.deepEqual(await reasons(a, 'Inbox'), ['reputation-sent-to']);
    // Another account has its own history: the same sender is new there.
    assert.deepEqual(
      textOf(await send(c, 'y@other.example', ['limited@example.org'], third)),
      DONE,
    );
    c.close();
  });
});

test('reputation: the Rejects mailbox stays within its limits', async () => {
  await withSenders(async (s, a) => {
    const c = await smtp(s);
    for (const n of [1, 2]) {
      const m = message({ from: `spam${n}@plain.example` });
      await send(c, `x${n}@plain.example`, ['mjl@example.org'], m);
    }
    const inbox = (await a.mailbox('Inbox'))!;
    await a.moveMessages(inbox.id, await a.uids(inbox.id), (await a.mailbox('Junk'))!.id);
    for (let n = 3; n < 8; n++) {
      const m = message({ from: `spam${n}@other.example`, subject: `s${n}` });
      assert.deepEqual(textOf(await send(c, 'y@other.example', ['mjl@example.org'], m)), REJECTED);
    }
    const rejects = (await a.mailbox('Rejects'))!;
    assert.equal((await a.uids(rejects.id)).length, 5);
    // Tidying for a 6th with room for 3 keeps the newest 2.
    const removed = await a.tidyRejects(rejects.id, 100, {
      maxAgeMs: 1e12,
      maxMessages: 3,
      maxBytes: 1e9,
    });
    assert.equal(removed, 3);
    const left = await a.messages(rejects.id, await a.uids(rejects.id));
    assert.deepEqual(
      left.map((m) => m.uid),
      [4, 5],
    );
    c.close();
  });
});
