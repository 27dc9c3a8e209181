import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadStaticConfig, parseStaticConfig } from './static.js';
import { assertProblems, tempDir } from './testutil.js';

const file = '/etc/tidings/tidings.toml';
const head = 'hostname = "mail.example.com"\n';
const parse = (text: string) => parseStaticConfig(text, file);

test('minimal file gets every default', () => {
  const cfg = parse('hostname = "Mail.Exämple.COM"\n[listeners.public]\n');
  assert.deepEqual(cfg, {
    hostname: 'mail.xn--exmple-cua.com',
    data_dir: '/etc/data',
    log_level: 'info',
    limits: {
      max_message_size: 100 * 1024 * 1024,
      default_quota: 0,
      default_quota_messages: 0,
      max_outgoing_messages_per_day: 1000,
      max_first_time_recipients_per_day: 200,
      failed_auth_per_minute: [10, 30, 90],
      failed_auth_per_day: [50, 150, 450],
      imap: {
        max_line_length: 65536,
        max_literal_size: 102400,
        max_literal_total: 1024000,
        max_literals: 1000,
        max_connections: [30, 90, 270],
        connection_rate_per_minute: [300, 900, 2700],
      },
      smtp: {
        max_line_length: 2048,
        max_recipients: 1000,
        max_received_headers: 100,
        max_bad_transactions: 10,
        max_connections: [30, 90, 270],
        connection_rate_per_minute: [300, 900, 2700],
      },
    },
    delays: {
      first_time_sender: 15000,
      auth_fail: 1000,
      bad_client: 1000,
      unknown_recipients: 5000,
    },
    listeners: {
      public: {
        ips: ['0.0.0.0', '::'],
        smtp: {
          enabled: false,
          port: 25,
          require_starttls: false,
          no_require_tls: false,
          first_time_sender_delay: 15000,
          dnsbls: [],
        },
        submission: { enabled: false, port: 587, no_require_starttls: false },
        submissions: { enabled: false, port: 465 },
        imap: { enabled: false, port: 143, no_require_starttls: false },
        imaps: { enabled: false, port: 993 },
        http: { enabled: false, port: 80 },
        metrics: { enabled: false, port: 8010 },
      },
    },
    queue: {
      max_concurrent: 20,
      max_per_host: 5,
      retry_base: 450000,
      give_up_after: 432000000,
      delay_dsn_after: 14400000,
      mta_sts: true,
    },
    incoming: { trusted_arc_sealers: [], verify_timeout: 60000 },
    reports: { outgoing_dmarc: true, outgoing_tls: true, keep_received_days: 365 },
    dns: { servers: [], timeout: 5000, tries: 3, resolver: 'stub', trust_ad: false },
    transports: {},
    routes: [],
  });
});

