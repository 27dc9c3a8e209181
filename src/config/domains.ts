// domains.toml: dynamic settings (domains, DKIM, accounts, destinations, aliases).
// Reloaded on change; only a fully valid file replaces the running copy.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, ProblemList } from './errors.js';
import {
  domainName,
  duration,
  filePath,
  mailboxName,
  nonNegativeInt,
  positiveInt,
  size,
} from './fields.js';
import { addIssues, problemText, schemaKeys } from './issues.js';
import {
  checkAccountName,
  checkMailboxName,
  MailboxNameError,
  normalizeDomain,
  normalizeLocalpart,
  parseAddress,
  type ParsedAddress,
} from './names.js';
import type { StaticConfig } from './static.js';
import { parseToml, readConfigText } from './toml.js';

const initialMailboxes = z.strictObject({
  archive: mailboxName.default('Archive'),
  drafts: mailboxName.default('Drafts'),
  junk: mailboxName.default('Junk'),
  sent: mailboxName.default('Sent'),
  trash: mailboxName.default('Trash'),
  regular: z.array(mailboxName).default(() => []),
});

const dkimSelector = z.strictObject({
  private_key_file: filePath,
  hash: z.enum(['sha256']).default('sha256'),
  headers: z.array(z.string()).min(1).optional(),
  expiration: duration.optional(),
});

const domain = z.strictObject({
  description: z.string().optional(),
  localpart_catchall_separators: z.array(z.string()).default(() => []),
  localpart_case_sensitive: z.boolean().default(false),
  dkim: z
    .strictObject({
      selectors: z.record(z.string(), dkimSelector).default(() => ({})),
      sign: z.array(z.string()).default(() => []),
    })
    .prefault({}),
});

/** A regular expression (JavaScript syntax, case-insensitive when used), checked to compile. */
const regexp = z.string().refine(
  (v) => {
    try {
      new RegExp(v, 'i');
      return true;
    } catch {
      return false;
    }
  },
  { message: 'not a valid regular expression' },
);

/**
 * A rule of a destination: when every condition given matches, the message goes to the
 * rule's mailbox, and the rule may say what the message is (a mailing list, a forward)
 * or accept what would be refused. The first matching rule applies.
 */
const rule = z
  .strictObject({
    comment: z.string().optional(),
    smtp_mail_from: regexp.optional(),
    msg_from: regexp.optional(),
    verified_domain: domainName.optional(),
    headers: z.record(z.string(), regexp).optional(),
    list_allow_domain: domainName.optional(),
    is_forward: z.boolean().default(false),
    accept_rejects_to_mailbox: mailboxName.optional(),
    mailbox: mailboxName.optional(),
  })
  .refine(
    (r) =>
      r.smtp_mail_from !== undefined ||
      r.msg_from !== undefined ||
      r.verified_domain !== undefined ||
      (r.headers !== undefined && Object.keys(r.headers).length > 0),
    {
      message: 'a rule needs a condition: smtp_mail_from, msg_from, verified_domain or headers',
    },
  );

const destination = z.strictObject({
  mailbox: mailboxName.default('Inbox'),
  full_name: z.string().optional(),
  rules: z.array(rule).default(() => []),
  // Mail to this address carries reports: DMARC aggregate reports (RFC 7489 §7.2) or
  // SMTP TLS reports (RFC 8460), which are stored for `tidings report` as they arrive.
  reports: z.enum(['dmarc', 'tls']).optional(),
});

// RFC 6154 special-use attributes a mailbox list may name instead of a mailbox.
const SPECIAL_USES = ['\\Archive', '\\Drafts', '\\Junk', '\\Sent', '\\Trash'];

