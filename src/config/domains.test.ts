import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';
import { loadConfigDir } from './index.js';
import { assertProblems, tempDir } from './testutil.js';

const file = '/etc/tidings/domains.toml';
/** The config as plain objects: its tables have no prototype, literals here do. */
const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const parse = (text: string) => plain(parseDomainsConfig(text, file));
const base = `
[domains."example.com"]
localpart_catchall_separators = ["+", "-"]
[domains."Example.ORG"]
localpart_case_sensitive = true
[accounts.alice]
domain = "example.com"
destinations.alice = {}
`;

test('empty file gets defaults', () => {
  assert.deepEqual(parse(''), {
    initial_mailboxes: {
      archive: 'Archive',
      drafts: 'Drafts',
      junk: 'Junk',
      sent: 'Sent',
      trash: 'Trash',
      regular: [],
    },
    domains: {},
    accounts: {},
    aliases: {},
  });
});

test('minimal account: defaults, canonical keys', () => {
  const cfg = parse(base);
  assert.deepEqual(Object.keys(cfg.domains), ['example.com', 'example.org']);
  assert.deepEqual(cfg.domains['example.org'], {
    localpart_catchall_separators: [],
    localpart_case_sensitive: true,
    dkim: { selectors: {}, sign: [] },
  });
  assert.deepEqual(cfg.accounts.alice, {
    domain: 'example.com',
    destinations: { 'alice@example.com': { mailbox: 'Inbox', rules: [] } },
    quota: 0,
    quota_messages: 0,
    keep_rejects: false,
    no_first_time_sender_delay: false,
    trusted_arc_sealers: [],
    allow_dmarc_failures_from: [],
    junk_filter: {
      enabled: true,
      threshold: 0.95,
      ham_mailboxes: ['Inbox', '\\Archive'],
      spam_mailboxes: ['\\Junk'],
      max_tokens: 500_000,
    },
  });
  assert.ok(Object.isFrozen(parseDomainsConfig(base, file).accounts.alice));
});

test('full file: values, resolved paths, normalised names', () => {
  const cfg = parse(`
[initial_mailboxes]
archive = "Archief"
regular = ["Lists", "lists/Tidings"]
[domains."Exämple.com"]
description = "main"
localpart_catchall_separators = ["+"]
[domains."Exämple.com".dkim]
sign = ["Sel1"]
selectors.sel1 = { private_key_file = "dkim/sel1.key", headers = ["From", "Subject"], expiration = "3h" }
selectors.sel2 = { private_key_file = "/keys/sel2.key", hash = "sha256" }
[domains."example.org"]
localpart_case_sensitive = true
[accounts."bob.smith"]
domain = "EXÄMPLE.com"
full_name = "Bob Smith"
quota = "1 GiB"
login_disabled = "moved away"
rejects_mailbox = "Rejects"
keep_rejects = true
no_first_time_sender_delay = true
max_outgoing_messages_per_day = 5
max_first_time_recipients_per_day = 2
initial_mailboxes = { sent = "Verzonden" }
[accounts."bob.smith".destinations]
Bob = { mailbox = "inbox/Bob", full_name = "Bobby" }
"Bob.Smith@Exämple.COM" = {}
"Bob@example.org" = { mailbox = "Org" }
"@example.org" = {}
[aliases."Team@exämple.com"]
members = ["BOB@xn--exmple-cua.com", "Bob@example.org"]
post_public = true
list_members = true
allow_msg_from = true
`);
  assert.deepEqual(cfg.initial_mailboxes, {
    archive: 'Archief',
    drafts: 'Drafts',
    junk: 'Junk',
    sent: 'Sent',
    trash: 'Trash',
    regular: ['Lists', 'lists/Tidings'],
  });
  assert.deepEqual(cfg.domains['xn--exmple-cua.com'], {
    description: 'main',
    localpart_catchall_separators: ['+'],
    localpart_case_sensitive: false,
    dkim: {
      selectors: {
        sel1: {
          private_key_file: '/etc/tidings/dkim/sel1.key',
          hash: 'sha256',
          headers: ['From', 'Subject'],
          expiration: 10_800_000,
        },
        sel2: { private_key_file: '/keys/sel2.key', hash: 'sha256' },
      },
      sign: ['sel1'],
    },
  });
  assert.deepEqual(cfg.accounts['bob.smith'], {
    domain: 'xn--exmple-cua.com',
    full_name: 'Bob Smith',
    destinations: {
      'bob@xn--exmple-cua.com': { mailbox: 'Inbox/Bob', full_name: 'Bobby', rules: [] },
      'bob.smith@xn--exmple-cua.com': { mailbox: 'Inbox', rules: [] },
      'Bob@example.org': { mailbox: 'Org', rules: [] },
      '@example.org': { mailbox: 'Inbox', rules: [] },
    },
    quota: 1024 ** 3,
    quota_messages: 0,
    login_disabled: 'moved away',
    rejects_mailbox: 'Rejects',
    keep_rejects: true,
    no_first_time_sender_delay: true,
    trusted_arc_sealers: [],
    allow_dmarc_failures_from: [],
    max_outgoing_messages_per_day: 5,
    max_first_time_recipients_per_day: 2,
    initial_mailboxes: {
      archive: 'Archive',
      drafts: 'Drafts',
      junk: 'Junk',
      sent: 'Verzonden',
      trash: 'Trash',
      regular: [],
    },
    junk_filter: {
      enabled: true,
      threshold: 0.95,
      ham_mailboxes: ['Inbox', '\\Archive'],
      spam_mailboxes: ['\\Junk'],
      max_tokens: 500_000,
    },
  });
  assert.deepEqual(cfg.aliases, {
    'team@xn--exmple-cua.com': {
      members: ['bob@xn--exmple-cua.com', 'Bob@example.org'],
      post_public: true,
      list_members: true,
      allow_msg_from: true,
    },
  });
});

