import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHeaderBlock, parseMessage } from '../message/index.js';
import { ORIGINAL, T0, harness, inboxDSNs, mailboxContents, msg } from './testutil.js';
import type { AttemptResult, QueueMessage } from './types.js';

const PREFIX = Buffer.from(
  'DKIM-Signature: v=1; d=example.com; s=s1; b=abc\r\nReceived: from client by mail.example.com\r\n',
);

test('local delivery stores Delivered-To, Return-Path, the queue prefix and the data', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const delivered: [QueueMessage, AttemptResult][] = [];
  h.q.on('delivered', (m, r) => delivered.push([m, r]));
  const [m] = await h.submit(ORIGINAL, [
    msg('Bob+news@Example.com', { prefix: PREFIX, from: 'carol@example.com' }),
  ]);
  await h.q.runOnce();
  const got = await mailboxContents(h.store, 'bob');
  assert.deepEqual(got, [
    Buffer.concat([
      Buffer.from('Delivered-To: Bob+news@Example.com\r\nReturn-Path: <carol@example.com>\r\n'),
      PREFIX,
      ORIGINAL,
    ]),
  ]);
  // The stored structure covers prefix + file; the envelope comes from the message.
  const acc = await h.store.account('bob');
  const mb = await acc.mailbox('Inbox');
  const [stored] = await acc.messages(mb?.id ?? 0, await acc.uids(mb?.id ?? 0));
  assert.equal(stored?.messageId, 'orig-1@example.com');
  assert.deepEqual(stored?.part, parseMessage(got[0] as Buffer));
  assert.equal(delivered.length, 1);
  assert.equal(delivered[0]?.[0].id, m?.id);
  assert.equal(delivered[0]?.[0].attempts, 1);
  assert.deepEqual(delivered[0]?.[1], {
    start: new Date(T0),
    duration: 0,
    success: true,
    code: 250,
    secode: '2.0.0',
    error: '',
    host: '',
  });
  assert.deepEqual(h.q.list(), []);
  // No DSN for a plain success.
  assert.equal((await inboxDSNs(h.store, 'carol')).length, 0);
});

test('null sender and quoted localparts in the delivery prefix', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('bob@example.com', { from: null, prefix: Buffer.alloc(0) })]);
  await h.q.runOnce();
  await h.submit(ORIGINAL, [
    msg('bob@example.com', { from: 'john doe@remote.example', prefix: Buffer.alloc(0) }),
  ]);
  await h.q.runOnce();
  assert.deepEqual(
    (await mailboxContents(h.store, 'bob')).map((b) =>
      b.subarray(0, b.indexOf('From:')).toString(),
    ),
    [
      'Delivered-To: bob@example.com\r\nReturn-Path: <>\r\n',
      'Delivered-To: bob@example.com\r\nReturn-Path: <"john doe"@remote.example>\r\n',
    ],
  );
});

test('alias delivery: one copy per member mailbox, none for the sender or explicit recipients', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  // alice sends to the alias and to carol directly: alice (sender) and carol (explicit)
  // get no alias copy; bob gets one in Inbox and one in Lists (two destinations).
  await h.submit(ORIGINAL, [
    msg('team@example.com', { prefix: Buffer.alloc(0) }),
    msg('carol@example.com', { prefix: Buffer.alloc(0) }),
  ]);
  await h.q.runOnce();
  const head = (b: Buffer) => b.subarray(0, b.indexOf('From:')).toString();
  assert.deepEqual((await mailboxContents(h.store, 'bob')).map(head), [
    'Delivered-To: bob@example.com\r\nDelivered-To: team@example.com\r\nReturn-Path: <alice@example.com>\r\n',
  ]);
  assert.deepEqual((await mailboxContents(h.store, 'bob', 'Lists')).map(head), [
    'Delivered-To: bob.lists@example.com\r\nDelivered-To: team@example.com\r\nReturn-Path: <alice@example.com>\r\n',
  ]);
  assert.deepEqual((await mailboxContents(h.store, 'carol')).map(head), [
    'Delivered-To: carol@example.com\r\nReturn-Path: <alice@example.com>\r\n',
  ]);
  assert.deepEqual(await mailboxContents(h.store, 'alice'), []);
  assert.deepEqual(h.q.list(), []);
});

