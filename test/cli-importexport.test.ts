// `tidings import` and `tidings export` as an admin uses them: mbox files (mboxrd quoting,
// Status, X-Status and X-Keywords, "From " line dates) and Maildirs (flags in the names,
// dovecot-keywords, file times) into mailboxes, through a running server or without one;
// exports of both kinds that give the same contents when imported and exported again;
// an import killed half-way, then resumed or rolled back; and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { MAIN, tidings } from './util.js';
import { Store, flagNames } from '../src/store/index.js';
import { Server } from '../src/server/server.js';
import { createLogger } from '../src/log/index.js';

const STATIC = `hostname = "mail.example.org"\ndata_dir = "../data"\n[listeners.main]\nips = ["127.0.0.1"]\nsmtp = { enabled = true, port = 0 }\n`;
const DOMAINS = `[domains."example.org"]\n[accounts.alice]\ndomain = "example.org"\ndestinations = { "alice@example.org" = {} }\n`;

const MBOX =
  'From alice@example.org Mon Jan  1 10:00:00 2024\n' +
  'Subject: one\nStatus: RO\nX-Status: AF\nX-Keywords: $Label1 project\n\n' +
  'first\n>From the start of a line, quoted\n\n' +
  'From bob@example.org Tue Feb 13 08:30:05 2024\r\n' +
  'Subject: two\r\n\r\nsecond, unread\r\n\r\n' +
  'From carol@example.org Wed Mar  6 23:59:59 2024\n' +
  'Subject: three\nStatus: O\nX-Status: T\n\nthird, a draft\n\n';

type Seen = { subject: string; flags: string[]; date: number; data: string };

async function mailboxContents(dataDir: string, mailbox: string): Promise<Seen[]> {
  const store = await Store.open({ dataDir });
  try {
    const a = await store.account('alice');
    const mb = await a.mailbox(mailbox);
    if (!mb) return [];
    const out: Seen[] = [];
    for (const m of await a.messages(mb.id, await a.uids(mb.id))) {
      const data = (await a.readMessage(m)).toString('latin1');
      out.push({
        subject: /^Subject: (.*?)\r?$/m.exec(data)?.[1] ?? '',
        flags: [...flagNames(m.flags), ...m.keywords].sort(),
        date: m.internalDate,
        data,
      });
    }
    return out;
  } finally {
    await store.close();
  }
}

/** Runs an import or export for alice that must succeed. */
function forAlice(cfg: string) {
  return async (cmd: string, kind: string, ...rest: string[]) => {
    const r = await tidings([cmd, kind, '-c', cfg, '-a', 'alice', ...rest]);
    assert.equal(r.code, 0, `${cmd} ${kind} ${rest.join(' ')}: ${r.stderr}`);
    return r;
  };
}

async function setup(): Promise<{ dir: string; cfg: string; data: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-import-'));
  const cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  await writeFile(join(dir, 'old.mbox'), MBOX);
  // A Maildir: flags in the names, keywords by letter, arrival times in the files' mtimes.
  const md = join(dir, 'Maildir');
  for (const d of ['cur', 'new', 'tmp']) await mkdir(join(md, d), { recursive: true });
  await writeFile(join(md, 'dovecot-keywords'), '0 $Label1\n1 todo\n');
  const files: [string, string, number][] = [
    [
      'cur/1700000000.M1.host:2,FRSab',
      'Subject: md one\r\n\r\nflagged, answered, seen\r\n',
      1700000000,
    ],
    ['cur/1700000100.M2.host:2,DT', 'Subject: md two\r\n\r\ndraft, deleted\r\n', 1700000100],
    ['new/1700000200.M3.host', 'Subject: md three\r\n\r\nnew\r\n', 1700000200],
  ];
  for (const [name, text, secs] of files) {
    await writeFile(join(md, name), text);
    await utimes(join(md, name), secs, secs);
  }
  return { dir, cfg, data: join(dir, 'data') };
}