test('junk filter settings: values, special uses, problems', () => {
  const cfg = parse(`${base}[accounts.alice.junk_filter]
enabled = false
threshold = 0.9
ham_mailboxes = ["INBOX", "\\\\archive", "Lists/Tidings"]
spam_mailboxes = ["\\\\Junk", "Spam"]
max_tokens = 10000
`);
  assert.deepEqual(cfg.accounts.alice?.junk_filter, {
    enabled: false,
    threshold: 0.9,
    ham_mailboxes: ['Inbox', '\\Archive', 'Lists/Tidings'],
    spam_mailboxes: ['\\Junk', 'Spam'],
    max_tokens: 10_000,
  });
  assertProblems(
    () =>
      parse(
        `${base}[accounts.alice.junk_filter]\nthreshold = 1.5\nham_mailboxes = ["\\\\Spam", "a//b"]\nmax_tokens = 10\nlimit = 1\n`,
      ),
    file,
    [
      ['accounts.alice.junk_filter.threshold', 'must be at most 1, got float 1.5'],
      [
        'accounts.alice.junk_filter.ham_mailboxes[0]',
        'unknown special use "\\\\Spam", expected one of \\Archive, \\Drafts, \\Junk, \\Sent, \\Trash',
      ],
      ['accounts.alice.junk_filter.ham_mailboxes[1]', 'invalid mailbox name "a//b": contains "//"'],
      ['accounts.alice.junk_filter.max_tokens', 'must be at least 1000, got integer 10'],
      ['accounts.alice.junk_filter.limit', 'unknown key'],
    ],
  );
});

test('TOML syntax error, wrong type and unknown key', () => {
  assertProblems(() => parse('[accounts.alice\n'), file, [
    ['', 'TOML syntax error at line 1, column 16: illegal character in key'],
  ]);
  assertProblems(() => parse(`${base}quota = "lots"\nkeep_rejects = 1\n`), file, [
    [
      'accounts.alice.quota',
      'invalid size "lots", expected e.g. 1048576, "512 KiB", "100 MiB" or "2 GB"',
    ],
    ['accounts.alice.keep_rejects', 'expected a boolean, got integer 1'],
  ]);
  assertProblems(
    () => parse(`${base}destinations.bob = { mailbx = "x" }\nfullname = "A"\n`),
    file,
    [
      ['accounts.alice.destinations.bob.mailbx', 'unknown key (did you mean "mailbox"?)'],
      ['accounts.alice.fullname', 'unknown key (did you mean "full_name"?)'],
    ],
  );
  assertProblems(() => parse('[accounts.x]\ndestinations = {}\n'), file, [
    ['accounts.x.domain', 'required key is missing'],
  ]);
});

