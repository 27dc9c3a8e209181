import { tlsProblems } from '../server/startup.js';
import type { Command } from 'commander';
import { describeDomains, describeStatic } from '../config/index.js';
import {
  DkimKeyError,
  dkimRecord,
  dnsRecords,
  formatZone,
  loadDkimKey,
  type MtaStsMode,
} from '../msgauth/index.js';
import {
  CliError,
  UsageError,
  configDirOption,
  configPaths,
  configuredDomain,
  loadConfigOrExit,
} from './common.js';

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check and describe the configuration');

  configDirOption(
    config.command('check').description('load and validate tidings.toml and domains.toml'),
  ).action((o: { config: string }) => {
    const cfg = loadConfigOrExit(o.config);
    // Certificates and keys are read as a start would read them.
    const tls = tlsProblems(cfg.static, configPaths(o.config).static);
    if (tls) throw new CliError(tls.message, 2);
    const n = (x: object) => Object.keys(x).length;
    process.stdout.write(
      `config ok: ${n(cfg.static.listeners)} listeners, ${n(cfg.domains.domains)} domains, ` +
        `${n(cfg.domains.accounts)} accounts, ${n(cfg.domains.aliases)} aliases\n`,
    );
  });

  configDirOption(
    config
      .command('dnsrecords')
      .description(
        'print the DNS records to publish for a domain: MX, SPF, DKIM, DMARC, MTA-STS, TLSRPT',
      )
      .argument('<domain>', 'a configured domain')
      .option(
        '--dmarc-reports <address>',
        'where DMARC aggregate reports go (default: the address with reports = "dmarc" at the domain, else postmaster@<domain>)',
      )
      .option(
        '--tls-reports <address>',
        'where TLS reports go (default: the address with reports = "tls" at the domain, else postmaster@<domain>)',
      )
      .option('--mta-sts-mode <mode>', 'enforce, testing or none', 'enforce'),
  ).action(
    async (
      domainArg: string,
      o: { config: string; dmarcReports?: string; tlsReports?: string; mtaStsMode: string },
    ) => {
      const cfg = loadConfigOrExit(o.config);
      const domain = configuredDomain(cfg, domainArg);
      const dc = cfg.domains.domains[domain]!;
      if (!['enforce', 'testing', 'none'].includes(o.mtaStsMode)) {
        throw new UsageError(`--mta-sts-mode: use enforce, testing or none`);
      }
      // Every configured key is published, signing or not, so keys can be rotated.
      const selectors = [];
      for (const [name, sel] of Object.entries(dc.dkim.selectors)) {
        try {
          selectors.push({ name, record: dkimRecord(await loadDkimKey(sel.private_key_file)) });
        } catch (e) {
          if (e instanceof DkimKeyError) throw new CliError(e.message);
          throw e;
        }
      }
      const host = cfg.static.hostname;
      const postmaster = `postmaster@${domain}`;
      // The addresses configured to receive reports at this domain, if any.
      const receiving = (kind: 'dmarc' | 'tls') =>
        Object.values(cfg.domains.accounts)
          .flatMap((a) => Object.entries(a.destinations))
          .find(([addr, d]) => d.reports === kind && addr.endsWith(`@${domain}`))?.[0];
      const { records, mtaSTSPolicy } = dnsRecords({
        domain: domain,
        hostname: host,
        selectors,
        mtaSTS: {
          // A new id for every change of the policy: the date and time, to the minute.
          id: new Date().toISOString().slice(0, 16).replace(/[-:T]/g, ''),
          mode: o.mtaStsMode as MtaStsMode,
          mx: [host],
          maxAgeSeconds: 86400,
        },
        reportAddress: {
          dmarc: o.dmarcReports ?? receiving('dmarc') ?? postmaster,
          tlsrpt: o.tlsReports ?? receiving('tls') ?? postmaster,
        },
      });
      process.stdout.write(formatZone(records));
      process.stdout.write(
        `\n; The MTA-STS policy, served at https://mta-sts.${domain}/.well-known/mta-sts.txt:\n` +
          mtaSTSPolicy
            .split('\r\n')
            .filter((l) => l !== '')
            .map((l) => `;   ${l}\n`)
            .join(''),
      );
    },
  );

  config
    .command('describe')
    .description('print an annotated example of each configuration file')
    .argument('[file]', 'only one file: tidings.toml or domains.toml')
    .action((file?: string) => {
      if (file === undefined) {
        process.stdout.write(
          `# ==> tidings.toml <==\n${describeStatic()}\n# ==> domains.toml <==\n${describeDomains()}`,
        );
      } else if (file === 'tidings.toml' || file === 'static') {
        process.stdout.write(describeStatic());
      } else if (file === 'domains.toml' || file === 'domains') {
        process.stdout.write(describeDomains());
      } else {
        throw new UsageError(
          `unknown file ${JSON.stringify(file)}: use tidings.toml or domains.toml`,
        );
      }
    });
}
