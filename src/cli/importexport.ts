// `tidings import mbox|maildir` and `tidings export mbox|maildir`: an account's mail in
// and out (see server/importexport.ts). An import goes through the running server, so
// that its IMAP sessions see the new messages, and is done here when none runs; an
// export reads the data directory directly, beside a running server too.
import type { Command } from 'commander';
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Store } from '../store/index.js';
import { exportMail, type ExportResult, type ImportResult } from '../server/importexport.js';
import { adminRequest } from './ctlclient.js';
import { CliError, UsageError, configDirOption, loadConfigOrExit } from './common.js';

type Opts = { config: string; account: string; mailbox?: string };

function format(f: string): 'mbox' | 'maildir' {
  if (f !== 'mbox' && f !== 'maildir')
    throw new UsageError(`format must be mbox or maildir, not ${f}`);
  return f;
}

/** The account, which must be in the configuration. */
function checkAccount(o: Opts): string {
  const cfg = loadConfigOrExit(o.config);
  if (!cfg.domains.accounts[o.account]) {
    throw new CliError(`--account ${o.account}: no such account in ${cfg.domainsPath}`, 2);
  }
  return cfg.static.data_dir;
}

export function registerImportExport(program: Command): void {
  configDirOption(
    program
      .command('import')
      .description(
        'import messages with their flags, keywords and dates from mbox files or Maildirs into a mailbox (created when missing)',
      )
      .argument('<format>', 'mbox or maildir')
      .argument('<paths...>', 'mbox files, or Maildirs (with cur/ and new/)')
      .requiredOption('-a, --account <name>', 'the account')
      .option('-m, --mailbox <name>', 'the mailbox', 'Inbox')
      .option('--resume', 'go on with an import of the same files that was cut off')
      .option('--rollback', 'remove what an import of the same files that was cut off stored'),
  ).action(
    async (f: string, paths: string[], o: Opts & { resume?: boolean; rollback?: boolean }) => {
      const kind = format(f);
      if (o.resume && o.rollback)
        throw new UsageError('--resume and --rollback exclude each other');
      const mode = o.resume ? 'resume' : o.rollback ? 'rollback' : 'new';
      checkAccount(o);
      const abs = paths.map((p) => resolve(p));
      for (const p of abs) {
        const st = await stat(p).catch(() => null);
        if (!st) throw new CliError(`${p}: no such file or directory`, 2);
        if (kind === 'mbox' && !st.isFile()) throw new CliError(`${p}: not an mbox file`, 2);
        if (kind === 'maildir' && !st.isDirectory()) throw new CliError(`${p}: not a Maildir`, 2);
      }
      // Progress: on a terminal the count so far, on one line; elsewhere a line per
      // thousand messages.
      const tty = process.stderr.isTTY === true;
      const r = (await adminRequest(
        o.config,
        'import',
        { account: o.account, mailbox: o.mailbox ?? 'Inbox', paths: abs, mode },
        (n) => {
          if (tty) process.stderr.write(`\r${String(n)} messages imported`);
          else if (typeof n === 'number' && n % 1000 === 0)
            process.stderr.write(`${n} messages imported\n`);
        },
      )) as ImportResult;
      if (tty) process.stderr.write('\n');
      process.stdout.write(
        r.rolledBack !== undefined
          ? `removed ${r.rolledBack} messages of the cut-off import into ${r.account} ${r.mailbox}\n`
          : `imported ${r.messages} messages into ${r.account} ${r.mailbox}\n`,
      );
    },
  );

  configDirOption(
    program
      .command('export')
      .description(
        'export an account’s mailboxes (or one) as mbox files or Maildirs, with flags, keywords and dates, into a new directory',
      )
      .argument('<format>', 'mbox or maildir')
      .argument('<dir>', 'a new or empty directory')
      .requiredOption('-a, --account <name>', 'the account')
      .option('-m, --mailbox <name>', 'only this mailbox'),
  ).action(async (f: string, dir: string, o: Opts) => {
    const kind = format(f);
    const dataDir = checkAccount(o);
    const target = resolve(dir);
    if ((await readdir(target).catch(() => [])).length > 0) {
      throw new CliError(`${target}: not empty; give a new or empty directory`, 2);
    }
    const store = await Store.open({ dataDir });
    let r: ExportResult;
    try {
      if (!(await store.accountExists(o.account))) {
        throw new CliError(`--account ${o.account}: the account has no data in ${dataDir} yet`);
      }
      r = await exportMail(store, o.account, kind, target, o.mailbox).catch((e: Error) => {
        throw e.message.startsWith('no mailbox')
          ? new CliError(`--mailbox ${o.mailbox}: no such mailbox`, 2)
          : e;
      });
    } finally {
      await store.close();
    }
    process.stdout.write(
      `exported ${r.messages} messages of ${r.mailboxes} mailboxes to ${target}\n`,
    );
  });
}
