// The verifier on signature fields that cannot be used, keys that do not fit, and messages
// made to cost: each gets its own result and a reason, and never a pass.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import { MockResolver } from '../dns/mock.js';
import { dkimRecord, generateDkimKey, publicKeyBase64 } from './dkimkey.js';
import { dkimSign, parseDkimKey } from './dkimsign.js';
import { MAX_SIGNATURES, verifyDkim } from './dkimverify.js';

const NOW = new Date('2025-03-01T12:00:00Z');
const ed = parseDkimKey(generateDkimKey('ed25519').pem, 'ed.pem');
const rsa = parseDkimKey(generateDkimKey('rsa2048').pem, 'rsa.pem');
const rsaP = publicKeyBase64(rsa);
const edP = publicKeyBase64(ed);

const mail = Buffer.from(
  'From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nHello.\r\n',
);

async function signed(key = ed, selector = 'ed'): Promise<string> {
  return dkimSign(mail, [{ domain: 'example.com', selector, key }], { now: NOW });
}

const zone = (txt: Record<string, string[]>) =>
  new MockResolver({
    txt: {
      'ed._domainkey.example.com': [dkimRecord(ed)],
      'rsa._domainkey.example.com': [dkimRecord(rsa)],
      ...txt,
    },
  });

async function verdict(sig: string, txt: Record<string, string[]> = {}) {
  const [r, ...rest] = await verifyDkim(
    Buffer.concat([Buffer.from(sig, 'latin1'), mail]),
    zone(txt),
    {
      now: NOW,
    },
  );
  assert.deepEqual(rest, []);
  return [r!.result, r!.comment];
}

describe('unusable signature fields', () => {
  const cases: [string, (sig: string) => string, string, RegExp][] = [
    [
      'a duplicate tag',
      (s) => s.replace('v=1;', 'v=1; v=1;'),
      'neutral',
      /malformed signature: duplicate tag v=/,
    ],
    [
      'a tag without "="',
      (s) => s.replace('v=1;', 'v=1; junk;'),
      'neutral',
      /malformed signature: tag without "="/,
    ],
    ['bad base64 in b=', (s) => s.replace(/ b=/, ' b=!!'), 'neutral', /b= is not base64/],
    ['bad base64 in bh=', (s) => s.replace(/bh=/, 'bh=%'), 'neutral', /bh= is not base64/],
    [
      'h= without From',
      (s) => s.replace(/h=[^;]*;/, 'h=To:Subject;'),
      'permerror',
      /From field not signed/,
    ],
    [
      'i= of another domain',
      (s) => s.replace('v=1;', 'v=1; i=@evil.example;'),
      'permerror',
      /i= is not within d=/,
    ],
    [
      'rsa-sha1',
      (s) => s.replace('a=ed25519-sha256', 'a=rsa-sha1'),
      'neutral',
      /rsa-sha1 is not accepted/,
    ],
    ['version 2', (s) => s.replace('v=1;', 'v=2;'), 'neutral', /unsupported version/],
    ['no d=', (s) => s.replace(/d=example\.com;/, ''), 'neutral', /missing d=/],
    ['a NUL byte', (s) => s.replace('v=1;', 'v=1\x00;'), 'neutral', /malformed signature/],
  ];
  for (const [name, change, result, comment] of cases) {
    test(name, async () => {
      const sig = await signed();
      const changed = change(sig);
      assert.notEqual(changed, sig);
      const [r, c] = await verdict(changed);
      assert.equal(r, result);
      assert.match(c!, comment);
    });
  }

  test('an unusable field is still named by its d= and s=', async () => {
    const sig = (await signed()).replace('v=1;', 'v=1; v=1;');
    const [r] = await verifyDkim(Buffer.concat([Buffer.from(sig), mail]), zone({}), { now: NOW });
    assert.deepEqual(
      [r!.domain, r!.selector, r!.algorithm],
      ['example.com', 'ed', 'ed25519-sha256'],
    );
  });
});

