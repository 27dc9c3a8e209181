import type { Command } from 'commander';
import { PRODUCT, VERSION } from '../version.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the version')
    .action(() => {
      process.stdout.write(`${PRODUCT} ${VERSION} (node ${process.version})\n`);
    });
}
