// DNS blocklists in the delivery decision: a listed client is refused when nothing
// else decided, with the listing in the reason; an accepted message says what each zone
// answered; a zone that fails its test entries (RFC 5782 §5) is ignored; a sender the
// account knows is not held back by a listing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DOMAINS,
  SmtpTestClient,
  ZONE,
  message,
  send,
  storedHeads,
  textOf,
  withServer,
  type SmtpTestServer,
} from './harness.js';
import type { Account } from '../../src/store/index.js';
import type { MockZone } from '../../src/dns/index.js';

const LISTED = '127.0.0.5';

const zone = (everything: boolean): MockZone => ({
  ...ZONE,
  a: {
    ...ZONE.a,
    // RFC 5782 §5 test entries: 127.0.0.2 is listed, 127.0.0.1 is not (unless broken).
    '2.0.0.127.bl.example': ['127.0.0.2'],
    ...(everything ? { '1.0.0.127.bl.example': ['127.0.0.2'] } : {}),
    '5.0.0.127.bl.example': ['127.0.0.4'],
  },
  txt: {
    '5.0.0.127.bl.example': ['spam source, see https://bl.example/5'],
    // The sender's From verifies (SPF aligned, DMARC), so its history counts.
    'sender.example': ['v=spf1 ip4:127.0.0.0/8 -all'],
    '_dmarc.sender.example': ['v=DMARC1; p=none'],
  },
});

const DONE = ['250 2.0.0 message accepted'];
const REJECTED = ['451 4.3.0 error processing'];
const WITH_REJECTS = DOMAINS.replace(
  '[accounts.mjl]\ndomain = "example.org"\n',
  '[accounts.mjl]\ndomain = "example.org"\nrejects_mailbox = "Rejects"\n',
);

async function client(s: SmtpTestServer, localAddress?: string) {
  const c = await SmtpTestClient.open(s.smtp.port, localAddress ? { localAddress } : {});
  await c.ok('EHLO client.example');
  return c;
}

async function firstLines(a: Account, name: string): Promise<string[]> {
  return (await storedHeads(a, name, 400)).map((h) => h.text.split('\r\n').slice(0, 2).join('\n'));
}

test('dnsbl: a listed client is refused, an unlisted one accepted with the answers', async () => {
  await withServer({ domains: WITH_REJECTS, dnsbls: ['bl.example'] }, async (s) => {
    s.resolver.setZone(zone(false));
    const a = await s.store.account('mjl');
    const listed = await client(s, LISTED);
    const m = message({ from: 'someone@sender.example' });
    assert.deepEqual(
      textOf(await send(listed, 'x@sender.example', ['mjl@example.org'], m)),
      REJECTED,
    );
    assert.deepEqual(await firstLines(a, 'Rejects'), [
      'X-Tidings-Reason: dns-blocklisted; listed in bl.example: spam source, see https://bl.example/5\nDelivered-To: mjl@example.org',
    ]);
    const clean = await client(s);
    assert.deepEqual(textOf(await send(clean, 'x@sender.example', ['mjl@example.org'], m)), DONE);
    assert.deepEqual(await firstLines(a, 'Inbox'), [
      'X-Tidings-Reason: no-bad-signals\nX-Tidings-DNSBL: bl.example=pass',
    ]);
    // Someone the user wrote to is let in from the listed address: reputation comes first.
    await a.recordOutgoing(['friend@sender.example']);
    const f = message({ from: 'friend@sender.example' });
    assert.deepEqual(textOf(await send(listed, 'x@sender.example', ['mjl@example.org'], f)), DONE);
    listed.close();
    clean.close();
  });
});

test('dnsbl: a zone that lists everything is skipped, and says so', async () => {
  await withServer({ dnsbls: ['bl.example'] }, async (s) => {
    s.resolver.setZone(zone(true));
    const a = await s.store.account('mjl');
    const c = await client(s, LISTED);
    const m = message({ from: 'someone@sender.example' });
    assert.deepEqual(textOf(await send(c, 'x@sender.example', ['mjl@example.org'], m)), DONE);
    assert.deepEqual(await firstLines(a, 'Inbox'), [
      'X-Tidings-Reason: no-bad-signals\nX-Tidings-DNSBL: bl.example=skipped (zone fails its test entries)',
    ]);
    c.close();
  });
});
