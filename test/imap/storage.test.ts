// A full disk and hostile lines where the server reads more than commands: a clear NO or
// BYE, never an internal error, and the server keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, Client, PASSWORD } from './harness.js';

const FULL = "the server's storage is full, try again later";

test('APPEND, STORE and CREATE on a full disk: NO [OVERQUOTA], and all is well once there is room', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-full-'));
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`this test mounts a small tmpfs and must run as root: ${String(e)}`);
  }
  const s = await startTestServer({ dataDir: join(mnt, 'data') });
  try {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    const msg = `Subject: before\r\n\r\n${'x'.repeat(1000)}\r\n`;
    c.write(`A1 APPEND INBOX {${msg.length}+}\r\n${msg}\r\n`);
    assert.match((await c.until('A1')).tagged, /^OK /);
    // Fill the file system.
    const filler = join(mnt, 'filler');
    await writeFile(filler, Buffer.alloc(4 * 1024 * 1024)).catch(() => {});

    const big = `Subject: big\r\n\r\n${'y'.repeat(200_000)}\r\n`;
    c.write(`A2 APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    assert.equal((await c.until('A2')).tagged, `NO [OVERQUOTA] APPEND ${FULL}`);
    // Database writes: refused the same way, unless SQLite still has room in its files.
    for (const cmd of ['STORE 1 +FLAGS (\\Flagged)', 'CREATE Archive2']) {
      const r = await c.cmd(cmd);
      assert.match(r.tagged, new RegExp(`^(OK |NO \\[OVERQUOTA\\] \\w+ ${FULL}$)`), cmd);
    }
    await c.ok('NOOP');

    // Room again: everything works, nothing was damaged.
    await rm(filler);
    c.write(`A3 APPEND INBOX {${big.length}+}\r\n${big}\r\n`);
    assert.match((await c.until('A3')).tagged, /^OK /);
    await c.ok('STORE 1 +FLAGS (\\Seen)');
    await c.ok('CREATE Archive3');
    c.close();
    const report = await (await s.store.account('mjl')).verify();
    assert.deepEqual(report.problems, []);
  } finally {
    await s.close();
    execFileSync('umount', [mnt]);
    await rm(dir, { recursive: true, force: true });
  }
});

test('a 2 MB line of garbage during IDLE: BYE [TOOBIG], and others are still served', async () => {
  const s = await startTestServer();
  try {
    const c = await Client.login(s);
    await c.ok('SELECT INBOX');
    c.write('A1 IDLE\r\n');
    assert.equal(await c.readLine(), '+ idling');
    c.write(Buffer.alloc(2 * 1024 * 1024, 'z'));
    c.write('\r\nA2 LOGOUT\r\n');
    assert.equal(await c.readLine(), '* BYE [TOOBIG] line longer than 65536 bytes');
    await assert.rejects(c.readLine(5000), /connection closed/);
    const d = await Client.connect(s.imaps.port, { tls: true });
    await d.ok(`LOGIN mjl@example.org ${PASSWORD}`);
    d.close();
  } finally {
    await s.close();
  }
});
