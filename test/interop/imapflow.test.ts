// Interoperability with the imapflow client library: IMAPS and STARTTLS logins, LIST with
// special-use attributes, APPEND, FETCH of envelope, body structure, partial and decoded
// parts, flags, MOVE, COPY, mailbox management and IDLE notifications, all against a
// running server.
import { test, describe, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { startTestServer, PASSWORD, type TestServer } from '../imap/harness.js';
import { crlf, within } from './util.js';

const USER = 'mjl@example.org';

const PLAIN = crlf(
  'From: Interop Sender <sender@example.net>',
  'To: mjl@example.org',
  'Subject: imapflow interop',
  'Date: Tue, 01 Apr 2025 12:34:56 +0000',
  'Message-ID: <imapflow-1@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: 7bit',
  '',
  'Hello from imapflow.',
  'Second line.',
);
const PLAIN_BODY_SIZE = Buffer.byteLength('Hello from imapflow.\r\nSecond line.\r\n');

const ALTERNATIVE = crlf(
  'From: =?utf-8?q?J=C3=BCrgen?= <jurgen@example.net>',
  'To: mjl@example.org, Other <other@example.org>',
  'Subject: =?utf-8?b?R3LDvMOfZQ==?=',
  'Date: Wed, 02 Apr 2025 08:00:00 +0200',
  'Message-ID: <imapflow-2@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/alternative; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=C3=BC=C3=9Fe',
  '--b1',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Gr&uuml;&szlig;e</p>',
  '--b1--',
);

// Raw UTF-8 in the header (RFC 6532), a quoted-printable text part and a base64 attachment.
const ATTACHMENT = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0d, 0x0a, 0x41, 0xc3, 0xa9]);
const MIXED = crlf(
  'From: Jürgen Groß <jurgen@example.net>',
  'To: mjl@example.org',
  'Subject: Grüße aus Köln',
  'Date: Thu, 03 Apr 2025 18:00:00 +0000',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary=outer',
  '',
  'preamble',
  '--outer',
  'Content-Type: text/plain; charset=iso-8859-1',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=FC=DFe, caf=E9 =',
  'ol=E9',
  '--outer',
  'Content-Type: application/octet-stream; name=data.bin',
  'Content-Disposition: attachment; filename=data.bin',
  'Content-Transfer-Encoding: base64',
  '',
  ATTACHMENT.toString('base64'),
  '--outer--',
);

async function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

