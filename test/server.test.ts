// The server lifecycle: listeners from the config, domains.toml followed while running
// (only complete, valid versions replace the running one), config-driven quota, and a
// clean stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from '../src/server/server.js';
import { createLogger } from '../src/log/index.js';
import type { DomainsConfig } from '../src/config/index.js';
import { firstLine } from './util.js';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"
[limits]
default_quota = 5000
[listeners.test]
ips = ["127.0.0.1"]
smtp = { enabled = true, port = 0 }
imap = { enabled = true, port = 0, no_require_starttls = true }
http = { enabled = true, port = 0 }
metrics = { enabled = true, port = 0 }
`;

const domains = (extra = '') => `[domains."example.org"]
[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
${extra}`;

test('server: listeners, live reload of domains.toml, quota from config, clean stop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-server-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), domains());
  const reloads: DomainsConfig[] = [];
  let waiter: (() => void) | null = null;
  const server = await Server.start({
    configDir: cfg,
    log: createLogger({ level: 'error' }),
    onReload: (c) => {
      reloads.push(c);
      waiter?.();
    },
  });
  try {
    const port = (svc: string) => server.listening.find((l) => l.service === svc)!.port;
    assert.deepEqual(
      server.listening.map((l) => l.service),
      ['imap', 'smtp', 'http', 'metrics'],
    );
    assert.ok(server.listening.every((l) => l.port > 0));
    assert.equal(await firstLine(port('smtp')), '220 mail.example.org ESMTP Tidings\r\n');
    assert.match(
      await firstLine(port('imap')),
      /^\* OK \[CAPABILITY IMAP4rev2 .*\] Tidings IMAP ready\r\n$/,
    );
    const m = await fetch(`http://127.0.0.1:${port('metrics')}/metrics`);
    assert.equal(m.status, 200);

    const alice = await server.store.account('alice');
    assert.equal(alice.quotaLimit(), 5000, 'global default quota');

    // A valid change replaces the running configuration.
    const reloaded = new Promise<void>((r) => (waiter = r));
    await writeFile(
      join(cfg, 'domains.toml.new'),
      domains(
        'quota = 9000\n[accounts.bob]\ndomain = "example.org"\ndestinations = { "bob@example.org" = {} }\n',
      ),
    );
    await rename(join(cfg, 'domains.toml.new'), join(cfg, 'domains.toml'));
    await reloaded;
    assert.ok(server.domains.accounts.bob);
    assert.equal(alice.quotaLimit(), 9000, 'account quota applies without restart');

    // An invalid change is refused and the running one stays.
    await writeFile(join(cfg, 'domains.toml'), domains('quota = "lots"\n'));
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(reloads.length, 1);
    assert.ok(server.domains.accounts.bob);
    assert.equal(alice.quotaLimit(), 9000);
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
  // Listeners are closed after stop.
  const p = server.listening[0]!.port;
  await assert.rejects(firstLine(p), /ECONNREFUSED/);
});
