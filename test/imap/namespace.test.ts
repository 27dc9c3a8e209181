// NAMESPACE over the protocol (RFC 9051 §6.3.10, RFC 2342): one personal namespace.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

describe('imap NAMESPACE', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('one personal namespace with "/" as delimiter, no others', async () => {
    const c = await Client.login(s);
    const r = await c.cmd('NAMESPACE');
    assert.deepEqual(r.untagged, ['* NAMESPACE (("" "/")) NIL NIL']);
    assert.equal(r.tagged, 'OK NAMESPACE done');
    await c.ok('SELECT INBOX');
    assert.deepEqual(await c.ok('namespace'), ['* NAMESPACE (("" "/")) NIL NIL']);
    assert.equal(
      (await c.cmd('NAMESPACE x')).tagged,
      'BAD NAMESPACE unrecognized syntax/command: unexpected text at end: " x"',
    );
    c.close();
  });

  test('not before authentication', async () => {
    const c = await Client.connect(s.imaps.port, { tls: true });
    await c.ok('NOOP');
    assert.equal(
      (await c.cmd('NAMESPACE')).tagged,
      'NO NAMESPACE not allowed in this connection state',
    );
    c.close();
  });
});
