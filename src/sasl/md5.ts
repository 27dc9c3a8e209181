// A small MD5 (RFC 1321) whose internal state can be saved after whole 64-byte blocks and
// resumed later. CRAM-MD5 secrets are stored as the HMAC-MD5 (RFC 2104) inner and outer
// states after absorbing the ipad/opad key block, so the password itself is never kept.

/** MD5 chaining state: the four 32-bit words A, B, C, D. */
export type Md5State = Uint32Array;

export const MD5_BLOCK_SIZE = 64;
export const MD5_STATE_SIZE = 16;

// RFC 1321 §3.4: T[i] = floor(2^32 * abs(sin(i + 1))).
const T = new Uint32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

// RFC 1321 §3.4: per-round shift amounts.
const S = new Uint8Array([
  7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14,
  20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6,
  10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
]);

// Scratch space for the 16 message words of one block; reused to keep the hot path
// allocation-free (the compression function never yields, so sharing is safe).
const X = new Uint32Array(16);

/** The RFC 1321 §3.3 initial state. */
export function md5InitialState(): Md5State {
  return new Uint32Array([0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]);
}

/** Absorbs the 64-byte block at `offset` of `data` into `state` (RFC 1321 §3.4). */
export function md5Compress(state: Md5State, data: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) {
    const o = offset + i * 4;
    X[i] = (data[o]! | (data[o + 1]! << 8) | (data[o + 2]! << 16) | (data[o + 3]! << 24)) >>> 0;
  }
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const sum = (a + f + T[i]! + X[g]!) | 0;
    const s = S[i]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
  }
  state[0] = (state[0]! + a) >>> 0;
  state[1] = (state[1]! + b) >>> 0;
  state[2] = (state[2]! + c) >>> 0;
  state[3] = (state[3]! + d) >>> 0;
}

/**
 * Continues from `state`, which has already absorbed `absorbed` bytes (a multiple of 64),
 * hashes `data` and returns the final 16-byte digest. `state` is not modified.
 */
export function md5Resume(state: Md5State, absorbed: number, data: Uint8Array): Buffer {
  if (absorbed % MD5_BLOCK_SIZE !== 0 || absorbed < 0) {
    throw new RangeError('md5: absorbed length must be a non-negative multiple of 64');
  }
  const st = new Uint32Array(state);
  const full = data.length - (data.length % MD5_BLOCK_SIZE);
  for (let o = 0; o < full; o += MD5_BLOCK_SIZE) md5Compress(st, data, o);

  // RFC 1321 §3.1–3.2: a 0x80 byte, zeros up to 56 mod 64, then the bit length (LE, 64 bits).
  const rest = data.length - full;
  const tail = new Uint8Array(rest < 56 ? 64 : 128);
  tail.set(data.subarray(full));
  tail[rest] = 0x80;
  const bits = (absorbed + data.length) * 8;
  writeUint32LE(tail, tail.length - 8, bits % 0x1_0000_0000);
  writeUint32LE(tail, tail.length - 4, Math.floor(bits / 0x1_0000_0000));
  for (let o = 0; o < tail.length; o += MD5_BLOCK_SIZE) md5Compress(st, tail, o);
  return md5StateToBytes(st);
}

/** Serialises a state as 16 bytes, each word little-endian (the digest byte order). */
export function md5StateToBytes(state: Md5State): Buffer {
  const out = Buffer.allocUnsafe(MD5_STATE_SIZE);
  for (let i = 0; i < 4; i++) out.writeUInt32LE(state[i]!, i * 4);
  return out;
}

/** Parses 16 bytes written by md5StateToBytes; null if the length is wrong. */
export function md5StateFromBytes(bytes: Uint8Array): Md5State | null {
  if (bytes.length !== MD5_STATE_SIZE) return null;
  const st = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const o = i * 4;
    st[i] =
      (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
  }
  return st;
}

/**
 * RFC 2104 §2: the states after absorbing the key block XOR ipad (0x36) and XOR opad
 * (0x5c). Keys longer than a block must already be hashed by the caller.
 */
export function hmacMd5Precompute(key: Uint8Array): { ipad: Md5State; opad: Md5State } {
  if (key.length > MD5_BLOCK_SIZE) throw new RangeError('md5: HMAC key longer than one block');
  const block = new Uint8Array(MD5_BLOCK_SIZE);
  const absorb = (pad: number): Md5State => {
    block.fill(pad);
    for (let i = 0; i < key.length; i++) block[i] = key[i]! ^ pad;
    const st = md5InitialState();
    md5Compress(st, block, 0);
    return st;
  };
  const out = { ipad: absorb(0x36), opad: absorb(0x5c) };
  block.fill(0);
  return out;
}

function writeUint32LE(buf: Uint8Array, offset: number, v: number): void {
  buf[offset] = v & 0xff;
  buf[offset + 1] = (v >>> 8) & 0xff;
  buf[offset + 2] = (v >>> 16) & 0xff;
  buf[offset + 3] = (v >>> 24) & 0xff;
}
