// `tidings junk train`, `check`, `retrain` and `stats` as an admin uses them: real
// processes on a data directory, messages from files, Maildirs and mbox files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Flag, Store } from '../src/store/index.js';
import { mailFiles } from '../src/message/index.js';
import { tidings } from './util.js';
import { execOnFile } from '../src/store/testing.js';

const STATIC = `hostname = "mail.example.org"
data_dir = "../data"
[listeners.test]
ips = ["127.0.0.1"]
`;

const DOMAINS = `[domains."example.org"]
[accounts.alice]
domain = "example.org"
destinations = { "alice@example.org" = {} }
[accounts.alice.junk_filter]
threshold = 0.9
spam_mailboxes = ["\\\\Junk", "Bulk"]
[accounts.bob]
domain = "example.org"
destinations = { "bob@example.org" = {} }
`;

const HAM = [
  'Can we move the project meeting to Thursday? The agenda is attached.',
  'Minutes of the project meeting; please review the agenda items.',
  'The build is green again; the release notes are in the wiki.',
  'Thursday works for me, I will bring the agenda and the notes.',
];
const SPAM = [
  'WINNER! Claim your cash prize now, click here to claim the money.',
  'Cheap pills, no prescription, click here for the best price.',
  'You have won a cash prize! Send your bank details to claim it.',
  'Make money fast from home, click here, cash guaranteed.',
];
const mail = (from: string, subject: string, body: string) =>
  `From: ${from}\nTo: alice@example.org\nSubject: ${subject}\n\n${body}\n`;
const hamMail = (i: number) => mail('colleague@work.example', `project ${i}`, HAM[i]!);
const spamMail = (i: number) => mail('promo@offers.example', `offer ${i}`, SPAM[i]!);

let dir: string;
let cfg: string;
const run = (...args: string[]) => tidings(['junk', ...args, '-c', cfg]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tidings-cli-junk-'));
  cfg = join(dir, 'config');
  await mkdir(cfg);
  await writeFile(join(cfg, 'tidings.toml'), STATIC);
  await writeFile(join(cfg, 'domains.toml'), DOMAINS);
  // Alice's mailboxes: two ham messages, two in Junk, one flagged $Junk in Inbox, one in
  // Bulk (a spam mailbox by name), one in Trash.
  const store = await Store.open({
    dataDir: join(dir, 'data'),
    initialMailboxes: () => ({ junk: 'Junk', trash: 'Trash', regular: ['Bulk'] }),
  });
  const a = await store.account('alice');
  const add = async (mailbox: string, text: string, flags = 0) => {
    const p = await store.prepareMessage(Buffer.from(text.replace(/\n/g, '\r\n')));
    await a.addMessages(mailbox, [{ message: p, flags }]);
    await p.cleanup();
  };
  await add('Inbox', hamMail(0));
  await add('Inbox', hamMail(1));
  await add('Inbox', spamMail(0), Flag.Junk);
  await add('Junk', spamMail(1));
  await add('Junk', spamMail(2));
  await add('Bulk', spamMail(3));
  await add('Trash', hamMail(2));
  await store.close();

  // Files: ham in a Maildir, spam in an mbox (mboxrd quoting) and a single file.
  for (const sub of ['cur', 'new', 'tmp'])
    await mkdir(join(dir, 'Maildir', sub), { recursive: true });
  await writeFile(join(dir, 'Maildir', 'cur', '1:2,S'), hamMail(0));
  await writeFile(join(dir, 'Maildir', 'cur', '2:2,S'), hamMail(1));
  await writeFile(join(dir, 'Maildir', 'new', '3'), hamMail(2));
  await writeFile(join(dir, 'Maildir', 'tmp', '4'), 'not delivered yet');
  const mbox = [0, 1, 2]
    .map(
      (i) => `From promo@offers.example Mon Jan  1 00:00:00 2024\n${spamMail(i)}>From the desk\n`,
    )
    .join('\n');
  await writeFile(join(dir, 'spam.mbox'), mbox);
  await writeFile(join(dir, 'spam.eml'), spamMail(3));
  await writeFile(
    join(dir, 'new-spam.eml'),
    mail('promo@offers.example', 'cash', 'Claim your cash prize, click here!'),
  );
  await writeFile(
    join(dir, 'new-ham.eml'),
    mail('colleague@work.example', 'agenda', 'The agenda for the project meeting.'),
  );
});
after(() => rm(dir, { recursive: true, force: true }));

test('mbox messages are split and unquoted; Maildirs are read from cur and new', async () => {
  const got: { path: string; data: string }[] = [];
  for await (const m of mailFiles([join(dir, 'spam.mbox'), join(dir, 'Maildir')])) {
    got.push({ path: m.path.slice(dir.length + 1), data: m.data.toString() });
  }
  assert.deepEqual(
    got.map((m) => m.path),
    [
      'spam.mbox#1',
      'spam.mbox#2',
      'spam.mbox#3',
      'Maildir/cur/1:2,S',
      'Maildir/cur/2:2,S',
      'Maildir/new/3',
    ],
  );
  assert.equal(got[0]!.data, `${spamMail(0)}From the desk\n`);
  assert.equal(got[2]!.data, `${spamMail(2)}From the desk\n`);
  assert.equal(got[3]!.data, hamMail(0));
});

