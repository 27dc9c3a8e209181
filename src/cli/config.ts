import type { Command } from 'commander';
import { describeDomains, describeStatic } from '../config/index.js';
import { UsageError, configDirOption, loadConfigOrExit } from './common.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check and describe the configuration');

  configDirOption(
    config.command('check').description('load and validate tidings.toml and domains.toml'),
  ).action((o: { config: string }) => {
    const cfg = loadConfigOrExit(o.config);
    const n = (x: object) => Object.keys(x).length;
    process.stdout.write(
      `config ok: ${n(cfg.static.listeners)} listeners, ${n(cfg.domains.domains)} domains, ` +
        `${n(cfg.domains.accounts)} accounts, ${n(cfg.domains.aliases)} aliases\n`,
    );
  });

  config
    .command('describe')
    .description('print an annotated example of each configuration file')
    .argument('[file]', 'only one file: tidings.toml or domains.toml')
    .action((file?: string) => {
      if (file === undefined) {
        process.stdout.write(
          `# ==> tidings.toml <==\n${describeStatic()}\n# ==> domains.toml <==\n${describeDomains()}`,
        );
      } else if (file === 'tidings.toml' || file === 'static') {
        process.stdout.write(describeStatic());
      } else if (file === 'domains.toml' || file === 'domains') {
        process.stdout.write(describeDomains());
      } else {
        throw new UsageError(
          `unknown file ${JSON.stringify(file)}: use tidings.toml or domains.toml`,
        );
      }
    });
}
