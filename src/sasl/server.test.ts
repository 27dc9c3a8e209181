import { before, describe, test } from 'node:test';
import fc from 'fast-check';
import assert from 'node:assert/strict';
import { deriveSecrets, type StoredSecrets } from './secrets.js';
import {
  createSaslServer,
  MECHANISMS,
  type SaslContext,
  type SaslServer,
  type SaslStep,
} from './server.js';

const FAST = { scrypt: { N: 1024, r: 8, p: 1 }, scramIterations: 16 };
const users = new Map<string, { account: string; secrets: StoredSecrets | null }>();
const lookups: string[] = [];

before(async () => {
  users.set('alice@example.org', {
    account: 'alice',
    secrets: await deriveSecrets('secret', FAST),
  });
  users.set('Am\u00e9lie', {
    account: 'amelie',
    secrets: await deriveSecrets('mot de passe', FAST),
  });
  users.set('tim', { account: 'tim', secrets: await deriveSecrets('tanstaaftanstaaf', FAST) });
  users.set('nosecrets', { account: 'nosecrets', secrets: null });
  users.set('scramonly', {
    account: 'scramonly',
    secrets: { scramSHA256: (await deriveSecrets('pw', FAST)).scramSHA256! },
  });
});

function context(extra: Partial<SaslContext> = {}): SaslContext {
  return {
    hostname: 'mail.example.org',
    async lookup(username) {
      lookups.push(username);
      return users.get(username) ?? null;
    },
    ...extra,
  };
}

function server(mechanism: string, extra: Partial<SaslContext> = {}): SaslServer {
  const s = createSaslServer(mechanism, context(extra));
  assert.ok(s, mechanism);
  return s;
}

const b = (s: string): Buffer => Buffer.from(s, 'utf8');

function assertFailure(step: SaslStep, reason: string): void {
  assert.equal(step.kind, 'failure', JSON.stringify(step));
  if (step.kind === 'failure') assert.equal(step.reason, reason, step.message);
}

describe('createSaslServer', () => {
  test('knows every mechanism, case-insensitively (ASCII only)', () => {
    assert.deepEqual(MECHANISMS, [
      'SCRAM-SHA-256-PLUS',
      'SCRAM-SHA-256',
      'SCRAM-SHA-1-PLUS',
      'SCRAM-SHA-1',
      'CRAM-MD5',
      'PLAIN',
      'LOGIN',
      'EXTERNAL',
    ]);
    for (const m of MECHANISMS) assert.equal(createSaslServer(m, context())?.mechanism, m);
    assert.equal(
      createSaslServer('scram-sha-256-plus', context())?.mechanism,
      'SCRAM-SHA-256-PLUS',
    );
    assert.equal(createSaslServer('plaın', context()), null);
    assert.equal(createSaslServer('GSSAPI', context()), null);
    assert.equal(createSaslServer('', context()), null);
  });
});

