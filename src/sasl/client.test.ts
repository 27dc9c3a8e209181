import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { CLIENT_MECHANISMS, createSaslClient, SaslClientError, type SaslClient } from './client.js';
import { deriveSecrets, type StoredSecrets } from './secrets.js';
import { createSaslServer, MECHANISMS, type SaslContext, type SaslStep } from './server.js';
import type { SaslTlsInfo } from './types.js';

const FAST = { scrypt: { N: 1024, r: 8, p: 1 }, scramIterations: 64 };
const PASSWORD = 'p\u00e4ss w\u00f6rd';
let secrets: StoredSecrets;

before(async () => {
  secrets = await deriveSecrets(PASSWORD, FAST);
});

const UNIQUE = Buffer.alloc(12, 0x5a);
const EXPORTER = Buffer.alloc(32, 0xa5);
const tls12: SaslTlsInfo = {
  version: 'TLSv1.2',
  channelBinding: (t) => (t === 'tls-unique' ? UNIQUE : null),
};
const tls13: SaslTlsInfo = {
  version: 'TLSv1.3',
  channelBinding: (t) => (t === 'tls-exporter' ? EXPORTER : null),
};

function context(extra: Partial<SaslContext> = {}): SaslContext {
  return {
    hostname: 'mail.example.org',
    lookup: async (u) => (u === 'J\u00fcrgen@example.org' ? { account: 'jurgen', secrets } : null),
    externalIdentity: { account: 'jurgen', loginAddress: 'J\u00fcrgen@example.org' },
    ...extra,
  };
}

/** Runs a whole exchange the way a protocol layer would, passing the server-final on. */
async function exchange(
  client: SaslClient,
  ctx: SaslContext,
  useInitial = true,
): Promise<SaslStep> {
  const server = createSaslServer(client.mechanism, ctx);
  assert.ok(server);
  let response: Buffer | null = useInitial ? client.start() : null;
  for (let i = 0; i < 5; i++) {
    const step = await server.step(response);
    if (step.kind === 'challenge') {
      response = client.step(step.data);
      continue;
    }
    if (step.kind === 'success' && step.final) {
      assert.deepEqual(client.step(step.final), Buffer.alloc(0));
    }
    if (step.kind === 'success') assert.equal(client.done, true);
    return step;
  }
  throw new Error('exchange did not finish');
}

function binding(mechanism: string): { type: 'tls-exporter' | 'tls-unique'; data: Buffer } | null {
  return mechanism.endsWith('-PLUS') ? { type: 'tls-exporter', data: EXPORTER } : null;
}

describe('client against server', () => {
  test('every server mechanism has a client', () => {
    assert.deepEqual([...CLIENT_MECHANISMS].sort(), [...MECHANISMS].sort());
  });

  for (const mechanism of MECHANISMS) {
    test(`${mechanism}: round trip, with and without initial response`, async () => {
      for (const useInitial of [true, false]) {
        const client = createSaslClient(mechanism, {
          username: 'Ju\u0308rgen@example.org', // decomposed; the server sees NFC
          password: 'pa\u0308ss\u00a0w\u00f6rd', // decomposed and a no-break space
          channelBinding: binding(mechanism),
        });
        const step = await exchange(client, context({ tls: tls13 }), useInitial);
        assert.deepEqual(
          { ...step, final: undefined },
          {
            kind: 'success',
            username: 'J\u00fcrgen@example.org',
            account: 'jurgen',
            final: undefined,
          },
        );
      }
    });

    if (mechanism !== 'EXTERNAL') {
      test(`${mechanism}: wrong password is badCredentials`, async () => {
        const client = createSaslClient(mechanism, {
          username: 'J\u00fcrgen@example.org',
          password: 'wrong',
          channelBinding: binding(mechanism),
        });
        const step = await exchange(client, context({ tls: tls13 }));
        assert.equal(step.kind, 'failure');
        if (step.kind === 'failure') assert.equal(step.reason, 'badCredentials');
      });
    }
  }

  test('SCRAM-PLUS over tls-unique', async () => {
    for (const mechanism of ['SCRAM-SHA-1-PLUS', 'SCRAM-SHA-256-PLUS']) {
      const client = createSaslClient(mechanism, {
        username: 'J\u00fcrgen@example.org',
        password: PASSWORD,
        channelBinding: { type: 'tls-unique', data: UNIQUE },
      });
      assert.match(client.start()!.toString(), /^p=tls-unique,,n=J\u00fcrgen@example\.org,r=/);
      assert.equal(
        (
          await exchange(
            createSaslClient(mechanism, {
              username: 'J\u00fcrgen@example.org',
              password: PASSWORD,
              channelBinding: { type: 'tls-unique', data: UNIQUE },
            }),
            context({ tls: tls12 }),
          )
        ).kind,
        'success',
      );
    }
  });

  test('SCRAM with authzid', async () => {
    const ok = createSaslClient('SCRAM-SHA-256', {
      username: 'J\u00fcrgen@example.org',
      authzid: 'J\u00fcrgen@example.org',
      password: PASSWORD,
    });
    assert.equal((await exchange(ok, context())).kind, 'success');
    const other = createSaslClient('SCRAM-SHA-256', {
      username: 'J\u00fcrgen@example.org',
      authzid: 'x',
      password: PASSWORD,
    });
    const step = await exchange(other, context());
    assert.equal(step.kind === 'failure' && step.reason, 'authzFailed');
  });

  test('a client that can bind uses "y" with plain SCRAM, which the server refuses when it can bind', async () => {
    const client = () =>
      createSaslClient('SCRAM-SHA-256', {
        username: 'J\u00fcrgen@example.org',
        password: PASSWORD,
        channelBinding: { type: 'tls-exporter', data: EXPORTER },
      });
    assert.match(client().start()!.toString(), /^y,,n=/);
    const refused = await exchange(client(), context({ tls: tls13 }));
    assert.equal(refused.kind === 'failure' && refused.reason, 'badChannelBinding');
    assert.equal((await exchange(client(), context({ tls: null }))).kind, 'success');
  });
});

