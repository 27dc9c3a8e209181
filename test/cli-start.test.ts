// What an admin sees when the server cannot start or a configuration file cannot be
// used: one line that names the port, listener, key, file or directory and what to do,
// never a stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tidings } from './util.js';

const DOMAINS = `[domains."example.org"]
[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
`;

async function configDir(staticText: string): Promise<{ dir: string; cfg: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-start-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), staticText);
  await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  return { dir, cfg };
}

const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at /m, stderr);

test('serve: a port in use names the port, the listener and where to change it', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as net.AddressInfo).port;
  const { dir, cfg } = await configDir(
    `hostname = "mail.example.org"\ndata_dir = "../data"\n[listeners.main]\nips = ["127.0.0.1"]\nsmtp = { enabled = true, port = ${port} }\n`,
  );
  try {
    const r = await tidings(['serve', '-c', cfg]);
    assert.equal(r.code, 1, r.stderr);
    noStack(r.stderr);
    assert.equal(
      r.stderr,
      `tidings: listener main: smtp on 127.0.0.1 port ${port}: the port is in use by another program (or another Tidings); stop it, or set another port: [listeners.main] smtp.port in ${join(cfg, 'tidings.toml')}\n`,
    );
  } finally {
    holder.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('config check and serve: a missing certificate file is a configuration error', async () => {
  const { dir, cfg } = await configDir(
    `hostname = "mail.example.org"\ndata_dir = "../data"\n[listeners.main]\nips = ["127.0.0.1"]\nimaps = { enabled = true, port = 0 }\n[listeners.main.tls]\ncert_file = "missing.crt"\nkey_file = "missing.key"\n`,
  );
  try {
    for (const args of [['config', 'check'], ['serve']]) {
      const r = await tidings([...args, '-c', cfg]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      noStack(r.stderr);
      assert.match(
        r.stderr,
        new RegExp(
          `^tidings: ${join(cfg, 'tidings.toml')}: listeners\\.main\\.tls: ${join(cfg, 'missing.crt')}: reading certificate: ENOENT`,
        ),
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('serve: a full file system for the data directory is said plainly', async () => {
  const { dir, cfg } = await configDir(
    `hostname = "mail.example.org"\ndata_dir = "../full/data"\n[listeners.main]\nips = ["127.0.0.1"]\nsmtp = { enabled = true, port = 0 }\n`,
  );
  const full = join(dir, 'full');
  await mkdir(full);
  try {
    // A small file system, filled up (needs root, as CI and the development machines have).
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', full]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`this test mounts a small tmpfs and must run as root: ${String(e)}`);
  }
  try {
    await writeFile(join(full, 'filler'), Buffer.alloc(256 * 1024)).catch(() => {});
    const r = await tidings(['serve', '-c', cfg]);
    assert.equal(r.code, 1, r.stderr);
    noStack(r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `^tidings: no space left on the file system of the data directory ${join(full, 'data')} \\(.*\\); free some space and start again\\n$`,
      ),
    );
  } finally {
    execFileSync('umount', [full]);
    await rm(dir, { recursive: true, force: true });
  }
});
