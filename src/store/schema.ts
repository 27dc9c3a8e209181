// Database schemas and their migrations. The schema version is SQLite's user_version;
// each migration runs in its own transaction at open. SQL stays close to what PostgreSQL
// accepts (no SQLite-only column types), so a networked backend can share the model.
import type Database from 'better-sqlite3';

export type Migration = { version: number; sql: string };

export const ACCOUNT_MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  modseq INTEGER NOT NULL,            -- highest modseq handed out (account-wide)
  next_message_id INTEGER NOT NULL,   -- next message row/file id
  next_uidvalidity INTEGER NOT NULL,
  highest_deleted_modseq INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);

CREATE TABLE mailboxes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0,
  uidvalidity INTEGER NOT NULL,
  uidnext INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  createseq INTEGER NOT NULL,
  special_use TEXT,                   -- \\Archive \\Drafts \\Junk \\Sent \\Trash, or NULL
  keywords TEXT NOT NULL DEFAULT '[]',-- JSON: keyword union, only grows
  total INTEGER NOT NULL DEFAULT 0,   -- live messages
  deleted_count INTEGER NOT NULL DEFAULT 0,
  unseen INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX mailboxes_name ON mailboxes (name) WHERE deleted = 0;

CREATE TABLE messages (
  id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL,           -- names the message file; a move tombstone shares it
  mailbox_id INTEGER NOT NULL,
  uid INTEGER NOT NULL,
  modseq INTEGER NOT NULL,
  createseq INTEGER NOT NULL,
  expunged INTEGER NOT NULL DEFAULT 0,
  erased INTEGER NOT NULL DEFAULT 0,  -- file removed after expunge
  flags INTEGER NOT NULL DEFAULT 0,
  keywords TEXT NOT NULL DEFAULT '[]',
  internal_date INTEGER NOT NULL,     -- ms since epoch
  save_date INTEGER NOT NULL,
  size INTEGER NOT NULL,              -- prefix + file, in octets as stored
  prefix BLOB,                        -- delivery-time headers, kept here so the file is never rewritten
  part TEXT NOT NULL,                 -- parsed MIME structure (JSON, offsets into prefix+file)
  message_id TEXT NOT NULL DEFAULT '',
  in_reply_to TEXT NOT NULL DEFAULT '',
  refs TEXT NOT NULL DEFAULT '[]',
  subject_base TEXT NOT NULL DEFAULT '',
  -- delivery facts used by reputation (DeliveryFacts in rows.ts)
  remote_ip TEXT NOT NULL DEFAULT '',
  remote_ip_masked1 TEXT NOT NULL DEFAULT '',
  remote_ip_masked2 TEXT NOT NULL DEFAULT '',
  remote_ip_masked3 TEXT NOT NULL DEFAULT '',
  ehlo_domain TEXT NOT NULL DEFAULT '',
  mailfrom TEXT NOT NULL DEFAULT '',
  mailfrom_localpart TEXT NOT NULL DEFAULT '',
  mailfrom_domain TEXT NOT NULL DEFAULT '',
  rcptto_localpart TEXT NOT NULL DEFAULT '',
  rcptto_domain TEXT NOT NULL DEFAULT '',
  msgfrom_localpart TEXT NOT NULL DEFAULT '',
  msgfrom_domain TEXT NOT NULL DEFAULT '',
  msgfrom_org_domain TEXT NOT NULL DEFAULT '',
  ehlo_validated INTEGER NOT NULL DEFAULT 0,
  mailfrom_validated INTEGER NOT NULL DEFAULT 0,
  msgfrom_validated INTEGER NOT NULL DEFAULT 0,
  ehlo_validation INTEGER NOT NULL DEFAULT 0,
  mailfrom_validation INTEGER NOT NULL DEFAULT 0,
  msgfrom_validation INTEGER NOT NULL DEFAULT 0,
  dkim_domains TEXT NOT NULL DEFAULT '[]',
  received_tls_version INTEGER NOT NULL DEFAULT 0,
  received_tls_cipher INTEGER NOT NULL DEFAULT 0,
  received_require_tls INTEGER NOT NULL DEFAULT 0,
  is_reject INTEGER NOT NULL DEFAULT 0,
  is_forward INTEGER NOT NULL DEFAULT 0,
  is_mailing_list INTEGER NOT NULL DEFAULT 0,
  dsn INTEGER NOT NULL DEFAULT 0,
  message_hash BLOB,
  mailbox_orig_id INTEGER NOT NULL DEFAULT 0,
  mailbox_destined_id INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX messages_mailbox_uid ON messages (mailbox_id, uid);
CREATE INDEX messages_mailbox_modseq ON messages (mailbox_id, modseq);
CREATE INDEX messages_live ON messages (mailbox_id, expunged, uid);
CREATE INDEX messages_file ON messages (file_id);
CREATE INDEX messages_unerased ON messages (expunged, erased);
CREATE INDEX messages_message_id ON messages (message_id);

CREATE TABLE subscriptions (
  name TEXT PRIMARY KEY
);

CREATE TABLE annotations (
  id INTEGER PRIMARY KEY,
  mailbox_id INTEGER NOT NULL,        -- 0: account-wide
  key TEXT NOT NULL,
  value BLOB,
  is_string INTEGER NOT NULL DEFAULT 0,
  modseq INTEGER NOT NULL,
  createseq INTEGER NOT NULL
);
CREATE UNIQUE INDEX annotations_key ON annotations (mailbox_id, key);

CREATE TABLE disk_usage (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  message_size INTEGER NOT NULL       -- sum of sizes of live messages, for quota
);

CREATE TABLE password (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  secrets TEXT NOT NULL               -- JSON of derived secrets only; never the password
);
`,
  },
];

ACCOUNT_MIGRATIONS.push({
  version: 2,
  // Flag, size and date searches and flag fetches read only these columns: a covering
  // index answers them without touching the wide message rows.
  sql: `CREATE INDEX messages_cover ON messages (mailbox_id, uid, expunged, erased, flags, size, internal_date, keywords);`,
});

export const GLOBAL_MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE login_attempts (
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL,                  -- groups identical attempts
  first INTEGER NOT NULL,
  last INTEGER NOT NULL,
  count INTEGER NOT NULL,
  account TEXT NOT NULL,
  address TEXT NOT NULL,
  protocol TEXT NOT NULL,
  mechanism TEXT NOT NULL,
  result TEXT NOT NULL,
  remote_ip TEXT NOT NULL,
  local_ip TEXT NOT NULL,
  tls TEXT NOT NULL,                  -- '' for plaintext, else version and cipher
  tls_key_fingerprint TEXT NOT NULL,
  user_agent TEXT NOT NULL
);
CREATE UNIQUE INDEX login_attempts_key ON login_attempts (key);
CREATE INDEX login_attempts_account_last ON login_attempts (account, last);
CREATE INDEX login_attempts_last ON login_attempts (last);

CREATE TABLE tls_public_keys (
  fingerprint TEXT PRIMARY KEY,       -- base64url(sha256(SubjectPublicKeyInfo)), no padding
  created INTEGER NOT NULL,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  cert_der BLOB NOT NULL,
  account TEXT NOT NULL,
  login_address TEXT NOT NULL,
  no_imap_preauth INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tls_public_keys_account ON tls_public_keys (account);
`,
  },
];

