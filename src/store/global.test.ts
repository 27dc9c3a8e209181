import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GlobalDB,
  LOGIN_ATTEMPT_MAX_PER_ACCOUNT,
  LOGIN_ATTEMPT_RETENTION_MS,
  publicKeyFingerprint,
  type LoginAttempt,
} from './global.js';

async function withDB(fn: (g: GlobalDB) => void | Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-global-'));
  const g = new GlobalDB(join(dir, 'tidings.db'));
  try {
    await fn(g);
  } finally {
    g.close();
    await rm(dir, { recursive: true, force: true });
  }
}

const base: LoginAttempt = {
  account: 'alice',
  address: 'alice@example.org',
  protocol: 'imap',
  mechanism: 'scram-sha-256',
  result: 'success',
  remoteIP: '192.0.2.1',
  localIP: '127.0.0.1',
  tls: 'TLSv1.3 TLS_AES_128_GCM_SHA256',
  userAgent: 'Thunderbird 140',
};

test('identical login attempts are grouped with a count; different ones are not', () =>
  withDB(async (g) => {
    await g.addLoginAttempt({ ...base, time: 1000 });
    await g.addLoginAttempt({ ...base, time: 2000 });
    await g.addLoginAttempt({ ...base, result: 'badcredentials', time: 3000 });
    const rows = await g.loginAttempts('alice');
    assert.equal(rows.length, 2);
    assert.equal(rows[0]?.result, 'badcredentials');
    assert.equal(rows[1]?.count, 2);
    assert.equal(rows[1]?.first, 1000);
    assert.equal(rows[1]?.last, 2000);
    assert.equal(rows[1]?.userAgent, 'Thunderbird 140');
  }));

test('login attempts: 30-day retention and at most 10,000 per account', () =>
  withDB(async (g) => {
    const now = Date.now();
    await g.addLoginAttempt({
      ...base,
      remoteIP: '192.0.2.99',
      time: now - LOGIN_ATTEMPT_RETENTION_MS - 1,
    });
    for (let i = 0; i < LOGIN_ATTEMPT_MAX_PER_ACCOUNT + 5; i++) {
      await g.addLoginAttempt({
        ...base,
        remoteIP: `10.${i >> 8}.${i & 255}.1`,
        time: now - 1000 + (i % 1000),
      });
    }
    await g.addLoginAttempt({ ...base, account: 'bob', time: now });
    await g.cleanupLoginAttempts(now);
    const n = g.db
      .prepare("SELECT COUNT(*) FROM login_attempts WHERE account = 'alice'")
      .pluck()
      .get();
    assert.equal(n, LOGIN_ATTEMPT_MAX_PER_ACCOUNT);
    assert.equal(
      (await g.loginAttempts('alice', 20000)).some((r) => r.remoteIP === '192.0.2.99'),
      false,
    );
    assert.equal((await g.loginAttempts('bob')).length, 1);
  }));

test('TLS public keys: add, look up by fingerprint, list, remove', () =>
  withDB(async (g) => {
    const fp = publicKeyFingerprint(Buffer.from('spki'));
    assert.match(fp, /^[A-Za-z0-9_-]{43}$/);
    await g.addTLSPublicKey({
      fingerprint: fp,
      created: 1,
      name: 'laptop',
      type: 'ecdsa-p256',
      certDER: Buffer.from([1, 2, 3]),
      account: 'alice',
      loginAddress: 'alice@example.org',
      noIMAPPreauth: true,
    });
    assert.equal((await g.tlsPublicKey(fp))?.noIMAPPreauth, true);
    assert.deepEqual((await g.tlsPublicKey(fp))?.certDER, Buffer.from([1, 2, 3]));
    assert.equal((await g.tlsPublicKeys('alice')).length, 1);
    assert.equal(await g.tlsPublicKey('nope'), null);
    assert.equal(await g.removeTLSPublicKey(fp), true);
    assert.equal(await g.tlsPublicKey(fp), null);
  }));