test('train, check and stats', async () => {
  let r = await run(
    'train',
    '--account',
    'alice',
    '--spam',
    join(dir, 'spam.mbox'),
    join(dir, 'spam.eml'),
  );
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'alice: 4 messages trained as spam: 4 new, 0 moved from ham, 0 trained before\n',
  );
  r = await run('train', '-a', 'alice', '--ham', join(dir, 'Maildir'));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'alice: 3 messages trained as ham: 3 new, 0 moved from spam, 0 trained before\n',
  );
  // Again: counted once. The other way: moved.
  r = await run('train', '-a', 'alice', '--ham', join(dir, 'Maildir'));
  assert.equal(
    r.stdout,
    'alice: 3 messages trained as ham: 0 new, 0 moved from spam, 3 trained before\n',
  );
  r = await run('train', '-a', 'alice', '--ham', join(dir, 'spam.eml'));
  assert.equal(
    r.stdout,
    'alice: 1 messages trained as ham: 0 new, 1 moved from spam, 0 trained before\n',
  );
  r = await run('train', '-a', 'alice', '--spam', join(dir, 'spam.eml'));
  assert.equal(
    r.stdout,
    'alice: 1 messages trained as spam: 0 new, 1 moved from ham, 0 trained before\n',
  );

  const spamFile = join(dir, 'new-spam.eml');
  const hamFile = join(dir, 'new-ham.eml');
  r = await run('check', '-a', 'alice', spamFile, hamFile);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 2);
  const line = /^(\S+) (\d\.\d{3}) (spam|ham)((?: \S+:\d\.\d{3})+)$/;
  const [, f1, p1, v1, w1] = line.exec(lines[0]!) ?? [];
  assert.equal(f1, spamFile);
  assert.ok(Number(p1) >= 0.9, lines[0]);
  assert.equal(v1, 'spam');
  assert.match(w1!, / (click|here|click\+here):0\.\d{3}/);
  assert.match(w1!, / from:domain:offers\.example:0\.\d{3}/);
  const [, f2, p2, v2] = line.exec(lines[1]!) ?? [];
  assert.equal(f2, hamFile);
  assert.ok(Number(p2) < 0.1, lines[1]);
  assert.equal(v2, 'ham');

  r = await run('stats', '--account', 'alice');
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^account: alice\nenabled: true\nthreshold: 0\.9\nham mailboxes: Inbox, \\Archive\nspam mailboxes: \\Junk, Bulk\nham messages: 3\nspam messages: 4\ntrained messages: 7\ntokens: \d+ \(at most 500000\)\ndatabase size: \d+ bytes\n$/,
  );
});

test('retrain learns the account from its mailboxes and flags', async () => {
  const r = await run('retrain', '--account', 'alice');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    r.stdout,
    'alice: retrained from 4 mailboxes: 2 ham, 4 spam, 1 messages in other mailboxes skipped\n',
  );
  const s = await run('stats', '--account', 'alice');
  assert.match(s.stdout, /\nham messages: 2\nspam messages: 4\ntrained messages: 6\n/);
});

test('verifydata checks the junk filter database too', async () => {
  let r = await tidings(['verifydata', '-c', cfg, 'alice']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^alice: .*: ok$/m);
  const junkDb = join(dir, 'data', 'accounts', 'alice', 'junk.db');
  execOnFile(junkDb, 'UPDATE totals SET ham = ham + 1');
  r = await tidings(['verifydata', '-c', cfg, 'alice']);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^alice: .*: 1 problems\n {2}junk\.db: totals say \d+ ham/m);
  // Put back for the tests that follow.
  execOnFile(junkDb, 'UPDATE totals SET ham = ham - 1');
});

test('bad input: the argument or file is named', async () => {
  const cases: [string[], number, RegExp][] = [
    [['train', '-a', 'alice', join(dir, 'spam.eml')], 2, /give one of --spam and --ham/],
    [
      ['train', '-a', 'alice', '--spam', '--ham', join(dir, 'spam.eml')],
      2,
      /give one of --spam and --ham/,
    ],
    [
      ['train', '-a', 'alice', '--spam', join(dir, 'nope.eml')],
      1,
      /nope\.eml: no such file or directory/,
    ],
    [['train', '-a', 'alice', '--spam', dir], 1, /: a directory, but not a Maildir/],
    [['check', '-a', 'alice', join(dir, 'Maildir')], 1, /Maildir: not a file/],
    [
      ['check', '-a', 'carol', join(dir, 'spam.eml')],
      1,
      /--account carol: no such account in .*domains\.toml/,
    ],
    [['stats', '-a', 'bob'], 1, /--account bob: the account has no data in .* yet/],
    [['stats'], 2, /required option '-a, --account <name>'/],
  ];
  for (const [args, code, err] of cases) {
    const r = await run(...args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, err, args.join(' '));
  }
});
