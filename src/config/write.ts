// Writing domains.toml: serialise, validate, then replace the file atomically.
import { randomBytes } from 'node:crypto';
import { open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { stringify } from 'smol-toml';
import type {
  AccountConfig,
  AliasConfig,
  DomainConfig,
  DomainsConfig,
  InitialMailboxes,
} from './domains.js';
import { parseDomainsConfig } from './domains.js';
import { formatDuration, formatSize } from './units.js';

type Table = Record<string, unknown>;

/** Copies the entries whose value is set and differs from the default. */
function pick(entries: [string, unknown, unknown?][]): Table {
  const out: Table = {};
  for (const [key, value, def] of entries) {
    if (value === undefined || value === def) continue;
    if (Array.isArray(value) && value.length === 0 && Array.isArray(def)) continue;
    out[key] = value;
  }
  return out;
}

const defaultMailboxes: InitialMailboxes = {
  archive: 'Archive',
  drafts: 'Drafts',
  junk: 'Junk',
  sent: 'Sent',
  trash: 'Trash',
  regular: [],
};

function mailboxesTable(m: InitialMailboxes, omitDefaults: boolean): Table {
  const d = omitDefaults ? defaultMailboxes : ({} as Partial<InitialMailboxes>);
  return pick([
    ['archive', m.archive, d.archive],
    ['drafts', m.drafts, d.drafts],
    ['junk', m.junk, d.junk],
    ['sent', m.sent, d.sent],
    ['trash', m.trash, d.trash],
    ['regular', m.regular, omitDefaults ? [] : undefined],
  ]);
}

/** A path inside the config directory is written relative to it. */
function portablePath(p: string, dir: string): string {
  const rel = relative(dir, p);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : p;
}

function domainTable(d: DomainConfig, dir: string): Table {
  const selectors: Table = {};
  for (const [name, s] of Object.entries(d.dkim?.selectors ?? {})) {
    selectors[name] = pick([
      ['private_key_file', portablePath(s.private_key_file, dir)],
      ['hash', s.hash, 'sha256'],
      ['headers', s.headers],
      ['expiration', s.expiration === undefined ? undefined : formatDuration(s.expiration)],
    ]);
  }
  const dkim = pick([
    ['selectors', Object.keys(selectors).length > 0 ? selectors : undefined],
    ['sign', d.dkim?.sign, []],
  ]);
  return pick([
    ['description', d.description],
    ['localpart_catchall_separators', d.localpart_catchall_separators, []],
    ['localpart_case_sensitive', d.localpart_case_sensitive, false],
    ['dkim', Object.keys(dkim).length > 0 ? dkim : undefined],
  ]);
}

function accountTable(a: AccountConfig): Table {
  const destinations: Table = {};
  for (const [addr, dest] of Object.entries(a.destinations ?? {})) {
    destinations[addr] = pick([
      ['mailbox', dest.mailbox, 'Inbox'],
      ['full_name', dest.full_name],
    ]);
  }
  return pick([
    ['domain', a.domain],
    ['full_name', a.full_name],
    ['quota', a.quota ? formatSize(a.quota) : undefined],
    ['login_disabled', a.login_disabled],
    ['rejects_mailbox', a.rejects_mailbox],
    ['keep_rejects', a.keep_rejects, false],
    ['no_first_time_sender_delay', a.no_first_time_sender_delay, false],
    ['max_outgoing_messages_per_day', a.max_outgoing_messages_per_day],
    ['max_first_time_recipients_per_day', a.max_first_time_recipients_per_day],
    ['initial_mailboxes', a.initial_mailboxes && mailboxesTable(a.initial_mailboxes, false)],
    ['destinations', destinations],
  ]);
}

function aliasTable(a: AliasConfig): Table {
  return pick([
    ['members', a.members],
    ['post_public', a.post_public, false],
    ['list_members', a.list_members, false],
    ['allow_msg_from', a.allow_msg_from, false],
  ]);
}

function mapValues<T>(rec: Record<string, T>, f: (v: T) => Table): Table {
  const out: Table = {};
  for (const [k, v] of Object.entries(rec)) out[k] = f(v);
  return out;
}

/**
 * Serialises a domains config as TOML for `file` (paths inside its directory become
 * relative). Default values are left out, and so are keys missing from hand-built
 * objects (validation fills their defaults back in). Comments are not kept.
 */
export function serializeDomainsConfig(cfg: DomainsConfig, file: string): string {
  const dir = dirname(resolve(file));
  const initial = cfg.initial_mailboxes ? mailboxesTable(cfg.initial_mailboxes, true) : {};
  const doc = pick([
    ['initial_mailboxes', Object.keys(initial).length > 0 ? initial : undefined],
    [
      'postmaster',
      cfg.postmaster &&
        pick([
          ['account', cfg.postmaster.account],
          ['mailbox', cfg.postmaster.mailbox === 'Inbox' ? undefined : cfg.postmaster.mailbox],
        ]),
    ],
    ['domains', mapValues(cfg.domains ?? {}, (d) => domainTable(d, dir))],
    ['accounts', mapValues(cfg.accounts ?? {}, accountTable)],
    ['aliases', mapValues(cfg.aliases ?? {}, aliasTable)],
  ]);
  // Strings are written with escaped newlines, so a line starting with "[" is a header;
  // give every header a blank line before it.
  const body = stringify(doc).replace(/([^\n])\n\[/g, '$1\n\n[');
  return `# Tidings domains, accounts and aliases; reloaded when it changes.\n\n${body}\n`;
}

/** Writes text to a temp file in the same directory, syncs it, renames it over `path`. */
async function atomicWrite(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const mode = await stat(path).then(
    (s) => s.mode & 0o777,
    () => 0o644,
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

/**
 * Validates `cfg` (as it will be read back) and atomically replaces domains.toml with it:
 * temp file in the same directory, fsync, rename, fsync of the directory. Throws
 * ConfigError and writes nothing when the result would not load.
 */
export async function writeDomainsConfig(path: string, cfg: DomainsConfig): Promise<void> {
  const text = serializeDomainsConfig(cfg, path);
  parseDomainsConfig(text, path);
  await atomicWrite(path, text);
}