describe('client messages and checks', () => {
  test('PLAIN, LOGIN, CRAM-MD5 and EXTERNAL messages', () => {
    const plain = createSaslClient('plain', { username: 'u', password: 'p', authzid: 'a' });
    assert.deepEqual(plain.start(), Buffer.from('a\0u\0p'));
    assert.throws(() => plain.step(Buffer.alloc(0)), SaslClientError);

    const login = createSaslClient('LOGIN', { username: 'u', password: 'p' });
    assert.equal(login.start(), null);
    assert.deepEqual(login.step(Buffer.from('Username:')), Buffer.from('u'));
    assert.deepEqual(login.step(Buffer.from('Password:')), Buffer.from('p'));
    assert.equal(login.done, true);

    const cram = createSaslClient('CRAM-MD5', { username: 'tim', password: 'tanstaaftanstaaf' });
    assert.equal(cram.start(), null);
    assert.deepEqual(
      cram.step(Buffer.from('<1896.697170952@postoffice.reston.mci.net>')),
      Buffer.from('tim b913a602c7eda7a495b4e6e7334d3890'),
    );
    const key = Buffer.from('k\u00e9y'.normalize('NFC'));
    const cram2 = createSaslClient('CRAM-MD5', { username: 'u', password: 'ke\u0301y' });
    cram2.start();
    assert.deepEqual(
      cram2.step(Buffer.from('<c>')),
      Buffer.from(`u ${createHmac('md5', key).update('<c>').digest('hex')}`),
    );

    assert.deepEqual(
      createSaslClient('EXTERNAL', { username: '', password: '' }).start(),
      Buffer.alloc(0),
    );
    assert.deepEqual(
      createSaslClient('EXTERNAL', { username: '', password: '', authzid: 'a@b' }).start(),
      Buffer.from('a@b'),
    );
  });

  test('construction errors', () => {
    assert.throws(
      () => createSaslClient('GSSAPI', { username: 'u', password: 'p' }),
      SaslClientError,
    );
    assert.throws(
      () => createSaslClient('SCRAM-SHA-256-PLUS', { username: 'u', password: 'p' }),
      SaslClientError,
    );
    assert.throws(
      () => createSaslClient('SCRAM-SHA-256', { username: 'u', password: 'p', nonce: 'a,b' }),
      SaslClientError,
    );
    const started = createSaslClient('PLAIN', { username: 'u', password: 'p' });
    started.start();
    assert.throws(() => started.start(), SaslClientError);
  });

  test('SCRAM client escapes names and rejects bad server messages', () => {
    const make = (): SaslClient =>
      createSaslClient('SCRAM-SHA-1', {
        username: 'a,b=c',
        authzid: 'a,b=c',
        password: 'pencil',
        nonce: 'cnonce',
      });
    assert.equal(make().start()!.toString(), 'n,a=a=2Cb=3Dc,n=a=2Cb=3Dc,r=cnonce');
    const bad = [
      'r=other,s=QSXCR+Q6sek8bf92,i=4096', // nonce not extending ours
      'r=cnonce,s=QSXCR+Q6sek8bf92,i=4096', // nonce without a server part
      'r=cnonceX,s=,i=4096',
      'r=cnonceX,s=QSXCR+Q6sek8bf9,i=4096',
      'r=cnonceX,s=QSXCR+Q6sek8bf92,i=0',
      'r=cnonceX,s=QSXCR+Q6sek8bf92,i=04096',
      'r=cnonceX,s=QSXCR+Q6sek8bf92,i=100001', // above the default maximum
      'm=x,r=cnonceX,s=QSXCR+Q6sek8bf92,i=4096',
      's=QSXCR+Q6sek8bf92,r=cnonceX,i=4096',
      'r=cnonceX,s=QSXCR+Q6sek8bf92',
    ];
    for (const msg of bad) {
      const c = make();
      c.start();
      assert.throws(() => c.step(Buffer.from(msg)), SaslClientError, msg);
    }
  });

  test('SCRAM client verifies the server signature', () => {
    const run = (final: string): SaslClient => {
      const c = createSaslClient('SCRAM-SHA-1', {
        username: 'user',
        password: 'pencil',
        nonce: 'fyko+d2lbbFgONRv9qkxdawL',
      });
      c.start();
      c.step(Buffer.from('r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096'));
      c.step(Buffer.from(final));
      return c;
    };
    assert.equal(run('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=').done, true);
    assert.throws(() => run('v=smF9pqV8S7suAoZWja4dJRkFsKQ='), /server signature is wrong/);
    assert.throws(() => run('v=AAAA'), /server signature is wrong/);
    assert.throws(() => run('e=invalid-proof'), /SCRAM server error: invalid-proof/);
    assert.throws(() => run('x'), SaslClientError);
    const c = run('v=rmF9pqV8S7suAoZWja4dJRkFsKQ=');
    assert.throws(() => c.step(Buffer.alloc(0)), SaslClientError);
  });

  test('SCRAM client iteration limit is configurable', () => {
    const c = createSaslClient('SCRAM-SHA-256', {
      username: 'u',
      password: 'p',
      nonce: 'n',
      maxIterations: 10,
    });
    c.start();
    assert.throws(() => c.step(Buffer.from('r=nX,s=c2FsdA==,i=11')), /above 10/);
  });
});
