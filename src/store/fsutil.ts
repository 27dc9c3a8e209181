// File-system steps of durable storage: fsync of files and directories.
import { open, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Creates a directory (and parents) and fsyncs each new directory's parent, so the entry survives a crash. */
export async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  // first is the top-most directory created; fsync from its parent down to dir's parent.
  let d = dir;
  const parents: string[] = [];
  while (d.length >= first.length) {
    parents.push(dirname(d));
    if (d === first) break;
    d = dirname(d);
  }
  for (const p of parents.reverse()) await fsyncPath(p);
}
