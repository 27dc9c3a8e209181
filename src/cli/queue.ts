import type { Command } from 'commander';
import type { MessageView } from '../queue/index.js';
import { adminRequest } from './ctlclient.js';
import { configDirOption, parseId } from './common.js';

type FilterOpts = {
  config: string;
  account?: string;
  toDomain?: string;
  held?: boolean;
  all?: boolean;
};

function filterOptions(c: Command): Command {
  return configDirOption(
    c
      .argument('[ids...]', 'queue message ids')
      .option('--account <name>', 'only messages of this account')
      .option('--to-domain <domain>', 'only messages to this recipient domain')
      .option('--held', 'only messages on hold'),
  );
}

function filterArgs(ids: string[], o: FilterOpts): Record<string, unknown> {
  const nums = ids.map((s) => parseId(s, 'queue message id'));
  return {
    ...(nums.length > 0 ? { ids: nums } : {}),
    ...(o.account !== undefined ? { account: o.account } : {}),
    ...(o.toDomain !== undefined ? { toDomain: o.toDomain } : {}),
    ...(o.held ? { hold: true } : {}),
    ...(o.all ? { all: true } : {}),
  };
}

function line(m: MessageView): string {
  const state = m.hold ? 'held' : `next ${m.nextAttempt}`;
  const err = m.lastError ? `  last error: ${m.lastError}` : '';
  return `${m.id}\t${m.account || '-'}\t${m.from} -> ${m.to}\t${m.size} bytes\tattempts ${m.attempts}\t${state}${err}\n`;
}

function changing(
  q: Command,
  name: string,
  description: string,
  op: string,
  extra?: (c: Command) => Command,
): void {
  let c = q.command(name).description(description);
  if (extra) c = extra(c);
  filterOptions(c.option('--all', 'every message in the queue')).action(
    async (ids: string[], o: FilterOpts & { at?: string }) => {
      const args = filterArgs(ids, o);
      if (o.at !== undefined) args.at = o.at;
      const r = (await adminRequest(o.config, op, args)) as { count: number };
      process.stdout.write(`${r.count} message${r.count === 1 ? '' : 's'}\n`);
    },
  );
}

export function registerQueue(program: Command): void {
  const q = program.command('queue').description('inspect and manage the outgoing queue');

  filterOptions(q.command('list').description('list queued messages, one per recipient')).action(
    async (ids: string[], o: FilterOpts) => {
      const msgs = (await adminRequest(
        o.config,
        'queue.list',
        filterArgs(ids, o),
      )) as MessageView[];
      for (const m of msgs) process.stdout.write(line(m));
      if (msgs.length === 0) process.stdout.write('queue is empty\n');
    },
  );

  configDirOption(
    q
      .command('show')
      .description('show a queued message: fields, attempts and header')
      .argument('<id>', 'queue message id'),
  ).action(async (id: string, o: { config: string }) => {
    const m = (await adminRequest(o.config, 'queue.show', {
      id: parseId(id, 'queue message id'),
    })) as MessageView & {
      header: string;
    };
    const { results, header, ...fields } = m;
    for (const [k, v] of Object.entries(fields)) process.stdout.write(`${k}: ${String(v)}\n`);
    for (const r of results) {
      process.stdout.write(
        `attempt ${String(r.start)} ${r.success ? 'ok' : 'failed'} ${r.host} ${r.code} ${r.secode} ${r.error}\n`,
      );
    }
    process.stdout.write(`\n${header}`);
  });

  changing(q, 'hold', 'put messages on hold: they are not delivered until released', 'queue.hold');
  changing(q, 'release', 'release held messages for delivery', 'queue.release');
  changing(q, 'fail', 'fail messages now, sending failure DSNs where requested', 'queue.fail');
  changing(q, 'drop', 'remove messages from the queue without any DSN', 'queue.drop');
  changing(q, 'schedule', 'set the next delivery attempt', 'queue.schedule', (c) =>
    c.requiredOption('--at <when>', 'now, +30m, +2h, +1d, or an ISO date and time'),
  );

  const hr = q.command('holdrule').description('rules that hold newly queued messages');
  configDirOption(hr.command('list').description('list hold rules')).action(
    async (o: { config: string }) => {
      const rules = (await adminRequest(o.config, 'holdrule.list', {})) as Array<{
        id: number;
        account: string;
        senderDomain: string;
        recipientDomain: string;
      }>;
      for (const r of rules) {
        process.stdout.write(
          `${r.id}\taccount ${r.account || '*'}\tfrom ${r.senderDomain || '*'}\tto ${r.recipientDomain || '*'}\n`,
        );
      }
      if (rules.length === 0) process.stdout.write('no hold rules\n');
    },
  );
  configDirOption(
    hr
      .command('add')
      .description('hold new messages matching all given criteria (none: every message)')
      .option('--account <name>', 'sending account')
      .option('--from-domain <domain>', 'sender domain')
      .option('--to-domain <domain>', 'recipient domain'),
  ).action(
    async (o: { config: string; account?: string; fromDomain?: string; toDomain?: string }) => {
      const r = (await adminRequest(o.config, 'holdrule.add', {
        account: o.account,
        senderDomain: o.fromDomain,
        recipientDomain: o.toDomain,
      })) as { id: number };
      process.stdout.write(`hold rule ${r.id} added\n`);
    },
  );
  configDirOption(
    hr.command('remove').description('remove a hold rule').argument('<id>', 'hold rule id'),
  ).action(async (id: string, o: { config: string }) => {
    await adminRequest(o.config, 'holdrule.remove', { id: parseId(id, 'hold rule id') });
    process.stdout.write(`hold rule ${id} removed\n`);
  });
}

export function registerSuppression(program: Command): void {
  const s = program
    .command('suppression')
    .description('per-account lists of addresses outgoing mail is not sent to');
  configDirOption(
    s
      .command('list')
      .description('list suppressed addresses')
      .argument('[account]', 'only this account'),
  ).action(async (account: string | undefined, o: { config: string }) => {
    const list = (await adminRequest(o.config, 'suppression.list', { account })) as Array<{
      account: string;
      address: string;
      created: string;
      manual: boolean;
      reason: string;
    }>;
    for (const e of list) {
      process.stdout.write(
        `${e.account}\t${e.address}\t${e.created}\t${e.manual ? 'manual' : 'automatic'}\t${e.reason}\n`,
      );
    }
    if (list.length === 0) process.stdout.write('no suppressed addresses\n');
  });
  configDirOption(
    s
      .command('add')
      .description('stop sending to an address from an account')
      .argument('<account>', 'account name')
      .argument('<address>', 'email address')
      .option('--reason <text>', 'why, for the list'),
  ).action(async (account: string, address: string, o: { config: string; reason?: string }) => {
    const r = (await adminRequest(o.config, 'suppression.add', {
      account,
      address,
      reason: o.reason,
    })) as { added: boolean };
    process.stdout.write(
      r.added ? `${address} suppressed for ${account}\n` : 'already suppressed\n',
    );
  });
  configDirOption(
    s
      .command('remove')
      .description('send to an address again')
      .argument('<account>', 'account name')
      .argument('<address>', 'email address'),
  ).action(async (account: string, address: string, o: { config: string }) => {
    await adminRequest(o.config, 'suppression.remove', { account, address });
    process.stdout.write(`${address} removed from the suppression list of ${account}\n`);
  });
}
