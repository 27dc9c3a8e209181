// `tidings verifydata`: checks the data directory (modes of its paths, and per account
// mailbox counts, UIDs, message files and sizes, modseqs, and the junk filter's counts)
// and prints every problem.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Store, verifyModes } from '../store/index.js';
import { configDirOption, loadConfigOrExit } from './common.js';

export function registerVerifydata(program: Command): void {
  configDirOption(
    program
      .command('verifydata')
      .description(
        'check the data directory: modes (directories 0700, files 0600), mailbox counts, UIDs, message files and sizes, modseqs, junk filter counts; changes nothing',
      )
      .option('--data <dir>', 'data directory to check (default: data_dir of the configuration)')
      .argument('[accounts...]', 'accounts to check (default: all)'),
  ).action(async (accounts: string[], o: { config: string; data?: string }) => {
    const dataDir = o.data ? resolve(o.data) : loadConfigOrExit(o.config).static.data_dir;
    let problems = 0;
    const report = (head: string, list: string[]) => {
      process.stdout.write(`${head}: ${list.length === 0 ? 'ok' : `${list.length} problems`}\n`);
      for (const p of list) process.stdout.write(`  ${p}\n`);
      problems += list.length;
    };
    // Modes as found: checked before any database is opened, since SQLite creates -wal
    // and -shm files (with the database file's mode) while one is open.
    if (accounts.length === 0) {
      const m = await verifyModes(dataDir);
      report(`modes: ${m.paths} paths in ${dataDir}`, m.problems);
    }
    const store = await Store.open({ dataDir });
    try {
      const known = new Set(await store.accountNames());
      const names = accounts.length > 0 ? accounts : [...known];
      for (const name of names) {
        if (!known.has(name) || !(await store.accountExists(name))) {
          process.stdout.write(`${name}: no such account in ${dataDir}\n`);
          problems++;
          continue;
        }
        // A named account: the modes of its own directory (all were checked above otherwise).
        const modes =
          accounts.length > 0 ? await verifyModes(dataDir, store.accountDir(name)) : null;
        const r = await (await store.account(name)).verify();
        // The junk filter's database, where the account has one (it is made on first use).
        const junk = existsSync(join(store.accountDir(name), 'junk.db'))
          ? await (await store.junkFilter(name)).verify()
          : [];
        report(`${name}: ${r.mailboxes} mailboxes, ${r.messages} messages, ${r.files} files`, [
          ...(modes?.problems ?? []),
          ...r.problems,
          ...junk,
        ]);
      }
    } finally {
      await store.close();
    }
    if (problems > 0) process.exitCode = 1;
  });
}