/** Applies pending migrations; refuses a database newer than this program knows. */
export function migrate(db: Database.Database, migrations: Migration[], file: string): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new Error(`${file}: migration ${i + 1} has version ${m.version}`);
  });
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new Error(
      `${file}: schema version ${current} is newer than this program supports (${latest}); upgrade Tidings`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
}

ACCOUNT_MIGRATIONS.push({
  version: 3,
  // Recipients of submitted mail: the daily limits on messages and first-time recipients,
  // and the history that makes replies from them known senders.
  sql: `
CREATE TABLE outgoing (
  id INTEGER PRIMARY KEY,
  recipient TEXT NOT NULL,            -- lower-cased address
  submitted INTEGER NOT NULL,         -- ms since epoch
  first_time INTEGER NOT NULL         -- 1: never sent to before
);
CREATE INDEX outgoing_submitted ON outgoing (submitted);
CREATE TABLE recipients (
  address TEXT PRIMARY KEY,           -- lower-cased address
  domain TEXT NOT NULL,
  first_sent INTEGER NOT NULL,
  last_sent INTEGER NOT NULL,
  count INTEGER NOT NULL
);
CREATE INDEX recipients_domain ON recipients (domain);
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 4,
  // The message's envelope (JSON) apart from its MIME structure: FETCH ENVELOPE, what
  // clients ask for to list messages, then parses a few hundred bytes instead of the
  // whole structure. Stored messages get theirs from their structure.
  sql: `
ALTER TABLE messages ADD COLUMN envelope TEXT;
UPDATE messages SET envelope = json_extract(part, '$.envelope');
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 5,
  // Whether a sender is known to the account: earlier messages from the same From
  // address, found without a scan (localparts compare case-insensitively).
  sql: `CREATE INDEX messages_msgfrom ON messages (msgfrom_domain, msgfrom_localpart COLLATE NOCASE);`,
});

