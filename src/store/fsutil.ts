// File-system steps of durable storage: fsync of files and directories.
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdirPrivate } from './fsmode.js';

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Creates a directory (and parents), each with mode 0700, and fsyncs each new
 * directory's parent, so the entry survives a crash.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const made = await mkdirPrivate(dir);
  for (const d of made) await fsyncPath(dirname(d));
}
