// `tidings dkim gen`: a new DKIM key file, its selector added to domains.toml, and the
// DNS record to publish (RFC 6376 §3.6).
import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import { addDkimSelectorEdits, domainKey, normalizeDomain, rawTable } from '../config/index.js';
import {
  dkimRecord,
  formatZone,
  generateDkimKeyAsync,
  type DkimKeyKind,
} from '../msgauth/index.js';
import { mkdirPrivate, writePrivateFile } from '../store/index.js';
import {
  CliError,
  UsageError,
  changeDomains,
  configDirOption,
  readDomainsOrExit,
} from './common.js';

const KINDS: DkimKeyKind[] = ['ed25519', 'rsa2048', 'rsa4096'];

/** A selector name from today's date and the key kind, e.g. "20261122e". */
function defaultSelector(kind: DkimKeyKind): string {
  const d = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  return `${d}${kind === 'ed25519' ? 'e' : 'r'}`;
}

export function registerDkim(program: Command): void {
  const dkim = program.command('dkim').description('DKIM signing keys');
  configDirOption(
    dkim
      .command('gen')
      .description(
        'create a DKIM key for a domain, add its selector to domains.toml (signing with it), and print its DNS record',
      )
      .argument('<domain>', 'a configured domain')
      .argument('[selector]', 'selector name (default: today\'s date and "e" or "r")')
      .option('--algorithm <kind>', `${KINDS.join(', ')}`, 'ed25519')
      .option('--no-sign', 'add the key without signing with it yet (publish the record first)'),
  ).action(
    async (
      domainArg: string,
      selectorArg: string | undefined,
      o: { config: string; algorithm: string; sign: boolean },
    ) => {
      const kind = o.algorithm as DkimKeyKind;
      if (!KINDS.includes(kind)) {
        throw new UsageError(
          `unknown algorithm ${JSON.stringify(o.algorithm)}: use ${KINDS.join(', ')}`,
        );
      }
      const nd = normalizeDomain(domainArg);
      if ('problem' in nd) {
        throw new UsageError(`domain ${JSON.stringify(domainArg)}: ${nd.problem}`);
      }
      const domain = nd.domain;
      const file = readDomainsOrExit(o.config);
      const key = domainKey(file, domain);
      if (key === undefined) {
        throw new CliError(`domain ${domain} is not configured in ${file.path}`);
      }
      const selector = (selectorArg ?? defaultSelector(kind)).toLowerCase();
      if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(selector)) {
        throw new UsageError(
          `selector ${JSON.stringify(selector)}: letters, digits and inner hyphens`,
        );
      }
      const selectors = Object.keys(rawTable(file.data, 'domains', key, 'dkim', 'selectors') ?? {});
      if (selectors.some((s) => s.toLowerCase() === selector)) {
        throw new CliError(`domain ${domain} already has a selector ${selector}`);
      }
      const keyFile = join(dirname(file.path), 'dkim', `${domain}-${selector}.key`);
      const edits = addDkimSelectorEdits(file, key, selector, keyFile, o.sign);
      const dkimKey = await generateDkimKeyAsync(kind);
      // The changed config is validated before the key is written, and written after it.
      await changeDomains(file, edits, async () => {
        // The private key: directory 0700 and file 0600 whatever the umask; an existing
        // key is never overwritten.
        await mkdirPrivate(dirname(keyFile));
        await writePrivateFile(keyFile, dkimKey.pem).catch((e: NodeJS.ErrnoException) => {
          throw new CliError(
            e.code === 'EEXIST'
              ? `${keyFile} exists already; not overwriting it`
              : `${keyFile}: ${e.message}`,
          );
        });
      });
      process.stdout.write(
        `key written to ${keyFile}; selector ${selector} added to ${domain}${o.sign ? ' and signing' : ''}\n` +
          `publish this DNS record:\n\n` +
          formatZone([
            {
              name: `${selector}._domainkey.${domain}.`,
              type: 'TXT',
              value: dkimRecord(dkimKey),
              comment: `DKIM key ${selector} of ${domain} (${dkimKey.algorithm}).`,
            },
          ]),
      );
    },
  );
}
