// ENABLE over the protocol (RFC 5161, RFC 9051 §6.3.1, RFC 6855 UTF8=ACCEPT): only
// recognised capabilities, only newly enabled ones in ENABLED, and their effect.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, PASSWORD, type TestServer } from './harness.js';

describe('imap ENABLE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    await (await s.store.account('mjl')).createMailbox('Café');
  });
  after(() => s.close());

  test('ENABLED lists recognised, newly enabled capabilities only', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('ENABLE X-UNKNOWN utf8=accept CONDSTORE');
    assert.deepEqual(r.untagged, ['* ENABLED UTF8=ACCEPT CONDSTORE']);
    assert.equal(r.tagged, 'OK ENABLE done');
    assert.deepEqual(await c.ok('ENABLE UTF8=ACCEPT imap4rev2 IMAP4rev2'), ['* ENABLED IMAP4rev2']);
    assert.deepEqual(await c.ok('ENABLE IMAP4REV2 UTF8=ACCEPT'), ['* ENABLED']);
    assert.deepEqual(await c.ok('ENABLE QRESYNC METADATA'), ['* ENABLED QRESYNC METADATA']);
    assert.deepEqual(await c.ok('ENABLE QRESYNC CONDSTORE'), ['* ENABLED']);
    c.close();
  });

  test('syntax and state', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    assert.equal(
      (await c.cmd('ENABLE IMAP4rev2')).tagged,
      'NO ENABLE not allowed in this connection state',
    );
    await c.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    assert.equal(
      (await c.cmd('ENABLE')).tagged,
      'BAD ENABLE unrecognized syntax/command: expected space',
    );
    // A command with a syntax error enables nothing.
    assert.equal(
      (await c.cmd('ENABLE IMAP4rev2 ')).tagged,
      'BAD ENABLE unrecognized syntax/command: expected atom',
    );
    assert.equal(
      (await c.cmd('ENABLE UTF8=ACCEPT "x"')).tagged,
      'BAD ENABLE unrecognized syntax/command: expected atom',
    );
    assert.equal(
      (await c.cmd('ENABLE (IMAP4rev2)')).tagged,
      'BAD ENABLE unrecognized syntax/command: expected atom',
    );
    // Also accepted with a mailbox selected.
    await c.ok('SELECT INBOX');
    assert.deepEqual(await c.ok('ENABLE IMAP4rev2 UTF8=ACCEPT'), [
      '* ENABLED IMAP4rev2 UTF8=ACCEPT',
    ]);
    c.close();
  });

  test('UTF8=ACCEPT switches mailbox names from modified UTF-7 to UTF-8', async () => {
    const c = await Client.login(s);
    assert.deepEqual(await c.ok('LIST "" Caf*'), ['* LIST (\\HasNoChildren) "/" "Caf&AOk-"']);
    await c.ok('ENABLE UTF8=ACCEPT');
    assert.deepEqual(await c.ok('LIST "" Caf*'), [
      Buffer.from('* LIST (\\HasNoChildren) "/" "Café"').toString('latin1'),
    ]);
    c.close();
  });

  test('IMAP4rev2 also means UTF-8 names, and SELECT leaves out RECENT and UNSEEN', async () => {
    const c = await Client.login(s);
    const rev1 = await c.cmd('EXAMINE INBOX');
    assert.equal(rev1.untagged.includes('* 0 RECENT'), true);
    await c.ok('ENABLE IMAP4rev2');
    assert.deepEqual(await c.ok('LIST "" Caf*'), [
      Buffer.from('* LIST (\\HasNoChildren) "/" "Café"').toString('latin1'),
    ]);
    const rev2 = await c.cmd('EXAMINE INBOX');
    assert.equal(rev2.untagged.includes('* 0 RECENT'), false);
    assert.equal(rev2.untagged.length, rev1.untagged.length);
    c.close();
  });
});
