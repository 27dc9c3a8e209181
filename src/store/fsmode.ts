// File modes of the data directory: directories 0700, everything else 0600, whatever
// the process umask (which can only narrow a mode given at creation, so each creation
// is followed by an explicit chmod). Helpers that create paths that way, and a walk
// that finds, and optionally fixes, paths with other modes (server start, verifydata).
import { closeSync, fchmodSync, openSync, type Stats } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  open,
  opendir,
  stat,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import { dirname, join } from 'node:path';

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

/**
 * Whether the process umask takes bits from 0600, so that a created file needs a chmod:
 * reading the umask is a cheap system call on this thread, a chmod is a round trip to the
 * thread pool for every received message.
 */
function needsChmod(): boolean {
  return (process.umask() & FILE_MODE) !== 0;
}

/** Creates a new file (failing with EEXIST if it exists) with mode 0600, open for writing. */
export async function createPrivateFile(path: string): Promise<FileHandle> {
  const fh = await open(path, 'wx', FILE_MODE);
  if (!needsChmod()) return fh;
  try {
    await fh.chmod(FILE_MODE);
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
  return fh;
}

/**
 * Writes a new file (failing with EEXIST if it exists, so nothing is ever overwritten)
 * with mode 0600, and syncs it. A partly written file is removed.
 */
export async function writePrivateFile(path: string, data: string | Buffer): Promise<void> {
  const fh = await createPrivateFile(path);
  try {
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    await unlink(path).catch(() => undefined);
    throw e;
  }
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

export type WrongMode = { path: string; mode: number; expected: number };

export type ModeScan = {
  /** Paths looked at (root included, symbolic links not). */
  paths: number;
  /** Paths whose mode was not the expected one. */
  wrong: number;
  /** Of those, paths changed to the expected mode (with `fix`). */
  fixed: number;
  /** Paths that could not be read or changed, and the first error. */
  failed: number;
  error?: string;
};

export type ScanOptions = {
  /** Change wrong modes to the expected ones. */
  fix?: boolean;
  /** Called for each wrong mode found (before it is fixed). */
  onWrong?: (w: WrongMode) => void;
  /** Levels below root to look at: 0 is root alone; default all. */
  depth?: number;
  /** Stops the walk early. */
  signal?: AbortSignal;
};

/** lstat calls in flight at once: a few, so other file work on the thread pool is not held up. */
const PARALLEL = 8;

export function expectedMode(st: Stats): number {
  return st.isDirectory() ? DIR_MODE : FILE_MODE;
}

export function formatMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/**
 * Walks root and everything below it, comparing permission bits with 0700 for
 * directories and 0600 for everything else. Symbolic links below root are neither
 * followed nor changed; root itself is followed (a data directory may be a link to
 * where the disk is). A missing root is an empty scan.
 *
 * Asynchronous and streaming: directories are read in chunks through opendir, only
 * the stack of directories still to read is kept, and a few lstat calls run at a time,
 * so a tree of a million files neither blocks the event loop nor fills memory.
 *
 * With `fix`, a directory's mode is fixed before its entries are read, so once a
 * directory is 0700 no other user can swap an entry for a link before it is changed.
 */
export async function scanModes(root: string, opts: ScanOptions = {}): Promise<ModeScan> {
  const r: ModeScan = { paths: 0, wrong: 0, fixed: 0, failed: 0 };
  const failed = (e: unknown) => {
    r.failed++;
    r.error ??= (e as Error).message;
  };
  const check = async (path: string, st: Stats) => {
    r.paths++;
    const expected = expectedMode(st);
    const mode = st.mode & 0o777;
    if (mode === expected) return;
    r.wrong++;
    opts.onWrong?.({ path, mode, expected });
    if (!opts.fix) return;
    try {
      // Keep setgid and sticky bits an admin may have set; only access is narrowed.
      await chmod(path, (st.mode & 0o7000) | expected);
      r.fixed++;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed(e);
    }
  };

  let rootSt: Stats;
  try {
    rootSt = await stat(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed(e);
    return r;
  }
  await check(root, rootSt);
  if (!rootSt.isDirectory()) return r;
  const maxDepth = opts.depth ?? Infinity;
  const dirs: { path: string; depth: number }[] = [{ path: root, depth: 0 }];
  while (dirs.length > 0 && !opts.signal?.aborted) {
    const { path: dir, depth } = dirs.pop()!;
    if (depth >= maxDepth) continue;
    let batch: string[] = [];
    const flush = async () => {
      const names = batch;
      batch = [];
      const stats = await Promise.all(
        names.map((p) =>
          lstat(p).catch((e: NodeJS.ErrnoException) => {
            // Gone meanwhile (a temp file delivered, an expunged message erased).
            if (e.code !== 'ENOENT') failed(e);
            return null;
          }),
        ),
      );
      for (let i = 0; i < names.length; i++) {
        const st = stats[i];
        if (!st || st.isSymbolicLink()) continue;
        await check(names[i]!, st);
        if (st.isDirectory()) dirs.push({ path: names[i]!, depth: depth + 1 });
      }
    };
    try {
      for await (const e of await opendir(dir, { bufferSize: 256 })) {
        if (e.isSymbolicLink()) continue;
        batch.push(join(dir, e.name));
        if (batch.length >= PARALLEL) await flush();
        if (opts.signal?.aborted) break;
      }
      await flush();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') failed(e);
    }
  }
  return r;
}
