// LSUB over the protocol (RFC 3501 §6.3.9): subscribed names by pattern, \NoSelect for
// unsubscribed parents with a trailing "%" (as §6.3.9 requires), references.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('imap LSUB', () => {
  let s: TestServer;
  let c: Client;
  before(async () => {
    s = await startTestServer();
    const a = await s.store.account('mjl');
    await a.createMailbox('Fruit', { subscribe: false });
    await a.createMailbox('Fruit/Apple', { subscribe: false });
    await a.createMailbox('Fruit/Apple/Green');
    await a.createMailbox('Vegetable');
    await a.subscribe('Nuts/Almond');
    c = await Client.login(s);
  });
  after(async () => {
    c.close();
    await s.close();
  });

  test('"*" lists every subscription; missing mailboxes are \\NoSelect', async () => {
    assert.deepEqual(await c.ok('LSUB "" "*"'), [
      '* LSUB () "/" "Archive"',
      '* LSUB () "/" "Drafts"',
      '* LSUB () "/" "Fruit/Apple/Green"',
      '* LSUB () "/" "Inbox"',
      '* LSUB () "/" "Junk"',
      '* LSUB (\\NoSelect) "/" "Nuts/Almond"',
      '* LSUB () "/" "Sent"',
      '* LSUB () "/" "Trash"',
      '* LSUB () "/" "Vegetable"',
    ]);
  });

  test('a trailing "%" adds unsubscribed parents as \\NoSelect', async () => {
    assert.deepEqual(await c.ok('LSUB "" "%"'), [
      '* LSUB () "/" "Archive"',
      '* LSUB () "/" "Drafts"',
      '* LSUB () "/" "Inbox"',
      '* LSUB () "/" "Junk"',
      '* LSUB () "/" "Sent"',
      '* LSUB () "/" "Trash"',
      '* LSUB () "/" "Vegetable"',
      '* LSUB (\\NoSelect) "/" "Fruit"',
      '* LSUB (\\NoSelect) "/" "Nuts"',
    ]);
    assert.deepEqual(await c.ok('LSUB "" "Fruit/%"'), ['* LSUB (\\NoSelect) "/" "Fruit/Apple"']);
    assert.deepEqual(await c.ok('LSUB "" "Fruit/Apple/%"'), ['* LSUB () "/" "Fruit/Apple/Green"']);
    // Without a trailing "%" parents are not added.
    assert.deepEqual(await c.ok('LSUB "" "F%e"'), []);
    assert.deepEqual(await c.ok('LSUB "" "Fruit"'), []);
  });

  test('references, INBOX, and a rooted reference', async () => {
    assert.deepEqual(await c.ok('LSUB Fruit/Apple %'), ['* LSUB () "/" "Fruit/Apple/Green"']);
    assert.deepEqual(await c.ok('LSUB "Fruit" "*"'), ['* LSUB () "/" "Fruit/Apple/Green"']);
    assert.deepEqual(await c.ok('LSUB "" inbox'), ['* LSUB () "/" "Inbox"']);
    assert.deepEqual(await c.ok('LSUB "" IN*'), ['* LSUB () "/" "Inbox"']);
    assert.deepEqual(await c.ok('LSUB "/" "*"'), []);
    assert.deepEqual(await c.ok('LSUB "" ""'), []);
  });

  test('syntax errors are BAD', async () => {
    assert.equal(
      (await c.cmd('LSUB ""')).tagged,
      'BAD LSUB unrecognized syntax/command: expected space',
    );
    assert.equal(
      (await c.cmd('LSUB (SUBSCRIBED) "" *')).tagged,
      'BAD LSUB unrecognized syntax/command: expected atom',
    );
    assert.equal(
      (await c.cmd('LSUB "" * RETURN (CHILDREN)')).tagged,
      'BAD LSUB unrecognized syntax/command: unexpected text at end: " RETURN (CHILDREN)"',
    );
  });
});
