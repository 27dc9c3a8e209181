// `tidings report dmarc|tls list|show|import|pending`: DMARC aggregate and TLS reports
// received from other mail systems, listed, shown and imported (report files or whole
// messages), and what the reports this server sends will contain, on the data
// directory directly, with or without the server running.
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ingestReport,
  kindLabel,
  type DMARCReport,
  type ReportKind,
  type TLSReport,
} from '../reports/index.js';
import {
  Store,
  utcDay,
  type ReceivedDMARCSummary,
  type ReceivedTLSSummary,
} from '../store/index.js';
import { CliError, UsageError, configDirOption, loadConfigOrExit, parseId } from './common.js';

/** Files larger than this are not read: no report, even attached to a message, is. */
const MAX_IMPORT_FILE = 64 * 1024 * 1024;

type DataOpts = { config: string; data?: string };

function dataOption(c: Command): Command {
  return configDirOption(
    c.option('--data <dir>', 'data directory (default: data_dir of the configuration)'),
  );
}

function dataDir(o: DataOpts): string {
  return o.data ? resolve(o.data) : loadConfigOrExit(o.config).static.data_dir;
}

/** Opens the store of an existing data directory, for reading. */
async function openExisting(o: DataOpts): Promise<Store> {
  const dir = dataDir(o);
  if (!existsSync(join(dir, 'tidings.db'))) {
    throw new CliError(`no database in ${dir}: nothing received yet, or the wrong directory`);
  }
  return Store.open({ dataDir: dir });
}

async function withStore<T>(store: Store, f: (s: Store) => Promise<T>): Promise<T> {
  try {
    return await f(store);
  } finally {
    await store.close();
  }
}

