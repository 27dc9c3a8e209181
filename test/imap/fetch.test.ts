// FETCH and UID FETCH over real connections: data items, sections, partials, BINARY,
// implicit \Seen, sequence-set errors, messages expunged by another session, and a
// FETCH across many messages.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startTestServer, Client, noneRecent, type TestServer } from './harness.js';
import { Flag } from '../../src/store/index.js';
import { rawDatabase } from '../../src/store/testing.js';

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');

// RFC 3501 §7.4.2 FETCH example: the header of message 12, body 3028 octets in 92 lines.
const RFC3501 = readFileSync(
  new URL('../../src/message/testdata/rfc3501-fetch-example.eml', import.meta.url),
);
const RFC3501_ENVELOPE =
  '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" ' +
  '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
  '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
  '(("Terry Gray" NIL "gray" "cac.washington.edu")) ' +
  '((NIL NIL "imap" "cac.washington.edu")) ' +
  '((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) ' +
  'NIL NIL "<B27397-0100000@cac.washington.edu>")';

const RFC2049 = readFileSync(
  new URL('../../src/message/testdata/rfc2049-appendix-a.eml', import.meta.url),
);

const PARTS_HEADER = crlf(
  'From: a@x.org',
  'To: b@y.org',
  'Subject: parts',
  'Content-Type: multipart/mixed; boundary=outer',
  '',
);
const PARTS_TEXT = crlf(
  '--outer',
  'Content-Type: multipart/alternative; boundary=inner',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'Gr=C3=BC=C3=9Fe, caf=',
  '=C3=A9',
  '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>hi</p>',
  '--inner--',
  '--outer',
  'Content-Type: application/octet-stream',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename=bin.dat',
  '',
  'AAECAwD/',
  '--outer',
  'Content-Type: application/x-thing',
  'Content-Transfer-Encoding: x-uuencode',
  '',
  'begin 644 x',
  '--outer',
  'Content-Type: text/plain',
  'Content-Transfer-Encoding: base64',
  '',
  '!!!not base64',
  '--outer--',
);
const PARTS = Buffer.concat([PARTS_HEADER, PARTS_TEXT]);

/** `{n}\r\n` + data, as the harness joins a literal into its line. */
const lit = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
  return `{${b.length}}\r\n${b.toString('latin1')}`;
};

type NewMsg = {
  data: Buffer;
  flags?: number;
  keywords?: string[];
  internalDate?: number;
  prefix?: Buffer;
};

