// A kept reject the user takes out of the Rejects mailbox (moved or copied) is theirs
// again: its sender's signals count for reputation and make the sender known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempStore, sampleMessage } from './testutil.js';
import { Flag } from './flags.js';
import type { DeliveryFacts } from './rows.js';
import { KNOWN_ORG_SQL } from './outgoing.js';
import { rawDatabase } from './testing.js';

const FACTS: DeliveryFacts = {
  remoteIPMasked: ['192.0.2.1', '192.0.2.0', '192.0.0.0'],
  mailFromDomain: 'good.example',
  mailFromValidated: true,
  msgFromLocalpart: 'alice',
  msgFromDomain: 'good.example',
  msgFromOrgDomain: 'good.example',
  msgFromValidated: true,
  dkimDomains: ['good.example'],
  isReject: true,
};

test('rejects moved or copied out of Rejects count again; those left there never do', async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('rej');
    await a.createMailbox('Rejects');
    const rejects = (await a.mailbox('Rejects'))!.id;
    const inbox = (await a.mailbox('Inbox'))!.id;
    for (let i = 0; i < 2; i++) {
      const p = await t.store.prepareMessage(sampleMessage(i));
      try {
        await a.addMessages('Rejects', [{ message: p, flags: Flag.Seen, facts: FACTS }]);
      } finally {
        await p.cleanup();
      }
    }
    const q = {
      recent: 10,
      fromAddress: { localpart: 'alice', domain: 'good.example' },
      dkimDomains: ['good.example'],
      mailFromDomain: 'good.example',
      fromOrgDomain: 'good.example',
      ipMasked: ['192.0.2.1', '192.0.2.0', '192.0.0.0'] as const,
    };
    assert.deepEqual((await a.senderEvidence(q)).from, { ham: 0, spam: 0 });
    assert.equal(await a.knownSender('alice', 'good.example'), false);
    assert.equal(await a.knownOrgDomain('good.example'), false);
    const [first, second] = await a.uids(rejects);
    await a.moveMessages(rejects, [first!], inbox);
    assert.deepEqual((await a.senderEvidence(q)).from, { ham: 1, spam: 0 });
    assert.equal(await a.knownSender('alice', 'good.example'), true);
    assert.equal(await a.knownOrgDomain('good.example'), true);
    // A copy counts; the original left in Rejects still does not.
    await a.copyMessages(rejects, [second!], inbox);
    assert.deepEqual((await a.senderEvidence(q)).from, { ham: 2, spam: 0 });
    const [left] = await a.messages(rejects, [second!]);
    assert.equal(left!.isReject, true);
  } finally {
    await t.cleanup();
  }
});

test('whether an organisation is known is answered from an index, not a scan', async () => {
  const t = await tempStore();
  try {
    const a = await t.store.account('plan');
    const plan = rawDatabase(a)
      .prepare(`EXPLAIN QUERY PLAN ${KNOWN_ORG_SQL}`)
      .all('example.com', Flag.Junk) as { detail: string }[];
    assert.match(plan[0]!.detail, /USING COVERING INDEX messages_rep_org/, JSON.stringify(plan));
  } finally {
    await t.cleanup();
  }
});
