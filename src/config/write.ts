// Changing domains.toml: edits are made in the text itself, so the admin's comments and
// layout stay; the whole result is validated, then the file is replaced atomically.
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { type DomainsConfig, parseDomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';
import { normalizeDomain } from './names.js';
import { parseToml, readConfigText } from './toml.js';
import { editToml, TomlEditError, type TomlEdit, type TomlPath } from './tomledit.js';

export { type TomlEdit } from './tomledit.js';

/** domains.toml as read from disk: its text and TOML data, not validated. */
export interface DomainsFile {
  path: string;
  text: string;
  data: Record<string, unknown>;
}

/** Reads domains.toml for editing. Only unreadable files and TOML syntax errors throw. */
export function readDomainsFile(path: string): DomainsFile {
  const text = readConfigText(path);
  return { path, text, data: parseToml(path, text) };
}

/** The table at a path of the raw data, if there is one. */
export function rawTable(data: unknown, ...path: string[]): Record<string, unknown> | undefined {
  let cur = data;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return typeof cur === 'object' && cur !== null && !Array.isArray(cur)
    ? (cur as Record<string, unknown>)
    : undefined;
}

/** The key under [domains] that configures `domain` (lower-case ASCII), if any. */
export function domainKey(file: DomainsFile, domain: string): string | undefined {
  return Object.keys(rawTable(file.data, 'domains') ?? {}).find((k) => {
    const r = normalizeDomain(k);
    return 'domain' in r && r.domain === domain;
  });
}

// Where new tables go: the sections in the order `tidings config describe` shows them.
const ACCOUNTS: TomlPath = ['accounts'];
const ALIASES: TomlPath = ['aliases'];

/** A new account with its first address. */
export function addAccountEdit(
  name: string,
  address: { localpart: string; domain: string },
): TomlEdit {
  return {
    op: 'addTable',
    path: ['accounts', name],
    value: {
      domain: address.domain,
      destinations: { [`${address.localpart}@${address.domain}`]: {} },
    },
    after: [ACCOUNTS],
    before: [ALIASES],
  };
}

/** The account's table and everything under it. */
export function removeAccountEdit(name: string): TomlEdit {
  return { op: 'remove', path: ['accounts', name] };
}

/** A path inside the config directory is written relative to it. */
function portablePath(p: string, dir: string): string {
  const rel = relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : p;
}

/**
 * A DKIM selector of the domain configured under `key`, with its key file; when `sign`,
 * also appended to the domain's `dkim.sign`.
 */
export function addDkimSelectorEdits(
  file: DomainsFile,
  key: string,
  selector: string,
  keyFile: string,
  sign: boolean,
): TomlEdit[] {
  const edits: TomlEdit[] = [
    {
      op: 'addTable',
      path: ['domains', key, 'dkim', 'selectors', selector],
      value: { private_key_file: portablePath(keyFile, dirname(resolve(file.path))) },
      after: [['domains', key], ['domains']],
      before: [ACCOUNTS, ALIASES],
    },
  ];
  if (sign) edits.push({ op: 'append', path: ['domains', key, 'dkim', 'sign'], item: selector });
  return edits;
}

/**
 * Applies edits to the file's text and validates the complete result as domains.toml.
 * Writes nothing. Throws ConfigError naming the file, key and problem when an edit
 * cannot be made in place or the result would not load.
 */
export function editDomainsFile(
  file: DomainsFile,
  edits: readonly TomlEdit[],
): { text: string; config: DomainsConfig } {
  let text: string;
  try {
    text = editToml(file.text, edits);
  } catch (e) {
    if (!(e instanceof TomlEditError)) throw e;
    throw new ConfigError(file.path, [{ keyPath: e.keyPath, problem: e.problem }]);
  }
  return { text, config: parseDomainsConfig(text, file.path) };
}

/**
 * Writes text to a temp file in the same directory, syncs it, renames it over `path` and
 * syncs the directory: a crash leaves the old file or the new one, never a part. The mode
 * is the existing file's, else `mode`. With `expected`, refuses (writing nothing) when
 * the file no longer holds that text: it changed since it was read.
 */
export async function writeFileAtomic(
  path: string,
  text: string,
  mode = 0o644,
  expected?: string,
): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  mode = await stat(path).then(
    (s) => s.mode & 0o777,
    () => mode,
  );
  const fh = await open(tmp, 'wx', mode);
  try {
    try {
      await fh.writeFile(text, 'utf8');
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    const now = expected === undefined ? null : await readFile(path, 'utf8').catch(() => null);
    if (expected !== undefined && now !== expected) {
      throw new ConfigError(path, [
        { keyPath: '', problem: 'changed while it was being edited; nothing written, try again' },
      ]);
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  // The rename is durable only once the directory is synced.
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Reads domains.toml, applies edits, validates and replaces it; returns the new config. */
export async function updateDomainsConfig(
  path: string,
  edits: readonly TomlEdit[],
): Promise<DomainsConfig> {
  const file = readDomainsFile(path);
  const { text, config } = editDomainsFile(file, edits);
  await writeFileAtomic(file.path, text, 0o644, file.text);
  return config;
}