describe('PLAIN', () => {
  test('accepts good credentials with and without authzid', async () => {
    assert.deepEqual(await server('PLAIN').step(b('\0alice@example.org\0secret')), {
      kind: 'success',
      username: 'alice@example.org',
      account: 'alice',
    });
    const step = await server('PLAIN').step(b('alice@example.org\0alice@example.org\0secret'));
    assert.equal(step.kind, 'success');
  });

  test('asks with an empty challenge when there is no initial response', async () => {
    const s = server('PLAIN');
    assert.deepEqual(await s.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
    assert.equal((await s.step(b('\0alice@example.org\0secret'))).kind, 'success');
    assertFailure(await s.step(b('\0alice@example.org\0secret')), 'badProtocol');
  });

  test('normalises names to NFC', async () => {
    const step = await server('PLAIN').step(b('\0Ame\u0301lie\0mot de passe'));
    assert.deepEqual(step, { kind: 'success', username: 'Am\u00e9lie', account: 'amelie' });
    const authz = await server('PLAIN').step(b('Ame\u0301lie\0Am\u00e9lie\0mot de passe'));
    assert.equal(authz.kind, 'success');
  });

  test('failures', async () => {
    assertFailure(await server('PLAIN').step(b('\0alice@example.org\0wrong')), 'badCredentials');
    assertFailure(await server('PLAIN').step(b('bob\0alice@example.org\0secret')), 'authzFailed');
    assertFailure(await server('PLAIN').step(b('\0nobody\0secret')), 'unknownUser');
    assertFailure(await server('PLAIN').step(b('\0nosecrets\0secret')), 'missingSecrets');
    assertFailure(await server('PLAIN').step(b('\0scramonly\0pw')), 'missingSecrets');
    for (const bad of [
      'alice@example.org\0secret',
      '\0a\0b\0c',
      '',
      'x',
      '\0\0secret',
      '\0alice@example.org\0',
    ]) {
      assertFailure(await server('PLAIN').step(b(bad)), 'badProtocol');
    }
    assertFailure(await server('PLAIN').step(Buffer.from([0, 0xff, 0xfe, 0, 0x41])), 'badProtocol');
  });

  test('authzid is checked before any lookup', async () => {
    lookups.length = 0;
    await server('PLAIN').step(b('someone\0alice@example.org\0secret'));
    assert.deepEqual(lookups, []);
  });
});

describe('LOGIN', () => {
  test('asks for user name and password', async () => {
    const s = server('LOGIN');
    assert.deepEqual(await s.step(null), { kind: 'challenge', data: b('Username:') });
    assert.deepEqual(await s.step(b('alice@example.org')), {
      kind: 'challenge',
      data: b('Password:'),
    });
    assert.deepEqual(await s.step(b('secret')), {
      kind: 'success',
      username: 'alice@example.org',
      account: 'alice',
    });
    assertFailure(await s.step(b('secret')), 'badProtocol');
  });

  test('takes the user name as initial response; an empty one means ask', async () => {
    const s = server('LOGIN');
    assert.deepEqual(await s.step(b('Ame\u0301lie')), { kind: 'challenge', data: b('Password:') });
    assert.deepEqual(await s.step(b('mot de passe')), {
      kind: 'success',
      username: 'Am\u00e9lie',
      account: 'amelie',
    });
    assert.deepEqual(await server('LOGIN').step(Buffer.alloc(0)), {
      kind: 'challenge',
      data: b('Username:'),
    });
  });

  test('failures', async () => {
    const run = async (user: Buffer, pass: Buffer): Promise<SaslStep> => {
      const s = server('LOGIN');
      const first = await s.step(user);
      return first.kind === 'challenge' ? s.step(pass) : first;
    };
    assertFailure(await run(b('alice@example.org'), b('wrong')), 'badCredentials');
    assertFailure(await run(b('nobody'), b('secret')), 'unknownUser');
    assertFailure(await run(b('nosecrets'), b('secret')), 'missingSecrets');
    assertFailure(await run(Buffer.from([0xc3]), b('secret')), 'badProtocol');
    assertFailure(await run(b('alice@example.org'), Buffer.from([0xff])), 'badProtocol');
  });
});

describe('CRAM-MD5', () => {
  const rfcChallenge = '<1896.697170952@postoffice.reston.mci.net>';

  test('RFC 2195 example', async () => {
    const s = server('CRAM-MD5', { cramChallenge: () => rfcChallenge });
    assert.deepEqual(await s.step(null), { kind: 'challenge', data: b(rfcChallenge) });
    assert.deepEqual(await s.step(b('tim b913a602c7eda7a495b4e6e7334d3890')), {
      kind: 'success',
      username: 'tim',
      account: 'tim',
    });
    assertFailure(await s.step(b('tim b913a602c7eda7a495b4e6e7334d3890')), 'badProtocol');
  });

  test('default challenge is <random.unixnanos@hostname>', async () => {
    const before = BigInt(Date.now()) * 1_000_000n;
    const s = server('CRAM-MD5', { random: () => Buffer.from('8000000000000005', 'hex') });
    const step = await s.step(Buffer.alloc(0));
    assert.equal(step.kind, 'challenge');
    const text = step.kind === 'challenge' ? step.data.toString() : '';
    const m = /^<5\.(\d+)@mail\.example\.org>$/.exec(text);
    assert.ok(m, text);
    const nanos = BigInt(m[1]!);
    assert.ok(nanos >= before && nanos < before + 10_000_000_000n, text);
  });

  test('failures', async () => {
    const run = async (response: string): Promise<SaslStep> => {
      const s = server('CRAM-MD5', { cramChallenge: () => rfcChallenge });
      await s.step(null);
      return s.step(b(response));
    };
    assertFailure(await run('tim b913a602c7eda7a495b4e6e7334d3891'), 'badCredentials');
    assertFailure(await run('tim B913A602C7EDA7A495B4E6E7334D3890'), 'badProtocol');
    assertFailure(await run('tim b913a602c7eda7a495b4e6e7334d389'), 'badProtocol');
    assertFailure(await run('timb913a602c7eda7a495b4e6e7334d3890'), 'badProtocol');
    assertFailure(await run(' b913a602c7eda7a495b4e6e7334d3890'), 'badProtocol');
    assertFailure(await run('nobody b913a602c7eda7a495b4e6e7334d3890'), 'unknownUser');
    assertFailure(await run('nosecrets b913a602c7eda7a495b4e6e7334d3890'), 'missingSecrets');
    assertFailure(await run('scramonly b913a602c7eda7a495b4e6e7334d3890'), 'missingSecrets');
    assertFailure(await server('CRAM-MD5').step(b('tim')), 'badProtocol');
  });
});

describe('EXTERNAL', () => {
  const identity = { account: 'alice', loginAddress: 'alice@example.org' };
  const allowAddresses = async (account: string, address: string): Promise<boolean> =>
    account === 'alice' && address === 'a.lice@example.org';

  test('empty authzid uses the certificate login address', async () => {
    const s = server('EXTERNAL', { externalIdentity: identity });
    assert.deepEqual(await s.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
    assert.deepEqual(await s.step(Buffer.alloc(0)), {
      kind: 'success',
      username: 'alice@example.org',
      account: 'alice',
    });
    assertFailure(await s.step(Buffer.alloc(0)), 'badProtocol');
  });

  test('authzid may be the login address or another address of the account', async () => {
    const same = await server('EXTERNAL', { externalIdentity: identity }).step(
      b('alice@example.org'),
    );
    assert.deepEqual(same, { kind: 'success', username: 'alice@example.org', account: 'alice' });
    const other = await server('EXTERNAL', { externalIdentity: identity, allowAddresses }).step(
      b('a.lice@example.org'),
    );
    assert.deepEqual(other, { kind: 'success', username: 'a.lice@example.org', account: 'alice' });
  });

  test('failures', async () => {
    assertFailure(await server('EXTERNAL').step(Buffer.alloc(0)), 'badCredentials');
    assertFailure(
      await server('EXTERNAL', { externalIdentity: null }).step(null),
      'badCredentials',
    );
    const withAllow = server('EXTERNAL', { externalIdentity: identity, allowAddresses });
    assertFailure(await withAllow.step(b('bob@example.org')), 'authzFailed');
    const noAllow = server('EXTERNAL', { externalIdentity: identity });
    assertFailure(await noAllow.step(b('a.lice@example.org')), 'authzFailed');
    const badUtf8 = server('EXTERNAL', { externalIdentity: identity });
    assertFailure(await badUtf8.step(Buffer.from([0xe2, 0x82])), 'badProtocol');
  });
});

describe('all mechanisms', () => {
  test('random responses never throw and always yield a step', async () => {
    const kinds = new Set(['challenge', 'success', 'failure']);
    const tls = { version: 'TLSv1.3', channelBinding: () => Buffer.alloc(32, 1) };
    const identity = { account: 'alice', loginAddress: 'alice@example.org' };
    const input = fc.oneof(
      fc.constant(null),
      fc.uint8Array({ maxLength: 48 }).map((u) => Buffer.from(u)),
      fc.string({ maxLength: 48 }).map((s) => b(s)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...MECHANISMS),
        fc.array(input, { maxLength: 4 }),
        async (mech, steps) => {
          const s = server(mech, { tls, externalIdentity: identity });
          for (const response of steps) {
            const step = await s.step(response);
            assert.ok(kinds.has(step.kind));
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
