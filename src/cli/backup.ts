// `tidings backup DIR`: the configuration directory and a consistent copy of the data
// directory, DIR/config and DIR/data, taken by the running server (over its control
// socket) or, when none runs, by this command. See store/backup.ts for how the copy
// stays consistent while mail comes and goes.
import type { Command } from 'commander';
import { cp, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { BackupResult } from '../store/index.js';
import { adminRequest } from './ctlclient.js';
import { CliError, configDirOption } from './common.js';

export function registerBackup(program: Command): void {
  configDirOption(
    program
      .command('backup')
      .description(
        'copy the configuration and the data directory into DIR/config and DIR/data, consistently, while the server runs or not; check the copy with verifydata --data DIR/data',
      )
      .argument('<dir>', 'an empty or new directory')
      .option('--copy', 'copy message files instead of hard-linking them (same file system)'),
  ).action(async (dir: string, o: { config: string; copy?: boolean }) => {
    const target = resolve(dir);
    const existing = await readdir(target).catch(() => []);
    if (existing.length > 0)
      throw new CliError(`${target}: not empty; give a new or empty directory`, 2);
    const data = join(target, 'data');
    const r = (await adminRequest(o.config, 'backup', {
      dir: data,
      copy: o.copy === true,
    })) as BackupResult;
    // The configuration as it is: both files, and whatever else the directory holds
    // (certificate and key files, say).
    await cp(resolve(o.config), join(target, 'config'), { recursive: true });
    process.stdout.write(
      `backup in ${target}: ${r.accounts} accounts, ${r.messageFiles} message files, ` +
        `${r.queueFiles} queued message files` +
        (r.queueDropped > 0 ? ` (${r.queueDropped} delivered meanwhile, left out)` : '') +
        `\ncheck it with: tidings verifydata --data ${data}\n`,
    );
  });
}