test('full file: values, resolved paths, normalised addresses', () => {
  const cfg = parse(`${head}
data_dir = "/var/lib/tidings"
log_level = "traceauth"
[limits]
max_message_size = "50 MiB"
default_quota = 1073741824
max_outgoing_messages_per_day = 10
max_first_time_recipients_per_day = 5
imap = { max_line_length = 8192, max_literal_size = "1 MiB", max_literal_total = "2 MiB", max_connections = [1, 2, 3] }
smtp = { max_recipients = 100, connection_rate_per_minute = [4, 5, 6] }
[delays]
first_time_sender = "0"
auth_fail = "500ms"
bad_client = "1m30s"
[listeners.public]
ips = ["192.0.2.1", "2001:DB8:0:0::1"]
hostname = "MX.example.com"
tls.cert_file = "tls/a.crt"
tls.key_file = "/abs/a.key"
tls.keys = [{ cert_file = "tls/b.crt", key_file = "../b.key" }]
smtp = { enabled = true, require_starttls = true, first_time_sender_delay = "2s", dnsbls = ["Zen.Example.ORG", "bl.example.net"] }
submission.enabled = true
submissions = { enabled = true, port = 4465 }
imap = { enabled = true, no_require_starttls = true }
imaps.enabled = true
[listeners.local]
ips = ["127.0.0.1"]
metrics = { enabled = true, port = 9000 }
http.enabled = true
`);
  assert.equal(cfg.data_dir, '/var/lib/tidings');
  assert.equal(cfg.log_level, 'traceauth');
  assert.equal(cfg.limits.max_message_size, 50 * 1024 * 1024);
  assert.equal(cfg.limits.default_quota, 1073741824);
  assert.equal(cfg.limits.max_outgoing_messages_per_day, 10);
  assert.equal(cfg.limits.max_first_time_recipients_per_day, 5);
  assert.deepEqual(cfg.limits.imap, {
    max_line_length: 8192,
    max_literal_size: 1048576,
    max_literal_total: 2097152,
    max_literals: 1000,
    max_connections: [1, 2, 3],
    connection_rate_per_minute: [300, 900, 2700],
  });
  assert.equal(cfg.limits.smtp.max_recipients, 100);
  assert.deepEqual(cfg.limits.smtp.connection_rate_per_minute, [4, 5, 6]);
  assert.deepEqual(cfg.delays, {
    first_time_sender: 0,
    auth_fail: 500,
    bad_client: 90000,
    unknown_recipients: 5000,
  });
  const pub = cfg.listeners.public;
  assert.ok(pub);
  assert.deepEqual(pub.ips, ['192.0.2.1', '2001:db8::1']);
  assert.equal(pub.hostname, 'mx.example.com');
  assert.deepEqual(pub.tls, {
    keys: [
      { cert_file: '/etc/tidings/tls/a.crt', key_file: '/abs/a.key' },
      { cert_file: '/etc/tidings/tls/b.crt', key_file: '/etc/b.key' },
    ],
  });
  assert.deepEqual(pub.smtp, {
    enabled: true,
    port: 25,
    require_starttls: true,
    no_require_tls: false,
    first_time_sender_delay: 2000,
    dnsbls: ['zen.example.org', 'bl.example.net'],
  });
  assert.deepEqual(pub.submissions, { enabled: true, port: 4465 });
  assert.deepEqual(pub.imap, { enabled: true, port: 143, no_require_starttls: true });
  const local = cfg.listeners.local;
  assert.ok(local);
  assert.equal(local.tls, undefined);
  assert.equal(local.smtp.first_time_sender_delay, 0);
  assert.deepEqual(local.metrics, { enabled: true, port: 9000 });
  assert.deepEqual(local.http, { enabled: true, port: 80 });
});

test('loadStaticConfig resolves data_dir against the file directory', () => {
  const { dir, cleanup } = tempDir();
  try {
    const path = join(dir, 'tidings.toml');
    writeFileSync(path, `${head}[listeners.x]\n`);
    assert.equal(loadStaticConfig(path).data_dir, join(dir, '..', 'data'));
    writeFileSync(path, `${head}data_dir = "store"\n[listeners.x]\n`);
    assert.equal(loadStaticConfig(path).data_dir, join(dir, 'store'));
    assertProblems(() => loadStaticConfig(join(dir, 'missing.toml')), join(dir, 'missing.toml'), [
      [
        '',
        `cannot read file: ENOENT: no such file or directory, open '${join(dir, 'missing.toml')}'`,
      ],
    ]);
  } finally {
    cleanup();
  }
});

test('TOML syntax error names file, line and column', () => {
  const err = assertProblems(() => parse(`${head}[listeners.x]\nsmtp.port = = 25\n`), file, [
    ['', 'TOML syntax error at line 3, column 13: invalid value'],
  ]);
  assert.deepEqual(err.position, { line: 3, column: 13 });
  assert.equal(err.message, `${file}: TOML syntax error at line 3, column 13: invalid value`);
});

test('wrong types', () => {
  assertProblems(
    () =>
      parse(
        `${head}log_level = 3\n[limits]\nmax_outgoing_messages_per_day = "many"\n[listeners.x]\nsmtp.enabled = "yes"\n`,
      ),
    file,
    [
      [
        'log_level',
        'expected one of "error", "warn", "info", "debug", "trace", "traceauth", "tracedata", got integer 3',
      ],
      ['limits.max_outgoing_messages_per_day', 'expected a number, got string "many"'],
      ['listeners.x.smtp.enabled', 'expected a boolean, got string "yes"'],
    ],
  );
  assertProblems(() => parse('hostname = 1\n[listeners.x]\n'), file, [
    ['hostname', 'expected a string, got integer 1'],
  ]);
  assertProblems(() => parse('[listeners.x]\n'), file, [['hostname', 'required key is missing']]);
  assertProblems(() => parse(`${head}`), file, [['listeners', 'required key is missing']]);
  assertProblems(() => parse(`${head}listeners = {}\n`), file, [
    ['listeners', 'at least one listener is required'],
  ]);
  assertProblems(() => parse(`${head}[limits.imap]\nmax_literals = 1.5\n[listeners.x]\n`), file, [
    ['limits.imap.max_literals', 'expected an integer, got float 1.5'],
  ]);
  assertProblems(() => parse(`${head}[limits]\nmax_message_size = true\n[listeners.x]\n`), file, [
    [
      'limits.max_message_size',
      'expected a number of bytes or a size like "100 MiB", got boolean true',
    ],
  ]);
  assertProblems(() => parse(`${head}[listeners.x]\nips = "::1"\n`), file, [
    ['listeners.x.ips', 'expected an array, got string "::1"'],
  ]);
});

