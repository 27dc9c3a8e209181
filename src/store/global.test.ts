import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import {
  GlobalDB,
  LOGIN_ATTEMPT_MAX_PER_ACCOUNT,
  LOGIN_ATTEMPT_RETENTION_MS,
  publicKeyFingerprint,
  type LoginAttempt,
} from './global.js';
import { GLOBAL_MIGRATIONS, migrate } from './schema.js';
import type { NewReceivedDMARCReport, NewReceivedTLSReport } from './reports.js';

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

function dmarc(o: Partial<NewReceivedDMARCReport>): NewReceivedDMARCReport {
  return {
    org: 'google.com',
    reportId: '1',
    email: 'noreply-dmarc-support@google.com',
    domain: 'example.org',
    start: 1000,
    end: 2000,
    records: 1,
    messages: 3,
    failed: 1,
    report: { records: [{ count: 3 }] },
    ...o,
  };
}

function tls(o: Partial<NewReceivedTLSReport>): NewReceivedTLSReport {
  return {
    org: 'Google Inc.',
    reportId: 'a',
    contact: 'smtp-tls-reporting@google.com',
    domain: 'example.org',
    start: 1000,
    end: 2000,
    policies: 1,
    successes: 10,
    failures: 2,
    report: { policies: [] },
    ...o,
  };
}

test('received DMARC reports: stored once per org and report id, listed newest first, by domain', () =>
  withDB(async (g) => {
    const adds: [Partial<NewReceivedDMARCReport>, boolean, number][] = [
      // report, new, id
      [{ reportId: '1', received: 100 }, true, 1],
      [{ reportId: '1', received: 900, domain: 'other.example' }, false, 1],
      [{ reportId: '1', org: 'Microsoft', received: 200, domain: 'Other.Example' }, true, 2],
      [{ reportId: '2', received: 300 }, true, 3],
      [{ reportId: '3', received: 300 }, true, 4],
    ];
    for (const [r, added, id] of adds) {
      assert.deepEqual(await g.addReceivedDMARCReport(dmarc(r)), { id, added }, JSON.stringify(r));
    }
    const lists: [Parameters<GlobalDB['receivedDMARCReports']>[0], number[]][] = [
      [{}, [4, 3, 2, 1]],
      [{ limit: 2 }, [4, 3]],
      [{ limit: 2, offset: 2 }, [2, 1]],
      [{ offset: 10 }, []],
      [{ domain: 'EXAMPLE.org' }, [4, 3, 1]],
      [{ domain: 'other.example' }, [2]],
      [{ domain: 'nothing.example' }, []],
    ];
    for (const [o, ids] of lists) {
      const l = await g.receivedDMARCReports(o);
      assert.deepEqual(
        l.map((r) => r.id),
        ids,
        JSON.stringify(o),
      );
    }
    const [latest] = await g.receivedDMARCReports({ limit: 1 });
    assert.deepEqual(latest, {
      id: 4,
      received: 300,
      org: 'google.com',
      reportId: '3',
      email: 'noreply-dmarc-support@google.com',
      domain: 'example.org',
      start: 1000,
      end: 2000,
      records: 1,
      messages: 3,
      failed: 1,
    });
    const two = await g.receivedDMARCReport(2);
    assert.equal(two?.org, 'Microsoft');
    assert.equal(two?.domain, 'other.example');
    assert.deepEqual(two?.report, { records: [{ count: 3 }] });
    assert.equal(await g.receivedDMARCReport(99), null);
  }));

test('received TLS reports: stored once per org and report id, listed newest first, by domain', () =>
  withDB(async (g) => {
    assert.deepEqual(await g.addReceivedTLSReport(tls({ received: 5 })), { id: 1, added: true });
    assert.deepEqual(await g.addReceivedTLSReport(tls({ received: 6 })), { id: 1, added: false });
    assert.deepEqual(
      await g.addReceivedTLSReport(tls({ received: 7, reportId: 'b', domain: 'Mail.Example' })),
      { id: 2, added: true },
    );
    assert.deepEqual(
      (await g.receivedTLSReports()).map((r) => r.id),
      [2, 1],
    );
    assert.deepEqual(
      (await g.receivedTLSReports({ domain: 'mail.example' })).map((r) => r.id),
      [2],
    );
    const r = await g.receivedTLSReport(1);
    assert.deepEqual(r, {
      id: 1,
      received: 5,
      org: 'Google Inc.',
      reportId: 'a',
      contact: 'smtp-tls-reporting@google.com',
      domain: 'example.org',
      start: 1000,
      end: 2000,
      policies: 1,
      successes: 10,
      failures: 2,
      report: { policies: [] },
    });
    assert.equal(await g.receivedTLSReport(3), null);
    // The two kinds are apart: a TLS report id is no DMARC report.
    assert.equal(await g.receivedDMARCReport(1), null);
  }));

test('a global database of schema 1 gets the report tables, keeping its rows', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-global-'));
  try {
    const file = join(dir, 'tidings.db');
    const db = new Database(file);
    migrate(db, GLOBAL_MIGRATIONS.slice(0, 1), file);
    db.prepare(
      "INSERT INTO tls_public_keys VALUES ('fp', 1, 'n', 't', x'00', 'alice', 'alice@example.org', 0)",
    ).run();
    db.close();
    const g = new GlobalDB(file);
    try {
      assert.equal(
        g.db.pragma('user_version', { simple: true }),
        GLOBAL_MIGRATIONS[GLOBAL_MIGRATIONS.length - 1]?.version,
      );
      assert.equal((await g.tlsPublicKeys('alice')).length, 1);
      assert.equal((await g.addReceivedDMARCReport(dmarc({}))).added, true);
      assert.equal((await g.addReceivedTLSReport(tls({}))).added, true);
    } finally {
      await g.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
