// Every `tidings` command the README shows, run as written, in the README's order: only
// the configuration directory (/etc/tidings there) is a temporary one, and the files the
// examples name are made beforehand. `serve` runs until it listens, then gets SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MAIN } from './util.js';

const README = join(import.meta.dirname, '..', 'README.md');
const TESTDATA = join(import.meta.dirname, '..', 'src', 'reports', 'testdata');

/** The `tidings` command lines of the README's sh blocks, without their comments. */
async function readmeCommands(): Promise<string[][]> {
  const text = await readFile(README, 'utf8');
  const out: string[][] = [];
  for (const block of text.matchAll(/```sh\n([^]*?)```/g)) {
    for (const line of block[1]!.split('\n')) {
      const cmd = line.replace(/\s+#.*$/, '').trim();
      if (cmd.startsWith('tidings ')) out.push(cmd.split(/\s+/).slice(1));
    }
  }
  return out;
}

type Run = { code: number | null; signal: string | null; out: string };

/** Runs one command in `cwd`; `serve` is stopped with SIGTERM once it listens. */
function run(args: string[], cwd: string, input: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    // tsx by its location: the command runs elsewhere than in the checkout.
    const p = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, ...args], {
      cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let stopping = false;
    const on = (d: Buffer) => {
      out += d.toString();
      if (args[0] === 'serve' && !stopping && out.includes('listening')) {
        stopping = true; // one signal: a second one means "exit now" (status 1)
        p.kill('SIGTERM');
      }
    };
    p.stdout.on('data', on);
    p.stderr.on('data', on);
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, out }));
    p.stdin.end(input);
  });
}

test('every tidings command in the README works as written', async () => {
  const commands = await readmeCommands();
  // The examples as the README has them today; a new one needs its files made here.
  assert.deepEqual(
    commands.map((c) => c.filter((a) => !a.startsWith('-') && a !== '/etc/tidings')[0]),
    [
      'config',
      'account',
      'setpassword',
      'serve',
      'verifydata',
      'backup',
      'verifydata',
      'import',
      'export',
      'dkim',
      'config',
      'queue',
      'queue',
      'suppression',
      'report',
      'report',
      'report',
    ],
  );
  const dir = await mkdtemp(join(tmpdir(), 'tidings-readme-'));
  const cfg = join(dir, 'etc-tidings');
  try {
    await mkdir(cfg);
    await writeFile(
      join(cfg, 'tidings.toml'),
      'hostname = "mail.example.org"\ndata_dir = "../data"\n' +
        '[listeners.main]\nips = ["127.0.0.1"]\nsmtp = { enabled = true, port = 0 }\n',
    );
    await writeFile(join(cfg, 'domains.toml'), '[domains."example.org"]\n');
    // The mbox of `import mbox`.
    await writeFile(
      join(dir, 'old.mbox'),
      'From a@example.org Mon Jan  1 10:00:00 2024\nSubject: old\nStatus: RO\n\nold mail\n\n',
    );
    // The report files of `report dmarc import`: a gzipped report, and one mailed.
    await writeFile(
      join(dir, 'report.xml.gz'),
      gzipSync(await readFile(join(TESTDATA, 'google.xml'))),
    );
    const xml = (await readFile(join(TESTDATA, 'microsoft.xml'))).toString('base64');
    await writeFile(
      join(dir, 'message.eml'),
      'From: dmarcreport@microsoft.com\r\nTo: dmarc@example.org\r\nSubject: Report Domain: example.org\r\n' +
        'MIME-Version: 1.0\r\nContent-Type: application/xml; name="report.xml"\r\n' +
        `Content-Transfer-Encoding: base64\r\n\r\n${xml.replace(/.{76}/g, '$&\r\n')}\r\n`,
    );
    for (const args of commands) {
      const real = args.map((a) => (a === '/etc/tidings' ? cfg : a));
      const r = await run(real, dir, 'a-long-password-for-alice\n');
      const what = `tidings ${args.join(' ')}: ${r.out}`;
      if (args[0] === 'serve') {
        assert.match(r.out, /listening/, what);
        assert.deepEqual([r.code, r.signal], [0, null], what);
      } else assert.equal(r.code, 0, what);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
