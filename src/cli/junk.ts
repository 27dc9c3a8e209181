// `tidings junk train`, `check`, `retrain` and `stats`: an account's Bayesian junk
// filter, worked on in the data directory directly (beside a running server too: the
// filter's database takes concurrent writers, and the server notices new counts).
import type { Command } from 'commander';
import { JunkFilter, contentKey, retrain, type TrainMessage } from '../junk/index.js';
import { Store } from '../store/index.js';
import { CliError, UsageError, configDirOption, loadConfigOrExit } from './common.js';
import { mailFiles, singleMessage } from '../message/index.js';

type Opts = { config: string; account: string };

/** Messages trained per call: one transaction, a bounded amount of memory. */
const BATCH = 200;

/** Runs fn with the account's filter; the account must be configured and have data. */
async function withFilter<T>(o: Opts, fn: (f: JunkFilter, store: Store) => Promise<T>): Promise<T> {
  const cfg = loadConfigOrExit(o.config);
  const account = cfg.domains.accounts[o.account];
  if (!account) {
    throw new CliError(`--account ${o.account}: no such account in ${cfg.domainsPath}`);
  }
  const store = await Store.open({ dataDir: cfg.static.data_dir });
  try {
    if (!(await store.accountExists(o.account))) {
      throw new CliError(
        `--account ${o.account}: the account has no data in ${cfg.static.data_dir} yet`,
      );
    }
    return await fn(await JunkFilter.open(store, o.account, account.junk_filter), store);
  } finally {
    await store.close();
  }
}

function accountOption(c: Command): Command {
  return configDirOption(c.requiredOption('-a, --account <name>', 'the account'));
}

/** A token for a line of `check` output: the words of a pair joined with "+". */
const shown = (token: string) => token.replace(/ /g, '+');

export function registerJunk(program: Command): void {
  const junk = program
    .command('junk')
    .description("an account's Bayesian junk filter: train, check, retrain, stats");

  accountOption(
    junk
      .command('train')
      .description(
        'train messages as junk (--spam) or not (--ham): message files, Maildirs and mbox files; ' +
          'a message trained before is counted once, and moved to the other side if need be',
      )
      .option('--spam', 'the messages are junk')
      .option('--ham', 'the messages are not junk')
      .argument('<paths...>', 'message files, Maildir directories or mbox files'),
  ).action(async (paths: string[], o: Opts & { spam?: boolean; ham?: boolean }) => {
    if (o.spam === o.ham) throw new UsageError('give one of --spam and --ham');
    const spam = o.spam === true;
    await withFilter(o, async (f) => {
      const total = { messages: 0, added: 0, changed: 0, unchanged: 0 };
      let batch: TrainMessage[] = [];
      const flush = async () => {
        const r = await f.train(batch);
        total.added += r.added;
        total.changed += r.changed;
        total.unchanged += r.unchanged;
        batch = [];
      };
      for await (const m of mailFiles(paths)) {
        batch.push({ key: contentKey(m.data), spam, tokens: f.tokens(m.data) });
        total.messages++;
        if (batch.length >= BATCH) await flush();
      }
      await flush();
      process.stdout.write(
        `${o.account}: ${total.messages} messages trained as ${spam ? 'spam' : 'ham'}: ` +
          `${total.added} new, ${total.changed} moved from ${spam ? 'ham' : 'spam'}, ` +
          `${total.unchanged} trained before\n`,
      );
    });
  });

  accountOption(
    junk
      .command('check')
      .description(
        'classify messages, one line per file: the file, the junk probability, spam or ham, ' +
          'and the deciding tokens as token:probability (pairs of words joined with "+")',
      )
      .argument('<files...>', 'message files'),
  ).action(async (files: string[], o: Opts) => {
    await withFilter(o, async (f) => {
      for (const file of files) {
        const c = await f.classify(await singleMessage(file));
        const words = c.words.map((w) => `${shown(w.token)}:${w.probability.toFixed(3)}`);
        process.stdout.write(
          `${[file, c.probability.toFixed(3), c.spam ? 'spam' : 'ham', ...words].join(' ')}\n`,
        );
      }
    });
  });

  accountOption(
    junk
      .command('retrain')
      .description(
        "forget all training, then learn the account's messages: those in its ham mailboxes " +
          'as ham and those in its spam mailboxes as spam; $Junk and $NotJunk flags decide ' +
          'wherever a message is',
      ),
  ).action(async (o: Opts) => {
    await withFilter(o, async (f, store) => {
      const r = await retrain(await store.account(o.account), f);
      process.stdout.write(
        `${o.account}: retrained from ${r.mailboxes} mailboxes: ${r.ham} ham, ${r.spam} spam, ` +
          `${r.skipped} messages in other mailboxes skipped\n`,
      );
    });
  });

  accountOption(
    junk.command('stats').description("the junk filter's settings and what it has learned"),
  ).action(async (o: Opts) => {
    await withFilter(o, async (f) => {
      const s = await f.stats();
      const st = f.settings;
      const lines = [
        ['account', o.account],
        ['enabled', String(st.enabled)],
        ['threshold', String(st.threshold)],
        ['ham mailboxes', st.ham_mailboxes.join(', ')],
        ['spam mailboxes', st.spam_mailboxes.join(', ')],
        ['ham messages', String(s.hamMessages)],
        ['spam messages', String(s.spamMessages)],
        ['trained messages', String(s.trainedMessages)],
        ['tokens', `${s.tokens} (at most ${s.maxTokens})`],
        ['database size', `${s.bytes} bytes`],
      ];
      process.stdout.write(lines.map(([k, v]) => `${k}: ${v}\n`).join(''));
    });
  });
}
