import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { sealMessage } from 'mailauth/lib/arc/index.js';
import { dkimSign as mailauthDkimSign } from 'mailauth/lib/dkim/sign.js';
import { MockResolver } from '../dns/mock.js';
import { generateDkimKey } from './dkimkey.js';
import { dkimSign, parseDkimKey } from './dkimsign.js';
import { verifyDkim, verifySignatures } from './dkimverify.js';

const message = Buffer.from('From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n');

test('an unsigned message gives one "none" result', async () => {
  assert.deepEqual(await verifyDkim(message, new MockResolver({})), [
    {
      domain: '',
      selector: '',
      result: 'none',
      info: 'dkim=none (message not signed)',
      comment: 'message not signed',
    },
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

// Signatures made with mailauth, which (unlike our dkimSign) signs with short RSA keys,
// l= and ARC seals. Every test passes `now`: nothing depends on the clock.
const NOW = new Date('2025-03-01T12:00:00Z');

function rsaKey(bits: number): { pem: string; record: string } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${p}`,
  };
}

const weak = rsaKey(512);
const k1024 = rsaKey(1024);
const arcKey = rsaKey(2048);
const arcKey2 = rsaKey(2048);

const keys = new MockResolver({
  txt: {
    'weak._domainkey.example.com': [weak.record],
    'k1024._domainkey.example.com': [k1024.record],
    'arc._domainkey.sealer.example': [arcKey.record],
    'arc2._domainkey.second.example': [arcKey2.record],
    'weak._domainkey.sealer.example': [weak.record],
  },
});

const mail = Buffer.from(
  'From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hello\r\n' +
    'Date: Sat, 01 Mar 2025 12:00:00 +0000\r\n\r\nHello Bob,\r\nsee you.\r\n',
);

/** mailauth's DKIM signature fields for `msg` (its types lack signatureData's shape). */
async function mailauthSign(
  msg: Buffer,
  sig: { selector: string; privateKey: string; maxBodyLength?: number },
): Promise<string> {
  const opts = { signTime: NOW, signatureData: [{ signingDomain: 'example.com', ...sig }] };
  const r = await mailauthDkimSign(msg, opts as unknown as Parameters<typeof mailauthDkimSign>[1]);
  assert.deepEqual(r.errors, []);
  return r.signatures;
}

/** mailauth's ARC set for `msg`, sealed by `domain`. */
async function seal(
  msg: Buffer,
  domain: string,
  selector: string,
  privateKey: string,
  cv: 'none' | 'pass',
): Promise<Buffer> {
  const opts = {
    signingDomain: domain,
    selector,
    privateKey,
    authResults: `mx.${domain}; spf=pass smtp.mailfrom=example.com; dkim=none`,
    cv,
    signTime: NOW,
  };
  return sealMessage(msg, opts as Parameters<typeof sealMessage>[1]);
}

/** Runs `fn`, collecting what is written to stdout meanwhile (still written). */
async function stdoutDuring<T>(fn: () => Promise<T>): Promise<{ value: T; out: string }> {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = function (this: unknown, chunk: unknown, ...rest: unknown[]) {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1');
    return (write as (...a: unknown[]) => boolean).call(process.stdout, chunk, ...rest);
  } as typeof process.stdout.write;
  try {
    const value = await fn();
    return { value, out };
  } finally {
    process.stdout.write = write;
  }
}

describe('RSA key length', () => {
  test('a 512-bit key fails', async () => {
    const sig = await mailauthSign(mail, { selector: 'weak', privateKey: weak.pem });
    const [r, ...rest] = await verifyDkim(Buffer.concat([Buffer.from(sig), mail]), keys, {
      now: NOW,
    });
    assert.deepEqual(rest, []);
    assert.equal(r?.domain, 'example.com');
    assert.equal(r?.selector, 'weak');
    assert.equal(r?.result, 'fail');
    assert.equal(r?.comment, 'rsa key shorter than 1024 bits');
    assert.equal(r?.algorithm, 'rsa-sha256');
    assert.match(r?.info ?? '', /^dkim=fail policy\.dkim-rules=weak-key header\.i=@example\.com /);
  });

  test('a 1024-bit key is enough', async () => {
    const sig = await mailauthSign(mail, { selector: 'k1024', privateKey: k1024.pem });
    const v = await verifyDkim(Buffer.concat([Buffer.from(sig), mail]), keys, { now: NOW });
    assert.deepEqual(
      v.map((r) => [r.result, r.comment]),
      [['pass', '1024 bit rsa']],
    );
    const b = /\bb=([^;]+)$/.exec(sig)?.[1]?.replace(/\s+/g, '');
    assert.equal(v[0]?.bPrefix, b?.slice(0, 12));
  });
});

describe('l= body length', () => {
  test('l= covering the whole body passes', async () => {
    const sig = await mailauthSign(mail, {
      selector: 'k1024',
      privateKey: k1024.pem,
      maxBodyLength: 1_000_000,
    });
    assert.match(sig, /; l=\d+;/);
    const { value, out } = await stdoutDuring(() =>
      verifyDkim(Buffer.concat([Buffer.from(sig), mail]), keys, { now: NOW }),
    );
    assert.deepEqual(
      value.map((r) => [r.result, r.comment]),
      [['pass', '1024 bit rsa']],
    );
    assert.doesNotMatch(out, /TOTAL|EXPECTING/);
  });

  test('text appended after the signed length: policy', async () => {
    const sig = await mailauthSign(mail, {
      selector: 'k1024',
      privateKey: k1024.pem,
      maxBodyLength: 1_000_000,
    });
    const appended = Buffer.concat([Buffer.from(sig), mail, Buffer.from('Send money.\r\n')]);
    const { value, out } = await stdoutDuring(() => verifyDkim(appended, keys, { now: NOW }));
    assert.equal(value.length, 1);
    assert.equal(value[0]?.result, 'policy');
    assert.equal(value[0]?.comment, 'l= leaves part of the body unsigned');
    assert.match(value[0]?.info ?? '', /^dkim=policy /);
    assert.equal(out, '');
  });

  test('a body shorter than l=: fail, and mailauth prints nothing', async () => {
    const sig = await mailauthSign(mail, {
      selector: 'k1024',
      privateKey: k1024.pem,
      maxBodyLength: 1_000_000,
    });
    const cut = Buffer.from(mail.toString().replace('see you.\r\n', ''));
    const { value, out } = await stdoutDuring(() =>
      verifyDkim(Buffer.concat([Buffer.from(sig), cut]), keys, { now: NOW }),
    );
    assert.deepEqual(
      value.map((r) => [r.result, r.comment]),
      [['fail', 'body hash did not verify']],
    );
    // mailauth logs "TOTAL <n> EXPECTING <l>" here; the sender controls l=.
    assert.equal(out, '');
  });
});

describe('ARC', () => {
  test('no chain: none', async () => {
    const v = await verifySignatures(mail, keys, { now: NOW });
    assert.deepEqual(v.arc, { result: 'none', instance: 0, sealer: '', comment: '' });
  });

  test('a chain sealed once passes', async () => {
    const sealed = Buffer.concat([
      await seal(mail, 'sealer.example', 'arc', arcKey.pem, 'none'),
      mail,
    ]);
    const v = await verifySignatures(sealed, keys, { now: NOW });
    assert.deepEqual(v.arc, { result: 'pass', instance: 1, sealer: 'sealer.example', comment: '' });
    // ARC sets are not DKIM signatures.
    assert.deepEqual(
      v.dkim.map((r) => r.result),
      ['none'],
    );
  });

  test('a stream gives the same verdict as a buffer', async () => {
    const sealed = Buffer.concat([
      await seal(mail, 'sealer.example', 'arc', arcKey.pem, 'none'),
      mail,
    ]);
    const chunks: Buffer[] = [];
    for (let i = 0; i < sealed.length; i += 5) chunks.push(sealed.subarray(i, i + 5));
    const v = await verifySignatures(Readable.from(chunks), keys, { now: NOW });
    assert.deepEqual(v.arc, { result: 'pass', instance: 1, sealer: 'sealer.example', comment: '' });
  });

  test('a chain sealed twice passes with the last sealer', async () => {
    const once = Buffer.concat([
      await seal(mail, 'sealer.example', 'arc', arcKey.pem, 'none'),
      mail,
    ]);
    const twice = Buffer.concat([
      await seal(once, 'Second.Example', 'arc2', arcKey2.pem, 'pass'),
      once,
    ]);
    const v = await verifySignatures(twice, keys, { now: NOW });
    assert.deepEqual(v.arc, { result: 'pass', instance: 2, sealer: 'second.example', comment: '' });
  });

  test('a DKIM signature and an ARC seal together', async () => {
    const sig = await mailauthSign(mail, { selector: 'k1024', privateKey: k1024.pem });
    const signed = Buffer.concat([Buffer.from(sig), mail]);
    const sealed = Buffer.concat([
      await seal(signed, 'sealer.example', 'arc', arcKey.pem, 'none'),
      signed,
    ]);
    const v = await verifySignatures(sealed, keys, { now: NOW });
    assert.deepEqual(
      v.dkim.map((r) => [r.domain, r.selector, r.result]),
      [['example.com', 'k1024', 'pass']],
    );
    assert.equal(v.arc.result, 'pass');
  });

  const tamperings: [string, (sealed: string) => string, string][] = [
    [
      'the body changed after sealing',
      (s) => s.replace('see you.', 'see you!'),
      'i=1 no valid signature',
    ],
    [
      'a signed header changed after sealing',
      (s) => s.replace('Subject: hello', 'Subject: hullo'),
      'i=1 no valid signature',
    ],
    [
      'the ARC-Authentication-Results changed',
      (s) => s.replace('spf=pass', 'spf=fail'),
      'i=1 seal signature validation failed',
    ],
    [
      'the seal signature changed',
      (s) =>
        s.replace(
          /(ARC-Seal:[^]*? b=)([A-Za-z0-9+/])/,
          (_, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`,
        ),
      'i=1 seal signature validation failed',
    ],
  ];
  for (const [name, tamper, comment] of tamperings) {
    test(`a tampered chain fails: ${name}`, async () => {
      const sealed = (await seal(mail, 'sealer.example', 'arc', arcKey.pem, 'none')).toString();
      const changed = tamper(sealed + mail.toString());
      assert.notEqual(changed, sealed + mail.toString());
      const v = await verifySignatures(Buffer.from(changed), keys, { now: NOW });
      assert.deepEqual(v.arc, { result: 'fail', instance: 1, sealer: 'sealer.example', comment });
    });
  }

  test('a broken chain structure fails', async () => {
    const sealed = (await seal(mail, 'sealer.example', 'arc', arcKey.pem, 'none')).toString();
    // Without its ARC-Seal the set is incomplete.
    const noSeal = sealed.replace(/^ARC-Seal:.*\r\n(?:[ \t].*\r\n)*/m, '');
    assert.ok(!noSeal.includes('ARC-Seal'));
    const v = await verifySignatures(Buffer.from(noSeal + mail.toString()), keys, { now: NOW });
    // The set cannot be read, so neither its instance nor its sealer is known.
    assert.deepEqual(v.arc, {
      result: 'fail',
      instance: 0,
      sealer: '',
      comment: 'i=1 no arc-seal set',
    });
  });

  test('a seal made with a 512-bit key fails', async () => {
    const sealed = Buffer.concat([
      await seal(mail, 'sealer.example', 'weak', weak.pem, 'none'),
      mail,
    ]);
    const v = await verifySignatures(sealed, keys, { now: NOW });
    assert.equal(v.arc.result, 'fail');
    assert.equal(v.arc.sealer, 'sealer.example');
  });

  test('a seal without a published key fails', async () => {
    const sealed = Buffer.concat([
      await seal(mail, 'sealer.example', 'nokey', arcKey.pem, 'none'),
      mail,
    ]);
    const v = await verifySignatures(sealed, keys, { now: NOW });
    assert.equal(v.arc.result, 'fail');
    assert.equal(v.arc.sealer, 'sealer.example');
  });
});
