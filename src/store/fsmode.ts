// File modes of the data directory: directories 0700, everything else 0600, whatever
// the process umask (which can only narrow a mode given at creation, so each creation
// is followed by an explicit chmod). Helpers that create paths that way.
import { closeSync, fchmodSync, openSync } from 'node:fs';
import { chmod, mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;

/**
 * Creates a directory and its missing parents, each with mode 0700. Returns the
 * directories it created, top-most first. One level at a time: under a umask that
 * takes the owner's write bit, a parent must be 0700 before a child can be made in it.
 */
export async function mkdirPrivate(dir: string): Promise<string[]> {
  let made: string[] = [];
  try {
    await mkdir(dir, DIR_MODE);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return [];
    if (code !== 'ENOENT' || dirname(dir) === dir) throw e;
    made = await mkdirPrivate(dirname(dir));
    try {
      await mkdir(dir, DIR_MODE);
    } catch (e2) {
      // Made by a concurrent call meanwhile.
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return made;
      throw e2;
    }
  }
  await chmod(dir, DIR_MODE);
  made.push(dir);
  return made;
}

/** Creates a new file (failing with EEXIST if it exists) with mode 0600, open for writing. */
export async function createPrivateFile(path: string): Promise<FileHandle> {
  const fh = await open(path, 'wx', FILE_MODE);
  try {
    await fh.chmod(FILE_MODE);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  return fh;
}

/**
 * Creates an empty file with mode 0600 unless the path exists; returns whether it did.
 * For files a library creates itself: an empty file is a valid empty SQLite database,
 * and SQLite gives the -wal and -shm files it creates the database file's mode.
 * Synchronous, for constructors that open the database synchronously anyway.
 */
export function ensurePrivateFileSync(path: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx', FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fchmodSync(fd, FILE_MODE);
  } finally {
    closeSync(fd);
  }
  return true;
}