describe('imapflow', () => {
  let server: TestServer;
  const clients: ImapFlow[] = [];

  before(async () => {
    server = await startTestServer();
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  after(async () => {
    await server.close();
  });

  function client(opts: Partial<ImapFlowOptions>): ImapFlow {
    const c = new ImapFlow({
      host: '127.0.0.1',
      auth: { user: USER, pass: PASSWORD },
      tls: { rejectUnauthorized: false },
      logger: false,
      disableAutoIdle: true,
      connectionTimeout: 5_000,
      greetingTimeout: 5_000,
      socketTimeout: 30_000,
      ...opts,
    });
    // An unhandled 'error' event would crash the test process; failures surface as
    // rejected commands instead.
    c.on('error', () => {});
    clients.push(c);
    return c;
  }

  const imaps = () => client({ port: server.imaps.port, secure: true });

  test('IMAPS login and LIST with special-use attributes', async () => {
    const c = imaps();
    await within(10_000, 'connect', c.connect());
    assert.equal(c.authenticated, true);
    assert.ok(c.capabilities.has('IMAP4rev2'));
    assert.ok(c.capabilities.has('SPECIAL-USE'));

    const list = await within(10_000, 'list', c.list());
    const got = list
      .map((m) => ({ path: m.path, delimiter: m.delimiter, specialUse: m.specialUse ?? null }))
      .sort((a, b) => a.path.localeCompare(b.path));
    assert.deepEqual(got, [
      { path: 'Archive', delimiter: '/', specialUse: '\\Archive' },
      { path: 'Drafts', delimiter: '/', specialUse: '\\Drafts' },
      { path: 'INBOX', delimiter: '/', specialUse: '\\Inbox' },
      { path: 'Junk', delimiter: '/', specialUse: '\\Junk' },
      { path: 'Sent', delimiter: '/', specialUse: '\\Sent' },
      { path: 'Trash', delimiter: '/', specialUse: '\\Trash' },
    ]);
    // The special-use attributes come from the server, not from guessing by name.
    for (const m of list) {
      if (m.path !== 'INBOX') assert.equal(m.specialUseSource, 'extension', m.path);
      assert.equal(m.subscribed, true, m.path);
    }
    await within(10_000, 'logout', c.logout());
  });

  test('STARTTLS on the plain port, then login', async () => {
    const c = client({ port: server.imap.port, secure: false, doSTARTTLS: true });
    await within(10_000, 'connect', c.connect());
    assert.equal(c.authenticated, true);
    assert.ok(c.tls, 'connection upgraded to TLS');
    const box = await within(10_000, 'mailboxOpen', c.mailboxOpen('INBOX'));
    assert.equal(box.path, 'INBOX');
    assert.equal(box.readOnly, false);
    await within(10_000, 'logout', c.logout());
  });

  test('APPEND, FETCH envelope and body structure, flags, MOVE', async () => {
    const c = imaps();
    await within(10_000, 'connect', c.connect());
    const box = await within(10_000, 'mailboxOpen', c.mailboxOpen('INBOX'));
    assert.equal(box.exists, 0);
    const uidValidity = box.uidValidity;

    const a1 = await within(10_000, 'append', c.append('INBOX', PLAIN, ['\\Seen']));
    assert.ok(a1);
    assert.equal(a1.destination, 'INBOX');
    assert.equal(a1.uid, 1);
    assert.equal(a1.uidValidity, uidValidity);
    const a2 = await within(10_000, 'append', c.append('INBOX', ALTERNATIVE));
    assert.ok(a2);
    assert.equal(a2.uid, 2);

    const m1 = await within(
      10_000,
      'fetch 1',
      c.fetchOne(
        '1',
        { uid: true, flags: true, size: true, envelope: true, bodyStructure: true },
        { uid: true },
      ),
    );
    assert.ok(m1);
    assert.equal(m1.uid, 1);
    assert.equal(m1.size, PLAIN.length);
    assert.deepEqual([...(m1.flags ?? [])], ['\\Seen']);
    assert.deepEqual(m1.envelope, {
      date: new Date('2025-04-01T12:34:56Z'),
      subject: 'imapflow interop',
      messageId: '<imapflow-1@example.net>',
      from: [{ name: 'Interop Sender', address: 'sender@example.net' }],
      sender: [{ name: 'Interop Sender', address: 'sender@example.net' }],
      replyTo: [{ name: 'Interop Sender', address: 'sender@example.net' }],
      to: [{ name: '', address: 'mjl@example.org' }],
    });
    assert.deepEqual(m1.bodyStructure, {
      type: 'text/plain',
      parameters: { charset: 'utf-8' },
      encoding: '7bit',
      size: PLAIN_BODY_SIZE,
      lineCount: 2,
    });

    const m2 = await within(
      10_000,
      'fetch 2',
      c.fetchOne(
        '2',
        { uid: true, flags: true, size: true, envelope: true, bodyStructure: true },
        { uid: true },
      ),
    );
    assert.ok(m2);
    assert.equal(m2.size, ALTERNATIVE.length);
    assert.deepEqual([...(m2.flags ?? [])], []);
    assert.equal(m2.envelope?.subject, 'Grüße');
    assert.deepEqual(m2.envelope?.from, [{ name: 'Jürgen', address: 'jurgen@example.net' }]);
    assert.deepEqual(m2.envelope?.to, [
      { name: '', address: 'mjl@example.org' },
      { name: 'Other', address: 'other@example.org' },
    ]);
    assert.deepEqual(m2.bodyStructure, {
      type: 'multipart/alternative',
      parameters: { boundary: 'b1' },
      childNodes: [
        {
          part: '1',
          type: 'text/plain',
          parameters: { charset: 'utf-8' },
          encoding: 'quoted-printable',
          size: Buffer.byteLength('Gr=C3=BC=C3=9Fe'),
          lineCount: 1,
        },
        {
          part: '2',
          type: 'text/html',
          parameters: { charset: 'utf-8' },
          encoding: '7bit',
          size: Buffer.byteLength('<p>Gr&uuml;&szlig;e</p>'),
          lineCount: 1,
        },
      ],
    });

    // The body as the server stores it, byte for byte.
    const src = await within(
      10_000,
      'fetch source',
      c.fetchOne('1', { source: true }, { uid: true }),
    );
    assert.ok(src);
    assert.deepEqual(src.source, PLAIN);

    assert.equal(await c.messageFlagsAdd('2', ['\\Flagged', '$Label1'], { uid: true }), true);
    let f = await c.fetchOne('2', { flags: true }, { uid: true });
    assert.ok(f);
    assert.deepEqual([...(f.flags ?? [])].sort(), ['$Label1', '\\Flagged']);
    assert.equal(await c.messageFlagsRemove('2', ['\\Flagged'], { uid: true }), true);
    f = await c.fetchOne('2', { flags: true }, { uid: true });
    assert.ok(f);
    assert.deepEqual([...(f.flags ?? [])], ['$Label1']);

    const moved = await within(10_000, 'move', c.messageMove('2', 'Archive', { uid: true }));
    assert.ok(moved);
    assert.equal(moved.path, 'INBOX');
    assert.equal(moved.destination, 'Archive');
    assert.deepEqual([...(moved.uidMap ?? new Map())], [[2, 1]]);
    assert.equal(c.mailbox && c.mailbox.exists, 1);

    const st = await c.status('Archive', { messages: true, uidNext: true, unseen: true });
    assert.ok(st);
    assert.deepEqual(
      { messages: st.messages, uidNext: st.uidNext, unseen: st.unseen },
      { messages: 1, uidNext: 2, unseen: 1 },
    );
    await c.mailboxOpen('Archive');
    const inArchive = await c.fetchOne('1', { envelope: true, flags: true }, { uid: true });
    assert.ok(inArchive);
    assert.equal(inArchive.envelope?.subject, 'Grüße');
    assert.deepEqual([...(inArchive.flags ?? [])], ['$Label1']);
    await within(10_000, 'logout', c.logout());
  });

  test('UTF-8 headers, internal date, keywords, partial and decoded parts', async () => {
    const c = imaps();
    await within(10_000, 'connect', c.connect());
    assert.ok(c.enabled.has('UTF8=ACCEPT'));
    const internalDate = new Date('2025-03-01T10:11:12Z');
    const appended = await within(
      10_000,
      'append',
      c.append('Drafts', MIXED, ['\\Draft', '$Important'], internalDate),
    );
    assert.ok(appended);
    assert.equal(appended.destination, 'Drafts');
    await c.mailboxOpen('Drafts');
    const uid = String(appended.uid);

    const m = await within(
      10_000,
      'fetch',
      c.fetchOne(
        uid,
        {
          internalDate: true,
          flags: true,
          envelope: true,
          headers: ['subject'],
          bodyStructure: true,
        },
        { uid: true },
      ),
    );
    assert.ok(m);
    assert.deepEqual(m.internalDate, internalDate);
    assert.deepEqual([...(m.flags ?? [])].sort(), ['$Important', '\\Draft']);
    assert.equal(m.envelope?.subject, 'Grüße aus Köln');
    assert.deepEqual(m.envelope?.from, [{ name: 'Jürgen Groß', address: 'jurgen@example.net' }]);
    assert.equal(m.headers?.toString(), 'Subject: Grüße aus Köln\r\n\r\n');
    const text = 'Gr=FC=DFe, caf=E9 =\r\nol=E9';
    const b64 = ATTACHMENT.toString('base64');
    assert.deepEqual(m.bodyStructure, {
      type: 'multipart/mixed',
      parameters: { boundary: 'outer' },
      childNodes: [
        {
          part: '1',
          type: 'text/plain',
          parameters: { charset: 'iso-8859-1' },
          encoding: 'quoted-printable',
          size: text.length,
          lineCount: 2,
        },
        {
          part: '2',
          type: 'application/octet-stream',
          parameters: { name: 'data.bin' },
          encoding: 'base64',
          size: b64.length,
          disposition: 'attachment',
          dispositionParameters: { filename: 'data.bin' },
        },
      ],
    });

    // A byte range of the whole message: BODY.PEEK[]<10.12>.
    const partial = await c.fetchOne(uid, { source: { start: 10, maxLength: 12 } }, { uid: true });
    assert.ok(partial);
    assert.deepEqual(partial.source, MIXED.subarray(10, 22));

    // Raw part contents, then decoded downloads (BINARY, RFC 3516, and charset conversion).
    const parts = await c.fetchOne(uid, { bodyParts: ['1', '2'] }, { uid: true });
    assert.ok(parts);
    assert.equal(parts.bodyParts?.get('1')?.toString('latin1'), text);
    const att = await within(10_000, 'download 2', c.download(uid, '2', { uid: true }));
    assert.ok(att.content);
    assert.equal(att.meta.filename, 'data.bin');
    assert.deepEqual(await readAll(att.content), ATTACHMENT);
    const txt = await within(10_000, 'download 1', c.download(uid, '1', { uid: true }));
    assert.ok(txt.content);
    assert.equal((await readAll(txt.content)).toString('utf8'), 'Grüße, café olé');

    // Fetching the body parts was done with PEEK: the message is still unseen.
    const after = await c.fetchOne(uid, { flags: true }, { uid: true });
    assert.ok(after);
    assert.deepEqual([...(after.flags ?? [])].sort(), ['$Important', '\\Draft']);
    await within(10_000, 'logout', c.logout());
  });

  test('mailbox management, COPY and delete with UID EXPUNGE', async () => {
    const c = imaps();
    await within(10_000, 'connect', c.connect());
    const made = await c.mailboxCreate(['Projects', 'Büro']);
    // imapflow reads the MAILBOXID of CREATE's OK (RFC 8474 §4.1).
    assert.match(made.mailboxId ?? '', /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(made, { path: 'Projects/Büro', mailboxId: made.mailboxId, created: true });
    const names = (await c.list()).map((m) => m.path).filter((p) => p.startsWith('Projects'));
    assert.deepEqual(names.sort(), ['Projects', 'Projects/Büro']);
    assert.deepEqual(await c.mailboxRename('Projects/Büro', 'Projects/Küche'), {
      path: 'Projects/Büro',
      newPath: 'Projects/Küche',
    });

    await c.mailboxOpen('INBOX');
    const a = await c.append('INBOX', PLAIN);
    assert.ok(a && a.uid);
    const copied = await c.messageCopy(String(a.uid), 'Projects/Küche', { uid: true });
    assert.ok(copied);
    assert.equal(copied.destination, 'Projects/Küche');
    assert.deepEqual([...(copied.uidMap ?? new Map())], [[a.uid, 1]]);
    const before = c.mailbox && c.mailbox.exists;
    assert.equal(await c.messageDelete(String(a.uid), { uid: true }), true);
    assert.equal(c.mailbox && c.mailbox.exists, (before as number) - 1);
    assert.equal(await c.fetchOne(String(a.uid), { uid: true }, { uid: true }), false);

    const st = await c.status('Projects/Küche', { messages: true });
    assert.ok(st);
    assert.equal(st.messages, 1);
    await c.mailboxOpen('Projects/Küche');
    const m = await c.fetchOne('1', { envelope: true }, { uid: true });
    assert.ok(m);
    assert.equal(m.envelope?.subject, 'imapflow interop');
    await c.mailboxClose();

    assert.deepEqual(await c.mailboxDelete('Projects/Küche'), { path: 'Projects/Küche' });
    assert.deepEqual(await c.mailboxDelete('Projects'), { path: 'Projects' });
    const left = (await c.list()).map((m) => m.path).filter((p) => p.startsWith('Projects'));
    assert.deepEqual(left, []);
    await within(10_000, 'logout', c.logout());
  });

  test('IDLE reports messages added, flagged and expunged by another client', async () => {
    const watcher = imaps();
    const writer = imaps();
    await within(10_000, 'connect', Promise.all([watcher.connect(), writer.connect()]));
    const box = await watcher.mailboxOpen('INBOX');
    const before = box.exists;
    await writer.mailboxOpen('INBOX');

    const idling = watcher.idle();
    await waitFor('idle start', () => watcher.idling);

    // Every mailbox event imapflow emits, in order. imapflow enables CONDSTORE, so each
    // flags event carries a MODSEQ: checked to rise, then left out of the comparisons.
    const events: [string, unknown][] = [];
    const modseqs: bigint[] = [];
    for (const name of ['exists', 'flags', 'expunge']) {
      watcher.on(name, (e: { modseq?: bigint }) => {
        if (name === 'flags') {
          assert.equal(typeof e.modseq, 'bigint');
          modseqs.push(e.modseq!);
          delete e.modseq;
        }
        events.push([name, e]);
      });
    }
    const seq = before + 1;

    const appended = await writer.append('INBOX', PLAIN);
    assert.ok(appended && appended.uid);
    const uid = appended.uid;
    // A new message: EXISTS (RFC 9051 §7.4.1), then an unsolicited FETCH with its UID and
    // flags (§7.5.2), so the client has them without asking.
    const added: [string, unknown][] = [
      ['exists', { path: 'INBOX', count: seq, prevCount: before }],
      ['flags', { path: 'INBOX', seq, uid, flags: new Set() }],
    ];
    await waitFor('events for the new message', () => events.length >= 2);
    assert.deepEqual(events, added);

    await writer.messageFlagsAdd(String(uid), ['\\Flagged'], { uid: true });
    await waitFor('flags event', () => events.length >= 3);
    // messageDelete is STORE +FLAGS (\\Deleted), then UID EXPUNGE: two events.
    await writer.messageDelete(String(uid), { uid: true });
    await waitFor('expunge event', () => events.length >= 5);
    // imapflow adds a colour for a plain \Flagged.
    const flagged = { path: 'INBOX', seq, uid, flags: new Set(['\\Flagged']), flagColor: 'red' };
    assert.deepEqual(events, [
      ...added,
      ['flags', flagged],
      ['flags', { ...flagged, flags: new Set(['\\Flagged', '\\Deleted']) }],
      ['expunge', { path: 'INBOX', seq, vanished: false }],
    ]);
    assert.ok(modseqs[0]! < modseqs[1]! && modseqs[1]! < modseqs[2]!, String(modseqs));
    assert.equal(watcher.idling, true);

    // The next command ends IDLE with DONE.
    assert.equal(await within(10_000, 'noop', watcher.noop()), undefined);
    await within(5_000, 'idle end', idling);
    assert.equal(watcher.idling, false);
    assert.equal(watcher.mailbox && watcher.mailbox.exists, before);
    await within(10_000, 'logout', Promise.all([watcher.logout(), writer.logout()]));
  });

  test('CONDSTORE and QRESYNC: a reconnecting client gets only what changed', async () => {
    const first = client({ port: server.imaps.port, secure: true, qresync: true });
    await within(10_000, 'connect', first.connect());
    assert.ok(first.enabled.has('QRESYNC') && first.enabled.has('CONDSTORE'));
    await first.mailboxCreate('Resync');
    const uids: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await first.append('Resync', PLAIN);
      assert.ok(r && r.uid);
      uids.push(r.uid);
    }
    const box = await first.mailboxOpen('Resync');
    const { uidValidity, highestModseq } = box;
    assert.equal(typeof highestModseq, 'bigint');
    // CHANGEDSINCE at the current modseq: nothing.
    const none = await first.fetchAll(
      '1:*',
      { flags: true },
      { uid: true, changedSince: highestModseq! },
    );
    assert.equal(none.length, 0);
    await first.logout();

    // Meanwhile, another client flags one message and deletes another.
    const other = imaps();
    await within(10_000, 'connect', other.connect());
    await other.mailboxOpen('Resync');
    await other.messageFlagsAdd(String(uids[1]), ['\\Flagged'], { uid: true });
    await other.messageDelete(String(uids[3]), { uid: true });
    await other.logout();

    const again = client({ port: server.imaps.port, secure: true, qresync: true });
    await within(10_000, 'connect', again.connect());
    const flags: { uid: number; flags: Set<string> }[] = [];
    const expunged: { uid?: number; vanished: boolean; earlier?: boolean }[] = [];
    again.on('flags', (e: { uid: number; flags: Set<string> }) => flags.push(e));
    again.on('expunge', (e: { uid?: number; vanished: boolean; earlier?: boolean }) =>
      expunged.push(e),
    );
    // The QRESYNC options imapflow takes, which its typings leave out.
    const qresyncOpts = { uidValidity, changedSince: highestModseq } as object;
    const reopened = await again.mailboxOpen('Resync', qresyncOpts);
    assert.equal((reopened as { qresync?: boolean }).qresync, true);
    assert.ok(reopened.highestModseq! > highestModseq!);
    assert.deepEqual(
      flags.map((f) => [f.uid, [...f.flags]]),
      [[uids[1], ['\\Flagged']]],
    );
    assert.deepEqual(
      expunged.map((e) => [e.uid, e.vanished, e.earlier]),
      [[uids[3], true, true]],
    );
    // UID FETCH CHANGEDSINCE with VANISHED as imapflow sends it.
    const changed = await again.fetchAll(
      '1:*',
      { flags: true },
      { uid: true, changedSince: highestModseq! },
    );
    assert.deepEqual(
      changed.map((m) => m.uid),
      [uids[1]],
    );
    await again.logout();
  });
});

/** Polls `cond` until it holds; fails after 5 s, naming `what`. */
async function waitFor(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 5000 ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
