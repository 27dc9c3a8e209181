// Reloading domains.toml when it changes on disk.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type DomainsConfig, parseDomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';

export interface WatchOptions {
  /** Quiet time after the last change event before reloading; default 100 ms. */
  debounceMs?: number;
  /**
   * How long the file must have been unchanged (by its modification time) before it is
   * read; default 1 s. A script or editor may write the file in pieces, and a version
   * cut off between two tables would parse.
   */
  settleMs?: number;
  /** The running configuration, to refuse a version that would empty it. */
  running?: () => DomainsConfig;
}

export interface ConfigWatcher {
  close(): void;
}

/**
 * Watches domains.toml and calls `onChange` with each new fully valid version. Invalid
 * versions go to `onError` and the running copy stays. The directory is watched, so
 * editors that write a new file and rename it over the old one are followed. Contents
 * equal to the last version accepted by this watcher are ignored.
 */
export function watchDomainsConfig(
  path: string,
  onChange: (cfg: DomainsConfig) => void,
  onError: (err: Error) => void,
  options: WatchOptions = {},
): ConfigWatcher {
  const debounceMs = options.debounceMs ?? 100;
  const name = basename(path);
  let accepted: string | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  let generation = 0;

  const settleMs = options.settleMs ?? 1000;
  const cannotRead = (err: unknown) =>
    new ConfigError(path, [{ keyPath: '', problem: `cannot read file: ${errorText(err)}` }]);

  const reload = async (): Promise<void> => {
    const gen = ++generation;
    let text: string;
    try {
      const before = await stat(path);
      const quiet = Date.now() - before.mtimeMs;
      if (quiet < settleMs) return schedule(settleMs - quiet);
      text = await readFile(path, 'utf8');
      const after = await stat(path);
      if (after.mtimeMs !== before.mtimeMs || after.size !== before.size) {
        return schedule(settleMs);
      }
    } catch (err) {
      if (!closed && gen === generation) onError(cannotRead(err));
      return;
    }
    // A newer change started reading meanwhile; it reports instead.
    if (closed || gen !== generation || text === accepted) return;
    let cfg: DomainsConfig;
    try {
      cfg = parseDomainsConfig(text, path);
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const emptied = options.running && emptiedBy(options.running(), cfg);
    if (emptied) {
      onError(new ConfigError(path, [{ keyPath: '', problem: emptied }]));
      return;
    }
    accepted = text;
    onChange(cfg);
  };

  const schedule = (delayMs = debounceMs): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, delayMs);
  };

  const watcher: FSWatcher = watch(dirname(path), { persistent: false }, (_event, filename) => {
    if (filename === null || filename.toString() === name) schedule();
  });
  watcher.on('error', (err) => {
    if (!closed) onError(err);
  });

  return {
    close(): void {
      closed = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Why `next` must not replace `running`: it has no accounts, or no domains, while the
 * running version has some. Far more often an empty or half-written file than an admin's
 * intent, and loading it would refuse all mail as "no such user"; a restart loads such a
 * file on purpose.
 */
export function emptiedBy(running: DomainsConfig, next: DomainsConfig): string | null {
  for (const key of ['accounts', 'domains'] as const) {
    const have = Object.keys(running[key]).length;
    if (have > 0 && Object.keys(next[key]).length === 0) {
      return (
        `has no ${key}, the running configuration has ${have}: not loaded, in case the ` +
        `file is empty or only partly written; restart the server to load it on purpose`
      );
    }
  }
  return null;
}
