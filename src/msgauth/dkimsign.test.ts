import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { parseDomainsConfig } from '../config/domains.js';
import { MockResolver } from '../dns/mock.js';
import { dkimRecord, generateDkimKey, type GeneratedDkimKey } from './dkimkey.js';
import {
  DEFAULT_SIGNED_HEADERS,
  DkimKeyCache,
  DkimKeyError,
  DkimSignError,
  dkimSign,
  parseDkimKey,
  signersFor,
  type DkimSigner,
} from './dkimsign.js';
import { verifyDkim } from './dkimverify.js';

const rsa = generateDkimKey('rsa2048');
const ed = generateDkimKey('ed25519');
const rsaKey = parseDkimKey(rsa.pem, 'rsa.pem');
const edKey = parseDkimKey(ed.pem, 'ed.pem');
const NOW = new Date('2025-03-01T12:00:00Z');
const T = 1740830400;

const resolver = new MockResolver({
  txt: {
    'r2025._domainkey.example.com': [dkimRecord(rsa)],
    'e2025._domainkey.example.com': [dkimRecord(ed)],
  },
});

const signers: DkimSigner[] = [
  { domain: 'example.com', selector: 'r2025', key: rsaKey },
  { domain: 'Example.COM', selector: 'e2025', key: edKey, expirationMs: 7 * 86_400_000 },
];

const message = Buffer.from(
  [
    'From: Alice <alice@example.com>',
    'To: bob@example.org',
    'Subject: Lunch  on',
    '\tFriday ',
    'Date: Sat, 01 Mar 2025 12:00:00 +0000',
    'Message-ID: <1@example.com>',
    'X-Unsigned: yes',
    '',
    'Hello  Bob, ',
    '',
    'see you.',
    '',
    '',
  ].join('\r\n'),
);

function fields(sig: string): string[] {
  return sig.split(/\r\n(?![ \t])/).filter((f) => f !== '');
}

