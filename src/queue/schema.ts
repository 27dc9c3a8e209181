// The queue's tables in the global database. Their schema version lives in the
// queue_schema table (the global database's own migrations use user_version).
import type Database from 'better-sqlite3';
import { QueueError } from './errors.js';

type Migration = { version: number; sql: string };

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
CREATE TABLE queue_meta (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  next_file_id INTEGER NOT NULL         -- file ids are never reused
);
INSERT INTO queue_meta (id, next_file_id) VALUES (1, 1);

CREATE TABLE queue_files (
  id INTEGER PRIMARY KEY,               -- names data/queue/<id / 1000>/<id>
  size INTEGER NOT NULL,
  created INTEGER NOT NULL,
  recipients TEXT NOT NULL              -- JSON: every recipient queued with the file
);

CREATE TABLE queue_messages (
  id INTEGER PRIMARY KEY,
  file_id INTEGER NOT NULL REFERENCES queue_files (id),
  queued INTEGER NOT NULL,              -- ms since epoch
  account TEXT NOT NULL,
  sender_localpart TEXT,                -- NULL with sender_domain: the null reverse-path
  sender_domain TEXT,
  rcpt_localpart TEXT NOT NULL,
  rcpt_domain TEXT NOT NULL,            -- ASCII (IDNA)
  has8bit INTEGER NOT NULL,
  smtputf8 INTEGER NOT NULL,
  message_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  require_tls INTEGER,                  -- NULL: default policy; 1: REQUIRETLS; 0: TLS-Required: No
  prefix BLOB NOT NULL,
  size INTEGER NOT NULL,                -- prefix + file
  dsn_notify TEXT,                      -- NULL: not given; NEVER; or e.g. SUCCESS,FAILURE
  dsn_ret TEXT,
  dsn_envid TEXT,
  dsn_orcpt_type TEXT,
  dsn_orcpt TEXT,
  release_at INTEGER NOT NULL,          -- first allowed delivery; retries expire from here
  next_attempt INTEGER NOT NULL,
  future_release_request TEXT NOT NULL DEFAULT '',
  hold INTEGER NOT NULL DEFAULT 0,
  is_dsn INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_attempt INTEGER,
  last_error TEXT NOT NULL DEFAULT '',
  results TEXT NOT NULL DEFAULT '[]',   -- JSON: recent attempts
  delay_dsn_sent INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_messages_due ON queue_messages (hold, next_attempt);
CREATE INDEX queue_messages_file ON queue_messages (file_id);
CREATE INDEX queue_messages_account ON queue_messages (account);
`,
  },
  {
    version: 2,
    sql: `
-- Per-account addresses that outgoing mail is no longer delivered to.
CREATE TABLE queue_suppressions (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  address TEXT NOT NULL,                -- canonical: lower-cased localpart@domain (ASCII)
  created INTEGER NOT NULL,
  manual INTEGER NOT NULL,              -- 1: added by an administrator; 0: by a delivery failure
  reason TEXT NOT NULL,
  UNIQUE (account, address)
);

-- Rules that put newly queued messages on hold; '' matches anything.
CREATE TABLE queue_holdrules (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL DEFAULT '',
  sender_domain TEXT NOT NULL DEFAULT '',
  recipient_domain TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL
);
`,
  },
  {
    version: 3,
    sql: `
-- 1: a DMARC or TLS report sent by this server.
ALTER TABLE queue_messages ADD COLUMN is_report INTEGER NOT NULL DEFAULT 0;
`,
  },
];

/** Creates or upgrades the queue tables; refuses a schema newer than this program knows. */
export function migrateQueue(db: Database.Database): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS queue_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)',
  );
  const row = db.prepare('SELECT version FROM queue_schema WHERE id = 1').get() as
    { version: number } | undefined;
  const current = row?.version ?? 0;
  const latest = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
  if (current > latest) {
    throw new QueueError(
      'schema',
      `queue schema version ${current} is newer than this program supports (${latest}); upgrade Tidings`,
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare(
        'INSERT INTO queue_schema (id, version) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET version = excluded.version',
      ).run(m.version);
    })();
  }
}
