import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import { createSaslClient } from './client.js';
import { digest, hmac, scramKeys, xor, type ScramHashName } from './scramcore.js';
import { deriveSecrets, scramSecret, type StoredSecrets } from './secrets.js';
import { createSaslServer, type SaslContext, type SaslServer, type SaslStep } from './server.js';
import type { SaslTlsInfo } from './types.js';

const FAST = { scrypt: { N: 1024, r: 8, p: 1 }, scramIterations: 16 };
const users = new Map<string, { account: string; secrets: StoredSecrets | null }>();

before(async () => {
  const salt1 = Buffer.from('QSXCR+Q6sek8bf92', 'base64');
  const salt256 = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');
  users.set('user', {
    account: 'rfc',
    secrets: {
      scramSHA1: await scramSecret('sha1', 'pencil', salt1, 4096),
      scramSHA256: await scramSecret('sha256', 'pencil', salt256, 4096),
    },
  });
  users.set('a,b=c', { account: 'odd', secrets: await deriveSecrets('pw', FAST) });
  users.set('nosecrets', { account: 'nosecrets', secrets: null });
  users.set('sha1only', {
    account: 'sha1only',
    secrets: { scramSHA1: (await deriveSecrets('pw', FAST)).scramSHA1! },
  });
  users.set('corrupt', {
    account: 'corrupt',
    secrets: { scramSHA256: { salt: 'c2FsdA==', iterations: 16, saltedPassword: 'AAAA' } },
  });
});

function context(extra: Partial<SaslContext> = {}): SaslContext {
  return {
    hostname: 'mail.example.org',
    lookup: async (username) => users.get(username) ?? null,
    ...extra,
  };
}

