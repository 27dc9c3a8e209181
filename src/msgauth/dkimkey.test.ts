import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { dkimRecord, generateDkimKey, generateDkimKeyAsync, publicKeyBase64 } from './dkimkey.js';
import { DkimKeyCache, DkimKeyError, loadDkimKey, parseDkimKey } from './dkimsign.js';

const dir = mkdtempSync(join(tmpdir(), 'tidings-dkimkey-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

async function rejectsKey(p: Promise<unknown>, file: string, reason: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof DkimKeyError, `expected DkimKeyError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.reason, reason);
    assert.equal(e.message, `DKIM key ${file}: ${e.reason}`);
    return true;
  });
}

describe('generateDkimKey', () => {
  test('rsa2048: PKCS#8 PEM, SubjectPublicKeyInfo p= value', async () => {
    const g = generateDkimKey('rsa2048');
    assert.equal(g.algorithm, 'rsa-sha256');
    assert.match(g.pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const pub = createPublicKey({
      key: Buffer.from(g.publicKeyBase64, 'base64'),
      format: 'der',
      type: 'spki',
    });
    assert.equal(pub.asymmetricKeyType, 'rsa');
    assert.equal(pub.asymmetricKeyDetails?.modulusLength, 2048);
    const key = await loadDkimKey(write('rsa2048.pem', g.pem));
    assert.equal(key.algorithm, 'rsa-sha256');
    assert.equal(key.pem, g.pem);
    assert.equal(publicKeyBase64(key), g.publicKeyBase64);
    assert.equal(dkimRecord(key), `v=DKIM1; k=rsa; p=${g.publicKeyBase64}`);
    assert.equal(dkimRecord(g), `v=DKIM1; k=rsa; p=${g.publicKeyBase64}`);
  });

  test('rsa4096 (async)', async () => {
    const g = await generateDkimKeyAsync('rsa4096');
    const key = parseDkimKey(g.pem, 'k.pem');
    assert.equal(key.privateKey.asymmetricKeyDetails?.modulusLength, 4096);
    assert.equal(publicKeyBase64(key), g.publicKeyBase64);
  });

  test('ed25519: p= is the raw 32-byte public key', async () => {
    const g = generateDkimKey('ed25519');
    assert.equal(g.algorithm, 'ed25519-sha256');
    const raw = Buffer.from(g.publicKeyBase64, 'base64');
    assert.equal(raw.length, 32);
    const key = await loadDkimKey(write('ed.pem', g.pem));
    assert.equal(key.algorithm, 'ed25519-sha256');
    const spki = createPublicKey(key.privateKey).export({ type: 'spki', format: 'der' });
    assert.deepEqual(spki.subarray(spki.length - 32), raw);
    assert.equal(dkimRecord(key), `v=DKIM1; k=ed25519; p=${g.publicKeyBase64}`);
    const again = await generateDkimKeyAsync('ed25519');
    assert.equal(Buffer.from(again.publicKeyBase64, 'base64').length, 32);
  });

  test('unknown kind', () => {
    assert.throws(() => generateDkimKey('dsa' as 'ed25519'), /unknown DKIM key kind "dsa"/);
  });
});

describe('loadDkimKey', () => {
  test('PKCS#1 "RSA PRIVATE KEY"', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    assert.match(pem, /^-----BEGIN RSA PRIVATE KEY-----/);
    const key = await loadDkimKey(write('pkcs1.pem', pem));
    assert.equal(key.algorithm, 'rsa-sha256');
    const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
    assert.equal(publicKeyBase64(key), spki.toString('base64'));
  });

  test('errors name the file and the problem', async () => {
    const missing = join(dir, 'missing.pem');
    await rejectsKey(loadDkimKey(missing), missing, /^cannot read file: ENOENT/);
    const junk = write('junk.pem', 'not a key\n');
    await rejectsKey(loadDkimKey(junk), junk, /^no PEM private key found/);
    const broken = write(
      'broken.pem',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    );
    await rejectsKey(loadDkimKey(broken), broken, /^invalid private key: /);
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const pub = write('pub.pem', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    await rejectsKey(loadDkimKey(pub), pub, /^contains a public key; a private key is needed$/);
    const enc = privateKey
      .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    const encPath = write('enc.pem', enc);
    await rejectsKey(loadDkimKey(encPath), encPath, /^the private key is encrypted/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ecPath = write('ec.pem', ec.export({ type: 'pkcs8', format: 'pem' }).toString());
    await rejectsKey(loadDkimKey(ecPath), ecPath, /^unsupported key type ec; use RSA or Ed25519$/);
    const small = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey;
    const smallPath = write('small.pem', small.export({ type: 'pkcs8', format: 'pem' }).toString());
    await rejectsKey(
      loadDkimKey(smallPath),
      smallPath,
      /^RSA key has 512 bits; at least 1024 are required$/,
    );
  });
});

describe('DkimKeyCache', () => {
  test('reads a file again only after it changes', async () => {
    const path = write('cached.pem', generateDkimKey('ed25519').pem);
    const cache = new DkimKeyCache();
    const k1 = await cache.get(path);
    const k2 = await cache.get(path);
    assert.equal(k2, k1);
    const next = generateDkimKey('ed25519');
    writeFileSync(path, next.pem);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const k3 = await cache.get(path);
    assert.notEqual(k3, k1);
    assert.equal(publicKeyBase64(k3), next.publicKeyBase64);
    assert.equal(await cache.get(path), k3);
  });

  test('failures are not cached', async () => {
    const path = write('later.pem', 'nothing yet');
    const cache = new DkimKeyCache();
    await rejectsKey(cache.get(path), path, /^no PEM private key found/);
    const g = generateDkimKey('ed25519');
    writeFileSync(path, g.pem);
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    assert.equal(publicKeyBase64(await cache.get(path)), g.publicKeyBase64);
    rmSync(path);
    await rejectsKey(cache.get(path), path, /^cannot read file: ENOENT/);
  });
});