test('duplicate address across accounts', () => {
  assertProblems(
    () =>
      parse(
        `${base}[accounts.bob]\ndomain = "example.com"\ndestinations."ALICE@example.com" = {}\n`,
      ),
    file,
    [
      [
        'accounts.bob.destinations."ALICE@example.com"',
        'address alice@example.com is already configured at accounts.alice',
      ],
    ],
  );
  // Case-sensitive domains keep the case apart.
  const cfg = parse(
    `${base}[accounts.bob]\ndomain = "example.org"\ndestinations = { "A@example.org" = {}, "a@example.org" = {} }\n`,
  );
  assert.deepEqual(Object.keys(cfg.accounts.bob?.destinations ?? {}), [
    'A@example.org',
    'a@example.org',
  ]);
});

test('destination at an unconfigured domain, and other destination errors', () => {
  assertProblems(() => parse(`${base}destinations."alice@example.net" = {}\n`), file, [
    [
      'accounts.alice.destinations."alice@example.net"',
      'domain example.net is not configured in [domains]',
    ],
  ]);
  assertProblems(() => parse(`${base}destinations."alice+x" = {}\n`), file, [
    [
      'accounts.alice.destinations."alice+x"',
      'localpart contains the catch-all separator "+" of example.com',
    ],
  ]);
  assertProblems(() => parse(`${base}destinations."a b" = {}\n`), file, [
    [
      'accounts.alice.destinations."a b"',
      'invalid localpart "a b": expected a dot-atom (no quotes, spaces, "@", leading, trailing or double dots)',
    ],
  ]);
  assertProblems(() => parse('[accounts.x]\ndomain = "example.net"\ndestinations.x = {}\n'), file, [
    ['accounts.x.domain', 'domain example.net is not configured in [domains]'],
    ['accounts.x.destinations.x', 'a bare localpart needs a valid account domain'],
  ]);
  assertProblems(
    () =>
      parse('[domains."example.com"]\n[accounts.x]\ndomain = "example.com"\ndestinations = {}\n'),
    file,
    [['accounts.x.destinations', 'at least one destination is required']],
  );
});

test('account names', () => {
  assertProblems(
    () => parse(`${base}[accounts."../x"]\ndomain = "example.com"\ndestinations.x = {}\n`),
    file,
    [['accounts."../x"', 'account name must not start with "."']],
  );
  assertProblems(
    () => parse(`${base}[accounts.Alice]\ndomain = "example.com"\ndestinations.x = {}\n`),
    file,
    [['accounts.Alice', 'account names must differ in more than case (see accounts.alice)']],
  );
});

test('alias errors', () => {
  assertProblems(
    () => parse(`${base}[aliases."team@example.com"]\nmembers = ["bob@example.com"]\n`),
    file,
    [['aliases."team@example.com".members[0]', 'bob@example.com is not an account destination']],
  );
  assertProblems(
    () => parse(`${base}[aliases."Alice@example.com"]\nmembers = ["alice@example.com"]\n`),
    file,
    [
      [
        'aliases."Alice@example.com"',
        'address alice@example.com is already configured at accounts.alice',
      ],
    ],
  );
  assertProblems(
    () =>
      parse(
        `${base}[aliases."team@example.com"]\nmembers = ["alice@example.com", "ALICE@example.com"]\n[aliases."TEAM@example.com"]\nmembers = ["alice@example.com"]\n[aliases."x@example.net"]\nmembers = ["alice@example.com"]\n[aliases."y@example.com"]\nmembers = []\n`,
      ),
    file,
    [['aliases."y@example.com".members', 'must have at least 1 item(s)']],
  );
  assertProblems(
    () =>
      parse(
        `${base}[aliases."team@example.com"]\nmembers = ["alice@example.com", "ALICE@example.com"]\n[aliases."TEAM@example.com"]\nmembers = ["team@example.com"]\n[aliases."x@example.net"]\nmembers = ["alice@example.com"]\n`,
      ),
    file,
    [
      ['aliases."team@example.com".members[1]', 'alice@example.com is listed twice'],
      ['aliases."TEAM@example.com".members[0]', 'team@example.com is not an account destination'],
      ['aliases."x@example.net"', 'domain example.net is not configured in [domains]'],
      ['aliases."TEAM@example.com"', 'alias team@example.com is configured more than once'],
    ],
  );
});

