// Shared pieces of the subcommands: config directory option, typed exit statuses.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfigDir } from '../config/index.js';

/** A bad argument: usage text and status 2. */
export class UsageError extends Error {}

/** A failure with a message and an exit status (2 for configuration errors). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly status = 1,
  ) {
    super(message);
  }
}

export function configDirOption(c: Command): Command {
  return c.option(
    '-c, --config <dir>',
    'configuration directory with tidings.toml and domains.toml (env TIDINGS_CONFIG_DIR)',
    process.env.TIDINGS_CONFIG_DIR ?? 'config',
  );
}

export function configPaths(dir: string): { dir: string; static: string; domains: string } {
  const d = resolve(dir);
  return { dir: d, static: join(d, 'tidings.toml'), domains: join(d, 'domains.toml') };
}

/** Loads the configuration; a config error becomes exit status 2 with its message. */
export function loadConfigOrExit(dir: string) {
  try {
    return loadConfigDir(resolve(dir));
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, 2);
    throw e;
  }
}