test('alias delivery succeeds if any member got it; fails over quota only if none did', async (t) => {
  const full = new Set(['bob']);
  const h = await harness({ quota: (a) => (full.has(a) ? 1 : 0) });
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('team@example.com', { from: 'someone@remote.example' })]);
  await h.q.runOnce();
  assert.equal((await mailboxContents(h.store, 'alice')).length, 1);
  assert.equal((await mailboxContents(h.store, 'carol')).length, 1);
  assert.equal((await mailboxContents(h.store, 'bob')).length, 0);
  assert.deepEqual(h.q.list(), []);

  full.add('alice').add('carol');
  await h.submit(ORIGINAL, [msg('team@example.com', { from: 'someone@remote.example' })]);
  await h.q.runOnce();
  const [m] = h.q.list();
  assert.equal(m?.lastError, 'account storage full');
  assert.deepEqual(
    m?.results.map((r) => [r.code, r.secode]),
    [[452, '4.2.2']],
  );
});

test('unknown user: failure DSN with the original headers in the sender’s Inbox', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  const failed: AttemptResult[] = [];
  h.q.on('failed', (_m, r) => failed.push(r));
  await h.submit(ORIGINAL, [
    msg('nobody@example.com', {
      prefix: PREFIX,
      dsn: { envid: 'ENV-42', orcpt: { addrType: 'rfc822', address: 'Nobody@example.com' } },
    }),
  ]);
  await h.q.runOnce();
  assert.deepEqual(h.q.list(), []);
  assert.deepEqual(
    failed.map((r) => [r.code, r.secode, r.error]),
    [[550, '5.1.1', 'no such user']],
  );
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.equal(dsns.length, 1);
  const { raw, dsn } = dsns[0] as (typeof dsns)[number];
  assert.deepEqual(dsn, {
    envid: 'ENV-42',
    reportingMTA: 'mail.example.com',
    recipients: [
      {
        finalRecipient: 'nobody@example.com',
        originalRecipient: 'Nobody@example.com',
        action: 'failed',
        status: '5.1.1',
        diagnostic: '550 5.1.1 no such user',
      },
    ],
  });
  // Delivered straight into the Inbox, with a null Return-Path.
  assert.ok(raw.toString().startsWith('Delivered-To: alice@example.com\r\nReturn-Path: <>\r\n'));
  const root = parseMessage(raw);
  const fields = parseHeaderBlock(raw.subarray(root.headerStart, root.bodyStart));
  const get = (n: string) => fields.find((f) => f.name.toLowerCase() === n)?.value;
  assert.equal(get('from'), 'Mail Delivery Subsystem <postmaster@mail.example.com>');
  assert.equal(get('to'), '<alice@example.com>');
  assert.equal(get('subject'), 'mail delivery failure');
  assert.equal(get('references'), '<orig-1@example.com>');
  assert.match(get('message-id') ?? '', /^<[a-z2-7]+@mail\.example\.com>$/);
  assert.deepEqual(
    root.parts?.map((p) => `${p.type}/${p.subtype}`),
    ['text/plain', 'message/delivery-status', 'text/rfc822-headers'],
  );
  // RET=HDRS (default): prefix and header block only, not the body.
  const third = root.parts?.[2];
  const headers = raw.subarray(third?.bodyStart ?? 0, third?.end ?? 0).toString();
  const header = ORIGINAL.subarray(0, ORIGINAL.indexOf('\r\n\r\n') + 2).toString();
  assert.equal(headers.trimEnd(), (PREFIX.toString() + header).trimEnd());
  assert.doesNotMatch(raw.toString(), /Hi there/);
  assert.match(raw.toString(), /Permanent delivery failure to: nobody@example\.com/);
  // Nothing is left in the queue: the DSN went straight into the mailbox.
  assert.deepEqual(h.q.list(), []);
});