describe('FETCH', () => {
  let s: TestServer;
  let n = 0;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  /** Puts messages in a new mailbox; returns its name. */
  async function mailbox(msgs: NewMsg[]): Promise<string> {
    const name = `Fetch${++n}`;
    const a = await s.store.account('mjl');
    const prepared = [];
    for (const m of msgs) prepared.push({ ...m, message: await s.store.prepareMessage(m.data) });
    await a.addMessages(name, prepared, { create: true });
    for (const p of prepared) await p.message.cleanup();
    // \Recent is tested on its own (recent.test.ts); here none is.
    await noneRecent(a, name);
    return name;
  }

  async function selected(msgs: NewMsg[], cmd = 'SELECT'): Promise<Client> {
    const name = await mailbox(msgs);
    const c = await Client.login(s);
    await c.ok(`${cmd} ${name}`);
    return c;
  }

  /** Runs a command that must succeed and returns its untagged lines. */
  const lines = (c: Client, cmd: string) => c.ok(cmd);

  test('RFC 3501 example: ENVELOPE, BODY, BODYSTRUCTURE, FAST, INTERNALDATE', async () => {
    const date = Date.UTC(1996, 6, 17, 9, 44, 25);
    const c = await selected([{ data: RFC3501, flags: Flag.Seen, internalDate: date }]);
    assert.deepEqual(await lines(c, 'FETCH 1 (ENVELOPE BODYSTRUCTURE)'), [
      `* 1 FETCH (ENVELOPE ${RFC3501_ENVELOPE} BODYSTRUCTURE ("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 3028 92 NIL NIL NIL NIL))`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 FULL'), [
      `* 1 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 09:44:25 +0000" RFC822.SIZE ${RFC3501.length} ` +
        `ENVELOPE ${RFC3501_ENVELOPE} BODY ("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 3028 92))`,
    ]);
    assert.deepEqual(await lines(c, 'fetch 1 fast'), [
      `* 1 FETCH (FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 09:44:25 +0000" RFC822.SIZE ${RFC3501.length})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 RFC822.SIZE'), [
      `* 1 FETCH (RFC822.SIZE ${RFC3501.length})`,
    ]);
    // ENVELOPE without the structure is read from the envelope column (the other tests
    // here); a row without one (NULL) is answered from its structure.
    const a = await s.store.account('mjl');
    const env = rawDatabase(a).prepare('SELECT envelope FROM messages WHERE size = ?').pluck();
    assert.match(String(env.get(RFC3501.length)), /^\{"date":"Wed, 17 Jul 1996 02:23:25 -0700/);
    rawDatabase(a)
      .prepare('UPDATE messages SET envelope = NULL WHERE size = ?')
      .run(RFC3501.length);
    assert.deepEqual(await lines(c, 'FETCH 1 (INTERNALDATE ENVELOPE)'), [
      `* 1 FETCH (INTERNALDATE "17-Jul-1996 09:44:25 +0000" ENVELOPE ${RFC3501_ENVELOPE})`,
    ]);
    c.close();
  });

  test('ENVELOPE with UTF-8 text: a literal before UTF8=ACCEPT, quoted after', async () => {
    const msg = crlf(
      'From: =?utf-8?q?J=C3=B6rg?= <jorg@example.org>',
      'Subject: Grüße',
      'Message-ID: <u1@example.org>',
      '',
      'Hallo.',
    );
    const name = await mailbox([{ data: msg }]);
    const subject = Buffer.from('Grüße', 'utf8').toString('latin1');
    const rest = '(("=?utf-8?q?J=C3=B6rg?=" NIL "jorg" "example.org"))';
    const tail = `${rest} ${rest} ${rest} NIL NIL NIL NIL "<u1@example.org>"))`;
    const plain = await Client.login(s);
    await plain.ok(`EXAMINE ${name}`);
    const utf8 = await Client.login(s);
    await utf8.ok('ENABLE UTF8=ACCEPT');
    await utf8.ok(`EXAMINE ${name}`);
    // Each mode twice: the second answer comes from the rendered-envelope cache.
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(await plain.ok('FETCH 1 ENVELOPE'), [
        `* 1 FETCH (ENVELOPE (NIL {${subject.length}}\r\n${subject} ${tail}`,
      ]);
      assert.deepEqual(await utf8.ok('FETCH 1 ENVELOPE'), [
        `* 1 FETCH (ENVELOPE (NIL "${subject}" ${tail}`,
      ]);
    }
    plain.close();
    utf8.close();
  });

  test('RFC 2049 nested multipart BODYSTRUCTURE and sections of an enclosed message', async () => {
    const c = await selected([{ data: RFC2049, flags: Flag.Seen }]);
    assert.deepEqual(await lines(c, 'FETCH 1 BODYSTRUCTURE'), [
      '* 1 FETCH (BODYSTRUCTURE (' +
        '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 275 7 NIL NIL NIL NIL)' +
        '("text" "plain" ("charset" "US-ASCII") NIL NIL "7bit" 114 3 NIL NIL NIL NIL)' +
        '(("audio" "basic" NIL NIL NIL "base64" 91 NIL NIL NIL NIL)' +
        '("image" "jpeg" NIL NIL NIL "base64" 47 NIL NIL NIL NIL)' +
        ' "parallel" ("boundary" "unique-boundary-2") NIL NIL NIL)' +
        '("text" "enriched" NIL NIL NIL "7bit" 145 5 NIL NIL NIL NIL)' +
        '("message" "rfc822" NIL NIL NIL "7bit" 232 (NIL "(subject in US-ASCII)" NIL NIL NIL NIL NIL NIL NIL NIL) ' +
        '("text" "plain" ("charset" "ISO-8859-1") NIL NIL "quoted-printable" 51 1 NIL NIL NIL NIL) 7 NIL NIL NIL NIL)' +
        ' "mixed" ("boundary" "unique-boundary-1") NIL NIL NIL))',
    ]);
    const innerHeader = crlf(
      'From: (mailbox in US-ASCII)',
      'To: (address in US-ASCII)',
      'Subject: (subject in US-ASCII)',
      'Content-Type: Text/plain; charset=ISO-8859-1',
      'Content-Transfer-Encoding: Quoted-printable',
      '',
    );
    const innerText = '  ... Additional text in ISO-8859-1 goes here ...\r\n';
    assert.deepEqual(
      await lines(c, 'FETCH 1 (BODY[5.HEADER] BODY[5.TEXT] BODY[5.1] BODY[3.2] BODY[5.MIME])'),
      [
        `* 1 FETCH (BODY[5.HEADER] ${lit(innerHeader)} BODY[5.TEXT] ${lit(innerText)} BODY[5.1] ${lit(innerText)}` +
          ` BODY[3.2] ${lit('  ... base64-encoded image data goes here ...\r\n')}` +
          ` BODY[5.MIME] ${lit('Content-Type: message/rfc822\r\n\r\n')})`,
      ],
    );
    // HEADER after a part that is not message/rfc822, and parts that do not exist: NIL.
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY[1.HEADER] BODY[9] BODY[3.3] BODY[1.1])'), [
      '* 1 FETCH (BODY[1.HEADER] NIL BODY[9] NIL BODY[3.3] NIL BODY[1.1] NIL)',
    ]);
    c.close();
  });

  test('body sections: parts, MIME, HEADER.FIELDS, HEADER.FIELDS.NOT, TEXT, HEADER', async () => {
    const c = await selected([{ data: PARTS, flags: Flag.Seen }]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY[1.2] BODY[2.MIME])'), [
      `* 1 FETCH (BODY[1.2] ${lit('<p>hi</p>')} BODY[2.MIME] ` +
        lit(
          'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n' +
            'Content-Disposition: attachment; filename=bin.dat\r\n\r\n',
        ) +
        ')',
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (From Subject)])'), [
      `* 1 FETCH (BODY[HEADER.FIELDS (From Subject)] ${lit('From: a@x.org\r\nSubject: parts\r\n\r\n')})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (FROM "Subject")])'), [
      `* 1 FETCH (BODY[HEADER.FIELDS.NOT (FROM Subject)] ` +
        `${lit('To: b@y.org\r\nContent-Type: multipart/mixed; boundary=outer\r\n\r\n')})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY[TEXT] BODY[HEADER])'), [
      `* 1 FETCH (BODY[TEXT] ${lit(PARTS_TEXT)} BODY[HEADER] ${lit(PARTS_HEADER)})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (RFC822.HEADER RFC822.TEXT)'), [
      `* 1 FETCH (RFC822.HEADER ${lit(PARTS_HEADER)} RFC822.TEXT ${lit(PARTS_TEXT)})`,
    ]);
    // A header field name sent as a literal (LITERAL+) is echoed as an atom.
    c.write('L1 FETCH 1 (BODY.PEEK[HEADER.FIELDS ({2+}\r\nTo)])\r\n');
    const r = await c.until('L1');
    assert.deepEqual(r.untagged, [
      `* 1 FETCH (BODY[HEADER.FIELDS (To)] ${lit('To: b@y.org\r\n\r\n')})`,
    ]);
    assert.equal(r.tagged, 'OK FETCH done');
    c.close();
  });

  test('partial fetches are clamped and name their origin', async () => {
    const c = await selected([{ data: PARTS, flags: Flag.Seen }]);
    const size = PARTS.length;
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY.PEEK[]<0.10>)'), [
      `* 1 FETCH (BODY[]<0> ${lit('From: a@x.')})`,
    ]);
    assert.deepEqual(await lines(c, `FETCH 1 (BODY.PEEK[]<${size - 5}.100>)`), [
      `* 1 FETCH (BODY[]<${size - 5}> ${lit(PARTS.subarray(size - 5))})`,
    ]);
    assert.deepEqual(await lines(c, `FETCH 1 (BODY.PEEK[]<${size}.10> BODY.PEEK[1.2]<100.1>)`), [
      `* 1 FETCH (BODY[]<${size}> {0}\r\n BODY[1.2]<100> {0}\r\n)`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)]<9.100>)'), [
      `* 1 FETCH (BODY[HEADER.FIELDS (Subject)]<9> ${lit('parts\r\n\r\n')})`,
    ]);
    // BINARY partials count decoded octets and name their origin (RFC 9051 §7.5.2).
    assert.deepEqual(await lines(c, 'FETCH 1 (BINARY.PEEK[1.1]<2.4>)'), [
      `* 1 FETCH (BINARY[1.1]<2> ${lit('\xc3\xbc\xc3\x9f')})`,
    ]);
    c.close();
  });

  test('BINARY and BINARY.SIZE of a single quoted-printable body and of a message/rfc822 part', async () => {
    const qp = crlf(
      'From: a@x.org',
      'Subject: qp',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: Quoted-Printable',
      '',
      'caf=C3=A9 =3D 100%=',
      '',
      'line two=20',
      'end',
    );
    const inner = crlf('From: c@z.org', 'Subject: inner', '', 'inner body');
    const fwd = Buffer.concat([
      crlf(
        'From: a@x.org',
        'Subject: fwd',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'see attached',
        '--b',
        'Content-Type: message/rfc822',
        '',
      ),
      inner,
      crlf('--b--'),
    ]);
    const c = await selected([
      { data: qp, flags: Flag.Seen },
      { data: fwd, flags: Flag.Seen },
    ]);
    const body = 'caf\xc3\xa9 = 100%\r\nline two \r\nend\r\n';
    assert.deepEqual(await lines(c, 'FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])'), [
      `* 1 FETCH (BINARY.SIZE[1] ${Buffer.byteLength(body, 'latin1')} BINARY[1] ${lit(body)})`,
    ]);
    // RFC 3516 §4.2 allows BINARY of a message/rfc822 part: the message as it is (the
    // line break before the boundary belongs to the boundary, RFC 2046 §5.1.1).
    const enclosed = inner.subarray(0, inner.length - 2);
    assert.deepEqual(await lines(c, 'FETCH 2 (BINARY.SIZE[2] BINARY.PEEK[2])'), [
      `* 2 FETCH (BINARY.SIZE[2] ${enclosed.length} BINARY[2] ${lit(enclosed)})`,
    ]);
    c.close();
  });

  test('BINARY decodes base64 and quoted-printable; BINARY.SIZE; UNKNOWN-CTE', async () => {
    const c = await selected([
      { data: PARTS, flags: Flag.Seen },
      { data: RFC3501, flags: Flag.Seen },
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BINARY.PEEK[1.1] BINARY.PEEK[2] BINARY.PEEK[1.2])'), [
      `* 1 FETCH (BINARY[1.1] ${lit('Gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9')} BINARY[2] ~{6}\r\n\x00\x01\x02\x03\x00\xff` +
        ` BINARY[1.2] ${lit('<p>hi</p>')})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1:2 (BINARY.SIZE[1.1] BINARY.SIZE[2] BINARY.SIZE[9])'), [
      '* 1 FETCH (BINARY.SIZE[1.1] 14 BINARY.SIZE[2] 6 BINARY.SIZE[9] 0)',
      '* 2 FETCH (BINARY.SIZE[1.1] 0 BINARY.SIZE[2] 0 BINARY.SIZE[9] 0)',
    ]);
    // A non-multipart message's part 1 is its body.
    assert.deepEqual(await lines(c, 'FETCH 2 (BINARY.SIZE[1])'), [
      '* 2 FETCH (BINARY.SIZE[1] 3028)',
    ]);
    let r = await c.cmd('FETCH 1 (BINARY.PEEK[3])');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'NO [UNKNOWN-CTE] FETCH unknown content-transfer-encoding "x-uuencode"');
    r = await c.cmd('FETCH 1 (BINARY.SIZE[3])');
    assert.equal(r.tagged, 'NO [UNKNOWN-CTE] FETCH unknown content-transfer-encoding "x-uuencode"');
    r = await c.cmd('FETCH 1 (BINARY.PEEK[4])');
    assert.deepEqual(r.untagged, []);
    assert.equal(r.tagged, 'NO [UNKNOWN-CTE] FETCH invalid base64 data in message uid 1');
    r = await c.cmd('FETCH 1 (BINARY.PEEK[1])');
    assert.equal(r.tagged, 'NO FETCH BINARY is only for single parts and messages, not multipart');
    c.close();
  });

  test('large sections are streamed; literal8 for binary data with NUL', async () => {
    // Stored messages have CRLF line ends, so the test data does too.
    const big = Buffer.from(('a'.repeat(98) + '\r\n').repeat(3000));
    const bin = Buffer.alloc(200_000, 0x41);
    bin[150_000] = 0;
    const data = Buffer.concat([
      crlf(
        'Subject: big',
        'Content-Type: multipart/mixed; boundary=b',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
      ),
      big,
      crlf(
        '',
        '--b',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: binary',
        '',
      ),
      bin,
      crlf('', '--b--'),
    ]);
    const c = await selected([{ data, flags: Flag.Seen }]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY.PEEK[1])'), [`* 1 FETCH (BODY[1] ${lit(big)})`]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY.PEEK[]<1000.200000>)'), [
      `* 1 FETCH (BODY[]<1000> ${lit(data.subarray(1000, 201_000))})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BINARY.PEEK[2] BINARY.PEEK[1]<0.150000>)'), [
      `* 1 FETCH (BINARY[2] ~${lit(bin)} BINARY[1]<0> ${lit(big.subarray(0, 150_000))})`,
    ]);
    c.close();
  });

  test('NUL in a stored message: 0x80 in literals, NUL only in literal8 for BINARY', async () => {
    // RFC 9051 §4.3: a literal holds no NUL (CHAR8); only literal8 may, for BINARY. Such
    // messages may be in the store from before NUL was refused, or as BINARYMIME.
    const head = crlf('From: a@x.org', 'Subject: nul \x00 here', '');
    const body = Buffer.from('one\x00two\r\n', 'latin1');
    const data = Buffer.concat([head, body]);
    const big = Buffer.concat([crlf('Subject: big', ''), Buffer.alloc(200_000, 0x41)]);
    big[150_000] = 0;
    const c = await selected([{ data }, { data: big }]);
    const no = (b: Buffer) => Buffer.from(b.map((x) => (x === 0 ? 0x80 : x)));
    assert.deepEqual(
      await lines(c, 'FETCH 1 (RFC822.SIZE BODY.PEEK[] BODY.PEEK[TEXT] BODY.PEEK[1]<2.3>)'),
      [
        `* 1 FETCH (RFC822.SIZE ${data.length} BODY[] ${lit(no(data))} ` +
          `BODY[TEXT] ${lit(no(body))} BODY[1]<2> ${lit('e\x80t')})`,
      ],
    );
    assert.deepEqual(
      await lines(c, 'FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[HEADER.FIELDS (Subject)])'),
      [
        `* 1 FETCH (BODY[HEADER] ${lit(no(head))} ` +
          `BODY[HEADER.FIELDS (Subject)] ${lit('Subject: nul \x80 here\r\n\r\n')})`,
      ],
    );
    // RFC 3516 §4.2: BINARY data with NUL comes as literal8, exactly as stored.
    assert.deepEqual(await lines(c, 'FETCH 1 (BINARY.PEEK[] BINARY.PEEK[1])'), [
      `* 1 FETCH (BINARY[] ~${lit(data)} BINARY[1] ~${lit(body)})`,
    ]);
    // Header text has U+FFFD in place of NUL.
    const from = '((NIL NIL "a" "x.org"))';
    assert.deepEqual(await lines(c, 'FETCH 1 (ENVELOPE)'), [
      `* 1 FETCH (ENVELOPE (NIL ${lit('nul \xef\xbf\xbd here')} ${from} ${from} ${from} NIL NIL NIL NIL NIL))`,
    ]);
    // Streamed sections too.
    assert.deepEqual(await lines(c, 'FETCH 2 (BODY.PEEK[TEXT])'), [
      `* 2 FETCH (BODY[TEXT] ${lit(no(big.subarray(big.indexOf('\r\n\r\n') + 4)))})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 2 (BINARY.PEEK[1])'), [
      `* 2 FETCH (BINARY[1] ~${lit(big.subarray(big.indexOf('\r\n\r\n') + 4))})`,
    ]);
    c.close();
  });

  test('a delivery prefix counts in RFC822.SIZE and belongs to the header', async () => {
    const prefix = Buffer.from('Received: by test\r\n');
    const body = crlf('Subject: p', '', 'hello');
    const c = await selected([{ data: body, prefix, flags: Flag.Seen }]);
    assert.deepEqual(
      await lines(
        c,
        'FETCH 1 (RFC822.SIZE BODY[HEADER] BODY[1] BODY.PEEK[HEADER.FIELDS (Received)])',
      ),
      [
        `* 1 FETCH (RFC822.SIZE ${prefix.length + body.length} BODY[HEADER] ${lit('Received: by test\r\nSubject: p\r\n\r\n')}` +
          ` BODY[1] ${lit('hello\r\n')} BODY[HEADER.FIELDS (Received)] ${lit('Received: by test\r\n\r\n')})`,
      ],
    );
    c.close();
  });

  test('implicit \\Seen: BODY[], BINARY[], RFC822, RFC822.TEXT, not with PEEK', async () => {
    const msg = crlf('Subject: s', '', 'text');
    const c = await selected([1, 2, 3, 4, 5, 6].map(() => ({ data: msg })));
    assert.deepEqual(
      await lines(c, 'FETCH 1 (BODY.PEEK[TEXT] BINARY.PEEK[1] RFC822.HEADER BINARY.SIZE[1])'),
      [
        `* 1 FETCH (BODY[TEXT] ${lit('text\r\n')} BINARY[1] ${lit('text\r\n')} RFC822.HEADER ${lit('Subject: s\r\n\r\n')} BINARY.SIZE[1] 6)`,
      ],
    );
    assert.deepEqual(
      await lines(c, 'FETCH 1:6 FLAGS'),
      [1, 2, 3, 4, 5, 6].map((i) => `* ${i} FETCH (FLAGS ())`),
    );
    // FLAGS is added when the flag changed and FLAGS was not asked for.
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY[TEXT])'), [
      `* 1 FETCH (BODY[TEXT] ${lit('text\r\n')} FLAGS (\\Seen))`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY[TEXT])'), [
      `* 1 FETCH (BODY[TEXT] ${lit('text\r\n')})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 2 (FLAGS BINARY[1])'), [
      `* 2 FETCH (FLAGS (\\Seen) BINARY[1] ${lit('text\r\n')})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 3 (RFC822.SIZE RFC822)'), [
      `* 3 FETCH (RFC822.SIZE ${msg.length} RFC822 ${lit(msg)} FLAGS (\\Seen))`,
    ]);
    assert.deepEqual(await lines(c, 'UID FETCH 4 (RFC822.TEXT)'), [
      `* 4 FETCH (UID 4 RFC822.TEXT ${lit('text\r\n')} FLAGS (\\Seen))`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1:6 FLAGS'), [
      '* 1 FETCH (FLAGS (\\Seen))',
      '* 2 FETCH (FLAGS (\\Seen))',
      '* 3 FETCH (FLAGS (\\Seen))',
      '* 4 FETCH (FLAGS (\\Seen))',
      '* 5 FETCH (FLAGS ())',
      '* 6 FETCH (FLAGS ())',
    ]);
    c.close();
  });

  test('implicit \\Seen keeps keywords and is reported to other sessions', async () => {
    const name = await mailbox([{ data: crlf('Subject: k', '', 'x'), keywords: ['$label1'] }]);
    const a = await Client.login(s);
    const b = await Client.login(s);
    await a.ok(`SELECT ${name}`);
    await b.ok(`SELECT ${name}`);
    assert.deepEqual(await lines(a, 'FETCH 1 (BODY[])'), [
      `* 1 FETCH (BODY[] ${lit(crlf('Subject: k', '', 'x'))} FLAGS (\\Seen $label1))`,
    ]);
    assert.deepEqual(await lines(b, 'NOOP'), ['* 1 FETCH (UID 1 FLAGS (\\Seen $label1))']);
    a.close();
    b.close();
  });

  test('EXAMINE: fetching bodies does not set \\Seen', async () => {
    const msg = crlf('Subject: s', '', 'text');
    const c = await selected([{ data: msg }], 'EXAMINE');
    assert.deepEqual(await lines(c, 'FETCH 1 (BODY[] BINARY[1] RFC822.TEXT)'), [
      `* 1 FETCH (BODY[] ${lit(msg)} BINARY[1] ${lit('text\r\n')} RFC822.TEXT ${lit('text\r\n')})`,
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 FLAGS'), ['* 1 FETCH (FLAGS ())']);
    c.close();
  });

  test('UID FETCH always includes UID; UIDs that do not exist are ignored', async () => {
    const msg = crlf('Subject: s', '', 'text');
    const c = await selected([
      { data: msg, flags: Flag.Flagged },
      { data: msg, internalDate: Date.UTC(2024, 0, 5, 3, 4, 5) },
      { data: msg, flags: Flag.Seen | Flag.Answered },
    ]);
    assert.deepEqual(await lines(c, 'UID FETCH 2:* FLAGS'), [
      '* 2 FETCH (UID 2 FLAGS ())',
      '* 3 FETCH (UID 3 FLAGS (\\Seen \\Answered))',
    ]);
    assert.deepEqual(await lines(c, 'UID FETCH 1,3,7:9 (FLAGS UID)'), [
      '* 1 FETCH (FLAGS (\\Flagged) UID 1)',
      '* 3 FETCH (FLAGS (\\Seen \\Answered) UID 3)',
    ]);
    assert.deepEqual(await lines(c, 'UID FETCH 10:20 FLAGS'), []);
    assert.deepEqual(await lines(c, 'UID FETCH 2 INTERNALDATE'), [
      '* 2 FETCH (UID 2 INTERNALDATE "05-Jan-2024 03:04:05 +0000")',
    ]);
    assert.deepEqual(await lines(c, 'FETCH 3:2 (UID RFC822.SIZE)'), [
      `* 2 FETCH (UID 2 RFC822.SIZE ${msg.length})`,
      `* 3 FETCH (UID 3 RFC822.SIZE ${msg.length})`,
    ]);
    const r = await c.cmd('UID FETCH 1 FLAGS');
    assert.equal(r.tagged, 'OK UID FETCH done');
    c.close();
  });

  test('sequence set errors and syntax errors are BAD', async () => {
    const empty = await selected([]);
    assert.equal(
      (await empty.cmd('FETCH * FLAGS')).tagged,
      'BAD FETCH unrecognized syntax/command: * used on empty mailbox',
    );
    assert.deepEqual(await lines(empty, 'UID FETCH 1:* FLAGS'), []);
    empty.close();

    const msg = crlf('Subject: s', '', 'text');
    const c = await selected([{ data: msg }, { data: msg }]);
    const bad = async (cmd: string, why: string) => {
      const r = await c.cmd(cmd);
      assert.deepEqual(r.untagged, [], cmd);
      assert.equal(r.tagged, `BAD FETCH unrecognized syntax/command: ${why}`, cmd);
    };
    await bad('FETCH 3 FLAGS', 'message sequence number 3 above number of messages 2');
    await bad('FETCH 1:3 FLAGS', 'message sequence number 3 above number of messages 2');
    await bad('FETCH 1 (FLAGS FOO)', 'unknown fetch attribute "FOO"');
    await bad('FETCH 1 (ALL)', 'unknown fetch attribute "ALL"');
    await bad('FETCH 1 FLAGS (FOO 1)', 'unknown FETCH modifier FOO');
    await bad('FETCH 1 (BODY[HEADER.FIELDS ()])', 'expected atom');
    await bad('FETCH 1 (BODY[HEADER.FIELDS])', 'expected space');
    await bad('FETCH 1 (BODY[MIME])', 'invalid section');
    await bad('FETCH 1 (BODY[1.FOO])', 'invalid section');
    await bad('FETCH 1 (BODY[0])', 'expected non-zero number');
    await bad('FETCH 1 (BODY[TEXT)', 'expected "]"');
    await bad('FETCH 1 (BODY.PEEK)', 'expected "["');
    await bad('FETCH 1 (BINARY[HEADER])', 'only part numbers allowed in a BINARY section');
    await bad('FETCH 1 (BINARY[1.MIME])', 'only part numbers allowed in a BINARY section');
    await bad('FETCH 1 (BINARY.SIZE[1]<0.1>)', 'expected ")"');
    await bad('FETCH 1 (BODY[]<0.0>)', 'partial length must not be zero');
    await bad('FETCH 1 (BODY[]<1>)', 'expected "."');
    await bad('FETCH 1 (FLAGS', 'expected ")"');
    await bad('FETCH 1', 'expected space');
    c.close();
  });

  test('a message expunged by another session is served until this session is told', async () => {
    const msg1 = crlf('Subject: one', '', 'first');
    const msg2 = crlf('Subject: two', '', 'second');
    const name = await mailbox([{ data: msg1 }, { data: msg2 }]);
    const c = await Client.login(s);
    await c.ok(`SELECT ${name}`);
    const a = await s.store.account('mjl');
    const mb = (await a.mailbox(name))!;
    await a.storeFlags(mb.id, [1], { mode: 'add', flags: Flag.Deleted });
    await a.expunge(mb.id, [1]);
    // Non-UID FETCH must not send EXPUNGE, and the message is still there to fetch.
    assert.deepEqual(await lines(c, 'FETCH 1:2 (UID FLAGS)'), [
      '* 1 FETCH (UID 1 FLAGS (\\Deleted))',
      '* 2 FETCH (UID 2 FLAGS ())',
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (UID BODY[TEXT] BODYSTRUCTURE)'), [
      `* 1 FETCH (UID 1 BODY[TEXT] ${lit('first\r\n')} BODYSTRUCTURE ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL))`,
    ]);
    // UID FETCH serves it too, then reports the expunge.
    assert.deepEqual(await lines(c, 'UID FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])'), [
      `* 1 FETCH (UID 1 BODY[HEADER.FIELDS (Subject)] ${lit('Subject: one\r\n\r\n')})`,
      '* 1 FETCH (UID 1 FLAGS (\\Deleted))',
      '* 1 EXPUNGE',
    ]);
    assert.deepEqual(await lines(c, 'FETCH 1 (UID BODY.PEEK[TEXT])'), [
      `* 1 FETCH (UID 2 BODY[TEXT] ${lit('second\r\n')})`,
    ]);
    c.close();
  });

  test('ENVELOPE, INTERNALDATE and RFC822.SIZE on contiguous, gapped and sparse UID sets', async () => {
    const msgs: NewMsg[] = [];
    for (let i = 1; i <= 40; i++) {
      msgs.push({
        data: crlf(`From: "S ${i}" <s${i}@x.org>`, `Subject: m\\${i} "q"`, '', `b${i}`),
        internalDate: Date.UTC(2024, 1, 1, 0, 0, i),
        flags: i % 2 === 0 ? Flag.Seen : 0,
      });
    }
    const name = await mailbox(msgs);
    const a = await s.store.account('mjl');
    const mb = (await a.mailbox(name))!;
    await a.storeFlags(mb.id, [7], { mode: 'add', flags: Flag.Deleted });
    await a.expunge(mb.id, [7]);
    const c = await Client.login(s);
    await c.ok(`SELECT ${name}`);
    const size = (u: number) =>
      crlf(`From: "S ${u}" <s${u}@x.org>`, `Subject: m\\${u} "q"`, '', `b${u}`).length;
    const from = (u: number) => `(("S ${u}" NIL "s${u}" "x.org"))`;
    const env = (u: number) =>
      `(NIL "m\\\\${u} \\"q\\"" ${from(u)} ${from(u)} ${from(u)} NIL NIL NIL NIL NIL)`;
    const seq = (u: number) => (u < 7 ? u : u - 1);
    const line = (u: number) =>
      `* ${seq(u)} FETCH (UID ${u} FLAGS (${u % 2 === 0 ? '\\Seen' : ''}) ENVELOPE ${env(u)} ` +
      `INTERNALDATE "01-Feb-2024 00:00:${String(u).padStart(2, '0')} +0000" RFC822.SIZE ${size(u)})`;
    const fetch = (set: string) =>
      lines(c, `UID FETCH ${set} (FLAGS ENVELOPE INTERNALDATE RFC822.SIZE)`);
    // Contiguous, across the gap, and sparse (IN lists padded to 8 and to 16 UIDs).
    assert.deepEqual(await fetch('2:4'), [2, 3, 4].map(line));
    assert.deepEqual(await fetch('5:9'), [5, 6, 8, 9].map(line));
    assert.deepEqual(await fetch('1,20,40'), [1, 20, 40].map(line));
    const sparse = [1, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40];
    assert.deepEqual(await fetch(sparse.join(',')), sparse.map(line));
    assert.deepEqual(await lines(c, 'FETCH 39 (RFC822.SIZE UID)'), [
      `* 39 FETCH (RFC822.SIZE ${size(40)} UID 40)`,
    ]);

    // Expunged by another session: still served, from the same light read.
    await a.storeFlags(mb.id, [1], { mode: 'add', flags: Flag.Deleted });
    await a.expunge(mb.id, [1]);
    assert.deepEqual(await lines(c, 'FETCH 1 (ENVELOPE RFC822.SIZE)'), [
      `* 1 FETCH (ENVELOPE ${env(1)} RFC822.SIZE ${size(1)})`,
    ]);
    c.close();
  });

  test('FETCH 1:* of 2,000 messages streams all of them in order', async () => {
    const msgs: NewMsg[] = [];
    for (let i = 1; i <= 2000; i++) {
      msgs.push({
        data: crlf(`Subject: message ${i}`, '', `body ${i}`),
        flags: i % 3 === 0 ? Flag.Seen : 0,
      });
    }
    const name = await mailbox(msgs);
    const a = await s.store.account('mjl');
    const mb = (await a.mailbox(name))!;
    // Make the UIDs sparse: expunge every seventh message.
    const gone = [];
    for (let u = 7; u <= 2000; u += 7) gone.push(u);
    await a.storeFlags(mb.id, gone, { mode: 'add', flags: Flag.Deleted });
    await a.expunge(mb.id, gone);
    const live = [];
    for (let u = 1; u <= 2000; u++) if (u % 7 !== 0) live.push(u);

    const c = await Client.login(s);
    await c.ok(`SELECT ${name}`);
    const flagsOf = (u: number) => (u % 3 === 0 ? '(\\Seen)' : '()');
    assert.deepEqual(
      await lines(c, 'FETCH 1:* (UID FLAGS)'),
      live.map((u, i) => `* ${i + 1} FETCH (UID ${u} FLAGS ${flagsOf(u)})`),
    );
    assert.deepEqual(
      await lines(c, 'UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (Subject)] RFC822.SIZE)'),
      live.map((u, i) => {
        const header = `Subject: message ${u}\r\n\r\n`;
        const size = `Subject: message ${u}\r\n\r\nbody ${u}\r\n`.length;
        return `* ${i + 1} FETCH (UID ${u} BODY[HEADER.FIELDS (Subject)] ${lit(header)} RFC822.SIZE ${size})`;
      }),
    );
    assert.deepEqual(
      await lines(c, 'FETCH 1:* (UID ENVELOPE)'),
      live.map(
        (u, i) =>
          `* ${i + 1} FETCH (UID ${u} ENVELOPE (NIL "message ${u}" NIL NIL NIL NIL NIL NIL NIL NIL))`,
      ),
    );
    c.close();
  });
});