function tags(field: string): Map<string, string> {
  const value = field.slice(field.indexOf(':') + 1).replace(/\r\n[ \t]/g, ' ');
  const out = new Map<string, string>();
  for (const part of value.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return out;
}

async function results(msg: Buffer): Promise<string[]> {
  return (await verifyDkim(msg, resolver, { now: NOW })).map(
    (r) => `${r.domain} ${r.selector} ${r.result}`,
  );
}

describe('dkimSign', () => {
  test('rsa-sha256 and ed25519-sha256 signatures verify', async () => {
    const sig = await dkimSign(message, signers, { now: NOW });
    const fs = fields(sig);
    assert.equal(fs.length, 2);
    assert.ok(sig.endsWith('\r\n'));
    for (const line of sig.slice(0, -2).split('\r\n')) assert.ok(line.length <= 78, line);
    assert.equal(tags(fs[0] as string).get('a'), 'rsa-sha256');
    assert.equal(tags(fs[1] as string).get('a'), 'ed25519-sha256');
    assert.deepEqual(await results(Buffer.concat([Buffer.from(sig), message])), [
      'example.com r2025 pass',
      'example.com e2025 pass',
    ]);
  });

  test('exact tags: t=, x= with expiration, no l=, relaxed/relaxed, body hash', async () => {
    const sig = await dkimSign(message, signers, { now: NOW });
    const [r, e] = fields(sig).map(tags) as [Map<string, string>, Map<string, string>];
    // Relaxed body (RFC 6376 §3.4.4): trailing WSP dropped, runs of WSP become one SP,
    // empty lines at the end removed.
    const bh = createHash('sha256').update('Hello Bob,\r\n\r\nsee you.\r\n').digest('base64');
    assert.deepEqual([...r.keys()], ['v', 'a', 'c', 'd', 's', 't', 'h', 'bh', 'b']);
    assert.deepEqual([...e.keys()], ['v', 'a', 'c', 'd', 's', 't', 'x', 'h', 'bh', 'b']);
    assert.equal(r.get('v'), '1');
    assert.equal(r.get('c'), 'relaxed/relaxed');
    assert.equal(r.get('d'), 'example.com');
    assert.equal(e.get('d'), 'example.com');
    assert.equal(r.get('t'), String(T));
    assert.equal(e.get('x'), String(T + 7 * 86400));
    assert.equal(r.get('bh'), bh);
    assert.equal(e.get('bh'), bh);
    const field = fields(sig)[1] as string;
    assert.equal(
      field.slice(0, field.indexOf('\r\n b=')),
      'DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com;\r\n' +
        ' s=e2025; t=1740830400; x=1741435200; h=From:From:To:To:Cc:Reply-To:Subject:\r\n' +
        ' Subject:Date:Date:Message-ID:Message-ID:In-Reply-To:References:MIME-Version:\r\n' +
        ' Content-Type:Content-Transfer-Encoding:List-Id:List-Unsubscribe:\r\n' +
        ` List-Unsubscribe-Post; bh=${bh};`,
    );
  });

  test('every listed header field is signed once more than it occurs', async () => {
    const sig = await dkimSign(message, signers.slice(0, 1), { now: NOW });
    const h = (tags(fields(sig)[0] as string).get('h') ?? '').split(':');
    assert.deepEqual(h, [
      'From',
      'From',
      'To',
      'To',
      'Cc',
      'Reply-To',
      'Subject',
      'Subject',
      'Date',
      'Date',
      'Message-ID',
      'Message-ID',
      'In-Reply-To',
      'References',
      'MIME-Version',
      'Content-Type',
      'Content-Transfer-Encoding',
      'List-Id',
      'List-Unsubscribe',
      'List-Unsubscribe-Post',
    ]);
    assert.deepEqual(DEFAULT_SIGNED_HEADERS.slice(0, 2), ['From', 'To']);
    // A From field added later, above or below, breaks the signature.
    const signed = Buffer.concat([Buffer.from(sig), message]);
    const added = Buffer.from(`${sig}From: mallory@example.net\r\n${message.toString()}`);
    assert.deepEqual(await results(added), ['example.com r2025 fail']);
    const cc = Buffer.from(`${sig}Cc: eve@example.net\r\n${message.toString()}`);
    assert.deepEqual(await results(cc), ['example.com r2025 fail']);
    // Unsigned fields may be added.
    const other = Buffer.from(`${sig}Received: from x\r\n${message.toString()}`);
    assert.deepEqual(await results(other), ['example.com r2025 pass']);
    assert.deepEqual(await results(signed), ['example.com r2025 pass']);
  });

  test('repeated fields are signed bottom-up', async () => {
    const msg = Buffer.from(
      'To: a@example.org\r\nFrom: x@example.com\r\nTo: b@example.org\r\n\r\nhi\r\n',
    );
    const sig = await dkimSign(msg, [{ ...signers[0]!, headers: ['To'] }], { now: NOW });
    assert.equal(tags(fields(sig)[0] as string).get('h'), 'From:From:To:To:To');
    assert.deepEqual(await results(Buffer.concat([Buffer.from(sig), msg])), [
      'example.com r2025 pass',
    ]);
    const swapped = Buffer.from(
      'To: b@example.org\r\nFrom: x@example.com\r\nTo: a@example.org\r\n\r\nhi\r\n',
    );
    assert.deepEqual(await results(Buffer.concat([Buffer.from(sig), swapped])), [
      'example.com r2025 fail',
    ]);
  });

  test('tampered body or signed header fails', async () => {
    const sig = Buffer.from(await dkimSign(message, signers, { now: NOW }));
    const body = Buffer.from(message.toString().replace('see you.', 'see you!'));
    assert.deepEqual(await results(Buffer.concat([sig, body])), [
      'example.com r2025 fail',
      'example.com e2025 fail',
    ]);
    const v = await verifyDkim(Buffer.concat([sig, body]), resolver, { now: NOW });
    assert.match(
      v[0]!.info,
      /^dkim=fail \(body hash did not verify\) header\.i=@example\.com header\.s=r2025 /,
    );
    const subject = Buffer.from(message.toString().replace('Lunch', 'Dinner'));
    assert.deepEqual(await results(Buffer.concat([sig, subject])), [
      'example.com r2025 fail',
      'example.com e2025 fail',
    ]);
    // Relaxed canonicalization tolerates whitespace changes in headers and body.
    const ws = Buffer.from(
      message
        .toString()
        .replace('Subject: Lunch  on', 'subject:Lunch on')
        .replace('Hello  Bob, ', 'Hello Bob,'),
    );
    assert.deepEqual(await results(Buffer.concat([sig, ws])), [
      'example.com r2025 pass',
      'example.com e2025 pass',
    ]);
  });

  test('an expired signature is not a pass', async () => {
    const sig = await dkimSign(message, signers.slice(1), { now: NOW });
    const later = new Date(NOW.getTime() + 8 * 86_400_000);
    const v = await verifyDkim(Buffer.concat([Buffer.from(sig), message]), resolver, {
      now: later,
    });
    // RFC 6376 §3.5 x=: past it the signature does not verify.
    assert.equal(v[0]?.result, 'fail');
    assert.equal(v[0]?.comment, 'signature expired');
    assert.match(v[0]?.info ?? '', /^dkim=fail \(expired\)/);
  });

  test('ed25519 signs the SHA-256 of the canonical header (RFC 8463 §3)', async () => {
    // UTF-8 "à" is C3 A0: the A0 octet is not whitespace (RFC 6376 §3.4.2: WSP is SP, HTAB).
    const msg = Buffer.from('FROM :  a@example.com \r\nSubject: x\r\n \tvoilà  y \r\n\r\n');
    const sig = await dkimSign(
      msg,
      [{ ...signers[1]!, headers: ['Subject'], expirationMs: undefined }],
      { now: NOW },
    );
    const field = fields(sig)[0] as string;
    const b = Buffer.from(tags(field).get('b') ?? '', 'base64');
    const unsigned = field.slice(0, field.indexOf('b=', field.indexOf('bh=') + 3) + 2);
    const canonSig = unsigned
      .replace(/\r\n/g, '')
      .replace(/[ \t]+/g, ' ')
      .replace(/^DKIM-Signature: /, 'dkim-signature:');
    const data = Buffer.from(`from:a@example.com\r\nsubject:x voilà y\r\n${canonSig}`);
    const pub = createPublicKey(edKey.privateKey);
    assert.ok(verify(null, createHash('sha256').update(data).digest(), pub, b));
    assert.equal(tags(field).get('bh'), createHash('sha256').update('').digest('base64'));
    assert.equal(tags(field).get('h'), 'From:From:Subject:Subject');
  });

  test('stream input gives the same signatures as a buffer', async () => {
    const big = Buffer.concat([message, Buffer.from('line of text\r\n'.repeat(50_000))]);
    const fromBuffer = await dkimSign(big, signers, { now: NOW });
    const chunks: Buffer[] = [];
    for (let i = 0; i < big.length; i += 7) chunks.push(big.subarray(i, i + 7));
    const fromStream = await dkimSign(() => Readable.from(chunks), signers, { now: NOW });
    assert.equal(fromStream, fromBuffer);
    assert.deepEqual(await results(Buffer.concat([Buffer.from(fromStream), big])), [
      'example.com r2025 pass',
      'example.com e2025 pass',
    ]);
  });

  test('bare LF line ends sign as CRLF', async () => {
    const lf = Buffer.from(message.toString().replace(/\r\n/g, '\n'));
    const sig = await dkimSign(lf, signers, { now: NOW });
    assert.equal(sig, await dkimSign(message, signers, { now: NOW }));
  });

  test('a message without a body', async () => {
    const msg = Buffer.from('From: a@example.com\r\nSubject: x\r\n');
    const sig = await dkimSign(msg, signers.slice(0, 1), { now: NOW });
    assert.equal(
      tags(fields(sig)[0] as string).get('bh'),
      createHash('sha256').update('').digest('base64'),
    );
  });

  test('From is always signed; invalid settings are refused', async () => {
    const sig = await dkimSign(message, [{ ...signers[0]!, headers: ['subject', 'SUBJECT'] }], {
      now: NOW,
    });
    assert.equal(tags(fields(sig)[0] as string).get('h'), 'From:From:subject:subject');
    assert.equal(await dkimSign(message, []), '');
    const bad: [Partial<DkimSigner>, string][] = [
      [{ domain: 'exa mple.com' }, 'invalid signing domain "exa mple.com"'],
      [{ selector: 'a;b' }, 'invalid selector "a;b"'],
      [{ headers: ['Bad:Name'] }, 'invalid header field name "Bad:Name"'],
      [{ expirationMs: -1 }, 'invalid signature expiration -1'],
    ];
    for (const [change, msg] of bad) {
      await assert.rejects(dkimSign(message, [{ ...signers[0]!, ...change }]), (e: unknown) => {
        assert.ok(e instanceof DkimSignError);
        assert.equal(e.message, msg);
        return true;
      });
    }
  });
});

describe('signersFor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-dkimsign-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, g: GeneratedDkimKey) => writeFileSync(join(dir, name), g.pem);
  write('a.pem', rsa);
  write('b.pem', ed);
  const file = join(dir, 'domains.toml');
  const cfg = parseDomainsConfig(
    `
[domains."example.com".dkim]
sign = ["b2", "a1"]
selectors.a1 = { private_key_file = "a.pem" }
selectors.b2 = { private_key_file = "b.pem", headers = ["From", "Subject"], expiration = "2h" }
selectors.unused = { private_key_file = "missing.pem" }

[domains."example.org"]

[domains."bücher.example".dkim]
sign = ["x"]
selectors.x = { private_key_file = "missing.pem" }
`,
    file,
  );

  test("the domain's sign list, in order", async () => {
    const keys = new DkimKeyCache();
    const got = await signersFor(cfg, 'EXAMPLE.com.', keys);
    assert.deepEqual(
      got.map((s) => [s.domain, s.selector, s.key.algorithm, s.headers, s.expirationMs]),
      [
        ['example.com', 'b2', 'ed25519-sha256', ['From', 'Subject'], 7_200_000],
        ['example.com', 'a1', 'rsa-sha256', undefined, undefined],
      ],
    );
    assert.equal((await signersFor(cfg, 'example.com', keys))[0]?.key, got[0]?.key);
    const sig = await dkimSign(message, got, { now: NOW });
    assert.equal(fields(sig).length, 2);
  });

  test('no signers for unknown domains or an empty sign list', async () => {
    const keys = new DkimKeyCache();
    assert.deepEqual(await signersFor(cfg, 'example.org', keys), []);
    assert.deepEqual(await signersFor(cfg, 'sub.example.com', keys), []);
    assert.deepEqual(await signersFor(cfg, 'toString', keys), []);
    assert.deepEqual(await signersFor(cfg, '', keys), []);
  });

  test('an unusable key file rejects with DkimKeyError; IDN domains match', async () => {
    await assert.rejects(signersFor(cfg, 'Bücher.example', new DkimKeyCache()), (e: unknown) => {
      assert.ok(e instanceof DkimKeyError);
      assert.equal(e.file, join(dir, 'missing.pem'));
      return true;
    });
  });
});
