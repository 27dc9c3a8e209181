// Destination rules through the SMTP server: a rule's mailbox, a mailing list allowed
// although its posters' DMARC fails, a forward not judged by the forwarder's signals,
// and a rule that accepts what would be refused; the matching rule is named in
// X-Tidings-Reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SmtpTestClient,
  ZONE,
  message,
  reasonsIn,
  send,
  smtp,
  textOf,
  withServer,
  type SmtpTestServer,
} from './harness.js';
import { dkimRecord, dkimSign, generateDkimKey, parseDkimKey } from '../../src/msgauth/index.js';
import type { Account } from '../../src/store/index.js';
import type { MockZone } from '../../src/dns/index.js';

const ed = generateDkimKey('ed25519');
const key = parseDkimKey(ed.pem, 'ed.pem');

const SENDERS: MockZone = {
  ...ZONE,
  a: {
    ...ZONE.a,
    'lists.example': ['192.0.2.30'],
    'strict.example': ['192.0.2.31'],
    'forwarder.example': ['192.0.2.32'],
    'shop.example': ['192.0.2.33'],
    // RFC 5782 §5 test entry; the listed client is 127.0.0.5.
    '2.0.0.127.bl.example': ['127.0.0.2'],
  },
  txt: {
    // The list signs what it sends; its posters' domains reject what fails DMARC.
    'sel._domainkey.lists.example': [dkimRecord(ed)],
    'lists.example': ['v=spf1 ip4:127.0.0.0/8 -all'],
    'strict.example': ['v=spf1 -all'],
    '_dmarc.strict.example': ['v=DMARC1; p=reject'],
    'forwarder.example': ['v=spf1 ip4:127.0.0.0/8 -all'],
    'shop.example': ['v=spf1 ip4:127.0.0.0/8 -all'],
    '_dmarc.shop.example': ['v=DMARC1; p=none'],
  },
};

const DOMAINS = `[domains."example.org"]

[accounts.mjl]
domain = "example.org"
rejects_mailbox = "Rejects"

[accounts.mjl.destinations."mjl@example.org"]
mailbox = "Inbox"

[[accounts.mjl.destinations."mjl@example.org".rules]]
comment = "tidings list"
list_allow_domain = "lists.example"
headers = { "list-id" = "<tidings\\\\.lists\\\\.example>" }
mailbox = "Lists/Tidings"

[[accounts.mjl.destinations."mjl@example.org".rules]]
smtp_mail_from = "@forwarder\\\\.example$"
is_forward = true
mailbox = "Forwarded"

[[accounts.mjl.destinations."mjl@example.org".rules]]
verified_domain = "shop.example"
headers = { subject = "^your receipt" }
mailbox = "Receipts"

[[accounts.mjl.destinations."mjl@example.org".rules]]
comment = "keep what the shop sends"
verified_domain = "shop.example"
accept_rejects_to_mailbox = "Maybe"
`;

const DONE = ['250 2.0.0 message accepted'];
const LISTED = '127.0.0.5';

/** A port 25 client from an address the blocklist names. */
async function listedClient(s: SmtpTestServer) {
  s.resolver.update((z) => ({ ...z, a: { ...z.a, '5.0.0.127.bl.example': ['127.0.0.4'] } }));
  const c = await SmtpTestClient.open(s.smtp.port, { localAddress: LISTED });
  await c.ok('EHLO client.example');
  return c;
}

const reasons = (a: Account, name: string) => reasonsIn(a, name, true);

async function withRules(fn: (s: SmtpTestServer, a: Account) => Promise<void>) {
  await withServer(
    { domains: DOMAINS, dnsbls: ['bl.example'], delays: { firstTimeSender: 120_000 } },
    async (s) => {
      s.resolver.setZone(SENDERS);
      await fn(s, await s.store.account('mjl'));
    },
  );
}

test('rules: a verified mailing list is let in though its poster fails DMARC', async () => {
  await withRules(async (s, a) => {
    const c = await smtp(s);
    const post = message({
      from: 'Alice <alice@strict.example>',
      subject: '[tidings] hello',
      extra: 'List-Id: Tidings <tidings.lists.example>\r\n',
    });
    const signed =
      (await dkimSign(Buffer.from(post), [{ domain: 'lists.example', selector: 'sel', key }])) +
      post;
    // No first-time delay for a list (the delay is 120 s here: the reply would time out).
    assert.deepEqual(
      textOf(await send(c, 'bounces@lists.example', ['mjl@example.org'], signed)),
      DONE,
    );
    assert.deepEqual(await reasons(a, 'Lists/Tidings'), [
      'list-allow; verified mailing list lists.example; rule 1 (tidings list)',
    ]);
    // Without its List-Id the rule does not match, and the poster's policy applies.
    const direct = post.replace('List-Id: Tidings <tidings.lists.example>\r\n', '');
    assert.deepEqual(textOf(await send(c, 'bounces@lists.example', ['mjl@example.org'], direct)), [
      '550 5.7.26 dmarc policy rejects message from this domain',
    ]);
    c.close();
  });
});

test('rules: a forward skips DMARC and blocklists of the forwarder; a rule mailbox', async () => {
  await withRules(async (s, a) => {
    // The forwarder's address is listed.
    const c = await listedClient(s);
    const fwd = message({ from: 'Alice <alice@strict.example>', subject: 'forwarded' });
    assert.deepEqual(textOf(await send(c, 'me@forwarder.example', ['mjl@example.org'], fwd)), DONE);
    assert.deepEqual(await reasons(a, 'Forwarded'), ['no-bad-signals; rule 2']);
    const receipt = message({ from: 'shop@shop.example', subject: 'Your receipt 42' });
    assert.deepEqual(textOf(await send(c, 'shop@shop.example', ['mjl@example.org'], receipt)), [
      '451 4.3.0 error processing',
    ]);
    c.close();
  });
});

test('rules: accept_rejects_to_mailbox takes what would be refused; a plain rule mailbox', async () => {
  await withRules(async (s, a) => {
    const c = await smtp(s);
    // From an address not listed, a receipt goes to Receipts.
    await a.recordOutgoing(['shop@shop.example']);
    const receipt = message({ from: 'shop@shop.example', subject: 'Your receipt 42' });
    assert.deepEqual(
      textOf(await send(c, 'shop@shop.example', ['mjl@example.org'], receipt)),
      DONE,
    );
    assert.deepEqual(await reasons(a, 'Receipts'), [
      'reputation-sent-to; you wrote to this address; rule 3',
    ]);
    // Listed: refused elsewhere, but rule 4 keeps the shop's other mail in Maybe.
    const listed = await listedClient(s);
    const offer = message({ from: 'offers@shop.example', subject: 'an offer' });
    assert.deepEqual(
      textOf(await send(listed, 'offers@shop.example', ['mjl@example.org'], offer)),
      DONE,
    );
    listed.close();
    assert.deepEqual(await reasons(a, 'Maybe'), [
      'dns-blocklisted; listed in bl.example; rule 4 (keep what the shop sends); accepted into Maybe instead of refused',
    ]);
    assert.deepEqual(await reasons(a, 'Rejects'), []);
    c.close();
  });
});