test('import mbox and Maildir with flags, keywords and dates; export and round trip', async () => {
  const { dir, cfg, data } = await setup();
  const alice = forAlice(cfg);
  try {
    let r = await alice('import', 'mbox', '-m', 'Old', join(dir, 'old.mbox'));
    assert.equal(r.stdout, 'imported 3 messages into alice Old\n');
    const old = await mailboxContents(data, 'Old');
    assert.deepEqual(
      old.map((m) => [m.subject, m.flags, new Date(m.date).toISOString()]),
      [
        [
          'one',
          ['$Label1', '\\Answered', '\\Flagged', '\\Seen', 'project'],
          '2024-01-01T10:00:00.000Z',
        ],
        ['two', [], '2024-02-13T08:30:05.000Z'],
        ['three', ['\\Draft'], '2024-03-06T23:59:59.000Z'],
      ],
    );
    // Quoting undone; the empty line the format puts between messages is not kept.
    assert.match(old[0]!.data, /\r\nfirst\r\nFrom the start of a line, quoted\r\n$/);
    assert.match(old[1]!.data, /\r\nsecond, unread\r\n$/);
    assert.match(old[2]!.data, /\r\nthird, a draft\r\n$/);

    r = await alice('import', 'maildir', join(dir, 'Maildir'));
    assert.equal(r.stdout, 'imported 3 messages into alice Inbox\n');
    assert.deepEqual(
      (await mailboxContents(data, 'Inbox')).map((m) => [m.subject, m.flags, m.date / 1000]),
      [
        ['md one', ['$Label1', '\\Answered', '\\Flagged', '\\Seen', 'todo'], 1700000000],
        ['md two', ['\\Deleted', '\\Draft'], 1700000100],
        ['md three', [], 1700000200],
      ],
    );

    // mbox export, imported again and exported again: the same file.
    r = await alice('export', 'mbox', join(dir, 'out1'));
    assert.match(r.stdout, /^exported 6 messages of \d+ mailboxes to /);
    const first = await readFile(join(dir, 'out1', 'Old.mbox'));
    r = await alice('import', 'mbox', '-m', 'Again', join(dir, 'out1', 'Old.mbox'));
    r = await alice('export', 'mbox', '-m', 'Again', join(dir, 'out2'));
    assert.equal((await readFile(join(dir, 'out2', 'Again.mbox'))).toString(), first.toString());
    assert.deepEqual(
      (await mailboxContents(data, 'Again')).map((m) => [m.flags, m.date]),
      old.map((m) => [m.flags, m.date]),
    );

    // Maildir export, imported again and exported again: the same files and flags.
    r = await alice('export', 'maildir', '-m', 'Inbox', join(dir, 'out3'));
    r = await alice('import', 'maildir', '-m', 'Again2', join(dir, 'out3', 'Inbox'));
    r = await alice('export', 'maildir', '-m', 'Again2', join(dir, 'out4'));
    const listing = async (d: string) => {
      const names = (await readdir(join(d, 'cur'))).sort();
      return Promise.all(
        names.map(async (n) => [
          n.replace(/\.M\d+\./, '.M.'),
          await readFile(join(d, 'cur', n), 'utf8'),
        ]),
      );
    };
    assert.deepEqual(
      await listing(join(dir, 'out4', 'Again2')),
      await listing(join(dir, 'out3', 'Inbox')),
    );
    assert.deepEqual(
      (await listing(join(dir, 'out3', 'Inbox'))).map(([n]) => n!.replace(/^\d+\.M\.[^:]+/, '')),
      [':2,FRSab', ':2,DT', ':2,'],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('import through a running server; errors name what is wrong', async () => {
  const { dir, cfg, data } = await setup();
  const alice = forAlice(cfg);
  const server = await Server.start({ configDir: cfg, log: createLogger({ level: 'error' }) });
  try {
    await alice('import', 'mbox', join(dir, 'old.mbox'));
    // The server stored them: its own view has them at once.
    const a = await server.store.account('alice');
    assert.equal((await a.uids((await a.mailbox('Inbox'))!.id)).length, 3);
    // A larger import reports its progress, from the server, as it goes.
    let big = '';
    for (let i = 0; i < 1100; i++) {
      big += `From x@example.org Mon Jan  1 10:00:00 2024\nSubject: bulk ${i}\n\nbody ${i}\n\n`;
    }
    await writeFile(join(dir, 'big.mbox'), big);
    const r = await alice('import', 'mbox', '-m', 'Bulk', join(dir, 'big.mbox'));
    assert.equal(r.stderr, '1000 messages imported\n');
    assert.equal(r.stdout, 'imported 1100 messages into alice Bulk\n');
  } finally {
    await server.stop();
  }
  try {
    const cases: [string[], string][] = [
      [['import', 'zip', '-a', 'alice', 'x'], 'tidings: format must be mbox or maildir, not zip\n'],
      [
        ['import', 'mbox', '-a', 'bob', join(dir, 'old.mbox')],
        /--account bob: no such account in /.source,
      ],
      [
        ['import', 'mbox', '-a', 'alice', join(dir, 'none.mbox')],
        `tidings: ${join(dir, 'none.mbox')}: no such file or directory\n`,
      ],
      [
        ['import', 'maildir', '-a', 'alice', join(dir, 'old.mbox')],
        `tidings: ${join(dir, 'old.mbox')}: not a Maildir\n`,
      ],
      [
        ['export', 'mbox', '-a', 'alice', dir],
        `tidings: ${dir}: not empty; give a new or empty directory\n`,
      ],
      [
        ['export', 'mbox', '-a', 'alice', '-m', 'Nowhere', join(dir, 'x')],
        'tidings: --mailbox Nowhere: no such mailbox\n',
      ],
    ];
    for (const [args, want] of cases) {
      const r = await tidings([...args.slice(0, 2), '-c', cfg, ...args.slice(2)]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      if (want.startsWith('tidings:')) assert.equal(r.stderr, want);
      else assert.match(r.stderr, new RegExp(want));
    }
    assert.equal((await mailboxContents(data, 'Inbox')).length, 3);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Starts `tidings import` and kills it (SIGKILL) once it has stored `after` messages. */
function importKilled(args: string[], after: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, 'import', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`${after} messages imported`)) p.kill('SIGKILL');
    });
    p.on('close', (code, signal) =>
      signal === 'SIGKILL' ? resolve() : reject(new Error(`import ended first (${code}): ${err}`)),
    );
  });
}

test('an import killed half-way: refused as new, resumed exactly, or rolled back', async () => {
  const { dir, cfg, data } = await setup();
  try {
    let text = '';
    for (let i = 0; i < 3000; i++) {
      text += `From x@example.org Mon Jan  1 10:00:00 2024\nSubject: bulk ${i}\n\nbody ${i}\n\n`;
    }
    const mbox = join(dir, 'big.mbox');
    await writeFile(mbox, text);
    const args = ['mbox', '-c', cfg, '-a', 'alice', '-m', 'Bulk', mbox];
    await importKilled(args, 1000);
    // Nothing in the mailbox yet: the messages wait in their own until the end.
    assert.equal((await mailboxContents(data, 'Bulk')).length, 0);
    let r = await tidings(['import', ...args]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /^tidings: an import of these files into Bulk was cut off after \d+ messages \(they are in Import-[0-9a-f]{10}\): run it again with --resume to go on, or --rollback to remove them\n$/,
    );
    r = await tidings(['import', ...args, '--resume']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'imported 3000 messages into alice Bulk\n');
    const subjects = (await mailboxContents(data, 'Bulk')).map((m) => m.subject);
    assert.deepEqual(
      subjects,
      Array.from({ length: 3000 }, (_, i) => `bulk ${i}`),
    );
    r = await tidings(['import', ...args, '--resume']);
    assert.equal(r.code, 2);
    assert.equal(r.stderr, 'tidings: no cut-off import of these files into Bulk to resume\n');

    // Killed again, into another mailbox, and rolled back: nothing of it stays.
    const other = ['mbox', '-c', cfg, '-a', 'alice', '-m', 'Other', mbox];
    await importKilled(other, 1000);
    r = await tidings(['import', ...other, '--rollback']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed \d+ messages of the cut-off import into alice Other\n$/);
    const store = await Store.open({ dataDir: data });
    try {
      const a = await store.account('alice');
      assert.deepEqual(
        (await a.mailboxes()).map((m) => m.name).filter((n) => /^(Import-|Other)/.test(n)),
        [],
      );
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