test('unknown keys are errors, with a suggestion from the same table', () => {
  assertProblems(
    () =>
      parse(
        `${head}colour = "blue"\n[limits]\nmax_mesage_size = 1\nmax_literals = 5\n[listeners.x]\nsmtp = { enabled = true, prot = 26 }\n`,
      ),
    file,
    [
      ['limits.max_mesage_size', 'unknown key (did you mean "max_message_size"?)'],
      ['limits.max_literals', 'unknown key'],
      ['listeners.x.smtp.prot', 'unknown key (did you mean "port"?)'],
      ['colour', 'unknown key'],
    ],
  );
});

test('bad ports and clashes', () => {
  assertProblems(() => parse(`${head}[listeners.public]\nsmtp.port = -1\n`), file, [
    ['listeners.public.smtp.port', 'must be at least 0, got integer -1'],
  ]);
  // Port 0: any free port, never a clash.
  const zero = parse(
    `${head}[listeners.public]\nips = ["127.0.0.1"]\nsmtp = { enabled = true, port = 0 }\nsubmission = { enabled = true, port = 0, no_require_starttls = true }\n`,
  );
  assert.equal(zero.listeners.public?.smtp.port, 0);
  assertProblems(() => parse(`${head}[listeners.public]\nsmtp.port = 65536\n`), file, [
    ['listeners.public.smtp.port', 'must be at most 65535, got integer 65536'],
  ]);
  assertProblems(
    () =>
      parse(
        `${head}[listeners.a]\nips = ["127.0.0.1"]\nhttp = { enabled = true, port = 8080 }\n[listeners.b]\nips = ["::1", "127.0.0.1"]\nmetrics = { enabled = true, port = 8080 }\n`,
      ),
    file,
    [
      [
        'listeners.b.metrics.port',
        'port 8080 on 127.0.0.1 is also used by listeners.a.http on 127.0.0.1',
      ],
    ],
  );
  // A wildcard address covers the specific addresses of its family.
  assertProblems(
    () =>
      parse(
        `${head}[listeners.a]\nsmtp.enabled = true\n[listeners.b]\nips = ["192.0.2.1"]\nsmtp.enabled = true\n`,
      ),
    file,
    [['listeners.b.smtp.port', 'port 25 on 192.0.2.1 is also used by listeners.a.smtp on 0.0.0.0']],
  );
  // Disabled services and different families do not clash.
  const cfg = parse(
    `${head}[listeners.a]\nips = ["0.0.0.0"]\nsmtp.enabled = true\n[listeners.b]\nips = ["::"]\nsmtp.enabled = true\nhttp.port = 25\n`,
  );
  assert.equal(cfg.listeners.b?.smtp.enabled, true);
  assertProblems(() => parse(`${head}[listeners.a]\nips = ["::1", "0:0::1"]\n`), file, [
    ['listeners.a.ips[1]', 'duplicate IP ::1'],
  ]);
  assertProblems(() => parse(`${head}[listeners.a]\nips = ["localhost"]\n`), file, [
    ['listeners.a.ips[0]', 'invalid IP address "localhost"'],
  ]);
  assertProblems(() => parse(`${head}[listeners."a b"]\n`), file, [
    ['listeners."a b"', 'listener names use letters, digits, "-" and "_"'],
  ]);
});