describe('keys that do not fit', () => {
  const weak = generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey;
  const weakP = weak.export({ type: 'spki', format: 'der' }).toString('base64');
  const pkcs1 = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
  const cases: [string, string, string[], string, string][] = [
    [
      'an RSA key where a= says ed25519',
      'ed',
      [`v=DKIM1; k=rsa; p=${rsaP}`],
      'permerror',
      'key type does not match a=',
    ],
    [
      'k=ed25519 with an RSA key in p=',
      'ed',
      [`v=DKIM1; k=ed25519; p=${rsaP}`],
      'neutral',
      'invalid public key',
    ],
    [
      'k=rsa with an Ed25519 key in p=',
      'rsa',
      [`v=DKIM1; k=rsa; p=${edP}`],
      'neutral',
      'invalid public key',
    ],
    [
      'k=ed25519 on an ed25519 signature with a=rsa',
      'rsa',
      [`v=DKIM1; k=ed25519; p=${edP}`],
      'permerror',
      'key type does not match a=',
    ],
    ['a revoked key (empty p=)', 'ed', ['v=DKIM1; k=ed25519; p='], 'permerror', 'key revoked'],
    [
      'h=sha1 only',
      'rsa',
      [`v=DKIM1; h=sha1; p=${rsaP}`],
      'permerror',
      'key does not allow sha256',
    ],
    [
      'an unknown version',
      'ed',
      [`v=DKIM2; k=ed25519; p=${edP}`],
      'neutral',
      'unknown key version',
    ],
    ['a key record that is not one', 'ed', ['hello world'], 'neutral', 'invalid public key'],
    ['an SPF record', 'ed', ['v=spf1 -all'], 'neutral', 'unknown key version'],
    ['p= not base64', 'ed', ['v=DKIM1; k=ed25519; p=!!'], 'neutral', 'invalid public key'],
    [
      'a 16-byte ed25519 key',
      'ed',
      ['v=DKIM1; k=ed25519; p=AAAAAAAAAAAAAAAAAAAAAA=='],
      'neutral',
      'invalid public key',
    ],
    ['a 512-bit RSA key', 'rsa', [`v=DKIM1; p=${weakP}`], 'fail', 'rsa key shorter than 1024 bits'],
  ];
  for (const [name, selector, record, result, comment] of cases) {
    test(name, async () => {
      const sig = await signed(selector === 'ed' ? ed : rsa, selector);
      assert.deepEqual(await verdict(sig, { [`${selector}._domainkey.example.com`]: record }), [
        result,
        comment,
      ]);
    });
  }

  test('t=s requires i= to be d= itself', async () => {
    const sig = (await signed()).replace('v=1;', 'v=1; i=@mail.example.com;');
    const strict = { 'ed._domainkey.example.com': [`v=DKIM1; k=ed25519; t=s; p=${edP}`] };
    assert.deepEqual(await verdict(sig, strict), ['permerror', 'i= must equal d= for this key']);
  });

  test('an RSA key published as a bare RSAPublicKey (PKCS#1) is used', async () => {
    const p = pkcs1.export({ type: 'pkcs1', format: 'der' }).toString('base64');
    const sig = await signed(rsa, 'rsa');
    // The right format but not the signing key: it parses, and the signature fails.
    assert.deepEqual(await verdict(sig, { 'rsa._domainkey.example.com': [`p=${p}`] }), [
      'fail',
      'bad signature',
    ]);
  });
});

describe('messages made to cost', () => {
  test(`only the first ${MAX_SIGNATURES} signatures are verified`, async () => {
    const sig = await signed();
    const many = sig.repeat(MAX_SIGNATURES + 5);
    const r = await verifyDkim(Buffer.concat([Buffer.from(many), mail]), zone({}), { now: NOW });
    assert.equal(r.length, MAX_SIGNATURES);
    assert.ok(r.every((x) => x.result === 'pass'));
  });

  test('an enormous header and h= naming fields many times', async () => {
    const filler = `X-Filler: ${'y'.repeat(998)}\r\n`.repeat(2000);
    const big = Buffer.concat([Buffer.from(filler), mail]);
    const sig = await dkimSign(
      big,
      [{ domain: 'example.com', selector: 'ed', key: ed, headers: ['X-Filler'] }],
      {
        now: NOW,
      },
    );
    const names = `h=${'From:'.repeat(5000)}x-filler`;
    const forged = sig.replace(/h=[^;]*;/, `${names};`);
    const v = await verifyDkim(Buffer.concat([Buffer.from(forged), big]), zone({}), { now: NOW });
    assert.deepEqual(
      v.map((x) => [x.result, x.comment]),
      [['fail', 'bad signature']],
    );
    const ok = await verifyDkim(Buffer.concat([Buffer.from(sig), big]), zone({}), { now: NOW });
    assert.deepEqual(
      ok.map((x) => x.result),
      ['pass'],
    );
  });

  test('l= larger than the body: fail', async () => {
    const sig = await signed();
    // A changed l= breaks the signature too; the body check comes first.
    const longer = sig.replace('v=1;', `v=1; l=${'9'.repeat(30)};`);
    assert.deepEqual(await verdict(longer), ['fail', 'body hash did not verify']);
  });
});