function server(mechanism: string, extra: Partial<SaslContext> = {}): SaslServer {
  const s = createSaslServer(mechanism, context(extra));
  assert.ok(s);
  return s;
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function assertFailure(step: SaslStep, reason: string): void {
  assert.equal(step.kind, 'failure', JSON.stringify(step));
  if (step.kind === 'failure') assert.equal(step.reason, reason, step.message);
}

function challengeText(step: SaslStep): string {
  assert.equal(step.kind, 'challenge', JSON.stringify(step));
  return step.kind === 'challenge' ? step.data.toString() : '';
}

/** A fake TLS 1.3 connection with a fixed exporter value. */
const EXPORTER = Buffer.alloc(32, 7);
const tls13: SaslTlsInfo = {
  version: 'TLSv1.3',
  channelBinding: (type) => (type === 'tls-exporter' ? EXPORTER : null),
};

/** SaltedPassword for a server-first message, computed independently of the module. */
function saltedFor(hash: ScramHashName, password: string, serverFirst: string): Buffer {
  const attrs = new Map(serverFirst.split(',').map((p) => [p[0], p.slice(2)]));
  const salt = Buffer.from(attrs.get('s')!, 'base64');
  return pbkdf2Sync(password, salt, Number(attrs.get('i')), hash === 'sha1' ? 20 : 32, hash);
}

/**
 * Builds a client-final message by hand for a given without-proof part, so tests can
 * exercise inputs the client module never produces.
 */
function handFinal(
  hash: ScramHashName,
  password: string,
  serverFirst: string,
  clientFirstBare: string,
  withoutProof: string,
): string {
  const { clientKey, storedKey } = scramKeys(hash, saltedFor(hash, password, serverFirst));
  assert.deepEqual(digest(hash, clientKey), storedKey);
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const proof = xor(clientKey, hmac(hash, storedKey, authMessage));
  return `${withoutProof},p=${proof.toString('base64')}`;
}

/** The server-final message the server must send for a hand-built exchange. */
function handServerFinal(
  hash: ScramHashName,
  password: string,
  serverFirst: string,
  clientFirstBare: string,
  clientFinal: string,
): Buffer {
  const { serverKey } = scramKeys(hash, saltedFor(hash, password, serverFirst));
  const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='));
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  return b(`v=${hmac(hash, serverKey, authMessage).toString('base64')}`);
}

describe('SCRAM test vectors', () => {
  test('RFC 5802 §5 SCRAM-SHA-1', async () => {
    const s = server('SCRAM-SHA-1', { scramServerNonce: () => '3rfcNHYJY1ZVvWVs7j' });
    const client = createSaslClient('SCRAM-SHA-1', {
      username: 'user',
      password: 'pencil',
      nonce: 'fyko+d2lbbFgONRv9qkxdawL',
    });
    const first = client.start()!;
    assert.equal(first.toString(), 'n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL');
    const serverFirst = challengeText(await s.step(first));
    assert.equal(
      serverFirst,
      'r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096',
    );
    const final = client.step(b(serverFirst));
    assert.equal(
      final.toString(),
      'c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=',
    );
    const done = await s.step(final);
    assert.deepEqual(done, {
      kind: 'success',
      username: 'user',
      account: 'rfc',
      final: b('v=rmF9pqV8S7suAoZWja4dJRkFsKQ='),
    });
    assert.deepEqual(client.step(b('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=')), Buffer.alloc(0));
    assert.equal(client.done, true);
  });

  test('RFC 7677 §3 SCRAM-SHA-256', async () => {
    const s = server('SCRAM-SHA-256', {
      scramServerNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
    });
    const clientFirst = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
    const serverFirst = challengeText(await s.step(b(clientFirst)));
    assert.equal(
      serverFirst,
      'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
    );
    const clientFinal =
      'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
    assert.deepEqual(await s.step(b(clientFinal)), {
      kind: 'success',
      username: 'user',
      account: 'rfc',
      final: b('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
    });
    const client = createSaslClient('SCRAM-SHA-256', {
      username: 'user',
      password: 'pencil',
      nonce: 'rOprNGfwEbeRWgbNEkqO',
    });
    assert.equal(client.start()!.toString(), clientFirst);
    assert.equal(client.step(b(serverFirst)).toString(), clientFinal);
    assert.deepEqual(
      client.step(b('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')),
      Buffer.alloc(0),
    );
  });
});

describe('SCRAM server', () => {
  const first = 'n,,n=user,r=abcdef';

  async function toServerFirst(
    mech = 'SCRAM-SHA-256',
    msg = first,
    extra: Partial<SaslContext> = {},
  ) {
    const s = server(mech, { scramServerNonce: () => 'SERVER', ...extra });
    const serverFirst = challengeText(await s.step(b(msg)));
    return { s, serverFirst };
  }

  test('default server nonce is 24 base64 characters from the random source', async () => {
    const { serverFirst } = await toServerFirst('SCRAM-SHA-256', first, {
      scramServerNonce: undefined,
      random: (n) => Buffer.alloc(n, 0xfb),
    });
    assert.equal(serverFirst.split(',')[0], `r=abcdef${Buffer.alloc(18, 0xfb).toString('base64')}`);
    assert.equal(Buffer.alloc(18, 0xfb).toString('base64').length, 24);
  });

  test('no initial response gets an empty challenge first', async () => {
    const s = server('SCRAM-SHA-1', { scramServerNonce: () => 'X' });
    assert.deepEqual(await s.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
    assert.match(challengeText(await s.step(b(first))), /^r=abcdefX,s=QSXCR\+Q6sek8bf92,i=4096$/);
  });

  test('wrong proof is badCredentials', async () => {
    const { s, serverFirst } = await toServerFirst();
    const final = handFinal(
      'sha256',
      'pencil!',
      serverFirst,
      'n=user,r=abcdef',
      'c=biws,r=abcdefSERVER',
    );
    assertFailure(await s.step(b(final)), 'badCredentials');
    assertFailure(await s.step(b(final)), 'badProtocol');
  });

  test('extensions in client-final are covered by the proof', async () => {
    const { s, serverFirst } = await toServerFirst();
    const bare = 'n=user,r=abcdef';
    const final = handFinal('sha256', 'pencil', serverFirst, bare, 'c=biws,r=abcdefSERVER,x=ext');
    assert.deepEqual(await s.step(b(final)), {
      kind: 'success',
      username: 'user',
      account: 'rfc',
      final: handServerFinal('sha256', 'pencil', serverFirst, bare, final),
    });
  });

  test('unknown user, missing and corrupt secrets', async () => {
    assertFailure(await server('SCRAM-SHA-256').step(b('n,,n=nobody,r=abc')), 'unknownUser');
    assertFailure(await server('SCRAM-SHA-256').step(b('n,,n=nosecrets,r=abc')), 'missingSecrets');
    assertFailure(await server('SCRAM-SHA-256').step(b('n,,n=sha1only,r=abc')), 'missingSecrets');
    assertFailure(await server('SCRAM-SHA-256').step(b('n,,n=corrupt,r=abc')), 'missingSecrets');
    assert.equal((await server('SCRAM-SHA-1').step(b('n,,n=sha1only,r=abc'))).kind, 'challenge');
  });

  test('authzid must equal the user name', async () => {
    assert.equal((await server('SCRAM-SHA-1').step(b('n,a=user,n=user,r=abc'))).kind, 'challenge');
    assertFailure(await server('SCRAM-SHA-1').step(b('n,a=admin,n=user,r=abc')), 'authzFailed');
  });

  test('saslname escapes =2C and =3D', async () => {
    const gs2 = 'n,a=a=2Cb=3Dc,';
    const bare = 'n=a=2Cb=3Dc,r=abc';
    const { s, serverFirst } = await toServerFirst('SCRAM-SHA-256', gs2 + bare);
    const cbind = Buffer.from(gs2).toString('base64');
    const final = handFinal('sha256', 'pw', serverFirst, bare, `c=${cbind},r=abcSERVER`);
    assert.deepEqual(await s.step(b(final)), {
      kind: 'success',
      username: 'a,b=c',
      account: 'odd',
      final: handServerFinal('sha256', 'pw', serverFirst, bare, final),
    });
  });

  test('malformed client-first messages are badProtocol', async () => {
    const bad = [
      '',
      'n',
      'n,',
      'n,,',
      'x,,n=user,r=abc',
      'p,,n=user,r=abc',
      'p=,,n=user,r=abc',
      'n,b=user,n=user,r=abc',
      'n,a=,n=user,r=abc',
      'n,,r=abc,n=user', // attribute order
      'n,,n=user', // no nonce
      'n,,n=,r=abc', // empty name
      'n,,n=us=er,r=abc', // raw "="
      'n,,n=us=2Der,r=abc', // unknown escape
      'n,,n=user=2,r=abc',
      'n,,n=user,r=', // empty nonce
      'n,,n=user,r=ab\x7fc', // nonce not printable
      'n,,n=user,r=ab c',
      'n,,m=ext,n=user,r=abc', // reserved-mext
      'n,,n=user,r=abc,m=ext',
      'n,,n=user,r=abc,r=again',
      'n,,n=user,r=abc,xy=1',
      'n,,n=user,r=abc,',
      'n,,n=us\0er,r=abc',
      'n,,N=user,r=abc',
      ' n,,n=user,r=abc',
      'n,,n=user,r=abc\r\n',
    ];
    for (const msg of bad) assertFailure(await server('SCRAM-SHA-256').step(b(msg)), 'badProtocol');
    assertFailure(
      await server('SCRAM-SHA-256').step(Buffer.from('n,,n=\xff,r=abc', 'latin1')),
      'badProtocol',
    );
    // Optional extensions after the nonce are allowed.
    assert.equal((await server('SCRAM-SHA-256').step(b('n,,n=user,r=abc,x=1'))).kind, 'challenge');
  });

  test('malformed client-final messages are badProtocol', async () => {
    const proof = Buffer.alloc(32, 1).toString('base64');
    const bad = [
      '',
      `c=biws,r=abcdefSERVER`,
      `r=abcdefSERVER,c=biws,p=${proof}`,
      `c=biws,r=abcdef,p=${proof}`, // nonce without the server part
      `c=biws,r=abcdefSERVERx,p=${proof}`,
      `c=biws,r=abcdefSERVER,p=${proof},x=1`, // proof not last
      `c=biws,r=abcdefSERVER,p=${proof.slice(0, -1)}`, // bad base64
      `c=biws,r=abcdefSERVER,p=${Buffer.alloc(20, 1).toString('base64')}`, // wrong length
      `c=biws,r=abcdefSERVER,p=`,
      `c=biw,r=abcdefSERVER,p=${proof}`,
      `c=bix=,r=abcdefSERVER,p=${proof}`, // non-canonical base64
      `c=biws,r=abcdefSERVER,m=1,p=${proof}`,
      `c=biws,r=abcdefSERVER,c=biws,p=${proof}`,
      `c=biws,r=abcdefSERVER,,p=${proof}`,
      `c=biws,r=abcdefSERVER,p=${proof} `,
    ];
    for (const msg of bad) {
      const { s } = await toServerFirst();
      assertFailure(await s.step(b(msg)), 'badProtocol');
    }
  });

  test('c= must repeat the gs2 header', async () => {
    const { s, serverFirst } = await toServerFirst();
    // "y,," instead of "n,,": a changed header is a channel-binding mismatch.
    const final = handFinal(
      'sha256',
      'pencil',
      serverFirst,
      'n=user,r=abcdef',
      'c=eSws,r=abcdefSERVER',
    );
    assertFailure(await s.step(b(final)), 'badChannelBinding');
  });

  test('y flag: accepted without TLS, a downgrade when the server can bind', async () => {
    assert.equal((await server('SCRAM-SHA-256').step(b('y,,n=user,r=abc'))).kind, 'challenge');
    assertFailure(
      await server('SCRAM-SHA-256', { tls: tls13 }).step(b('y,,n=user,r=abc')),
      'badChannelBinding',
    );
    const noBinding: SaslTlsInfo = { version: 'TLSv1.2', channelBinding: () => null };
    assert.equal(
      (await server('SCRAM-SHA-256', { tls: noBinding }).step(b('y,,n=user,r=abc'))).kind,
      'challenge',
    );
  });

  test('channel binding flag rules', async () => {
    assertFailure(
      await server('SCRAM-SHA-256').step(b('p=tls-exporter,,n=user,r=abc')),
      'badProtocol',
    );
    assertFailure(
      await server('SCRAM-SHA-256-PLUS').step(b('p=tls-exporter,,n=user,r=abc')),
      'channelBindingUnavailable',
    );
    assertFailure(await server('SCRAM-SHA-256-PLUS').step(null), 'channelBindingUnavailable');
    assertFailure(
      await server('SCRAM-SHA-1-PLUS', { tls: tls13 }).step(b('n,,n=user,r=abc')),
      'badProtocol',
    );
    assertFailure(
      await server('SCRAM-SHA-1-PLUS', { tls: tls13 }).step(b('y,,n=user,r=abc')),
      'badProtocol',
    );
    assertFailure(
      await server('SCRAM-SHA-1-PLUS', { tls: tls13 }).step(
        b('p=tls-server-end-point,,n=user,r=abc'),
      ),
      'channelBindingUnavailable',
    );
    assertFailure(
      await server('SCRAM-SHA-1-PLUS', { tls: tls13 }).step(b('p=tls-unique,,n=user,r=abc')),
      'channelBindingUnavailable',
    );
    assertFailure(
      await server('SCRAM-SHA-1-PLUS', { tls: tls13 }).step(b('p=tls_x,,n=user,r=abc')),
      'badProtocol',
    );
  });

  test('-PLUS with matching and mismatching binding data', async () => {
    for (const [data, expected] of [
      [EXPORTER, 'success'],
      [Buffer.alloc(32, 8), 'failure'],
      [Buffer.alloc(0), 'failure'],
    ] as const) {
      const s = server('SCRAM-SHA-256-PLUS', { tls: tls13 });
      const client = createSaslClient('SCRAM-SHA-256-PLUS', {
        username: 'user',
        password: 'pencil',
        channelBinding: { type: 'tls-exporter', data },
      });
      const serverFirst = await s.step(client.start());
      assert.equal(serverFirst.kind, 'challenge');
      const result = await s.step(
        client.step(serverFirst.kind === 'challenge' ? serverFirst.data : b('')),
      );
      assert.equal(result.kind, expected);
      if (result.kind === 'failure') assert.equal(result.reason, 'badChannelBinding');
    }
  });

  test('random input never throws and always yields a step', async () => {
    const token = fc.constantFrom(
      'n',
      'y',
      'p=tls-exporter',
      'p=tls-unique',
      'a=user',
      'n=user',
      'r=abc',
      'r=abcSERVER',
      'c=biws',
      'm=x',
      's=QSXCR+Q6sek8bf92',
      'i=4096',
      'p=AAAA',
      '=2C',
      '=3D',
      '=',
      '',
      'x=1',
      '\0',
      '\u00e9',
    );
    const message = fc.oneof(
      fc.array(token, { maxLength: 8 }).map((t) => b(t.join(','))),
      fc.uint8Array({ maxLength: 64 }).map((u) => Buffer.from(u)),
      fc.string({ maxLength: 64 }).map((s) => b(s)),
    );
    const kinds = new Set(['challenge', 'success', 'failure']);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('SCRAM-SHA-1', 'SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'),
        fc.boolean(),
        message,
        message,
        async (mech, withTls, m1, m2) => {
          const s = server(mech, { tls: withTls ? tls13 : null, scramServerNonce: () => 'SERVER' });
          const one = await s.step(m1);
          assert.ok(kinds.has(one.kind));
          const two = await s.step(m2);
          assert.ok(kinds.has(two.kind));
          assert.notEqual(two.kind, 'success');
        },
      ),
      { numRuns: 400 },
    );
  });

  test('random client-final after a valid client-first never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 120 }), async (tail) => {
        const { s } = await toServerFirst();
        const step = await s.step(b(`c=biws,r=abcdefSERVER${tail}`));
        assert.equal(step.kind, 'failure');
      }),
      { numRuns: 300 },
    );
  });
});
