// Interoperability with mbsync (isync): two-way synchronisation between the server over
// IMAPS and a local Maildir. Messages on both sides end up on both sides exactly once,
// a second run changes nothing, and flag changes and deletions travel both ways.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  mkdtemp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  unlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, PASSWORD, type TestServer } from '../imap/harness.js';
import { Flag, flagNames, type Account } from '../../src/store/index.js';
import { run, subjectMessage, type RunResult } from './util.js';

const msg = subjectMessage;

type Entry = { subject: string; flags: string[] };

const bySubject = (a: Entry, b: Entry) => a.subject.localeCompare(b.subject);

function subjectOf(data: Buffer): string {
  const header = data.subarray(0, data.indexOf('\r\n\r\n')).toString('utf8');
  const m = /^Subject: (.*)$/m.exec(header);
  assert.ok(m, `no Subject in ${JSON.stringify(header)}`);
  return m[1] ?? '';
}

async function liveMessages(a: Account, mailbox: string) {
  const mb = await a.mailbox(mailbox);
  assert.ok(mb, `mailbox ${mailbox} exists on the server`);
  return await a.messages(mb.id, await a.uids(mb.id));
}

/** Messages of a server mailbox, read through the store, sorted by subject. */
async function serverState(a: Account, mailbox: string): Promise<Entry[]> {
  const out: Entry[] = [];
  for (const m of await liveMessages(a, mailbox)) {
    const flags = [...flagNames(m.flags), ...m.keywords].sort();
    out.push({ subject: subjectOf(await a.readMessage(m)), flags });
  }
  return out.sort(bySubject);
}

/** UID and stored bytes of the server message with this subject. */
async function serverMessage(
  a: Account,
  mailbox: string,
  subject: string,
): Promise<{ uid: number; data: Buffer }> {
  for (const m of await liveMessages(a, mailbox)) {
    const data = await a.readMessage(m);
    if (subjectOf(data) === subject) return { uid: m.uid, data };
  }
  throw new Error(`no message "${subject}" in ${mailbox} on the server`);
}

// Maildir flag letters (https://cr.yp.to/proto/maildir.html) as IMAP flags.
const MAILDIR_FLAGS: Record<string, string> = {
  D: '\\Draft',
  F: '\\Flagged',
  R: '\\Answered',
  S: '\\Seen',
  T: '\\Deleted',
};

type LocalFile = Entry & { path: string };

/** Messages of a local Maildir folder (new/ and cur/), sorted by subject. */
async function localState(dir: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  for (const sub of ['new', 'cur']) {
    for (const name of await readdir(join(dir, sub))) {
      const path = join(dir, sub, name);
      const info = /:2,([A-Za-z]*)$/.exec(name)?.[1] ?? '';
      const flags = [...info].map((c) => MAILDIR_FLAGS[c] ?? `?${c}`).sort();
      out.push({ path, subject: subjectOf(await readFile(path)), flags });
    }
  }
  return out.sort(bySubject);
}

/** Message text with LF line ends and without mbsync's X-TUID header line. */
const withoutTuid = (b: Buffer) =>
  b
    .toString()
    .replace(/\r\n/g, '\n')
    .replace(/^X-TUID: .*\n/m, '');

const entries = (l: LocalFile[]): Entry[] => l.map(({ subject, flags }) => ({ subject, flags }));

/** Sets directory times a few seconds back, so mbsync need not wait out the current second
 * before trusting a Maildir listing. */
async function backdate(dir: string): Promise<void> {
  const t = new Date(Date.now() - 5_000);
  await utimes(dir, t, t);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) await backdate(join(dir, e.name));
  }
}

async function makeMaildir(dir: string): Promise<void> {
  for (const sub of ['cur', 'new', 'tmp']) await mkdir(join(dir, sub), { recursive: true });
}

/** isync 1.5 renamed SSLType to TLSType; the old name warns there, the new one is unknown
 * before. */
