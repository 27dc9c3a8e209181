import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, pbkdf2Sync } from 'node:crypto';
import { MD5_BLOCK_SIZE, md5Resume } from './md5.js';
import { normalizeName, normalizePassword } from './normalize.js';
import {
  cramMd5Secret,
  decodeCramMd5Secret,
  decodeScramSecret,
  DEFAULT_SCRAM_ITERATIONS,
  deriveSecrets,
  hashScrypt,
  parseScryptHash,
  scramSecret,
  SecretsError,
  verifyPassword,
} from './secrets.js';

const FAST = { N: 1024, r: 8, p: 1 };

/** Deterministic "random" bytes: n bytes counting up from `start`. */
function counter(start = 0): (n: number) => Buffer {
  let next = start;
  return (n) => Buffer.from(Array.from({ length: n }, () => next++ & 0xff));
}

test('secrets: deriveSecrets produces every secret and never the password', async () => {
  const s = await deriveSecrets('hunter2 secret', { random: counter() });
  const json = JSON.stringify(s);
  assert.ok(!json.includes('hunter2'));
  assert.deepEqual(JSON.parse(json), s);
  assert.match(
    s.scrypt!,
    /^\$scrypt\$N=16384,r=8,p=1\$AAECAwQFBgcICQoLDA0ODw==\$[A-Za-z0-9+/]{43}=$/,
  );
  assert.equal(s.scramSHA1!.iterations, DEFAULT_SCRAM_ITERATIONS);
  assert.equal(s.scramSHA256!.iterations, 4096);
  assert.equal(
    s.scramSHA1!.salt,
    Buffer.from(Array.from({ length: 16 }, (_, i) => 16 + i)).toString('base64'),
  );
  assert.equal(
    s.scramSHA256!.salt,
    Buffer.from(Array.from({ length: 16 }, (_, i) => 32 + i)).toString('base64'),
  );
  const sha1 = pbkdf2Sync(
    'hunter2 secret',
    Buffer.from(s.scramSHA1!.salt, 'base64'),
    4096,
    20,
    'sha1',
  );
  assert.equal(s.scramSHA1!.saltedPassword, sha1.toString('base64'));
  const sha256 = pbkdf2Sync(
    'hunter2 secret',
    Buffer.from(s.scramSHA256!.salt, 'base64'),
    4096,
    32,
    'sha256',
  );
  assert.equal(s.scramSHA256!.saltedPassword, sha256.toString('base64'));
});

test('secrets: verifyPassword accepts the password and rejects others', async () => {
  const s = await deriveSecrets('correct horse', { scrypt: FAST, scramIterations: 1 });
  assert.match(s.scrypt!, /^\$scrypt\$N=1024,r=8,p=1\$/);
  assert.equal(await verifyPassword(s, 'correct horse'), true);
  assert.equal(await verifyPassword(s, 'correct horse '), false);
  assert.equal(await verifyPassword(s, 'Correct horse'), false);
  assert.equal(await verifyPassword(s, ''), false);
  assert.equal(await verifyPassword({}, 'correct horse'), false);
  assert.equal(await verifyPassword(null, 'correct horse'), false);
});

test('secrets: verifyPassword with the default cost', async () => {
  const s = await deriveSecrets('pässword', { scramIterations: 1 });
  assert.equal(await verifyPassword(s, 'pässword'), true);
  assert.equal(await verifyPassword(s, 'password'), false);
});

test('secrets: scrypt hash matches an independent computation', async () => {
  const salt = Buffer.from('0123456789abcdef');
  const hash = await hashScrypt('pw', FAST, salt);
  const parsed = parseScryptHash(hash)!;
  assert.deepEqual({ N: parsed.N, r: parsed.r, p: parsed.p }, FAST);
  assert.deepEqual(parsed.salt, salt);
  const { scryptSync } = await import('node:crypto');
  assert.deepEqual(parsed.hash, scryptSync('pw', salt, 32, FAST));
});

