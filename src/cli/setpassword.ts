import type { Command } from 'commander';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { deriveSecrets } from '../sasl/index.js';
import { Store } from '../store/index.js';
import { CliError, configDirOption, loadConfigOrExit } from './common.js';

/** Reads a password: from a prompt (twice, not echoed) on a terminal, else stdin's first line. */
export async function readPassword(): Promise<string> {
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0] ?? '';
  }
  const ask = (q: string) =>
    new Promise<string>((resolve) => {
      let muted = false;
      const out = new Writable({
        write(chunk, _enc, cb) {
          if (!muted) process.stderr.write(chunk);
          cb();
        },
      });
      const rl = createInterface({ input: process.stdin, output: out, terminal: true });
      rl.question(q, (a) => {
        rl.close();
        process.stderr.write('\n');
        resolve(a);
      });
      muted = true;
    });
  const a = await ask('password: ');
  const b = await ask('password again: ');
  if (a !== b) throw new CliError('passwords differ');
  return a;
}

export function registerSetpassword(program: Command): void {
  configDirOption(
    program
      .command('setpassword')
      .description(
        'set an account password; read from a prompt, or from the first line of standard input',
      )
      .argument('<account>', 'account name'),
  ).action(async (name: string, o: { config: string }) => {
    const cfg = loadConfigOrExit(o.config);
    if (!cfg.domains.accounts[name]) throw new CliError(`no account ${name}`);
    const password = await readPassword();
    if (password === '') throw new CliError('empty password refused');
    const secrets = await deriveSecrets(password);
    const store = await Store.open({
      dataDir: cfg.static.data_dir,
      initialMailboxes: () => cfg.domains.initial_mailboxes,
    });
    try {
      await (await store.account(name)).setSecrets(secrets);
    } finally {
      await store.close();
    }
    process.stdout.write(`password for ${name} set\n`);
  });
}
