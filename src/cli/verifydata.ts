import type { Command } from 'commander';
import { resolve } from 'node:path';
import { Store, verifyAccount } from '../store/index.js';
import { configDirOption, loadConfigOrExit } from './common.js';

export function registerVerifydata(program: Command): void {
  configDirOption(
    program
      .command('verifydata')
      .description(
        'check the data directory: mailbox counts, UIDs, message files and sizes, modseqs; changes nothing',
      )
      .option('--data <dir>', 'data directory to check (default: data_dir of the configuration)')
      .argument('[accounts...]', 'accounts to check (default: all)'),
  ).action(async (accounts: string[], o: { config: string; data?: string }) => {
    const dataDir = o.data ? resolve(o.data) : loadConfigOrExit(o.config).static.data_dir;
    const store = await Store.open({ dataDir });
    let problems = 0;
    try {
      const names = accounts.length > 0 ? accounts : await store.accountNames();
      for (const name of names) {
        if (!(await store.accountExists(name))) {
          process.stdout.write(`${name}: no such account in ${dataDir}\n`);
          problems++;
          continue;
        }
        const r = await verifyAccount(await store.account(name));
        process.stdout.write(
          `${name}: ${r.mailboxes} mailboxes, ${r.messages} messages, ${r.files} files: ${r.problems.length === 0 ? 'ok' : `${r.problems.length} problems`}\n`,
        );
        for (const p of r.problems) process.stdout.write(`  ${p}\n`);
        problems += r.problems.length;
      }
    } finally {
      await store.close();
    }
    if (problems > 0) process.exitCode = 1;
  });
}