test('services that need TLS on a listener without it', () => {
  const noTls = '[listeners.public.tls]';
  assertProblems(() => parse(`${head}[listeners.public]\nimaps.enabled = true\n`), file, [
    ['listeners.public.imaps', `requires TLS but the listener has no ${noTls} table`],
  ]);
  assertProblems(
    () =>
      parse(
        `${head}[listeners.public]\nsubmissions.enabled = true\nsubmission.enabled = true\nimap.enabled = true\nsmtp = { enabled = true, require_starttls = true }\n`,
      ),
    file,
    [
      ['listeners.public.smtp', `requires TLS but the listener has no ${noTls} table`],
      [
        'listeners.public.submission',
        `requires TLS but the listener has no ${noTls} table (or set no_require_starttls)`,
      ],
      ['listeners.public.submissions', `requires TLS but the listener has no ${noTls} table`],
      [
        'listeners.public.imap',
        `requires TLS but the listener has no ${noTls} table (or set no_require_starttls)`,
      ],
    ],
  );
  const cfg = parse(
    `${head}[listeners.public]\nsmtp.enabled = true\nsubmission = { enabled = true, no_require_starttls = true }\nimap = { enabled = true, no_require_starttls = true }\n`,
  );
  assert.equal(cfg.listeners.public?.imap.enabled, true);
  assertProblems(() => parse(`${head}[listeners.public]\ntls.cert_file = "a.crt"\n`), file, [
    ['listeners.public.tls.key_file', 'required when cert_file is set'],
  ]);
  assertProblems(() => parse(`${head}[listeners.public]\ntls = {}\n`), file, [
    ['listeners.public.tls', 'needs cert_file and key_file, or keys'],
  ]);
  assertProblems(
    () => parse(`${head}[listeners.public]\ntls.keys = [{ cert_file = "a" }]\n`),
    file,
    [['listeners.public.tls.keys[0].key_file', 'required key is missing']],
  );
});

test('bad durations and other values', () => {
  assertProblems(
    () =>
      parse(
        `${head}[delays]\nauth_fail = "1x"\nbad_client = 2\n[listeners.x]\nsmtp.first_time_sender_delay = "5 minutes"\n`,
      ),
    file,
    [
      [
        'delays.auth_fail',
        'invalid duration "1x", expected numbers with units ms, s, m or h, e.g. "1m30s"',
      ],
      ['delays.bad_client', 'expected a duration string like "15s" or "1m30s", got integer 2'],
      [
        'listeners.x.smtp.first_time_sender_delay',
        'invalid duration "5 minutes", expected numbers with units ms, s, m or h, e.g. "1m30s"',
      ],
    ],
  );
  assertProblems(() => parse('hostname = "mail..example.com"\n[listeners.x]\n'), file, [
    [
      'hostname',
      'invalid domain name "mail..example.com": label "" must be 1-63 letters, digits or inner hyphens',
    ],
  ]);
  assertProblems(
    () =>
      parse(
        `${head}[listeners.x]\nsmtp.dnsbls = ["bl..example.org", "127.0.0.2", "ok.example.org"]\n`,
      ),
    file,
    [
      [
        'listeners.x.smtp.dnsbls[0]',
        'invalid domain name "bl..example.org": label "" must be 1-63 letters, digits or inner hyphens',
      ],
      ['listeners.x.smtp.dnsbls[1]', '"127.0.0.2" is an IP address or numeric, not a domain name'],
    ],
  );
  const dnsServer =
    'expected an IP address, optionally with a port: "192.0.2.53", "192.0.2.53:5353", "[2001:db8::53]:53"';
  assertProblems(
    () =>
      parse(
        `${head}[dns]\nservers = ["192.0.2.53", "[2001:db8::53]:5353", "ns.example.org", "192.0.2.1:0", "[::1]:70000"]\n[listeners.x]\n`,
      ),
    file,
    [
      ['dns.servers[2]', dnsServer],
      ['dns.servers[3]', dnsServer],
      ['dns.servers[4]', dnsServer],
    ],
  );
  assertProblems(
    () => parse(`${head}[dns]\nresolver = "unbound"\ntrust_ad = "yes"\n[listeners.x]\n`),
    file,
    [
      ['dns.resolver', 'expected one of "stub", "system", got string "unbound"'],
      ['dns.trust_ad', 'expected a boolean, got string "yes"'],
    ],
  );
  assertProblems(
    () =>
      parse(
        `${head}[dns]\nresolver = "system"\ntrust_ad = true\nservers = ["192.0.2.53"]\n[listeners.x]\n`,
      ),
    file,
    [['dns.trust_ad', 'needs resolver = "stub": the system resolver cannot see the AD bit']],
  );
  assertProblems(() => parse(`${head}[dns]\ntrust_ad = true\n[listeners.x]\n`), file, [
    ['dns.trust_ad', 'needs servers: list the resolvers whose AD bit to trust'],
  ]);
  const trusting = parse(
    `${head}[dns]\ntrust_ad = true\nservers = ["192.0.2.53"]\n[listeners.x]\n`,
  );
  assert.deepEqual(trusting.dns, {
    servers: ['192.0.2.53'],
    timeout: 5000,
    tries: 3,
    resolver: 'stub',
    trust_ad: true,
  });
  assertProblems(() => parse(`${head}[limits.smtp]\nmax_recipients = 99\n[listeners.x]\n`), file, [
    ['limits.smtp.max_recipients', 'must be at least 100, got integer 99'],
  ]);
  assertProblems(
    () => parse(`${head}[limits.imap]\nmax_literal_size = "2 MiB"\n[listeners.x]\n`),
    file,
    [['limits.imap.max_literal_size', 'must not exceed max_literal_total']],
  );
  assertProblems(
    () => parse(`${head}[limits.imap]\nmax_connections = [1, 2]\n[listeners.x]\n`),
    file,
    [['limits.imap.max_connections', 'must have at least 3 item(s)']],
  );
});

