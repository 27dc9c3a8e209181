import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import fc from 'fast-check';
import {
  hmacMd5Precompute,
  md5InitialState,
  md5Resume,
  md5StateFromBytes,
  md5StateToBytes,
} from './md5.js';

function nodeMd5(data: Uint8Array): Buffer {
  return createHash('md5').update(data).digest();
}

/** HMAC-MD5 continued from saved states, as CRAM-MD5 verification does it. */
function resumedHmac(key: Uint8Array, msg: Uint8Array): Buffer {
  const k = key.length > 64 ? nodeMd5(key) : key;
  const { ipad, opad } = hmacMd5Precompute(k);
  return md5Resume(opad, 64, md5Resume(ipad, 64, msg));
}

test('md5: RFC 1321 appendix A.5 test suite', () => {
  const vectors: [string, string][] = [
    ['', 'd41d8cd98f00b204e9800998ecf8427e'],
    ['a', '0cc175b9c0f1b6a831c399e269772661'],
    ['abc', '900150983cd24fb0d6963f7d28e17f72'],
    ['message digest', 'f96b697d7cb7938d525a2f31aaf161d0'],
    ['abcdefghijklmnopqrstuvwxyz', 'c3fcd3d76192e4007dfb496cca67e13b'],
    [
      '12345678901234567890123456789012345678901234567890123456789012345678901234567890',
      '57edf4a22be3c955ac49da2e2107b67a',
    ],
  ];
  for (const [input, hex] of vectors) {
    assert.equal(md5Resume(md5InitialState(), 0, Buffer.from(input)).toString('hex'), hex, input);
  }
});

test('md5: every length around the padding boundaries matches node', () => {
  const data = Buffer.alloc(300);
  for (let i = 0; i < data.length; i++) data[i] = (i * 31 + 7) & 0xff;
  for (let n = 0; n <= data.length; n++) {
    const part = data.subarray(0, n);
    assert.deepEqual(md5Resume(md5InitialState(), 0, part), nodeMd5(part), `length ${n}`);
  }
});

test('md5: random inputs match node', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (data) => {
      assert.deepEqual(md5Resume(md5InitialState(), 0, data), nodeMd5(data));
    }),
    { numRuns: 300 },
  );
});

test('md5: resuming from a saved HMAC state equals crypto HMAC-MD5', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 150 }),
      fc.uint8Array({ maxLength: 300 }),
      (key, msg) => {
        assert.deepEqual(resumedHmac(key, msg), createHmac('md5', key).update(msg).digest());
      },
    ),
    { numRuns: 500 },
  );
});

test('md5: RFC 2104 appendix test vector', () => {
  const key = Buffer.alloc(16, 0x0b);
  assert.equal(
    resumedHmac(key, Buffer.from('Hi There')).toString('hex'),
    '9294727a3638bb1c13f48ef8158bfc9d',
  );
  assert.equal(
    resumedHmac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex'),
    '750c783e6ab0b503eaa86e310a5db738',
  );
});

test('md5: state serialisation round-trips and rejects wrong lengths', () => {
  const st = md5InitialState();
  const bytes = md5StateToBytes(st);
  assert.equal(bytes.toString('hex'), '0123456789abcdeffedcba9876543210');
  assert.deepEqual(md5StateFromBytes(bytes), st);
  assert.equal(md5StateFromBytes(Buffer.alloc(15)), null);
  assert.equal(md5StateFromBytes(Buffer.alloc(17)), null);
});

test('md5: resume rejects a partial-block prefix and long HMAC keys', () => {
  assert.throws(() => md5Resume(md5InitialState(), 10, Buffer.alloc(1)), RangeError);
  assert.throws(() => hmacMd5Precompute(Buffer.alloc(65)), RangeError);
});
