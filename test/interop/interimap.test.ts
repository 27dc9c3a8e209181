// Interoperability with interimap, a QRESYNC client (RFC 7162): two-way synchronisation
// between two Tidings servers. interimap keeps each side's UIDNEXT and HIGHESTMODSEQ and
// learns what changed from SELECT ... (QRESYNC ...) alone, so a server that misreports
// VANISHED, MODSEQ or HIGHESTMODSEQ shows up as lost, duplicated or resent messages. Each
// sync is run twice; the second must find nothing to do.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, PASSWORD, type TestServer } from '../imap/harness.js';
import { Flag, flagNames, type Account } from '../../src/store/index.js';
import { run, subjectMessage } from './util.js';

const msg = subjectMessage;

async function add(s: TestServer, a: Account, mailbox: string, subject: string, flags = 0) {
  const p = await s.store.prepareMessage(msg(subject));
  await a.addMessages(mailbox, [{ message: p, flags }], { create: true });
  await p.cleanup();
}

/** Every mailbox's messages as "subject flags", sorted; and each mailbox's state. */
async function state(a: Account): Promise<{ messages: string[]; marks: string[] }> {
  const messages: string[] = [];
  const marks: string[] = [];
  for (const mb of await a.mailboxes()) {
    const uids = await a.uids(mb.id);
    for (const m of await a.messages(mb.id, uids)) {
      const data = (await a.readMessage(m)).toString();
      const subject = /^Subject: (.*)$/m.exec(data)?.[1] ?? '?';
      const flags = [...flagNames(m.flags), ...m.keywords].sort().join(' ');
      messages.push(`${mb.name}: ${subject} (${flags})`);
    }
    marks.push(`${mb.name} ${mb.uidnext} ${await a.mailboxHighestModseq(mb.id)}`);
  }
  return { messages: messages.sort(), marks };
}

describe('interimap', () => {
  let local: TestServer;
  let remote: TestServer;
  let la: Account;
  let ra: Account;
  let work: string;
  let config: string;

  before(async () => {
    local = await startTestServer();
    remote = await startTestServer();
    la = await local.store.account('mjl');
    ra = await remote.store.account('mjl');
    work = await mkdtemp(join(tmpdir(), 'tidings-interimap-'));
    config = join(work, 'config');
    const side = (name: string, s: TestServer) => [
      `[${name}]`,
      'type = imaps',
      'host = 127.0.0.1',
      `port = ${s.imaps.port}`,
      'username = mjl@example.org',
      `password = ${PASSWORD}`,
      'SSL_verify = NO',
      '',
    ];
    await writeFile(
      config,
      [
        `database = ${join(work, 'interimap.db')}`,
        '',
        ...side('local', local),
        // COMPRESS=DEFLATE on one side, as interimap's default for a remote.
        ...side('remote', remote),
      ].join('\n'),
    );
  });
  after(async () => {
    await local.close();
    await remote.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Runs interimap; it must succeed. Returns what it logged. */
  async function sync(): Promise<string> {
    const r = await run('interimap', [`--config=${config}`], {
      env: { ...process.env, HOME: work, XDG_DATA_HOME: work, XDG_CONFIG_HOME: work },
      timeoutMs: 60_000,
    });
    assert.equal(r.code, 0, `interimap failed:\n${r.stdout}${r.stderr}`);
    return r.stdout + r.stderr;
  }

  /** Syncs twice: the second run finds nothing, and changes nothing on either server. */
  async function syncTwice(): Promise<void> {
    await sync();
    const l1 = await state(la);
    const r1 = await state(ra);
    assert.deepEqual(l1.messages, r1.messages, 'both servers hold the same messages');
    const log = await sync();
    assert.doesNotMatch(log, /Added|Updated|Removed|Created|Subscribe|Expunge|Deleted/i, log);
    assert.deepEqual(await state(la), l1, 'the second run changed nothing locally');
    assert.deepEqual(await state(ra), r1, 'the second run changed nothing remotely');
  }

  test('first sync both ways, then changes both ways, each followed by a run with nothing to do', async () => {
    // Each side has mail the other lacks, and a mailbox of its own.
    await add(local, la, 'Inbox', 'local one', Flag.Seen);
    await add(local, la, 'Inbox', 'local two');
    await add(local, la, 'Projects', 'local project', Flag.Flagged);
    await add(remote, ra, 'Inbox', 'remote one', Flag.Answered);
    await add(remote, ra, 'Lists', 'remote list');
    await syncTwice();
    const first = (await state(la)).messages;
    assert.ok(first.includes('Inbox: remote one (\\Answered)'), first.join('\n'));
    assert.ok(first.includes('Projects: local project (\\Flagged)'), first.join('\n'));
    assert.ok(first.includes('Lists: remote list ()'), first.join('\n'));

    // Changes on both sides: a flag here, an expunge there, new mail on both.
    const inbox = (await la.mailbox('Inbox'))!;
    const lmsgs = await la.messages(inbox.id, await la.uids(inbox.id));
    const two = lmsgs.find((m) => m.part.envelope?.subject === 'local two')!;
    await la.storeFlags(inbox.id, [two.uid], { mode: 'add', flags: Flag.Flagged }, null);
    const rinbox = (await ra.mailbox('Inbox'))!;
    const rmsgs = await ra.messages(rinbox.id, await ra.uids(rinbox.id));
    const one = rmsgs.find((m) => m.part.envelope?.subject === 'local one')!;
    await ra.storeFlags(rinbox.id, [one.uid], { mode: 'add', flags: Flag.Deleted }, null);
    await ra.expunge(rinbox.id, [one.uid], null);
    await add(local, la, 'Projects', 'local later');
    await add(remote, ra, 'Inbox', 'remote later', Flag.Seen);
    await syncTwice();
    const after = (await state(ra)).messages;
    assert.deepEqual(after, [
      'Inbox: local two (\\Flagged)',
      'Inbox: remote later (\\Seen)',
      'Inbox: remote one (\\Answered)',
      'Lists: remote list ()',
      'Projects: local later ()',
      'Projects: local project (\\Flagged)',
    ]);
  });
});