test('bad mailbox names', () => {
  assertProblems(
    () =>
      parse(
        `${base}destinations.al = { mailbox = "Lists//x" }\n[initial_mailboxes]\ntrash = "#Trash"\nregular = ["a/../b"]\n`,
      ),
    file,
    [
      ['initial_mailboxes.trash', 'invalid mailbox name "#Trash": starts with "#"'],
      ['initial_mailboxes.regular[0]', 'invalid mailbox name "a/../b": contains a ".." level'],
      ['accounts.alice.destinations.al.mailbox', 'invalid mailbox name "Lists//x": contains "//"'],
    ],
  );
  assertProblems(() => parse(`${base}rejects_mailbox = "INBOX"\n`), file, [
    ['accounts.alice.rejects_mailbox', 'must not be Inbox: old rejects are removed from it'],
  ]);
  assertProblems(
    () => parse(`${base}initial_mailboxes = { sent = "inbox", regular = ["Lists", "Lists"] }\n`),
    file,
    [
      ['accounts.alice.initial_mailboxes.sent', 'Inbox is always created; choose another name'],
      ['accounts.alice.initial_mailboxes.regular[1]', 'mailbox Lists is listed twice'],
    ],
  );
});

test('domain, separator and DKIM errors', () => {
  assertProblems(
    () =>
      parse(`
[domains."example.com"]
localpart_catchall_separators = ["++", "@", "+", "+"]
dkim.sign = ["missing", "a", "A"]
dkim.selectors.a = { private_key_file = "a.key", headers = ["Subject", "Bad:Name"] }
dkim.selectors."b_c" = { private_key_file = "b.key", hash = "sha1" }
[domains."EXAMPLE.com"]
[domains."1.2.3.4"]
`),
    file,
    [
      [
        'domains."example.com".dkim.selectors.b_c.hash',
        'expected one of "sha256", got string "sha1"',
      ],
    ],
  );
  assertProblems(
    () =>
      parse(`
[domains."example.com"]
localpart_catchall_separators = ["++", "@", "+", "+"]
dkim.sign = ["missing", "a", "A"]
dkim.selectors.a = { private_key_file = "a.key", headers = ["Subject", "Bad:Name"] }
dkim.selectors."b_c" = { private_key_file = "b.key", expiration = "1y" }
[domains."EXAMPLE.com"]
[domains."1.2.3.4"]
`),
    file,
    [
      [
        'domains."example.com".dkim.selectors.b_c.expiration',
        'invalid duration "1y", expected numbers with units ms, s, m or h, e.g. "1m30s"',
      ],
    ],
  );
  assertProblems(
    () =>
      parse(`
[domains."example.com"]
localpart_catchall_separators = ["++", "@", "+", "+"]
dkim.sign = ["missing", "a", "A"]
dkim.selectors.a = { private_key_file = "a.key", headers = ["Subject", "Bad:Name"] }
dkim.selectors."b_c" = { private_key_file = "b.key" }
[domains."EXAMPLE.com"]
[domains."1.2.3.4"]
`),
    file,
    [
      [
        'domains."example.com".localpart_catchall_separators[0]',
        'expected a single character, got "++"',
      ],
      ['domains."example.com".localpart_catchall_separators[1]', '"@" cannot be a separator'],
      ['domains."example.com".localpart_catchall_separators[3]', '"+" is listed twice'],
      ['domains."example.com".dkim.selectors.a.headers[1]', 'invalid header field name "Bad:Name"'],
      ['domains."example.com".dkim.selectors.a.headers', 'must include "From"'],
      [
        'domains."example.com".dkim.selectors.b_c',
        'selector names are DNS labels: letters, digits and inner hyphens',
      ],
      ['domains."example.com".dkim.sign[0]', 'unknown selector "missing"'],
      ['domains."example.com".dkim.sign[2]', 'selector a is listed twice'],
      ['domains."EXAMPLE.com"', 'domain example.com is configured more than once'],
      ['domains."1.2.3.4"', '"1.2.3.4" is an IP address or numeric, not a domain name'],
    ],
  );
});

