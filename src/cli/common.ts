// Shared pieces of the subcommands: config directory option, typed exit statuses.
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import {
  ConfigError,
  editDomainsFile,
  loadConfigDir,
  loadStaticConfig,
  normalizeDomain,
  readDomainsFile,
  writeFileAtomic,
  type DomainsConfig,
  type DomainsFile,
  type LoadedConfig,
  type StaticConfig,
  type TomlEdit,
} from '../config/index.js';

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
export function loadConfigOrExit(dir: string): LoadedConfig {
  return exitOnConfigError(() => loadConfigDir(resolve(dir)));
}

/** A config error becomes exit status 2 with its message, after `prefix`. */
function exitOnConfigError<T>(f: () => T, prefix = ''): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(`${prefix}${e.message}`, 2);
    throw e;
  }
}

/** Loads tidings.toml alone, for commands that change domains.toml. */
export function loadStaticOrExit(dir: string): StaticConfig {
  return exitOnConfigError(() => loadStaticConfig(configPaths(dir).static));
}

/**
 * Reads domains.toml for a change. It need not be valid as it is (only readable TOML):
 * what counts is that the changed file is.
 */
export function readDomainsOrExit(dir: string): DomainsFile {
  return exitOnConfigError(() => readDomainsFile(configPaths(dir).domains));
}

/**
 * Changes domains.toml in place, keeping its comments and layout. The complete result
 * is validated first; a change that cannot be made or would not load becomes status 2.
 */
export async function changeDomains(
  file: DomainsFile,
  edits: readonly TomlEdit[],
  beforeWrite?: () => Promise<void>,
): Promise<DomainsConfig> {
  const { text, config } = exitOnConfigError(
    () => editDomainsFile(file, edits),
    'change refused: ',
  );
  await beforeWrite?.();
  try {
    await writeFileAtomic(file.path, text, 0o644, file.text);
  } catch (e) {
    if (e instanceof ConfigError) throw new CliError(e.message, 2);
    throw e;
  }
  return config;
}

/** A domain argument in its configured (ASCII, lower-case) form; it must be configured. */
export function configuredDomain(cfg: LoadedConfig, arg: string): string {
  const nd = normalizeDomain(arg);
  if ('problem' in nd) throw new UsageError(`domain ${JSON.stringify(arg)}: ${nd.problem}`);
  if (!cfg.domains.domains[nd.domain]) {
    throw new CliError(`domain ${nd.domain} is not configured in ${cfg.domainsPath}`);
  }
  return nd.domain;
}

/** A positive whole-number id argument; `what` names it in the error. */
export function parseId(arg: string, what: string): number {
  if (!/^[1-9]\d{0,15}$/.test(arg)) throw new UsageError(`not a ${what}: ${arg}`);
  return Number(arg);
}