ACCOUNT_MIGRATIONS.push({
  version: 6,
  // Reputation: the most recent messages from the same verified sources, each found
  // through an index (partial: messages without the fact, such as APPENDed ones, are
  // left out). DKIM domains, a list per message, get a table of their own.
  sql: `
CREATE INDEX messages_mailfrom_domain ON messages (mailfrom_domain) WHERE mailfrom_validated = 1 AND mailfrom_domain != '';
CREATE INDEX messages_msgfrom_org ON messages (msgfrom_org_domain) WHERE msgfrom_validated = 1 AND msgfrom_org_domain != '';
CREATE INDEX messages_ip1 ON messages (remote_ip_masked1) WHERE remote_ip_masked1 != '';
CREATE INDEX messages_ip2 ON messages (remote_ip_masked2) WHERE remote_ip_masked2 != '';
CREATE INDEX messages_ip3 ON messages (remote_ip_masked3) WHERE remote_ip_masked3 != '';
CREATE TABLE message_dkim (
  message_id INTEGER NOT NULL,        -- messages.id; copies and moves get their own rows
  domain TEXT NOT NULL                -- a verified DKIM signing domain, lower-case
);
CREATE INDEX message_dkim_domain ON message_dkim (domain, message_id);
CREATE INDEX message_dkim_message ON message_dkim (message_id);
INSERT INTO message_dkim (message_id, domain)
  SELECT m.id, lower(j.value) FROM messages m, json_each(m.dkim_domains) j WHERE m.dkim_domains != '[]';
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 7,
  // Reputation reads, per source, the flags and mailboxes of the newest few live messages.
  // Indexes that hold those columns, and only live messages (not expunged, not kept
  // rejects), answer each source from the index alone, in id order, without reading a
  // message row or skipping dead ones; the DKIM source, which finds its messages through
  // message_dkim, looks each up in messages_rep_live by id. They replace the narrower
  // indexes of versions 5 and 6: one index more to keep up to date than before. (The columns of
  // each WHERE are in the index too: SQLite does not see a partial index as covering when
  // its WHERE has more than two terms, though it implies their values.)
  sql: `
DROP INDEX messages_msgfrom;
DROP INDEX messages_mailfrom_domain;
DROP INDEX messages_msgfrom_org;
DROP INDEX messages_ip1;
DROP INDEX messages_ip2;
DROP INDEX messages_ip3;
CREATE INDEX messages_rep_msgfrom ON messages (msgfrom_domain, msgfrom_localpart COLLATE NOCASE, id, flags, mailbox_id, mailbox_destined_id)
  WHERE expunged = 0 AND is_reject = 0;
CREATE INDEX messages_rep_mailfrom ON messages (mailfrom_domain, id, flags, mailbox_id, mailbox_destined_id, mailfrom_validated, expunged, is_reject)
  WHERE mailfrom_validated = 1 AND mailfrom_domain != '' AND expunged = 0 AND is_reject = 0;
CREATE INDEX messages_rep_org ON messages (msgfrom_org_domain, id, flags, mailbox_id, mailbox_destined_id, msgfrom_validated, expunged, is_reject)
  WHERE msgfrom_validated = 1 AND msgfrom_org_domain != '' AND expunged = 0 AND is_reject = 0;
CREATE INDEX messages_rep_ip1 ON messages (remote_ip_masked1, id, flags, mailbox_id, mailbox_destined_id, expunged, is_reject)
  WHERE remote_ip_masked1 != '' AND expunged = 0 AND is_reject = 0;
CREATE INDEX messages_rep_ip2 ON messages (remote_ip_masked2, id, flags, mailbox_id, mailbox_destined_id, expunged, is_reject)
  WHERE remote_ip_masked2 != '' AND expunged = 0 AND is_reject = 0;
CREATE INDEX messages_rep_ip3 ON messages (remote_ip_masked3, id, flags, mailbox_id, mailbox_destined_id, expunged, is_reject)
  WHERE remote_ip_masked3 != '' AND expunged = 0 AND is_reject = 0;
CREATE INDEX messages_rep_live ON messages (id, flags, mailbox_id, mailbox_destined_id, expunged, is_reject)
  WHERE expunged = 0 AND is_reject = 0;
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 8,
  // The preview of a message (IMAP PREVIEW, RFC 8970), made from its text the first time
  // a client asks and kept, so a message list costs no file reads after that. NULL: not
  // made yet.
  sql: `
ALTER TABLE messages ADD COLUMN preview TEXT;
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 9,
  // The sent date (the Date header in ms, or the internal date without a valid one), so
  // SORT by DATE and THREAD read a number, not the envelope. Set when a message is
  // stored; NULL for messages stored before, filled in the first time they are sorted.
  sql: `
ALTER TABLE messages ADD COLUMN sent_date INTEGER;
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 10,
  // \Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2): per mailbox, the UID from which no
  // session has claimed the messages yet. A new mailbox's messages are all unclaimed;
  // in existing ones, none is recent.
  sql: `
ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 0;
UPDATE mailboxes SET recent_uid = uidnext;
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 11,
  // THREAD (RFC 5256) reads the threading fields of every message of a mailbox: a
  // covering index answers it without touching the wide message rows, which halves the
  // time for a large mailbox.
  sql: `
CREATE INDEX messages_thread ON messages (mailbox_id, uid, expunged, message_id, in_reply_to, refs, subject_base, sent_date, internal_date);
`,
});

ACCOUNT_MIGRATIONS.push({
  version: 12,
  // THREADID (RFC 8474 §5.2): a message's thread, set when it is stored and never
  // changed (threadids.ts). Messages stored before get theirs when the account opens.
  sql: `
ALTER TABLE messages ADD COLUMN thread_id INTEGER;
`,
});

GLOBAL_MIGRATIONS.push({
  version: 2,
  // DMARC aggregate (RFC 7489) and TLS (RFC 8460) reports received from other mail
  // systems: one row per report, with what a listing shows and the parsed report as
  // JSON. A report is identified by its sender and report id, so a report delivered
  // twice is stored once. Times are ms since the epoch.
  sql: `
CREATE TABLE dmarc_reports (
  id INTEGER PRIMARY KEY,
  received INTEGER NOT NULL,
  org TEXT NOT NULL,                  -- report_metadata org_name
  report_id TEXT NOT NULL,
  email TEXT NOT NULL,                -- the reporter's address
  domain TEXT NOT NULL,               -- policy_published domain, lower-case
  range_start INTEGER NOT NULL,       -- date_range begin
  range_end INTEGER NOT NULL,
  records INTEGER NOT NULL,
  messages INTEGER NOT NULL,          -- sum of the records' counts
  failed INTEGER NOT NULL,            -- messages with neither DKIM nor SPF passing
  report TEXT NOT NULL
);
CREATE UNIQUE INDEX dmarc_reports_org_report ON dmarc_reports (org, report_id);
CREATE INDEX dmarc_reports_received ON dmarc_reports (received, id);
CREATE INDEX dmarc_reports_domain ON dmarc_reports (domain, received, id);

CREATE TABLE tls_reports (
  id INTEGER PRIMARY KEY,
  received INTEGER NOT NULL,
  org TEXT NOT NULL,                  -- organization-name
  report_id TEXT NOT NULL,
  contact TEXT NOT NULL,              -- contact-info
  domain TEXT NOT NULL,               -- policy-domain of the first policy, lower-case
  range_start INTEGER NOT NULL,       -- date-range start-datetime
  range_end INTEGER NOT NULL,
  policies INTEGER NOT NULL,
  successes INTEGER NOT NULL,         -- sums of the policies' session counts
  failures INTEGER NOT NULL,
  report TEXT NOT NULL
);
CREATE UNIQUE INDEX tls_reports_org_report ON tls_reports (org, report_id);
CREATE INDEX tls_reports_received ON tls_reports (received, id);
CREATE INDEX tls_reports_domain ON tls_reports (domain, received, id);
`,
});

GLOBAL_MIGRATIONS.push({
  version: 3,
  // What outgoing reports are made of, kept until their period's report is sent:
  // DMARC evaluations of incoming messages (RFC 7489 §7.2), one row each with the
  // report's fields as JSON, and TLS results of outgoing deliveries (RFC 8460), counted
  // per recipient domain, UTC day, policy and kind of failure.
  sql: `
CREATE TABLE dmarc_evaluations (
  id INTEGER PRIMARY KEY,
  policy_domain TEXT NOT NULL,        -- lower-case
  evaluated INTEGER NOT NULL,         -- ms since epoch
  interval_hours INTEGER NOT NULL,    -- reporting period, a divisor of 24
  optional INTEGER NOT NULL,          -- 1: no reason by itself to send a report
  data TEXT NOT NULL                  -- JSON: the rest of the evaluation
);
CREATE INDEX dmarc_evaluations_domain ON dmarc_evaluations (policy_domain, interval_hours, evaluated);

CREATE TABLE tls_results (
  id INTEGER PRIMARY KEY,
  policy_domain TEXT NOT NULL,        -- the recipient domain, lower-case
  day TEXT NOT NULL,                  -- UTC, YYYY-MM-DD
  policy TEXT NOT NULL,               -- JSON: type, strings, MX hosts
  failure TEXT NOT NULL,              -- JSON failure details; '' for successful sessions
  optional INTEGER NOT NULL,          -- 1: deliveries of reports themselves
  count INTEGER NOT NULL,
  UNIQUE (policy_domain, day, policy, failure, optional)
);
CREATE INDEX tls_results_day ON tls_results (day);
`,
});
