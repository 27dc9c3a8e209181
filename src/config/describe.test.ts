import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDomains, describeStatic } from './describe.js';
import { domainsKeys, parseDomainsConfig } from './domains.js';
import { parseStaticConfig, staticKeys } from './static.js';

/** A key as an assignment (`key = `, also inline) or as part of a table header. */
const keyPattern = (key: string) => new RegExp(`(^|[{ ,])${key} = |[[.]${key}[\\].]`, 'm');

test('described tidings.toml loads and mentions every key', () => {
  const text = describeStatic();
  const cfg = parseStaticConfig(text, '/etc/tidings/tidings.toml');
  assert.equal(cfg.hostname, 'mail.example.com');
  assert.deepEqual(Object.keys(cfg.listeners), ['public', 'internal']);
  assert.equal(cfg.listeners.public?.tls?.keys.length, 2);
  for (const key of staticKeys) assert.match(text, keyPattern(key), key);
});

test('described domains.toml loads and mentions every key', () => {
  const text = describeDomains();
  const cfg = parseDomainsConfig(text, '/etc/tidings/domains.toml');
  assert.deepEqual(Object.keys(cfg.accounts), ['alice', 'bob']);
  assert.deepEqual(Object.keys(cfg.aliases), ['team@example.com']);
  for (const key of domainsKeys) assert.match(text, keyPattern(key), key);
});
