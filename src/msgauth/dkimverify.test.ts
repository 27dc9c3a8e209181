import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MockResolver } from '../dns/mock.js';
import { generateDkimKey } from './dkimkey.js';
import { dkimSign, parseDkimKey } from './dkimsign.js';
import { verifyDkim } from './dkimverify.js';

const message = Buffer.from('From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n');

test('an unsigned message gives one "none" result', async () => {
  assert.deepEqual(await verifyDkim(message, new MockResolver({})), [
    { domain: '', selector: '', result: 'none', info: 'dkim=none (message not signed)' },
  ]);
});

test('key lookup failures', async () => {
  const g = generateDkimKey('ed25519');
  const key = parseDkimKey(g.pem, 'k.pem');
  const sig = await dkimSign(message, [{ domain: 'example.com', selector: 's1', key }]);
  const signed = Buffer.concat([Buffer.from(sig), message]);
  const b = /b=([A-Za-z0-9+/]{8})/.exec(sig.slice(sig.indexOf(' b=')))?.[1];
  const failing = new MockResolver({ fail: { 's1._domainkey.example.com': 'temporary' } });
  const [r, ...rest] = await verifyDkim(signed, failing);
  assert.deepEqual(rest, []);
  assert.deepEqual([r?.domain, r?.selector, r?.result], ['example.com', 's1', 'temperror']);
  // A b= prefix containing "/" is quoted (RFC 2045 token characters exclude it).
  const quoted = b?.includes('/') ? `"${b}"` : b;
  assert.equal(
    r?.info,
    `dkim=temperror (DNS failure: ESERVFAIL) header.i=@example.com header.s=s1 header.a=ed25519-sha256 header.b=${quoted}`,
  );
  const missing = await verifyDkim(signed, new MockResolver({}));
  assert.equal(missing[0]?.result, 'neutral');
  assert.match(missing[0]?.info ?? '', /^dkim=neutral \(no key\) /);
});
