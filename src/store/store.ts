// The store: the data directory with the global database, per-account stores and the
// temp directory for incoming messages.
//
//   data/tidings.db                      global: login attempts, TLS keys, received
//                                        reports, and the queue's tables (queue,
//                                        suppression, hold rules)
//   data/queue/                          message files of the outgoing queue
//   data/accounts/<account>/index.db     per account
//   data/accounts/<account>/junk.db      per account: the junk filter's tokens (junk.ts)
//   data/accounts/<account>/msg/<id / 8192>/<id>
//   data/tmp/                            incoming temp files (same file system: hard links)
import { join } from 'node:path';
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { Account, type InitialMailboxes } from './account.js';
import { GlobalDB } from './global.js';
import { mkdirDurable, fsyncPath } from './fsutil.js';
import { TempMessage, prepareMessage, type PreparedMessage } from './tempfile.js';
import { StoreError } from './errors.js';
import { JunkDB } from './junk.js';
import { backupGlobal, type BackupOptions, type BackupResult } from './backup.js';
import { mkdirPrivate } from './fsmode.js';

export type StoreOptions = {
  dataDir: string;
  /** Quota in bytes for an account (0: unlimited); consulted on every check. */
  quota?: (account: string) => number;
  /** Most messages an account may hold (0: unlimited); consulted on every check. */
  messageQuota?: (account: string) => number;
  /** Mailboxes for accounts opened for the first time. */
  initialMailboxes?: (account: string) => InitialMailboxes;
  /**
   * Remove leftovers of a crash (uncommitted message files, old temp files, files of
   * expunged messages) when opening. Only the process that owns the data directory may
   * do this: a CLI command running beside the server must not touch in-flight files.
   */
  cleanup?: boolean;
  /** Test hook: runs after message files are linked, before the commit. */
  beforeCommit?: () => void;
  /** Called once for each account opened (the junk filter's trainer follows it). */
  onAccountOpen?: (account: Account) => void;
};

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export class Store {
  readonly global: GlobalDB;
  private accounts = new Map<string, Promise<Account>>();
  private junkFilters = new Map<string, Promise<JunkDB>>();

  private constructor(
    readonly dataDir: string,
    private readonly opts: StoreOptions,
  ) {
    this.global = new GlobalDB(join(dataDir, 'tidings.db'));
  }

  static async open(opts: StoreOptions): Promise<Store> {
    await mkdirDurable(join(opts.dataDir, 'accounts'));
    await mkdirDurable(join(opts.dataDir, 'tmp'));
    const s = new Store(opts.dataDir, opts);
    if (opts.cleanup) await s.cleanTmp();
    return s;
  }

  get tmpDir(): string {
    return join(this.dataDir, 'tmp');
  }

  accountDir(name: string): string {
    return join(this.dataDir, 'accounts', name);
  }

  /** Temp files left by a crash belong to no transaction; remove those older than a day. */
  private async cleanTmp(): Promise<void> {
    const cutoff = Date.now() - 24 * 3600 * 1000;
    for (const f of await readdir(this.tmpDir)) {
      const p = join(this.tmpDir, f);
      const st = await stat(p).catch(() => null);
      if (st && st.mtimeMs < cutoff) await rm(p, { force: true });
    }
  }

  /** Opens an account's store, creating it (with its initial mailboxes) when new. */
  account(name: string): Promise<Account> {
    if (!ACCOUNT_NAME.test(name)) {
      return Promise.reject(
        new StoreError('invalid', `invalid account name ${JSON.stringify(name)}`),
      );
    }
    let p = this.accounts.get(name);
    if (!p) {
      p = Account.open(
        name,
        this.accountDir(name),
        {
          quota: () => this.opts.quota?.(name) ?? 0,
          messageQuota: () => this.opts.messageQuota?.(name) ?? 0,
          beforeCommit: this.opts.beforeCommit,
          cleanup: this.opts.cleanup ?? false,
        },
        this.opts.initialMailboxes?.(name),
      );
      this.accounts.set(name, p);
      p.then(
        (a) => this.opts.onAccountOpen?.(a),
        () => this.accounts.delete(name),
      );
    }
    return p;
  }

  /**
   * The junk filter database of an existing account (accounts/<name>/junk.db), opened
   * once and shared. `maxTokens` (from the account's settings) applies from now on.
   */
  async junkFilter(name: string, opts: { maxTokens?: number } = {}): Promise<JunkDB> {
    let p = this.junkFilters.get(name);
    if (!p) {
      if (!ACCOUNT_NAME.test(name)) {
        throw new StoreError('invalid', `invalid account name ${JSON.stringify(name)}`);
      }
      if (!(await this.accountExists(name))) {
        throw new StoreError('nonexistent', `no account ${name} in ${this.dataDir}`);
      }
      p = this.junkFilters.get(name);
      if (!p) {
        p = JunkDB.open(join(this.accountDir(name), 'junk.db'), opts.maxTokens);
        this.junkFilters.set(name, p);
        p.catch(() => this.junkFilters.delete(name));
      }
    }
    const db = await p;
    if (opts.maxTokens !== undefined) db.maxTokens = opts.maxTokens;
    return db;
  }

  private async closeJunkFilter(name: string): Promise<void> {
    const p = this.junkFilters.get(name);
    this.junkFilters.delete(name);
    await (await p?.catch(() => null))?.close();
  }

  async accountExists(name: string): Promise<boolean> {
    return (await stat(join(this.accountDir(name), 'index.db')).catch(() => null)) !== null;
  }

  /** Names of accounts with data on disk. */
  async accountNames(): Promise<string[]> {
    const names = await readdir(join(this.dataDir, 'accounts')).catch(() => [] as string[]);
    return names.filter((n) => ACCOUNT_NAME.test(n)).sort();
  }

  /**
   * Moves an account's data aside (never deleted outright) to
   * data/removed-accounts/<name>-<time>, and forgets its keys and login attempts.
   */
  async removeAccount(name: string): Promise<string | null> {
    await this.closeJunkFilter(name);
    const open = this.accounts.get(name);
    if (open) {
      this.accounts.delete(name);
      await (await open).close();
    }
    await this.global.removeAccount(name);
    if (!(await this.accountExists(name))) return null;
    const removedDir = join(this.dataDir, 'removed-accounts');
    await mkdirDurable(removedDir);
    const dest = join(removedDir, `${name}-${new Date().toISOString().replace(/[:.]/g, '')}`);
    await rename(this.accountDir(name), dest);
    await fsyncPath(join(this.dataDir, 'accounts'));
    await fsyncPath(removedDir);
    return dest;
  }

  /** Starts a streamed temp message (SMTP DATA, IMAP APPEND literals). */
  /**
   * A consistent copy of the data directory in `dest` (empty or absent), taken while the
   * store is in use: see backup.ts.
   */
  async backup(dest: string, o: BackupOptions): Promise<BackupResult> {
    const existing = await readdir(dest).catch(() => []);
    if (existing.length > 0) throw new StoreError('alreadyexists', `${dest}: not empty`);
    for (const d of [dest, join(dest, 'accounts'), join(dest, 'tmp')]) await mkdirPrivate(d);
    const out: BackupResult = { accounts: 0, messageFiles: 0, queueFiles: 0, queueDropped: 0 };
    Object.assign(out, await backupGlobal(this.global.db, this.dataDir, dest, o));
    for (const name of await this.accountNames()) {
      if (!(await this.accountExists(name))) continue;
      const to = join(dest, 'accounts', name);
      const files = await (await this.account(name)).backupTo(to, !!o.copy);
      // The junk filter's tokens, where the account has them (made on first use).
      if ((await readdir(this.accountDir(name))).includes('junk.db')) {
        await (await this.junkFilter(name)).backupTo(join(to, 'junk.db'));
      }
      out.accounts++;
      out.messageFiles += files;
      o.onAccount?.(name, files);
    }
    return out;
  }

  tempMessage(opts: { verbatim?: boolean } = {}): Promise<TempMessage> {
    return TempMessage.create(this.tmpDir, opts);
  }

  /** Writes a buffer as a prepared message. */
  prepareMessage(data: Buffer, opts: { syncLater?: boolean } = {}): Promise<PreparedMessage> {
    return prepareMessage(this.tmpDir, data, opts);
  }

  async close(): Promise<void> {
    for (const name of [...this.junkFilters.keys()]) await this.closeJunkFilter(name);
    const all = [...this.accounts.values()];
    this.accounts.clear();
    for (const p of all) {
      const a = await p.catch(() => null);
      await a?.close();
    }
    await this.global.close();
  }
}
