// Server shutdown and timeouts: idle connections get BYE at shutdown (RFC 9051 §7.1.5),
// an IDLE gets BYE, inactive connections get BYE inactive: after 30 minutes once logged
// in (the least RFC 9051 §5.4 allows) and after 30 seconds before login, ample for a
// client and little for an abuser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/store/index.js';
import {
  generateSelfSigned,
  loadTlsContext,
  RateLimiter,
  ConnectionCounter,
  AuthFailureLimiter,
} from '../../src/net/index.js';
import { createLogger } from '../../src/log/index.js';
import { deriveSecrets } from '../../src/sasl/index.js';
import { parseDomainsConfig } from '../../src/config/index.js';
import { startImapServer } from '../../src/imap/server.js';
import type { Timeouts } from '../../src/imap/context.js';
import { Client, PASSWORD } from './harness.js';

async function server(timeouts: Partial<Timeouts> = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-imaplife-'));
  const { certPem, keyPem } = await generateSelfSigned({ hostnames: ['localhost'] });
  await writeFile(join(dir, 'c.pem'), certPem);
  await writeFile(join(dir, 'k.pem'), keyPem);
  const domains = parseDomainsConfig(
    '[domains."example.org"]\n[accounts.mjl]\ndomain = "example.org"\ndestinations = { "mjl@example.org" = {} }\n',
    'domains.toml',
  );
  const store = await Store.open({ dataDir: join(dir, 'data'), cleanup: true });
  await (await store.account('mjl')).setSecrets(await deriveSecrets(PASSWORD));
  const imap = await startImapServer(
    {
      store,
      domains: () => domains,
      hostname: 'mail.example.org',
      tls: loadTlsContext([{ cert_file: join(dir, 'c.pem'), key_file: join(dir, 'k.pem') }]),
      service: 'imap',
      noRequireSTARTTLS: true,
      limits: {
        maxLineLength: 16384,
        maxLiteralSize: 102400,
        maxLiteralTotal: 1024000,
        maxLiterals: 1000,
        maxMessageSize: 1 << 20,
      },
      delays: { authFail: 0, badClient: 0 },
      limiters: {
        rate: new RateLimiter({ windowMs: 60_000, limits: [1000, 1000, 1000] }),
        connections: new ConnectionCounter({ limits: [100, 100, 100] }),
        authFailures: new AuthFailureLimiter(),
      },
      log: createLogger({ level: 'error' }),
      timeouts,
    },
    '127.0.0.1',
    0,
  );
  return {
    imap,
    store,
    done: async () => {
      await imap.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

test('shutdown: waiting connections and IDLE get BYE; the port closes', async () => {
  const s = await server();
  try {
    const waiting = await Client.connect(s.imap.port);
    const idler = await Client.connect(s.imap.port);
    await idler.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    await idler.ok('SELECT INBOX');
    idler.write('A9 IDLE\r\n');
    assert.equal(await idler.readLine(), '+ idling');
    const closing = s.imap.close();
    assert.equal(await waiting.readLine(), '* BYE shutting down');
    assert.equal(await idler.readLine(), '* BYE shutting down');
    await closing;
    await assert.rejects(Client.connect(s.imap.port), /ECONNREFUSED/);
  } finally {
    await s.done();
  }
});

test('timeouts: an inactive connection gets BYE inactive, before and after login, and in IDLE', async () => {
  const s = await server({ readPreauth: 200, readAuth: 400 });
  try {
    const pre = await Client.connect(s.imap.port);
    assert.equal(await pre.readLine(), '* BYE inactive');
    await assert.rejects(pre.readLine(2000), /closed/);

    const auth = await Client.connect(s.imap.port);
    await auth.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    const t0 = Date.now();
    assert.equal(await auth.readLine(), '* BYE inactive');
    assert.ok(Date.now() - t0 >= 300);

    const idle = await Client.connect(s.imap.port);
    await idle.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    idle.write('A5 IDLE\r\n');
    assert.equal(await idle.readLine(), '+ idling');
    assert.equal(await idle.readLine(), '* BYE inactive');
    await assert.rejects(idle.readLine(2000), /closed/);
  } finally {
    await s.done();
  }
});
