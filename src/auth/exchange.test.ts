import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { deriveSecrets, type StoredSecrets } from '../sasl/index.js';
import { AuthFailureLimiter } from '../net/index.js';
import { createLogger } from '../log/index.js';
import type { DomainsConfig } from '../config/index.js';
import type { LoginAttempt } from '../store/index.js';
import { LoginAttempts, type Attempt } from './attempt.js';
import { runExchange, type LoginEnv, type SaslTransport } from './exchange.js';
import { passwordLogin } from './password.js';
import { AuthFailure, OUTCOMES, type FailureReason } from './failure.js';

const FAST = { scrypt: { N: 1024, r: 8, p: 1 }, scramIterations: 16 };
const log = createLogger({ level: 'silent' });
const domains = {
  accounts: { alice: { destinations: { 'alice@example.org': {} } } },
} as unknown as DomainsConfig;
let secrets: StoredSecrets;

before(async () => {
  secrets = await deriveSecrets('secret', FAST);
});

function setup(opts: { limiter?: AuthFailureLimiter; holdMs?: number } = {}) {
  const records: LoginAttempt[] = [];
  const slow: boolean[] = [];
  let userAgent = '';
  const attempts = new LoginAttempts({
    protocol: 'test',
    remoteIP: '192.0.2.1',
    localIP: '192.0.2.2',
    limiter: opts.limiter ?? new AuthFailureLimiter(),
    failDelayMs: 0,
    global: {
      addLoginAttempt: async (a) => {
        records.push(a);
      },
    },
    log,
    metrics: { ratelimited: () => {}, failure: () => {}, success: () => {} },
    setSlow: (on) => slow.push(on),
    tls: () => ({ tls: '', tlsKeyFingerprint: '' }),
    userAgent: () => userAgent,
    holdMs: opts.holdMs ?? 0,
  });
  const env: LoginEnv = {
    protocol: 'smtp',
    policy: { requireTLS: false, mechanisms: null },
    state: { tls: false, certificate: false },
    hostname: 'mail.example.org',
    domains: () => domains,
    store: { account: async () => ({ secrets: () => secrets }) } as unknown as LoginEnv['store'],
    tls: null,
    identity: null,
    attempts,
    log,
  };
  return { env, attempts, records, slow, setUserAgent: (s: string) => (userAgent = s) };
}

/** A transport that answers challenges from a list, remembering what it was sent. */
function scripted(answers: ((challenge: Buffer) => string)[]) {
  const sent: Buffer[] = [];
  const t: SaslTransport = {
    challenge: async (data) => {
      sent.push(data);
      const next = answers.shift();
      if (!next) throw new Error('unexpected challenge');
      return next(data);
    },
  };
  return { t, sent };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function reasonOf(p: Promise<unknown>): Promise<FailureReason> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AuthFailure) return e.reason;
    throw e;
  }
  assert.fail('expected a failure');
}

test('PLAIN with an initial response logs in with the canonical address', async () => {
  const { env } = setup();
  const a: Attempt = { account: '', address: '', mechanism: 'plain' };
  const who = await runExchange(env, scripted([]).t, 'PLAIN', b64('\0alice\0secret'), a);
  assert.deepEqual(who, { account: 'alice', address: 'alice@example.org' });
});

test('CRAM-MD5 goes through the transport', async () => {
  const { env } = setup();
  const a: Attempt = { account: '', address: '', mechanism: 'cram-md5' };
  const { t, sent } = scripted([
    (c) => b64(`alice ${createHmac('md5', 'secret').update(c).digest('hex')}`),
  ]);
  const who = await runExchange(env, t, 'CRAM-MD5', null, a);
  assert.equal(who.account, 'alice');
  assert.match(sent[0]!.toString(), /@mail\.example\.org>$/);
});

