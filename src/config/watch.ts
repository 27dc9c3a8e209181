// Reloading domains.toml when it changes on disk.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { type DomainsConfig, parseDomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';

export interface WatchOptions {
  /** Quiet time after the last change event before reloading; default 100 ms. */
  debounceMs?: number;
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

  const reload = async (): Promise<void> => {
    const gen = ++generation;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (!closed && gen === generation) {
        onError(new ConfigError(path, [{ keyPath: '', problem: `cannot read file: ${reason}` }]));
      }
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
    accepted = text;
    onChange(cfg);
  };

  const schedule = (): void => {
    if (closed) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      void reload();
    }, debounceMs);
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