/** A mailbox name, or a special-use attribute ("\\Junk") for the mailbox with that role. */
const mailboxOrRole = z.string().transform((v, ctx): string => {
  if (!v.startsWith('\\')) {
    try {
      return checkMailboxName(v);
    } catch (err) {
      if (!(err instanceof MailboxNameError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  }
  const use = SPECIAL_USES.find((u) => u.toLowerCase() === v.toLowerCase());
  if (use) return use;
  ctx.addIssue({
    code: 'custom',
    message: `unknown special use ${JSON.stringify(v)}, expected one of ${SPECIAL_USES.join(', ')}`,
  });
  return z.NEVER;
});

// The per-account Bayesian junk filter (src/junk).
const junkFilter = z.strictObject({
  enabled: z.boolean().default(true),
  threshold: z.number().gt(0).lte(1).default(0.95),
  ham_mailboxes: z.array(mailboxOrRole).default(() => ['Inbox', '\\Archive']),
  spam_mailboxes: z.array(mailboxOrRole).default(() => ['\\Junk']),
  max_tokens: z.number().int().min(1000).default(500_000),
});

const account = z.strictObject({
  domain: z.string(),
  full_name: z.string().optional(),
  destinations: z.record(z.string(), destination),
  quota: size.default(0),
  quota_messages: nonNegativeInt.default(0),
  login_disabled: z.string().optional(),
  rejects_mailbox: mailboxName.optional(),
  keep_rejects: z.boolean().default(false),
  no_first_time_sender_delay: z.boolean().default(false),
  // ARC sealers (d= of the last ARC-Seal) whose valid chain overrides a DMARC failure.
  trusted_arc_sealers: z.array(domainName).default(() => []),
  // From domains (and their subdomains) whose DMARC policy is not enforced.
  allow_dmarc_failures_from: z.array(domainName).default(() => []),
  max_outgoing_messages_per_day: positiveInt.optional(),
  max_first_time_recipients_per_day: positiveInt.optional(),
  initial_mailboxes: initialMailboxes.optional(),
  junk_filter: junkFilter.prefault({}),
});

const alias = z.strictObject({
  members: z.array(z.string()).min(1),
  post_public: z.boolean().default(false),
  list_members: z.boolean().default(false),
  allow_msg_from: z.boolean().default(false),
});

// RFC 5321 §4.5.1: every domain must take mail for "postmaster".
const postmaster = z.strictObject({
  account: z.string(),
  mailbox: mailboxName.default('Inbox'),
});

const domainsSchema = z.strictObject({
  initial_mailboxes: initialMailboxes.prefault({}),
  postmaster: postmaster.optional(),
  domains: z.record(z.string(), domain).default(() => ({})),
  accounts: z.record(z.string(), account).default(() => ({})),
  aliases: z.record(z.string(), alias).default(() => ({})),
});

/** Every key name in domains.toml. */
export const domainsKeys = schemaKeys(domainsSchema);

/**
 * domains.toml after validation (frozen: build a new object to change it). Domain keys are lower-case ASCII; destination and alias
 * keys are canonical addresses ("localpart@domain", localpart lower-cased unless the
 * domain is case-sensitive; "@domain" is a catch-all); paths are absolute; durations ms.
 */
export type DomainsConfig = z.output<typeof domainsSchema>;
export type DomainConfig = z.output<typeof domain>;
export type DkimSelectorConfig = z.output<typeof dkimSelector>;
export type AccountConfig = z.output<typeof account>;
export type DestinationConfig = z.output<typeof destination>;
export type DestinationRule = z.output<typeof rule>;
export type AliasConfig = z.output<typeof alias>;
export type InitialMailboxes = z.output<typeof initialMailboxes>;
export type JunkFilterConfig = z.output<typeof junkFilter>;

/**
 * The canonical form of a localpart at a domain: cut at the first catch-all separator
 * (when `stripCatchall`), lower-cased unless the domain is case-sensitive.
 */
export function canonicalLocalpart(
  d: DomainConfig,
  localpart: string,
  stripCatchall: boolean,
): string {
  let lp = localpart;
  if (stripCatchall) {
    for (const sep of d.localpart_catchall_separators) {
      const i = lp.indexOf(sep);
      if (i >= 0) lp = lp.slice(0, i);
    }
  }
  return d.localpart_case_sensitive ? lp : lp.toLowerCase();
}

type Path = PropertyKey[];

/** Validates a config key as a domain and checks for duplicates after normalisation. */
function normalizeKeyDomain(key: string, path: Path, seen: Set<string>, problems: ProblemList) {
  const r = normalizeDomain(key);
  if ('problem' in r) {
    problems.add(path, r.problem);
    return undefined;
  }
  if (seen.has(r.domain)) {
    problems.add(path, `domain ${r.domain} is configured more than once`);
    return undefined;
  }
  seen.add(r.domain);
  return r.domain;
}

const labelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// RFC 5322 §3.6.8: printable US-ASCII except ":".
const fieldName = /^[\x21-\x39\x3b-\x7e]+$/;

function checkDkim(d: DomainConfig, path: Path, problems: ProblemList): DomainConfig['dkim'] {
  const selectors: DomainConfig['dkim']['selectors'] = table();
  for (const [name, sel] of Object.entries(d.dkim.selectors)) {
    const p = [...path, 'dkim', 'selectors', name];
    const lower = name.toLowerCase();
    if (!lower.split('.').every((l) => labelPattern.test(l))) {
      problems.add(p, 'selector names are DNS labels: letters, digits and inner hyphens');
    } else if (lower in selectors) {
      problems.add(p, `selector ${lower} is configured more than once`);
    }
    selectors[lower] = sel;
    sel.headers?.forEach((h, i) => {
      if (!fieldName.test(h)) {
        problems.add([...p, 'headers', i], `invalid header field name ${JSON.stringify(h)}`);
      }
    });
    // RFC 6376 §5.4: the From header field MUST be signed.
    if (sel.headers && !sel.headers.some((h) => h.toLowerCase() === 'from')) {
      problems.add([...p, 'headers'], 'must include "From"');
    }
  }
  const sign = d.dkim.sign.map((s) => s.toLowerCase());
  sign.forEach((s, i) => {
    const p = [...path, 'dkim', 'sign', i];
    if (!(s in selectors)) problems.add(p, `unknown selector ${JSON.stringify(s)}`);
    else if (sign.indexOf(s) !== i) problems.add(p, `selector ${s} is listed twice`);
  });
  return { selectors, sign };
}

function checkSeparators(d: DomainConfig, path: Path, problems: ProblemList): void {
  d.localpart_catchall_separators.forEach((sep, i) => {
    const p = [...path, 'localpart_catchall_separators', i];
    const quoted = JSON.stringify(sep);
    let problem: string | undefined;
    if ([...sep].length !== 1) problem = `expected a single character, got ${quoted}`;
    else if (sep === '@' || /[\s\p{Cc}]/u.test(sep)) problem = `${quoted} cannot be a separator`;
    else if (d.localpart_catchall_separators.indexOf(sep) !== i)
      problem = `${quoted} is listed twice`;
    if (problem) problems.add(p, problem);
  });
}

function checkDomainTable(raw: DomainsConfig, problems: ProblemList): Map<string, DomainConfig> {
  const out = new Map<string, DomainConfig>();
  const seen = new Set<string>();
  for (const [key, d] of Object.entries(raw.domains)) {
    const path = ['domains', key];
    const name = normalizeKeyDomain(key, path, seen, problems);
    checkSeparators(d, path, problems);
    const dkim = checkDkim(d, path, problems);
    if (name !== undefined) out.set(name, { ...d, dkim });
  }
  return out;
}

function checkInitialMailboxes(m: InitialMailboxes, path: Path, problems: ProblemList): void {
  const names: [PropertyKey[], string][] = [
    ...(['archive', 'drafts', 'junk', 'sent', 'trash'] as const).map(
      (k): [PropertyKey[], string] => [[k], m[k]],
    ),
    ...m.regular.map((n, i): [PropertyKey[], string] => [['regular', i], n]),
  ];
  const seen = new Set<string>();
  for (const [sub, name] of names) {
    const p = [...path, ...sub];
    if (name === 'Inbox') problems.add(p, 'Inbox is always created; choose another name');
    else if (seen.has(name)) problems.add(p, `mailbox ${name} is listed twice`);
    seen.add(name);
  }
}

/** Where a canonical address is configured, for duplicate messages. */
type Owners = Map<string, string>;

interface AddressContext {
  domains: Map<string, DomainConfig>;
  problems: ProblemList;
}

/**
 * Splits a destination or alias key. A bare localpart uses `defaultDomain`; "@domain" is
 * a catch-all (empty localpart) when `allowCatchall`.
 */
function splitKey(
  key: string,
  defaultDomain: string | undefined,
  allowCatchall: boolean,
): ParsedAddress | { problem: string } {
  if (key.startsWith('@') && allowCatchall) {
    const r = normalizeDomain(key.slice(1));
    return 'problem' in r ? r : { localpart: '', domain: r.domain };
  }
  if (!key.includes('@') && defaultDomain !== undefined) {
    const r = normalizeLocalpart(key);
    return 'problem' in r ? r : { localpart: r.localpart, domain: defaultDomain };
  }
  return parseAddress(key);
}

/** The canonical address for a key at a configured domain, or undefined after a problem. */
function canonicalAddress(
  key: string,
  path: Path,
  ctx: AddressContext,
  defaultDomain: string | undefined,
  allowCatchall: boolean,
): string | undefined {
  const addr = splitKey(key, defaultDomain, allowCatchall);
  let problem: string;
  if ('problem' in addr) {
    problem = addr.problem;
  } else {
    const d = ctx.domains.get(addr.domain);
    const sep = d?.localpart_catchall_separators.find((s) => addr.localpart.includes(s));
    if (d && sep === undefined) {
      return `${canonicalLocalpart(d, addr.localpart, false)}@${addr.domain}`;
    }
    problem = d
      ? `localpart contains the catch-all separator ${JSON.stringify(sep)} of ${addr.domain}`
      : `domain ${addr.domain} is not configured in [domains]`;
  }
  ctx.problems.add(path, problem);
  return undefined;
}

function checkAccount(
  name: string,
  a: AccountConfig,
  ctx: AddressContext,
  owners: Owners,
): AccountConfig {
  const path = ['accounts', name];
  const nameProblem = checkAccountName(name);
  if (nameProblem) ctx.problems.add(path, nameProblem);
  const dom = normalizeDomain(a.domain);
  let domainName: string | undefined;
  if ('problem' in dom) ctx.problems.add([...path, 'domain'], dom.problem);
  else if (!ctx.domains.has(dom.domain)) {
    ctx.problems.add([...path, 'domain'], `domain ${dom.domain} is not configured in [domains]`);
  } else domainName = dom.domain;
  const destinations: AccountConfig['destinations'] = table();
  const entries = Object.entries(a.destinations);
  if (entries.length === 0) {
    ctx.problems.add([...path, 'destinations'], 'at least one destination is required');
  }
  for (const [key, dest] of entries) {
    const p = [...path, 'destinations', key];
    if (!key.includes('@') && domainName === undefined) {
      ctx.problems.add(p, 'a bare localpart needs a valid account domain');
      continue;
    }
    const addr = canonicalAddress(key, p, ctx, domainName, true);
    if (addr === undefined) continue;
    const owner = owners.get(addr);
    if (owner !== undefined) {
      ctx.problems.add(p, `address ${addr} is already configured at ${owner}`);
      continue;
    }
    owners.set(addr, `accounts.${name}`);
    destinations[addr] = dest;
  }
  if (a.rejects_mailbox === 'Inbox') {
    ctx.problems.add(
      [...path, 'rejects_mailbox'],
      'must not be Inbox: old rejects are removed from it',
    );
  }
  if (a.initial_mailboxes) {
    checkInitialMailboxes(a.initial_mailboxes, [...path, 'initial_mailboxes'], ctx.problems);
  }
  return { ...a, domain: domainName ?? a.domain, destinations };
}

function checkAccounts(raw: DomainsConfig, ctx: AddressContext, owners: Owners) {
  const accounts: DomainsConfig['accounts'] = table();
  const lowerNames = new Map<string, string>();
  for (const [name, a] of Object.entries(raw.accounts)) {
    const other = lowerNames.get(name.toLowerCase());
    if (other !== undefined) {
      ctx.problems.add(
        ['accounts', name],
        `account names must differ in more than case (see accounts.${other})`,
      );
    }
    lowerNames.set(name.toLowerCase(), name);
    accounts[name] = checkAccount(name, a, ctx, owners);
  }
  return accounts;
}

function checkAlias(key: string, al: AliasConfig, ctx: AddressContext, owners: Owners) {
  const path = ['aliases', key];
  const addr = canonicalAddress(key, path, ctx, undefined, false);
  if (addr !== undefined && owners.has(addr)) {
    ctx.problems.add(path, `address ${addr} is already configured at ${owners.get(addr)}`);
  }
  const members: string[] = [];
  al.members.forEach((m, i) => {
    const p = [...path, 'members', i];
    const r = parseAddress(m);
    if ('problem' in r) return ctx.problems.add(p, r.problem);
    const d = ctx.domains.get(r.domain);
    const canon = d ? `${canonicalLocalpart(d, r.localpart, false)}@${r.domain}` : m;
    if (!owners.get(canon)?.startsWith('accounts.')) {
      return ctx.problems.add(p, `${m} is not an account destination`);
    }
    if (members.includes(canon)) return ctx.problems.add(p, `${canon} is listed twice`);
    members.push(canon);
  });
  return { addr, value: { ...al, members } };
}

function checkAliases(raw: DomainsConfig, ctx: AddressContext, owners: Owners) {
  const aliases: DomainsConfig['aliases'] = table();
  const checked = Object.entries(raw.aliases).map(([key, al]) => ({
    key,
    ...checkAlias(key, al, ctx, owners),
  }));
  for (const { key, addr, value } of checked) {
    if (addr === undefined) continue;
    if (owners.has(addr)) {
      if (owners.get(addr)?.startsWith('aliases.')) {
        ctx.problems.add(['aliases', key], `alias ${addr} is configured more than once`);
      }
      continue;
    }
    owners.set(addr, `aliases.${JSON.stringify(key)}`);
    aliases[addr] = value;
  }
  return aliases;
}

function resolvePaths(domains: Map<string, DomainConfig>, dir: string): DomainsConfig['domains'] {
  const out: DomainsConfig['domains'] = table();
  for (const [name, d] of domains) {
    const selectors: DomainConfig['dkim']['selectors'] = table();
    for (const [s, sel] of Object.entries(d.dkim.selectors)) {
      selectors[s] = { ...sel, private_key_file: resolve(dir, sel.private_key_file) };
    }
    out[name] = { ...d, dkim: { ...d.dkim, selectors } };
  }
  return out;
}

/**
 * Validates domains.toml text. `file` names the file in errors; relative paths resolve
 * against its directory. Throws ConfigError listing every problem.
 */
export function parseDomainsConfig(text: string, file: string): DomainsConfig {
  const data = parseToml(file, text);
  const problems = new ProblemList();
  const r = domainsSchema.safeParse(data, { error: problemText });
  if (!r.success) {
    addIssues(problems, r.error, domainsSchema);
    throw new ConfigError(file, problems.items);
  }
  const raw = r.data;
  checkInitialMailboxes(raw.initial_mailboxes, ['initial_mailboxes'], problems);
  const ctx: AddressContext = { domains: checkDomainTable(raw, problems), problems };
  const owners: Owners = new Map();
  const accounts = checkAccounts(raw, ctx, owners);
  const aliases = checkAliases(raw, ctx, owners);
  if (raw.postmaster && !accounts[raw.postmaster.account]) {
    problems.add(['postmaster', 'account'], `no account ${JSON.stringify(raw.postmaster.account)}`);
  }
  problems.throwIfAny(file);
  const domains = resolvePaths(ctx.domains, dirname(resolve(file)));
  return deepFreeze({
    initial_mailboxes: raw.initial_mailboxes,
    ...(raw.postmaster ? { postmaster: raw.postmaster } : {}),
    domains,
    accounts,
    aliases,
  });
}

/**
 * An empty table keyed by names from the file or from clients (accounts, addresses,
 * domains). It has no prototype: a lookup of "constructor" or "__proto__" finds nothing
 * rather than a property of Object.
 */
function table<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Loaded configs are shared and cached by identity, so they are made immutable. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * Reads and validates domains.toml. Never writes anything. `staticCfg` is accepted for
 * rules that span both files; none depend on it yet.
 */
export function loadDomainsConfig(path: string, _staticCfg?: StaticConfig): DomainsConfig {
  return parseDomainsConfig(readConfigText(path), path);
}