test('transports and routes: defaults, resolved paths, checks', () => {
  const cfg = parse(`${head}
[transports.relay]
host = "Smtp.Provider.Example"
username = "u"
password_file = "relay.pw"
ca_file = "/abs/ca.pem"
[transports.plain]
host = "relay.example"
tls = "opportunistic"
[[routes]]
from_domains = ["Example.com"]
transport = "relay"
[[routes]]
transport = "direct"
[listeners.public]
`);
  assert.deepEqual(cfg.transports.relay, {
    host: 'smtp.provider.example',
    port: 587,
    tls: 'starttls',
    verify_certificate: true,
    username: 'u',
    password_file: '/etc/tidings/relay.pw',
    ca_file: '/abs/ca.pem',
  });
  assert.equal(cfg.transports.plain?.port, 25);
  // IP addresses are hosts too, in canonical form.
  const ips = parse(`${head}
[transports.v4]
host = "127.0.0.1"
[transports.v6]
host = "0:0:0:0:0:0:0:1"
[transports.local]
host = "LocalHost"
[listeners.public]
`);
  assert.deepEqual(
    Object.values(ips.transports).map((t) => t.host),
    ['127.0.0.1', '::1', 'localhost'],
  );
  assertProblems(
    () => parse(`${head}[transports.bad]\nhost = "300.1.2.3"\n[listeners.public]\n`),
    file,
    [
      [
        'transports.bad.host',
        'expected a host name or IP address: invalid domain name "300.1.2.3"',
      ],
    ],
  );
  assert.deepEqual(cfg.routes, [
    { from_domains: ['example.com'], to_domains: [], accounts: [], transport: 'relay' },
    { from_domains: [], to_domains: [], accounts: [], transport: 'direct' },
  ]);
  assert.throws(
    () =>
      parse(`${head}
[transports.x]
host = "h.example"
tls = "none"
username = "u"
[[routes]]
transport = "nosuch"
[listeners.public]
`),
    (e: Error) =>
      /transports\.x: username and password_file go together/.test(e.message) &&
      /transports\.x\.tls: authentication needs TLS/.test(e.message) &&
      /routes\[0\]\.transport: unknown transport "nosuch"/.test(e.message),
  );
});

test('auth_mechanisms: names in any case; an unknown name or an empty list is an error', () => {
  const cfg = parse(
    `${head}[listeners.x]\nsubmission.auth_mechanisms = ["scram-sha-256", "PLAIN"]\n`,
  );
  assert.deepEqual(cfg.listeners.x?.submission.auth_mechanisms, ['SCRAM-SHA-256', 'PLAIN']);
  assert.equal(cfg.listeners.x?.imap.auth_mechanisms, undefined);
  assertProblems(
    () => parse(`${head}[listeners.x]\nimaps.auth_mechanisms = ["PLAIN", "NTLM"]\n`),
    file,
    [
      [
        'listeners.x.imaps.auth_mechanisms[1]',
        'expected one of "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN", "EXTERNAL", got string "NTLM"',
      ],
    ],
  );
  assertProblems(() => parse(`${head}[listeners.x]\nimap.auth_mechanisms = []\n`), file, [
    ['listeners.x.imap.auth_mechanisms', 'must have at least 1 item(s)'],
  ]);
});