test('RET=FULL returns the whole message in a failure DSN', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('nobody@example.com', { dsn: { ret: 'FULL' } })]);
  await h.q.runOnce();
  const [d] = await inboxDSNs(h.store, 'alice');
  const root = parseMessage(d?.raw ?? Buffer.alloc(0));
  const third = root.parts?.[2];
  assert.equal(`${third?.type}/${third?.subtype}`, 'message/rfc822');
  const body = (d?.raw ?? Buffer.alloc(0)).subarray(third?.bodyStart ?? 0, third?.end ?? 0);
  assert.equal(
    body.toString(),
    'Received: from client by mail.example.com\r\n' + ORIGINAL.toString(),
  );
});

test('no DSN for NOTIFY=NEVER, a null sender, or a message that is a DSN', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  let failures = 0;
  h.q.on('failed', () => failures++);
  await h.submit(ORIGINAL, [
    msg('nobody@example.com', { dsn: { notify: 'NEVER' } }),
    msg('nobody2@example.com', { from: null }),
    msg('nobody3@example.com', { isDSN: true }),
    msg('nobody4@example.com', { dsn: { notify: ['SUCCESS', 'DELAY'] } }),
  ]);
  await h.q.runOnce();
  assert.equal(failures, 4);
  assert.deepEqual(h.q.list(), []);
  assert.deepEqual(await inboxDSNs(h.store, 'alice'), []);
});

test('NOTIFY=SUCCESS gives a "delivered" DSN', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.submit(ORIGINAL, [msg('bob@example.com', { dsn: { notify: ['SUCCESS'] } })]);
  await h.q.runOnce();
  const dsns = await inboxDSNs(h.store, 'alice');
  assert.deepEqual(
    dsns.map((d) => d.dsn.recipients),
    [[{ finalRecipient: 'bob@example.com', action: 'delivered', status: '2.0.0' }]],
  );
  assert.match(dsns[0]?.raw.toString() ?? '', /Subject: mail delivered/);
});

test('a DSN for a sender elsewhere is queued as a DSN with a null sender', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  await h.submit(ORIGINAL, [
    msg('nobody@example.com', { from: 'someone@remote.example', requireTLS: true }),
  ]);
  await h.q.runOnce();
  const [d] = h.q.list();
  assert.ok(d);
  assert.deepEqual(
    {
      sender: d.sender,
      recipient: d.recipient,
      account: d.account,
      isDSN: d.isDSN,
      requireTLS: d.requireTLS,
      subject: d.subject,
      prefix: d.prefix,
    },
    {
      sender: null,
      recipient: { localpart: 'someone', domain: 'remote.example' },
      account: '',
      isDSN: true,
      requireTLS: true,
      subject: 'mail delivery failure',
      prefix: Buffer.alloc(0),
    },
  );
  const chunks: Buffer[] = [];
  for await (const c of h.q.openMessage(d)) chunks.push(c as Buffer);
  const data = Buffer.concat(chunks);
  assert.match(data.toString(), new RegExp(`Message-ID: ${d.messageId}\r\n`));
  assert.match(data.toString(), /Final-Recipient: rfc822;nobody@example\.com/);
  // The queued DSN itself fails (no remote delivery) without ever producing a DSN.
  assert.equal(d.size, data.length);
});

test('a DSN that cannot be composed does not keep the message queued', async (t) => {
  const h = await harness();
  t.after(() => h.close());
  let failed = 0;
  h.q.on('failed', () => failed++);
  // A localpart with "<" cannot be put in the DSN's To field.
  await h.submit(ORIGINAL, [msg('nobody@example.com', { from: 'a<b@remote.example' })]);
  await h.q.runOnce();
  assert.equal(failed, 1);
  assert.deepEqual(h.q.list(), []);
});