/** Text from a report for a terminal: control characters (escape sequences) become "?". */
function clean(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function time(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function period(start: number, end: number): string {
  return `${time(start)} - ${time(end)}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function count(arg: string, what: string): number {
  if (!/^\d{1,9}$/.test(arg)) throw new UsageError(`not a ${what}: ${arg}`);
  return Number(arg);
}

function dmarcLine(r: ReceivedDMARCSummary): string {
  return `${r.id}\t${time(r.received)}\t${clean(r.org)}\t${r.domain}\t${period(r.start, r.end)}\t${plural(r.messages, 'message')} in ${plural(r.records, 'record')}, ${r.failed} failed DMARC\n`;
}

function tlsLine(r: ReceivedTLSSummary): string {
  return `${r.id}\t${time(r.received)}\t${clean(r.org)}\t${clean(r.domain) || '-'}\t${period(r.start, r.end)}\t${r.successes} successful, ${r.failures} failed sessions\n`;
}

function showDMARC(s: ReceivedDMARCSummary, r: DMARCReport): string {
  const m = r.metadata;
  const p = r.policy;
  const lines = [
    `${kindLabel('dmarc')} ${s.id}`,
    `received: ${time(s.received)}`,
    `organization: ${clean(m.orgName)}`,
    `email: ${clean(m.email)}`,
    ...(m.extraContactInfo ? [`extra contact info: ${clean(m.extraContactInfo)}`] : []),
    `report id: ${clean(m.reportId)}`,
    `period: ${period(s.start, s.end)}`,
    `policy: ${clean(
      [
        p.domain,
        ...Object.entries({ p: p.p, sp: p.sp, adkim: p.adkim, aspf: p.aspf, np: p.np, fo: p.fo })
          .filter(([, v]) => v !== '')
          .map(([k, v]) => `${k}=${v}`),
        ...(p.pct !== null ? [`pct=${p.pct}`] : []),
      ].join(' '),
    )}`,
    ...m.errors.map((e) => `error: ${clean(e)}`),
    `${plural(s.records, 'record')}, ${plural(s.messages, 'message')}, ${s.failed} failed DMARC`,
    '',
  ];
  for (const rec of r.records) {
    const pe = rec.row.policyEvaluated;
    const id = rec.identifiers;
    lines.push(
      clean(
        `${rec.row.sourceIP}  count ${rec.row.count}  disposition ${pe.disposition || '-'}  dkim ${pe.dkim || '-'}  spf ${pe.spf || '-'}  header_from ${id.headerFrom || '-'}` +
          (id.envelopeFrom ? `  envelope_from ${id.envelopeFrom}` : '') +
          (id.envelopeTo ? `  envelope_to ${id.envelopeTo}` : ''),
      ),
    );
    for (const x of pe.reasons) {
      lines.push(clean(`  reason ${x.type}${x.comment ? `: ${x.comment}` : ''}`));
    }
    for (const d of rec.authResults.dkim) {
      lines.push(
        clean(
          `  dkim ${d.domain}${d.selector ? ` selector ${d.selector}` : ''}: ${d.result}${d.humanResult ? ` (${d.humanResult})` : ''}`,
        ),
      );
    }
    for (const x of rec.authResults.spf) {
      lines.push(
        clean(
          `  spf ${x.domain}${x.scope ? ` ${x.scope}` : ''}: ${x.result}${x.humanResult ? ` (${x.humanResult})` : ''}`,
        ),
      );
    }
  }
  return lines.join('\n') + '\n';
}

function showTLS(s: ReceivedTLSSummary, r: TLSReport): string {
  const lines = [
    `${kindLabel('tls')} ${s.id}`,
    `received: ${time(s.received)}`,
    `organization: ${clean(r.organizationName)}`,
    `contact: ${clean(r.contactInfo)}`,
    `report id: ${clean(r.reportId)}`,
    `period: ${period(s.start, s.end)}`,
    `${s.policies} ${s.policies === 1 ? 'policy' : 'policies'}, ${s.successes} successful, ${s.failures} failed sessions`,
  ];
  for (const p of r.policies) {
    const sum = p.summary;
    lines.push(
      '',
      clean(
        `policy ${p.policy.policyType} ${p.policy.policyDomain}: ${sum.totalSuccessfulSessionCount} successful, ${sum.totalFailureSessionCount} failed sessions`,
      ),
    );
    if (p.policy.mxHost.length > 0) lines.push(clean(`  mx-host: ${p.policy.mxHost.join(', ')}`));
    if (p.policy.policyString.length > 0) {
      lines.push(clean(`  policy-string: ${p.policy.policyString.join('; ')}`));
    }
    for (const f of p.failureDetails) {
      const to = [f.receivingMxHostname, f.receivingIp ? `(${f.receivingIp})` : '']
        .filter((x) => x)
        .join(' ');
      lines.push(
        clean(
          `  ${f.resultType}: ${plural(f.failedSessionCount, 'session')}` +
            (f.sendingMtaIp ? ` from ${f.sendingMtaIp}` : '') +
            (to ? ` to ${to}` : '') +
            (f.receivingMxHelo ? ` helo ${f.receivingMxHelo}` : '') +
            (f.failureReasonCode ? ` code ${f.failureReasonCode}` : '') +
            (f.additionalInformation ? ` info ${f.additionalInformation}` : ''),
        ),
      );
    }
  }
  return lines.join('\n') + '\n';
}

/** What the outgoing reports will say, per domain and period, oldest first. */
async function pending(kind: ReportKind, s: Store, now: number): Promise<string[]> {
  if (kind === 'dmarc') {
    const periods = await s.global.dmarcPeriods(Number.MAX_SAFE_INTEGER);
    return periods.map(
      (p) =>
        `${p.policyDomain}\t${period(p.start, p.end)}\t${plural(p.count, 'evaluation')}\t` +
        (p.optionalOnly ? 'optional only, no report' : p.end <= now ? 'due' : 'open') +
        '\n',
    );
  }
  const out: string[] = [];
  for (const d of await s.global.tlsDays('9999-12-31')) {
    const r = await s.global.tlsDayResults(d);
    const ok = r.policies.reduce((n, p) => n + p.successes, 0);
    const failed = r.policies.flatMap((p) => p.failures);
    const kinds = [...new Set(failed.map((f) => f.failure.resultType))].sort().join(', ');
    const nfailed = failed.reduce((n, f) => n + f.count, 0);
    out.push(
      `${d.policyDomain}\t${d.day}\t${ok} successful, ${nfailed} failed sessions` +
        (kinds ? ` (${kinds})` : '') +
        `\t${d.optionalOnly ? 'optional only, no report' : d.day < utcDay(now) ? 'due' : 'open'}\n`,
    );
  }
  return out;
}

async function importFiles(kind: ReportKind, files: string[], o: DataOpts): Promise<void> {
  const label = kindLabel(kind);
  let failed = 0;
  await withStore(await Store.open({ dataDir: dataDir(o) }), async (store) => {
    for (const file of files) {
      try {
        const st = await stat(file);
        if (st.size > MAX_IMPORT_FILE) {
          throw new Error(`larger than ${MAX_IMPORT_FILE} bytes, not a report`);
        }
        const r = await ingestReport(kind, await readFile(file), store);
        process.stdout.write(
          r.added
            ? `${file}: added ${label} ${r.id} from ${clean(r.org)} for ${clean(r.domain) || '-'}, ${period(r.start, r.end)}\n`
            : `${file}: already stored as ${label} ${r.id}\n`,
        );
      } catch (e) {
        failed++;
        const msg = (e as Error).message.startsWith(file)
          ? (e as Error).message
          : `${file}: ${(e as Error).message}`;
        process.stderr.write(`tidings: ${clean(msg)}\n`);
      }
    }
  });
  if (failed > 0) process.exitCode = 1;
}

export function registerReport(program: Command): void {
  const report = program
    .command('report')
    .description('DMARC aggregate and TLS reports, received from other mail systems and sent');
  for (const kind of ['dmarc', 'tls'] as const) {
    const label = kindLabel(kind);
    const k = report
      .command(kind)
      .description(
        kind === 'dmarc'
          ? 'DMARC aggregate reports (RFC 7489) about mail from our domains'
          : 'SMTP TLS reports (RFC 8460) about mail to our domains',
      );

    dataOption(
      k
        .command('list')
        .description(`list received ${label}s, newest first`)
        .option('--domain <domain>', 'only reports about this domain')
        .option('--limit <n>', 'at most this many', '100')
        .option('--offset <n>', 'skip this many of the newest', '0'),
    ).action(async (o: DataOpts & { domain?: string; limit: string; offset: string }) => {
      const opts = {
        ...(o.domain !== undefined ? { domain: o.domain } : {}),
        limit: count(o.limit, 'limit'),
        offset: count(o.offset, 'offset'),
      };
      const out = await withStore(await openExisting(o), async (s) =>
        kind === 'dmarc'
          ? (await s.global.receivedDMARCReports(opts)).map(dmarcLine)
          : (await s.global.receivedTLSReports(opts)).map(tlsLine),
      );
      process.stdout.write(out.length > 0 ? out.join('') : `no ${label}s\n`);
    });

    dataOption(
      k
        .command('show')
        .description(`show a received ${label}`)
        .argument('<id>', 'report id, as list shows it'),
    ).action(async (arg: string, o: DataOpts) => {
      const id = parseId(arg, `${label} id`);
      const text = await withStore(await openExisting(o), async (s) => {
        if (kind === 'dmarc') {
          const r = await s.global.receivedDMARCReport(id);
          return r && showDMARC(r, r.report as DMARCReport);
        }
        const r = await s.global.receivedTLSReport(id);
        return r && showTLS(r, r.report as TLSReport);
      });
      if (text === null) throw new CliError(`no ${label} ${id}`);
      process.stdout.write(text);
    });

    dataOption(
      k
        .command('pending')
        .description(
          kind === 'dmarc'
            ? 'DMARC evaluations of incoming mail kept for the aggregate reports this server sends'
            : 'TLS results of outgoing deliveries kept for the TLS reports this server sends',
        ),
    ).action(async (o: DataOpts) => {
      const out = await withStore(await openExisting(o), (s) => pending(kind, s, Date.now()));
      process.stdout.write(out.length > 0 ? out.join('') : 'nothing to report\n');
    });

    dataOption(
      k
        .command('import')
        .description(
          `store ${label}s from files: the report (${kind === 'dmarc' ? 'XML, gzip or zip' : 'JSON or gzip'}) or a whole message with it attached`,
        )
        .argument('<files...>', 'report files or messages'),
    ).action((files: string[], o: DataOpts) => importFiles(kind, files, o));
  }
}
