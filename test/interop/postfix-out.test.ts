// Interoperability with Postfix as the receiving MTA: the outgoing queue delivers through
// its SMTP client (MX lookup, PIPELINING, 8BITMIME, SMTPUTF8,
// CHUNKING, DSN parameters, several recipients in one transaction) to a private Postfix instance,
// whose Maildir must hold each message intact behind Postfix's own trace lines.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MockResolver } from '../../src/dns/index.js';
import { createLogger } from '../../src/log/index.js';
import { SmtpDeliverer } from '../../src/queue/index.js';
import { harness, msg, type Harness } from '../../src/queue/testutil.js';
import { startPostfix, postfixAvailable, type PostfixInstance } from './postfix.js';
import { crlf, within } from './util.js';

const DOMAIN = 'postfix.test';

const skip = postfixAvailable()
  ? false
  : '/usr/sbin/postfix is not installed: delivery to Postfix is not tested';

/** Maildir files have LF line ends; the sent message has CRLF. */
const lf = (b: Buffer): string => b.toString('utf8').replaceAll('\r\n', '\n');

const ASCII = crlf(
  'From: Alice <alice@example.com>',
  'To: someone@postfix.test, other@postfix.test',
  'Subject: from the queue, plain ascii',
  'Message-ID: <queue-ascii@example.com>',
  'Date: Sun, 22 Nov 2026 10:00:00 +0000',
  '',
  'First line.',
  '.A leading dot, stuffed on the wire.',
  '.',
  '..',
  'x'.repeat(990),
  'Last line.',
);

const UTF8 = crlf(
  'From: Jöran <jöran@example.com>',
  'To: dörte@postfix.test',
  'Subject: Grüße über SMTPUTF8',
  'Message-ID: <queue-utf8@example.com>',
  'Date: Sun, 22 Nov 2026 10:01:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 8bit',
  '',
  'Grüße aus Köln – ✓ 日本語',
  '.ß after a dot',
);

describe('queue delivers to Postfix', { skip }, () => {
  let pf: PostfixInstance;
  let h: Harness;
  let remote: SmtpDeliverer;

  before(async () => {
    pf = await startPostfix({ localDomain: DOMAIN });
    const resolver = new MockResolver({
      mx: { [DOMAIN]: [{ exchange: 'mx.postfix.test', priority: 10 }] },
      a: { 'mx.postfix.test': ['127.0.0.1'] },
    });
    remote = new SmtpDeliverer({
      hostname: 'mail.example.com',
      resolver,
      log: createLogger({ level: 'silent' }),
      routing: () => ({ routes: [], transports: {} }),
      mtaSts: null,
      mxPort: pf.port,
    });
    h = await harness({ remote, clock: Date.now });
  });
  after(async () => {
    await h?.close();
    await pf?.stop();
  });

  test('two recipients in one transaction, then an SMTPUTF8 message', async () => {
    const prefix = Buffer.from('Received: from client by mail.example.com; Sun, 22 Nov 2026\r\n');
    await h.submit(ASCII, [
      msg(`someone@${DOMAIN}`, { prefix, dsn: { notify: ['FAILURE'], envid: 'env-1' } }),
      msg(`other@${DOMAIN}`, { prefix }),
    ]);
    await within(20_000, 'first delivery', h.q.runOnce());
    assert.deepEqual(
      h.q.list().map((m) => m.lastError),
      [],
    );
    const first = await pf.waitForMessages(2, 20_000);
    for (const m of first) {
      const text = lf(m);
      assert.ok(text.endsWith(lf(Buffer.concat([prefix, ASCII]))), text);
      // Postfix's own trace names our EHLO host (its smtpd offers no TLS here).
      assert.match(text, /^Received: from mail\.example\.com \(localhost \[127\.0\.0\.1\]\)/m);
    }
    // One transaction: both copies carry the same Postfix queue id.
    const ids = first.map((m) => /by \S+ \(Postfix\) with E?SMTPS? id (\w+)/.exec(lf(m))?.[1]);
    assert.ok(ids[0]);
    assert.equal(ids[0], ids[1]);
    assert.match(await pf.logs(), new RegExp(`${ids[0]}: to=<someone@${DOMAIN}>.*status=sent`));

    await h.submit(UTF8, [
      msg(`dörte@${DOMAIN}`, {
        from: 'jöran@example.com',
        has8bit: true,
        smtputf8: true,
        prefix: Buffer.alloc(0),
      }),
    ]);
    await within(20_000, 'second delivery', h.q.runOnce());
    assert.equal(h.q.list().length, 0);
    const all = await pf.waitForMessages(3, 20_000);
    const text = lf(all[2] as Buffer);
    assert.ok(text.endsWith(lf(UTF8)), text);
    assert.match(text, /^Return-Path: <jöran@example\.com>$/m);
    assert.match(text, /with UTF8SMTP id/);
  });
});
