// WITHIN (RFC 5032): SEARCH OLDER and YOUNGER, intervals in seconds counted back from
// now against the internal date, answered from the database, combined with other keys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, Client, type TestServer } from './harness.js';

const HOUR = 3600_000;
let s: TestServer;

before(async () => {
  s = await startTestServer();
  const a = await s.store.account('mjl');
  await a.createMailbox('Within');
  // Internal dates 10 days, 2 days and 1 hour ago: far from the intervals searched, so
  // the seconds a test takes do not matter.
  for (const [i, ago] of [240 * HOUR, 48 * HOUR, HOUR].entries()) {
    const p = await s.store.prepareMessage(Buffer.from(`Subject: m${i}\r\n\r\nbody\r\n`));
    await a.addMessages('Within', [{ message: p, internalDate: Date.now() - ago }]);
    await p.cleanup();
  }
});
after(() => s.close());

test('OLDER and YOUNGER, alone, negated and combined; CAPABILITY lists WITHIN', async () => {
  const c = await Client.login(s);
  assert.match((await c.ok('CAPABILITY'))[0]!, / WITHIN( |$)/);
  await c.ok('SELECT Within');
  const table: [string, string][] = [
    ['YOUNGER 86400', '* SEARCH 3'],
    ['OLDER 86400', '* SEARCH 1 2'],
    ['YOUNGER 259200', '* SEARCH 2 3'],
    ['OLDER 259200', '* SEARCH 1'],
    ['NOT OLDER 86400', '* SEARCH 3'],
    ['OLDER 86400 YOUNGER 864000', '* SEARCH 2'],
    ['OR YOUNGER 7200 OLDER 432000', '* SEARCH 1 3'],
    ['YOUNGER 60', '* SEARCH'],
    ['OLDER 8640000', '* SEARCH'],
  ];
  for (const [keys, want] of table) {
    assert.deepEqual(await c.ok(`SEARCH ${keys}`), [want], keys);
  }
  const r = await c.cmd('UID SEARCH RETURN (COUNT) YOUNGER 86400');
  assert.deepEqual(r.untagged, [`* ESEARCH (TAG "${r.tag}") UID COUNT 1`]);
  // The interval is a non-zero number (RFC 5032 §4).
  assert.match((await c.cmd('SEARCH OLDER 0')).tagged, /^BAD /);
  assert.match((await c.cmd('SEARCH YOUNGER -5')).tagged, /^BAD /);
  assert.match((await c.cmd('SEARCH YOUNGER')).tagged, /^BAD /);
  c.close();
});