test('secrets: malformed or hostile scrypt hashes are rejected, not run', async () => {
  const good = await hashScrypt('pw', FAST, Buffer.alloc(16, 1));
  const [, , , salt, hash] = good.split('$');
  const bad = [
    '',
    'scrypt',
    `$scrypt$N=1000,r=8,p=1$${salt}$${hash}`, // N not a power of two
    `$scrypt$N=2097152,r=8,p=1$${salt}$${hash}`, // N above 2^20
    `$scrypt$N=1024,r=64,p=1$${salt}$${hash}`,
    `$scrypt$N=1024,r=8,p=17$${salt}$${hash}`,
    `$scrypt$N=1024,r=8,p=1$AAAA$${hash}`, // salt too short
    `$scrypt$N=1024,r=8,p=1$${salt}$AAAA`, // hash too short
    `$scrypt$N=01024,r=8,p=1$${salt}$${hash}`,
    `$bcrypt$N=1024,r=8,p=1$${salt}$${hash}`,
  ];
  for (const value of bad) {
    assert.equal(parseScryptHash(value), null, value);
    assert.equal(await verifyPassword({ scrypt: value }, 'pw'), false, value);
  }
  assert.equal(await verifyPassword({ scrypt: good }, 'pw'), true);
});

test('secrets: option validation', async () => {
  await assert.rejects(deriveSecrets('x', { scramIterations: 0 }), SecretsError);
  await assert.rejects(deriveSecrets('x', { scramIterations: 1.5 }), SecretsError);
  await assert.rejects(deriveSecrets('x', { scrypt: { N: 1000, r: 8, p: 1 } }), SecretsError);
});

test('secrets: CRAM-MD5 states reproduce HMAC-MD5 of the password', () => {
  for (const password of ['tanstaaftanstaaf', '', 'x'.repeat(64), 'y'.repeat(65), 'ünïcødé']) {
    const states = decodeCramMd5Secret(cramMd5Secret(password))!;
    const msg = Buffer.from('<1896.697170952@postoffice.reston.mci.net>');
    const got = md5Resume(states.opad, MD5_BLOCK_SIZE, md5Resume(states.ipad, MD5_BLOCK_SIZE, msg));
    assert.deepEqual(got, createHmac('md5', Buffer.from(password)).update(msg).digest(), password);
  }
});

test('secrets: stored secret decoding validates shape', async () => {
  assert.equal(decodeCramMd5Secret(undefined), null);
  assert.equal(decodeCramMd5Secret({ ipad: 'AAAA', opad: 'AAAA' }), null);
  const scram = await scramSecret('sha256', 'pw', Buffer.from('salt'), 2);
  assert.deepEqual(decodeScramSecret(scram, 32)?.salt, Buffer.from('salt'));
  assert.equal(decodeScramSecret(scram, 20), null);
  assert.equal(decodeScramSecret({ ...scram, iterations: 0 }, 32), null);
  assert.equal(decodeScramSecret({ ...scram, salt: '' }, 32), null);
  assert.equal(decodeScramSecret(undefined, 32), null);
});

test('normalize: passwords get SASLprep mapping and NFC', async () => {
  assert.equal(normalizePassword('plain ASCII ~'), 'plain ASCII ~');
  assert.equal(normalizePassword('e\u0301'), '\u00e9'); // NFC composes
  assert.equal(normalizePassword('a\u00a0b\u3000c'), 'a b c'); // C.1.2 to SPACE
  assert.equal(normalizePassword('a\u00adb\u200bc\ufeff'), 'abc'); // B.1 removed
  assert.equal(normalizePassword('\ufb01'), '\ufb01'); // NFC keeps compatibility characters
  assert.equal(normalizeName('Ame\u0301lie'), 'Am\u00e9lie');
  assert.equal(normalizeName('a\u00a0b'), 'a\u00a0b');
  // Equivalent spellings verify against the same hash.
  const s = await deriveSecrets('caf\u00e9\u00a0bar', { scrypt: FAST, scramIterations: 1 });
  assert.equal(await verifyPassword(s, 'cafe\u0301 bar'), true);
});