test('failures: "*", bad base64, a refused or unknown mechanism, a wrong password', async () => {
  const { env } = setup();
  const a = (): Attempt => ({ account: '', address: '', mechanism: 'plain' });
  assert.equal(
    await reasonOf(runExchange(env, scripted([() => '*']).t, 'PLAIN', null, a())),
    'aborted',
  );
  assert.equal(await reasonOf(runExchange(env, scripted([]).t, 'PLAIN', 'x', a())), 'bad-base64');
  assert.equal(await reasonOf(runExchange(env, scripted([]).t, 'NOPE', null, a())), 'unsupported');
  assert.equal(await reasonOf(runExchange(env, scripted([]).t, 'EXTERNAL', '=', a())), 'needs-tls');
  const wrong = a();
  assert.equal(
    await reasonOf(runExchange(env, scripted([]).t, 'PLAIN', b64('\0alice\0wrong'), wrong)),
    'bad-credentials',
  );
  assert.deepEqual(wrong, { account: 'alice', address: 'alice', mechanism: 'plain' });
  const strict = { ...env, policy: { requireTLS: true, mechanisms: null } };
  assert.equal(
    await reasonOf(runExchange(strict, scripted([]).t, 'PLAIN', null, a())),
    'tls-required',
  );
});

test('a throttled account fails like a wrong password, recorded as rate limited', async () => {
  const limiter = new AuthFailureLimiter({ perAccount: [1, 1] });
  const { env, attempts, records } = setup({ limiter });
  const a: Attempt = { account: '', address: '', mechanism: 'plain' };
  attempts.failure({ ...a, account: 'alice' }, 'badcredentials', true);
  const f = runExchange(env, scripted([]).t, 'PLAIN', b64('\0alice\0secret'), a);
  const reason = await reasonOf(f);
  assert.equal(reason, 'throttled');
  attempts.recordFailure(a, new AuthFailure(reason, 'PLAIN'));
  assert.equal(records.at(-1)?.result, 'ratelimited');
  assert.deepEqual(OUTCOMES.throttled, { result: 'ratelimited', counted: true });
  assert.equal(await reasonOf(passwordLogin(env, { ...a }, 'alice', 'secret')), 'throttled');
});

test('slow mode from the third counted failure; a success ends it', () => {
  const { attempts, slow, records } = setup();
  const a: Attempt = { account: 'alice', address: 'alice', mechanism: 'plain' };
  attempts.recordFailure(a, new AuthFailure('aborted', 'PLAIN'));
  attempts.recordFailure(a, new AuthFailure('unsupported', 'PLAIN'));
  assert.equal(attempts.failed, 0);
  for (let i = 0; i < 3; i++)
    attempts.recordFailure(a, new AuthFailure('bad-credentials', 'PLAIN'));
  assert.equal(attempts.failed, 3);
  assert.deepEqual(slow, [true]);
  attempts.success('alice', 'alice@example.org', 'plain');
  assert.equal(attempts.failed, 0);
  assert.deepEqual(slow, [true, false]);
  // "unsupported" is not recorded at all.
  assert.deepEqual(
    records.map((r) => r.result),
    ['aborted', 'badcredentials', 'badcredentials', 'badcredentials', 'success'],
  );
});

test('a held record carries the user agent named after the attempt', () => {
  const { attempts, records, setUserAgent } = setup({ holdMs: 60_000 });
  attempts.success('alice', 'alice@example.org', 'login');
  assert.equal(records.length, 0);
  setUserAgent('Client 1.0');
  attempts.flush();
  assert.equal(records[0]?.userAgent, 'Client 1.0');
});

test('backoff refuses a network over the failed-auth limit', async () => {
  const limiter = new AuthFailureLimiter({ perMinute: [1, 10, 10] });
  const { attempts } = setup({ limiter });
  assert.equal(await attempts.backoff(), true);
  attempts.failure({ account: '', address: '', mechanism: 'plain' }, 'badcredentials', true);
  assert.equal(await attempts.backoff(), false);
});
