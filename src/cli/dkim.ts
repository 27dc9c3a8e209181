// `tidings dkim gen`: creates a DKIM signing key, adds its selector to domains.toml and
// prints the DNS record to publish.
import type { Command } from 'commander';
import { dirname, join } from 'node:path';
import type { DomainsConfig } from '../config/index.js';
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
  configDirOption,
  configuredDomain,
  loadConfigOrExit,
  writeConfig,
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
      const cfg = loadConfigOrExit(o.config);
      const domain = configuredDomain(cfg, domainArg);
      const dc = cfg.domains.domains[domain] as DomainsConfig['domains'][string];
      const selector = (selectorArg ?? defaultSelector(kind)).toLowerCase();
      if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(selector)) {
        throw new UsageError(
          `selector ${JSON.stringify(selector)}: letters, digits and inner hyphens`,
        );
      }
      if (selector in dc.dkim.selectors) {
        throw new CliError(`domain ${domain} already has a selector ${selector}`);
      }
      const key = await generateDkimKeyAsync(kind);
      const file = join(dirname(cfg.domainsPath), 'dkim', `${domain}-${selector}.key`);
      // The private key: directory 0700 and file 0600 whatever the umask; an existing
      // key is never overwritten.
      await mkdirPrivate(dirname(file));
      await writePrivateFile(file, key.pem).catch((e: NodeJS.ErrnoException) => {
        throw new CliError(
          e.code === 'EEXIST'
            ? `${file} exists already; not overwriting it`
            : `${file}: ${e.message}`,
        );
      });
      const next = structuredClone(cfg.domains) as DomainsConfig;
      const nd2 = next.domains[domain] as (typeof next.domains)[string];
      (nd2.dkim.selectors as Record<string, unknown>)[selector] = {
        private_key_file: file,
        hash: 'sha256',
      };
      if (o.sign) (nd2.dkim.sign as string[]).push(selector);
      await writeConfig(cfg.domainsPath, next);
      process.stdout.write(
        `key written to ${file}; selector ${selector} added to ${domain}${o.sign ? ' and signing' : ''}\n` +
          `publish this DNS record:\n\n` +
          formatZone([
            {
              name: `${selector}._domainkey.${domain}.`,
              type: 'TXT',
              value: dkimRecord(key),
              comment: `DKIM key ${selector} of ${domain} (${key.algorithm}).`,
            },
          ]),
      );
    },
  );
}
