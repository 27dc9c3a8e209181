// Interoperability with offlineimap3: two-way synchronisation between the server over
// IMAPS and a local Maildir. Messages from both sides end up on both sides once, a
// second run changes nothing on the server, and a flag set on the server and a message
// deleted locally travel.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, PASSWORD, type TestServer } from '../imap/harness.js';
import { Flag, flagNames, type Account } from '../../src/store/index.js';
import { run, subjectMessage } from './util.js';

const msg = subjectMessage;

const subjectOf = (data: string) => /^Subject: (.*)$/m.exec(data)?.[1] ?? '?';

describe('offlineimap3', () => {
  let server: TestServer;
  let a: Account;
  let work: string;
  let rc: string;
  let inbox: string;

  before(async () => {
    server = await startTestServer();
    a = await server.store.account('mjl');
    work = await mkdtemp(join(tmpdir(), 'tidings-offlineimap-'));
    inbox = join(work, 'mail', 'Inbox');
    rc = join(work, 'offlineimaprc');
    await writeFile(
      rc,
      [
        '[general]',
        'accounts = tidings',
        `metadata = ${join(work, 'meta')}`,
        'ui = basic',
        '',
        '[Account tidings]',
        'localrepository = local',
        'remoterepository = remote',
        '',
        '[Repository local]',
        'type = Maildir',
        `localfolders = ${join(work, 'mail')}`,
        '',
        '[Repository remote]',
        'type = IMAP',
        // The test certificate names localhost.
        'remotehost = localhost',
        `remoteport = ${server.imaps.port}`,
        'remoteuser = mjl@example.org',
        `remotepass = ${PASSWORD}`,
        'ssl = yes',
        `sslcacertfile = ${join(server.dir, 'cert.pem')}`,
        "folderfilter = lambda f: f == 'Inbox'",
        '',
      ].join('\n'),
    );
    for (const [subject, flags] of [
      ['server one', Flag.Seen],
      ['server two', 0],
    ] as const) {
      const p = await server.store.prepareMessage(msg(subject));
      await a.addMessages('Inbox', [{ message: p, flags }]);
      await p.cleanup();
    }
    // A message only the local side has.
    for (const d of ['cur', 'new', 'tmp']) await mkdir(join(inbox, d), { recursive: true });
    await writeFile(join(inbox, 'new', '1700000000.1.local'), msg('local one').toString());
  });
  after(async () => {
    await server.close();
    await rm(work, { recursive: true, force: true });
  });

  async function sync(): Promise<void> {
    const r = await run('offlineimap', ['-c', rc, '-o'], {
      env: { ...process.env, HOME: work },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `offlineimap failed:\n${r.stdout}${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /ERROR|Traceback/, r.stdout + r.stderr);
  }

  /** Server Inbox: "subject flags" sorted, and its UIDNEXT and HIGHESTMODSEQ. */
  async function serverState() {
    const mb = (await a.mailbox('Inbox'))!;
    const out: string[] = [];
    for (const m of await a.messages(mb.id, await a.uids(mb.id))) {
      const flags = [...flagNames(m.flags)].join(' ');
      out.push(`${subjectOf((await a.readMessage(m)).toString())} (${flags})`);
    }
    return { messages: out.sort(), marks: [mb.uidnext, await a.mailboxHighestModseq(mb.id)] };
  }

  /** Local Inbox: "subject info" sorted, with the Maildir flag letters. */
  async function localState(): Promise<{ name: string; path: string; line: string }[]> {
    const out = [];
    for (const sub of ['new', 'cur']) {
      for (const name of await readdir(join(inbox, sub))) {
        const path = join(inbox, sub, name);
        const info = /:2,([A-Z]*)$/.exec(name)?.[1] ?? '';
        out.push({ name, path, line: `${subjectOf(await readFile(path, 'utf8'))} ${info}` });
      }
    }
    return out.sort((x, y) => (x.line < y.line ? -1 : 1));
  }

  test('both ways, a second run that changes nothing, then a flag and a deletion', async () => {
    await sync();
    assert.deepEqual(
      (await localState()).map((l) => l.line),
      ['local one ', 'server one S', 'server two '],
    );
    const first = await serverState();
    assert.deepEqual(first.messages, ['local one ()', 'server one (\\Seen)', 'server two ()']);
    await sync();
    assert.deepEqual(await serverState(), first, 'the second run changed nothing on the server');

    // A flag set on the server, a message deleted locally.
    const mb = (await a.mailbox('Inbox'))!;
    const byLine = await localState();
    // UIDs: 1 and 2 the server's messages, 3 the one offlineimap appended.
    const twoUid = (await a.uids(mb.id))[1]!;
    await a.storeFlags(mb.id, [twoUid], { mode: 'add', flags: Flag.Flagged }, null);
    await unlink(byLine.find((l) => l.line.startsWith('local one'))!.path);
    await sync();
    assert.deepEqual(
      (await localState()).map((l) => l.line),
      ['server one S', 'server two F'],
    );
    assert.deepEqual((await serverState()).messages, [
      'server one (\\Seen)',
      'server two (\\Flagged)',
    ]);
  });
});