async function tlsTypeKeyword(): Promise<string> {
  const r = await run('mbsync', ['--version']);
  const m = /isync (\d+)\.(\d+)/.exec(r.stdout);
  assert.ok(m, `mbsync --version: ${r.stdout}${r.stderr}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor >= 5) ? 'TLSType' : 'SSLType';
}

describe('mbsync', () => {
  let server: TestServer;
  let account: Account;
  let work: string;
  let rc: string;
  let maildir: string;
  let inbox: string;

  before(async () => {
    server = await startTestServer();
    account = await server.store.account('mjl');
    work = await mkdtemp(join(tmpdir(), 'tidings-mbsync-'));
    maildir = join(work, 'mail');
    inbox = join(maildir, 'INBOX');
    rc = join(work, 'mbsyncrc');
    const tlsType = await tlsTypeKeyword();
    await writeFile(
      rc,
      [
        'IMAPAccount tidings',
        'Host 127.0.0.1',
        `Port ${server.imaps.port}`,
        'User mjl@example.org',
        `Pass ${PASSWORD}`,
        'AuthMechs LOGIN',
        `${tlsType} IMAPS`,
        'SystemCertificates no',
        `CertificateFile ${join(server.dir, 'cert.pem')}`,
        'Timeout 10',
        '',
        'IMAPStore far',
        'Account tidings',
        '',
        'MaildirStore near',
        `Path ${maildir}/`,
        `Inbox ${inbox}`,
        'SubFolders Verbatim',
        '',
        'Channel sync',
        'Far :far:',
        'Near :near:',
        'Patterns *',
        'Sync All',
        'Create Both',
        'Expunge Both',
        'SyncState *',
        '',
      ].join('\n'),
    );

    // Server side: two messages in the Inbox, one of them seen.
    for (const [subject, flags] of [
      ['server one', Flag.Seen],
      ['server two', 0],
    ] as const) {
      const p = await server.store.prepareMessage(msg(subject, 'Far Away <far@example.net>'));
      await account.addMessages('Inbox', [{ message: p, flags }]);
      await p.cleanup();
    }
    // And a mailbox one level down that the local side does not have yet.
    await account.createMailbox('Lists');
    await account.createMailbox('Lists/tidings');
    const p = await server.store.prepareMessage(msg('list post', 'List <list@example.net>'));
    await account.addMessages('Lists/tidings', [{ message: p, flags: Flag.Answered }]);
    await p.cleanup();

    // Local side: an unseen message in new/, a seen one in cur/, and a folder one level
    // down that the server does not have yet.
    await makeMaildir(inbox);
    await writeFile(join(inbox, 'new', '1743501000.P1Q1.local'), msg('local one', 'n@example.net'));
    await writeFile(
      join(inbox, 'cur', '1743501001.P1Q2.local:2,S'),
      msg('local two', 'n@example.net'),
    );
    await makeMaildir(join(maildir, 'Projects', '2025'));
    await writeFile(
      join(maildir, 'Projects', '2025', 'new', '1743501002.P1Q3.local'),
      msg('local project', 'n@example.net'),
    );
  });

  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  async function mbsync(): Promise<RunResult> {
    await backdate(maildir);
    const r = await run('mbsync', ['-c', rc, '-a'], {
      timeoutMs: 30_000,
      env: { ...process.env, HOME: work },
    });
    assert.equal(r.code, 0, `mbsync exited ${r.code} ${r.signal}\n${r.stderr}\n${r.stdout}`);
    assert.equal(r.stderr, '', 'mbsync reports no errors or warnings');
    return r;
  }

  const INBOX_AFTER_FIRST: Entry[] = [
    { subject: 'local one', flags: [] },
    { subject: 'local two', flags: ['\\Seen'] },
    { subject: 'server one', flags: ['\\Seen'] },
    { subject: 'server two', flags: [] },
  ];

  test('first run copies messages and mailboxes both ways', async () => {
    await mbsync();
    assert.deepEqual(await serverState(account, 'Inbox'), INBOX_AFTER_FIRST);
    assert.deepEqual(entries(await localState(inbox)), INBOX_AFTER_FIRST);

    // Messages arrive unchanged apart from the X-TUID line mbsync adds to find its copies
    // (Maildir files may use LF line ends).
    const stored = (await serverMessage(account, 'Inbox', 'local one')).data;
    assert.match(stored.toString(), /\r\nX-TUID: [A-Za-z0-9+/]{12}\r\n\r\n/);
    assert.equal(withoutTuid(stored), withoutTuid(msg('local one', 'n@example.net')));
    const fetched = (await localState(inbox)).find((l) => l.subject === 'server two');
    assert.ok(fetched);
    assert.equal(
      withoutTuid(await readFile(fetched.path)),
      withoutTuid(msg('server two', 'Far Away <far@example.net>')),
    );

    // Create Both: the local folder on the server (its parent created with it), the
    // server's folders locally.
    assert.deepEqual(await serverState(account, 'Projects/2025'), [
      { subject: 'local project', flags: [] },
    ]);
    assert.deepEqual(entries(await localState(join(maildir, 'Lists', 'tidings'))), [
      { subject: 'list post', flags: ['\\Answered'] },
    ]);
    for (const name of ['Archive', 'Drafts', 'Junk', 'Lists', 'Sent', 'Trash']) {
      assert.deepEqual(await localState(join(maildir, name)), [], name);
    }
    assert.deepEqual((await account.mailboxes()).map((m) => m.name).sort(), [
      'Archive',
      'Drafts',
      'Inbox',
      'Junk',
      'Lists',
      'Lists/tidings',
      'Projects',
      'Projects/2025',
      'Sent',
      'Trash',
    ]);
  });

  test('second run: no errors, no duplicates, nothing transferred again', async () => {
    const uidnext = (await account.mailbox('Inbox'))?.uidnext;
    const files = (await localState(inbox)).map((l) => l.path);
    await mbsync();
    // Nothing was uploaded or downloaded again.
    assert.equal((await account.mailbox('Inbox'))?.uidnext, uidnext);
    assert.deepEqual(
      (await localState(inbox)).map((l) => l.path),
      files,
    );
    assert.deepEqual(await serverState(account, 'Inbox'), INBOX_AFTER_FIRST);
    assert.deepEqual(entries(await localState(inbox)), INBOX_AFTER_FIRST);
    for (const [name, subject, flags] of [
      ['Projects/2025', 'local project', []],
      ['Lists/tidings', 'list post', ['\\Answered']],
    ] as const) {
      const want = [{ subject, flags: [...flags] }];
      assert.deepEqual(await serverState(account, name), want, name);
      assert.deepEqual(entries(await localState(join(maildir, name))), want, name);
    }
    // The parent the server created along with Projects/2025 now exists locally too.
    assert.deepEqual(await localState(join(maildir, 'Projects')), []);
  });

  test('flag changes travel both ways', async () => {
    // Server: flag "server two", unflag "server one" as seen. Local: mark "local one" seen
    // and "local two" unseen.
    const mb = await account.mailbox('Inbox');
    assert.ok(mb);
    const serverOne = await serverMessage(account, 'Inbox', 'server one');
    const serverTwo = await serverMessage(account, 'Inbox', 'server two');
    await account.storeFlags(mb.id, [serverTwo.uid], { mode: 'add', flags: Flag.Flagged });
    await account.storeFlags(mb.id, [serverOne.uid], { mode: 'remove', flags: Flag.Seen });

    const local = await localState(inbox);
    const setLocalFlags = async (subject: string, info: string) => {
      const l = local.find((e) => e.subject === subject);
      assert.ok(l, subject);
      const base = l.path.replace(/:2,[A-Za-z]*$/, '').replace(/\/new\//, '/cur/');
      await rename(l.path, `${base}:2,${info}`);
    };
    await setLocalFlags('local one', 'S');
    await setLocalFlags('local two', '');

    await mbsync();
    const want: Entry[] = [
      { subject: 'local one', flags: ['\\Seen'] },
      { subject: 'local two', flags: [] },
      { subject: 'server one', flags: [] },
      { subject: 'server two', flags: ['\\Flagged'] },
    ];
    assert.deepEqual(await serverState(account, 'Inbox'), want);
    assert.deepEqual(entries(await localState(inbox)), want);
  });

  test('deletions travel both ways', async () => {
    // Server: delete "server one". Local: remove the file of "local two".
    const mb = await account.mailbox('Inbox');
    assert.ok(mb);
    const { uid } = await serverMessage(account, 'Inbox', 'server one');
    await account.storeFlags(mb.id, [uid], { mode: 'add', flags: Flag.Deleted });
    assert.deepEqual((await account.expunge(mb.id, [uid])).uids, [uid]);
    const localTwo = (await localState(inbox)).find((l) => l.subject === 'local two');
    assert.ok(localTwo);
    await unlink(localTwo.path);

    await mbsync();
    const want: Entry[] = [
      { subject: 'local one', flags: ['\\Seen'] },
      { subject: 'server two', flags: ['\\Flagged'] },
    ];
    assert.deepEqual(await serverState(account, 'Inbox'), want);
    assert.deepEqual(entries(await localState(inbox)), want);

    // And once more: stable.
    await mbsync();
    assert.deepEqual(await serverState(account, 'Inbox'), want);
    assert.deepEqual(entries(await localState(inbox)), want);
  });
});