test('loadConfigDir loads both files; errors name the failing file', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'tidings.toml'), 'hostname = "mail.example.com"\n[listeners.x]\n');
    writeFileSync(
      join(dir, 'domains.toml'),
      base.replace(
        'localpart_catchall_separators',
        'dkim.selectors.s = { private_key_file = "k/s.key" }\nlocalpart_catchall_separators',
      ),
    );
    mkdirSync(join(dir, 'k'));
    const cfg = loadConfigDir(dir);
    assert.equal(cfg.static.hostname, 'mail.example.com');
    assert.equal(cfg.staticPath, join(dir, 'tidings.toml'));
    assert.equal(cfg.domainsPath, join(dir, 'domains.toml'));
    assert.equal(
      cfg.domains.domains['example.com']?.dkim.selectors.s?.private_key_file,
      join(dir, 'k', 's.key'),
    );
    writeFileSync(join(dir, 'domains.toml'), '[accounts.x]\n');
    assert.throws(
      () => loadConfigDir(dir),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.file === join(dir, 'domains.toml') &&
        err.message ===
          `${join(dir, 'domains.toml')}: accounts.x.domain: required key is missing\n${join(dir, 'domains.toml')}: accounts.x.destinations: required key is missing`,
    );
  } finally {
    cleanup();
  }
});

test('postmaster: an account that exists, a valid mailbox', () => {
  const ok = parse(`[postmaster]\naccount = "alice"\n${base}`);
  assert.deepEqual(ok.postmaster, { account: 'alice', mailbox: 'Inbox' });
  assert.equal(parse(base).postmaster, undefined);
  assertProblems(() => parse(`[postmaster]\naccount = "nobody"\nmailbox = "a//b"\n${base}`), file, [
    ['postmaster.mailbox', 'invalid mailbox name "a//b": contains "//"'],
  ]);
  assertProblems(() => parse(`[postmaster]\naccount = "nobody"\n${base}`), file, [
    ['postmaster.account', 'no account "nobody"'],
  ]);
});

test('names of Object properties are no domains, accounts or aliases', () => {
  const cfg = parseDomainsConfig(base, file);
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
    assert.equal(cfg.accounts[name], undefined, name);
    assert.equal(cfg.domains[name.toLowerCase()], undefined, name);
    assert.equal(cfg.aliases[`${name}@example.org`], undefined, name);
  }
});

test('destination rules: values, and clear errors', () => {
  const ruleBase =
    '[domains."example.com"]\n[accounts.alice]\ndomain = "example.com"\n[accounts.alice.destinations.alice]\n';
  const cfg = parse(
    `${ruleBase}[[accounts.alice.destinations.alice.rules]]
comment = "list"
list_allow_domain = "Lists.Example.ORG"
headers = { "list-id" = '<x\\.lists\\.example\\.org>' }
`,
  );
  assert.deepEqual(cfg.accounts.alice?.destinations['alice@example.com']?.rules, [
    {
      comment: 'list',
      list_allow_domain: 'lists.example.org',
      headers: { 'list-id': '<x\\.lists\\.example\\.org>' },
      is_forward: false,
    },
  ]);
  const rules = (r: string) =>
    parse(`${ruleBase}[[accounts.alice.destinations.alice.rules]]\n${r}`);
  const at = 'accounts.alice.destinations.alice.rules[0]';
  assertProblems(() => rules('mailbox = "Lists"\n'), file, [
    [at, 'a rule needs a condition: smtp_mail_from, msg_from, verified_domain or headers'],
  ]);
  assertProblems(() => rules('smtp_mail_from = "(unclosed"\n'), file, [
    [`${at}.smtp_mail_from`, 'not a valid regular expression'],
  ]);
  assertProblems(() => rules('verified_domain = "a..b"\nheaders = { subject = "[" }\n'), file, [
    [
      `${at}.verified_domain`,
      'invalid domain name "a..b": label "" must be 1-63 letters, digits or inner hyphens',
    ],
    [`${at}.headers.subject`, 'not a valid regular expression'],
  ]);
});
