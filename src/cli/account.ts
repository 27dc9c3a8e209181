// `tidings account add`, `remove` and `list`: accounts in domains.toml and their data.
import type { Command } from 'commander';
import {
  accountAddresses,
  addAccountEdit,
  parseAddress,
  rawTable,
  removeAccountEdit,
} from '../config/index.js';
import { Store } from '../store/index.js';
import {
  CliError,
  UsageError,
  changeDomains,
  configDirOption,
  loadConfigOrExit,
  loadStaticOrExit,
  readDomainsOrExit,
} from './common.js';

export function registerAccount(program: Command): void {
  const account = program.command('account').description('manage accounts');

  configDirOption(
    account
      .command('add')
      .description('add an account with its first address, and create its mailboxes')
      .argument('<name>', 'account name (letters, digits, ".", "-", "_")')
      .argument('<address>', 'email address at a configured domain'),
  ).action(async (name: string, address: string, o: { config: string }) => {
    const st = loadStaticOrExit(o.config);
    const parsed = parseAddress(address);
    if ('problem' in parsed)
      throw new UsageError(`address ${JSON.stringify(address)}: ${parsed.problem}`);
    // Only the changed file must be valid: a [postmaster] may already name this account.
    const file = readDomainsOrExit(o.config);
    if (rawTable(file.data, 'accounts', name)) throw new CliError(`account ${name} already exists`);
    const domains = await changeDomains(file, [addAccountEdit(name, parsed)]);
    const store = await Store.open({
      dataDir: st.data_dir,
      initialMailboxes: () => domains.initial_mailboxes,
    });
    try {
      await store.account(name);
    } finally {
      await store.close();
    }
    process.stdout.write(
      `account ${name} added with address ${parsed.localpart}@${parsed.domain}\n` +
        `set its password with: tidings setpassword ${name}\n`,
    );
  });

  configDirOption(
    account
      .command('remove')
      .description('remove an account from the configuration; its data is moved aside, not deleted')
      .argument('<name>', 'account name'),
  ).action(async (name: string, o: { config: string }) => {
    const st = loadStaticOrExit(o.config);
    const file = readDomainsOrExit(o.config);
    if (!rawTable(file.data, 'accounts', name)) throw new CliError(`no account ${name}`);
    await changeDomains(file, [removeAccountEdit(name)]);
    const store = await Store.open({ dataDir: st.data_dir });
    try {
      const moved = await store.removeAccount(name);
      process.stdout.write(
        `account ${name} removed${moved ? `; its data was moved to ${moved}` : ''}\n`,
      );
    } finally {
      await store.close();
    }
  });

  configDirOption(account.command('list').description('list accounts with their addresses')).action(
    (o: { config: string }) => {
      const cfg = loadConfigOrExit(o.config);
      for (const name of Object.keys(cfg.domains.accounts).sort()) {
        process.stdout.write(`${name}\t${accountAddresses(cfg.domains, name).join(' ')}\n`);
      }
    },
  );
}
