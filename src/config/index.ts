// Configuration of Tidings: tidings.toml (static) and domains.toml (dynamic).
import { join } from 'node:path';
import { type DomainsConfig, loadDomainsConfig } from './domains.js';
import { loadStaticConfig, type StaticConfig } from './static.js';

export * from './errors.js';
export * from './names.js';
export * from './units.js';
export * from './static.js';
export * from './domains.js';
export * from './resolve.js';
export * from './watch.js';
export * from './write.js';
export * from './describe.js';

export const STATIC_FILE = 'tidings.toml';
export const DOMAINS_FILE = 'domains.toml';

export interface LoadedConfig {
  staticPath: string;
  domainsPath: string;
  static: StaticConfig;
  domains: DomainsConfig;
}

/** Loads tidings.toml and domains.toml from a config directory. Throws ConfigError. */
export function loadConfigDir(dir: string): LoadedConfig {
  const staticPath = join(dir, STATIC_FILE);
  const domainsPath = join(dir, DOMAINS_FILE);
  const st = loadStaticConfig(staticPath);
  const domains = loadDomainsConfig(domainsPath, st);
  return { staticPath, domainsPath, static: st, domains };
}
