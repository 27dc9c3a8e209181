// Interoperability with dkimpy (Debian python3-dkim) and authres (python3-authres): mail
// DKIM-signed by dkimpy (rsa-sha256 and ed25519-sha256, keys and DNS records made by its
// dknewkey) and ARC-sealed by it gets pass from our verifier on port 25, and fail once
// changed; dkimpy verifies what our signer signs; authres parses the Authentication-Results
// we write (pass, fail, none, temperror, arc) into the methods, results and properties we
// meant. Python runs dkimpy_tool.py with requests on stdin; keys stay in files.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SmtpTestClient,
  ZONE,
  send,
  startSmtpTestServer,
  textOf,
  type SmtpTestServer,
} from '../smtp/harness.js';
import { dkimRecord, dkimSign, generateDkimKey, parseDkimKey } from '../../src/msgauth/index.js';
import type { MockZone } from '../../src/dns/index.js';
import { crlf } from './util.js';

// Debian's interpreter: the one that sees python3-dkim and python3-authres, whatever
// other python3 comes first in PATH.
const PYTHON = '/usr/bin/python3';
const DKNEWKEY = '/usr/bin/dknewkey';
const TOOL = fileURLToPath(new URL('./dkimpy_tool.py', import.meta.url));

/** Runs one dkimpy_tool.py command with `req` as JSON on stdin; its JSON answer. */
function dkimpy<T>(command: string, req: object): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [TOOL, command],
      { timeout: 60_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`dkimpy_tool ${command}: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as T);
      },
    );
    // A failure to start or run shows in the callback; a closed stdin is no news.
    child.stdin?.on('error', () => {});
    child.stdin?.end(JSON.stringify(req));
  });
}

/** Makes a key with dkimpy's dknewkey: the private key file and the DNS record it prints. */
function dknewkey(dir: string, name: string, type: 'rsa' | 'ed25519') {
  const base = join(dir, name);
  return new Promise<{ keyFile: string; record: string }>((resolve, reject) => {
    execFile(DKNEWKEY, ['--ktype', type, base], { timeout: 60_000 }, (err, _out, stderr) => {
      if (err) return reject(new Error(`dknewkey ${type}: ${err.message}\n${stderr}`));
      readFile(`${base}.dns`, 'ascii').then(
        (record) => resolve({ keyFile: `${base}.key`, record: record.trim() }),
        reject,
      );
    });
  });
}

const b64 = (m: Buffer) => m.toString('base64');
const SENDER_A = ['192.0.2.20'];

/** A signing request for dkimpy: "rsa" or "ed" key, with the selector of the same name. */
type Sign = { key: 'rsa' | 'ed'; domain?: string; selector?: string; canonicalize?: string };

describe('dkimpy and authres', () => {
  let server: SmtpTestServer;
  let dir: string;
  let keys: Record<'rsa' | 'ed' | 'arc', { keyFile: string; record: string }>;
  let zone: MockZone;
  // Our own keys, for the other direction.
  const ourRsa = generateDkimKey('rsa2048');
  const ourEd = generateDkimKey('ed25519');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tidings-dkimpy-'));
    keys = {
      rsa: await dknewkey(dir, 'rsa', 'rsa'),
      ed: await dknewkey(dir, 'ed', 'ed25519'),
      arc: await dknewkey(dir, 'arc', 'rsa'),
    };
    // dkimpy's records as dknewkey writes them: "v=DKIM1; k=rsa; h=sha256; p=…" and
    // "v=DKIM1; k=ed25519; p=…".
    assert.match(keys.rsa.record, /^v=DKIM1; k=rsa; h=sha256; p=[A-Za-z0-9+/]+=*$/);
    assert.match(keys.ed.record, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    zone = {
      ...ZONE,
      a: {
        ...ZONE.a,
        'client.example': ['127.0.0.1'],
        'dkimpy.example': SENDER_A,
        'relay.example': SENDER_A,
        'lists.example': SENDER_A,
        'hop2.example': SENDER_A,
        'plain.example': SENDER_A,
        'flaky.example': SENDER_A,
      },
      ptr: { '127.0.0.1': ['client.example'] },
      txt: {
        // No SPF for dkimpy.example: DMARC passes on the DKIM signature alone.
        '_dmarc.dkimpy.example': ['v=DMARC1; p=quarantine'],
        'rsa._domainkey.dkimpy.example': [keys.rsa.record],
        'ed._domainkey.dkimpy.example': [keys.ed.record],
        'relay.example': ['v=spf1 ip4:127.0.0.1 -all'],
        'rsa._domainkey.relay.example': [keys.rsa.record],
        'lists.example': ['v=spf1 ip4:127.0.0.1 -all'],
        'arc._domainkey.lists.example': [keys.arc.record],
        'hop2.example': ['v=spf1 ip4:127.0.0.1 -all'],
        'arc._domainkey.hop2.example': [keys.arc.record],
      },
      fail: {
        // Every TXT lookup for flaky.example fails for now: SPF, DKIM key, DMARC.
        'TXT flaky.example': 'temporary',
        'TXT rsa._domainkey.flaky.example': 'temporary',
        'TXT _dmarc.flaky.example': 'temporary',
        'PTR 127.0.0.2': 'temporary',
      },
    };
    server = await startSmtpTestServer({
      verification: { trustedArcSealers: ['lists.example'] },
    });
    server.resolver.setZone(zone);
  });
  after(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** TXT records of the zone, for dkimpy's DNS lookups. */
  const txt = (extra: Record<string, string> = {}) => ({
    ...Object.fromEntries(Object.entries(zone.txt ?? {}).map(([k, v]) => [k, v.join('')])),
    ...extra,
  });

  let seq = 0;
  /** A message with folded and oddly spaced header fields, an 8-bit body and a dot line. */
  function original(opts: { from?: string; subject?: string } = {}): {
    id: string;
    data: Buffer;
  } {
    const id = `dkimpy-${++seq}-${Date.now()}@dkimpy.example`;
    const data = crlf(
      `From: Alice Example <${opts.from ?? 'alice@dkimpy.example'}>`,
      'To: mjl@example.org',
      `Subject:  ${opts.subject ?? 'interop'}  with`,
      ' \t a folded  line ',
      'Date: Sat, 21 Nov 2026 10:00:00 +0000',
      `Message-ID: <${id}>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Hello  Bob, ',
      '.a line that starts with a dot',
      'Grüße\t aus Köln',
      '',
      '',
    );
    return { id, data };
  }

  async function sign(data: Buffer, s: Sign): Promise<Buffer> {
    const r = await dkimpy<{ header: string }>('sign', {
      message: b64(data),
      keyFile: keys[s.key].keyFile,
      selector: s.selector ?? s.key,
      domain: s.domain ?? 'dkimpy.example',
      algorithm: s.key === 'ed' ? 'ed25519-sha256' : 'rsa-sha256',
      ...(s.canonicalize ? { canonicalize: s.canonicalize } : {}),
    });
    return Buffer.concat([Buffer.from(r.header, 'ascii'), data]);
  }

  /** Asserts dkimpy's own verdict on each DKIM-Signature, topmost first. */
  async function dkimpyVerifies(data: Buffer, want: boolean[], records = txt(), what = '') {
    const r = await dkimpy<{ results: boolean[]; errors: string[] }>('verify', {
      message: b64(data),
      txt: records,
    });
    assert.deepEqual(r.results, want, `dkimpy ${what}: ${r.errors.join('; ')}`);
  }

  async function arcSeal(data: Buffer, domain: string, results: string): Promise<Buffer> {
    // The sealer's own Authentication-Results become its ARC-Authentication-Results.
    const withAr = Buffer.concat([
      Buffer.from(`Authentication-Results: ${domain}; ${results}\r\n`),
      data,
    ]);
    const r = await dkimpy<{ headers: string[] }>('arc-sign', {
      message: b64(withAr),
      keyFile: keys.arc.keyFile,
      selector: 'arc',
      domain,
      srvId: domain,
      // A seal made a minute ago, as by a forwarder on the way.
      timestamp: Math.floor(Date.now() / 1000) - 60,
    });
    assert.equal(r.headers.length, 3, `no ARC set made: ${JSON.stringify(r)}`);
    return Buffer.concat([Buffer.from(r.headers.join(''), 'ascii'), withAr]);
  }

  async function arcVerify(data: Buffer): Promise<{ cv: string; reason: string }> {
    return dkimpy('arc-verify', { message: b64(data), txt: txt() });
  }

  type Delivered = { mailbox: string; value: string; lines: string[] };

  /** Delivers on port 25 and returns where the copy went and our Authentication-Results. */
  async function deliver(
    mailFrom: string,
    data: Buffer,
    id: string,
    localAddress?: string,
  ): Promise<Delivered> {
    const c = await SmtpTestClient.open(server.smtp.port, localAddress ? { localAddress } : {});
    try {
      await c.ok('EHLO client.example');
      const r = await send(c, mailFrom, ['mjl@example.org'], data.toString('utf8'));
      assert.deepEqual(textOf(r), ['250 2.0.0 message accepted']);
    } finally {
      c.close();
    }
    const a = await server.store.account('mjl');
    for (const name of ['Inbox', 'Junk']) {
      const mb = await a.mailbox(name);
      if (!mb) continue;
      for (const m of await a.messages(mb.id, await a.uids(mb.id))) {
        const text = (await a.readMessage(m)).toString('utf8');
        if (!text.includes(`\r\nMessage-ID: <${id}>\r\n`)) continue;
        const f = /^Authentication-Results: ([^\r]*(?:\r\n[ \t][^\r]*)*)\r\n/m.exec(text);
        assert.ok(f, `no Authentication-Results in ${text.slice(0, 1000)}`);
        const value = f[1]!;
        assert.ok(value.startsWith('mail.example.org;'), value);
        return { mailbox: name, value, lines: value.split(/;\r\n\t/) };
      }
    }
    assert.fail(`message ${id} not stored`);
  }

  /** header.b as we write it: the first 12 characters of b=, quoted when not a token. */
  function headerB(signed: Buffer, index = 0): string {
    const sigs = [
      ...signed.toString('latin1').matchAll(/^DKIM-Signature:((?:[^\r]*\r\n[ \t])*[^\r]*)\r\n/gim),
    ];
    const field = sigs[index]![1]!.replace(/\s+/g, '');
    const b = /;b=([^;]{12})/.exec(field)![1]!;
    return /^[A-Za-z0-9+.-]+$/.test(b) ? b : `"${b}"`;
  }

  const IPREV = 'iprev=pass (client.example) policy.iprev=127.0.0.1';

  const VARIANTS: { name: string; sign: Sign; comment: string; algorithm: string }[] = [
    {
      name: 'rsa-sha256 relaxed/simple',
      sign: { key: 'rsa' },
      comment: '2048 bit rsa',
      algorithm: 'rsa-sha256',
    },
    {
      name: 'rsa-sha256 simple/simple',
      sign: { key: 'rsa', canonicalize: 'simple/simple' },
      comment: '2048 bit rsa',
      algorithm: 'rsa-sha256',
    },
    {
      name: 'ed25519-sha256 relaxed/relaxed',
      sign: { key: 'ed', canonicalize: 'relaxed/relaxed' },
      comment: 'ed25519',
      algorithm: 'ed25519-sha256',
    },
    {
      name: 'ed25519-sha256 simple/relaxed',
      sign: { key: 'ed', canonicalize: 'simple/relaxed' },
      comment: 'ed25519',
      algorithm: 'ed25519-sha256',
    },
  ];

  for (const v of VARIANTS) {
    test(`dkimpy ${v.name}: dkim=pass, and dmarc=pass on that signature alone`, async () => {
      const { id, data } = original();
      const signed = await sign(data, v.sign);
      await dkimpyVerifies(signed, [true]);
      const d = await deliver('alice@dkimpy.example', signed, id);
      assert.equal(d.mailbox, 'Inbox');
      assert.deepEqual(d.lines, [
        'mail.example.org',
        IPREV,
        'spf=none smtp.mailfrom=alice@dkimpy.example',
        `dkim=pass (${v.comment}) header.d=dkimpy.example header.s=${v.sign.key} header.a=${v.algorithm} header.b=${headerB(signed)}`,
        'dmarc=pass (p=quarantine) header.from=dkimpy.example',
      ]);
    });
  }

  test('dkimpy: signed with rsa and ed25519 at once, both pass', async () => {
    const { id, data } = original();
    const signed = await sign(await sign(data, { key: 'rsa' }), { key: 'ed' });
    await dkimpyVerifies(signed, [true, true]);
    const d = await deliver('alice@dkimpy.example', signed, id);
    assert.equal(d.mailbox, 'Inbox');
    assert.deepEqual(
      d.lines.filter((l) => l.startsWith('dkim=')),
      [
        `dkim=pass (ed25519) header.d=dkimpy.example header.s=ed header.a=ed25519-sha256 header.b=${headerB(signed, 0)}`,
        `dkim=pass (2048 bit rsa) header.d=dkimpy.example header.s=rsa header.a=rsa-sha256 header.b=${headerB(signed, 1)}`,
      ],
    );
  });

  test('dkimpy: changed after signing, body or signed header, is dkim=fail', async () => {
    for (const [what, change] of [
      ['body', (m: string) => m.replace('Hello  Bob', 'Hello  Eve')],
      ['header', (m: string) => m.replace('Subject:  interop', 'Subject:  [ext] interop')],
    ] as const) {
      for (const key of ['rsa', 'ed'] as const) {
        const { id, data } = original();
        const signed = await sign(data, { key });
        const changed = Buffer.from(change(signed.toString('utf8')));
        assert.ok(!changed.equals(signed));
        // dkimpy agrees the change breaks its signature.
        await dkimpyVerifies(changed, [false], txt(), `${what} ${key}`);
        const d = await deliver('alice@dkimpy.example', changed, id);
        const dkim = d.lines.find((l) => l.startsWith('dkim='))!;
        assert.match(
          dkim,
          new RegExp(
            `^dkim=fail \\(${what === 'body' ? 'body hash did not verify' : '[^)]+'}\\) header\\.d=dkimpy\\.example header\\.s=${key} `,
          ),
          `${what} ${key}`,
        );
        assert.ok(d.lines.includes('dmarc=fail (p=quarantine) header.from=dkimpy.example'));
        assert.equal(d.mailbox, 'Junk');
      }
    }
  });

  /** A message from dkimpy.example, signed, then changed and sealed by lists.example. */
  async function listed(): Promise<{ id: string; data: Buffer; b: string }> {
    const { id, data } = original({ subject: 'hello' });
    const signed = await sign(data, { key: 'rsa' });
    // The list tags the subject, which breaks the author's signature.
    const changed = Buffer.from(
      signed.toString('utf8').replace('Subject:  hello', 'Subject:  [list] hello'),
    );
    const sealed = await arcSeal(
      changed,
      'lists.example',
      'dkim=pass header.d=dkimpy.example header.s=rsa; spf=none smtp.mailfrom=alice@dkimpy.example; dmarc=pass header.from=dkimpy.example',
    );
    return { id, data: sealed, b: headerB(signed) };
  }

  const SRS = 'SRS0=x1Yz=AB=dkimpy.example=alice@lists.example';

  test('dkimpy ARC seal: arc=pass with the sealer; the trusted sealer overrides DMARC', async () => {
    const { id, data } = await listed();
    assert.equal((await arcVerify(data)).cv, 'pass');
    const d = await deliver(SRS, data, id);
    assert.deepEqual(d.lines.slice(0, 3), [
      'mail.example.org',
      IPREV,
      `spf=pass smtp.mailfrom=${SRS}`,
    ]);
    assert.match(d.lines[3]!, /^dkim=fail \([^)]+\) header\.d=dkimpy\.example header\.s=rsa /);
    assert.deepEqual(d.lines.slice(4), [
      'dmarc=fail (p=quarantine, override trusted_forwarder: arc sealed by lists.example) header.from=dkimpy.example',
      'arc=pass (i=1 sealer lists.example) smtp.remote-ip=127.0.0.1',
    ]);
    assert.equal(d.mailbox, 'Inbox');
  });

  test('dkimpy ARC: a chain of two seals passes, named by the last sealer', async () => {
    const { id, data } = await listed();
    const twice = await arcSeal(
      data,
      'hop2.example',
      'arc=pass smtp.remote-ip=192.0.2.1; spf=pass smtp.mailfrom=lists.example',
    );
    assert.equal((await arcVerify(twice)).cv, 'pass');
    const d = await deliver('bounce@hop2.example', twice, id);
    assert.ok(
      d.lines.includes('arc=pass (i=2 sealer hop2.example) smtp.remote-ip=127.0.0.1'),
      d.lines.join('\n'),
    );
  });

  test('dkimpy ARC: a chain changed after sealing is arc=fail', async () => {
    const changes: [string, (m: string) => string][] = [
      // The sealed body: the ARC-Message-Signature breaks.
      ['body', (m) => m.replace('Hello  Bob', 'Hello  Eve')],
      // The sealer's results: the ARC-Seal breaks.
      [
        'results',
        (m) =>
          m.replace(
            /^(ARC-Authentication-Results: i=1; lists\.example;[^]*?)dkim=pass/m,
            '$1dkim=fail',
          ),
      ],
    ];
    for (const [what, change] of changes) {
      const { id, data } = await listed();
      const changed = Buffer.from(change(data.toString('utf8')));
      assert.ok(!changed.equals(data), what);
      assert.equal((await arcVerify(changed)).cv, 'fail', what);
      const d = await deliver(SRS, changed, id);
      const arc = d.lines.find((l) => l.startsWith('arc='));
      assert.match(arc ?? '', /^arc=fail /, `${what}: ${d.lines.join('\n')}`);
      // No trusted chain, no override.
      assert.ok(d.lines.includes('dmarc=fail (p=quarantine) header.from=dkimpy.example'), what);
      assert.equal(d.mailbox, 'Junk', what);
    }
  });

  test('our signer: dkimpy verifies rsa and ed25519 signatures, and not a changed message', async () => {
    const { data } = original({ from: 'alice@ours.example' });
    const signers = [
      { domain: 'ours.example', selector: 'rsa', key: parseDkimKey(ourRsa.pem, 'rsa.pem') },
      { domain: 'ours.example', selector: 'ed', key: parseDkimKey(ourEd.pem, 'ed.pem') },
    ];
    const signed = Buffer.concat([Buffer.from(await dkimSign(data, signers), 'latin1'), data]);
    const records = txt({
      'rsa._domainkey.ours.example': dkimRecord(ourRsa),
      'ed._domainkey.ours.example': dkimRecord(ourEd),
    });
    await dkimpyVerifies(signed, [true, true], records);
    const changed = Buffer.from(signed.toString('utf8').replace('Hello  Bob', 'Hello  Eve'));
    await dkimpyVerifies(changed, [false, false], records);
    // Oversigned: an added To field breaks both signatures.
    const withTo = Buffer.from(
      signed
        .toString('utf8')
        .replace('To: mjl@example.org\r\n', 'To: mjl@example.org\r\nTo: eve@example.org\r\n'),
    );
    await dkimpyVerifies(withTo, [false, false], records);
  });

  type Result = { method: string; result: string; reason: null; props: [string, string][] };
  type Parsed = { authservId?: string; error?: string; results?: Result[] };

  const r = (method: string, result: string, ...props: [string, string][]): Result => ({
    method,
    result,
    reason: null,
    props,
  });
  /** A DKIM result's properties, header.b unquoted as a reader gets it. */
  const dkimProps = (d: string, sel: string, a: string, b: string): [string, string][] => [
    ['header.d', d],
    ['header.s', sel],
    ['header.a', a],
    ['header.b', b.replace(/"/g, '')],
  ];

  test('authres parses our Authentication-Results: pass, fail, none, temperror, arc', async () => {
    const cases: { name: string; d: Delivered; want: Result[] }[] = [];
    const iprev = r('iprev', 'pass', ['policy.iprev', '127.0.0.1']);

    // Pass: signed by dkimpy with both keys.
    {
      const { id, data } = original();
      const signed = await sign(await sign(data, { key: 'rsa' }), { key: 'ed' });
      cases.push({
        name: 'pass',
        d: await deliver('alice@dkimpy.example', signed, id),
        want: [
          iprev,
          r('spf', 'none', ['smtp.mailfrom', 'alice@dkimpy.example']),
          r(
            'dkim',
            'pass',
            ...dkimProps('dkimpy.example', 'ed', 'ed25519-sha256', headerB(signed, 0)),
          ),
          r(
            'dkim',
            'pass',
            ...dkimProps('dkimpy.example', 'rsa', 'rsa-sha256', headerB(signed, 1)),
          ),
          r('dmarc', 'pass', ['header.from', 'dkimpy.example']),
        ],
      });
    }
    // Fail: changed after signing, sent from a domain whose SPF passes but does not align.
    {
      const { id, data } = original();
      const signed = await sign(data, { key: 'rsa' });
      const changed = Buffer.from(signed.toString('utf8').replace('Hello  Bob', 'Hello  Eve'));
      cases.push({
        name: 'fail',
        d: await deliver('bounce@relay.example', changed, id),
        want: [
          iprev,
          r('spf', 'pass', ['smtp.mailfrom', 'bounce@relay.example']),
          r('dkim', 'fail', ...dkimProps('dkimpy.example', 'rsa', 'rsa-sha256', headerB(signed))),
          r('dmarc', 'fail', ['header.from', 'dkimpy.example']),
        ],
      });
    }
    // None: no signature, no SPF or DMARC record; a quoted local part in MAIL FROM, which
    // must reach the reader as that address.
    {
      const { id, data } = original({ from: 'bob@plain.example' });
      cases.push({
        name: 'none',
        d: await deliver('"bob smith"@plain.example', data, id),
        want: [
          iprev,
          r('spf', 'none', ['smtp.mailfrom', '"bob smith"@plain.example']),
          r('dkim', 'none'),
          r('dmarc', 'none', ['header.from', 'plain.example']),
        ],
      });
    }
    // Temperror: DNS fails for the PTR of 127.0.0.2 and every TXT of flaky.example.
    {
      const { id, data } = original({ from: 'carol@flaky.example' });
      const signed = await sign(data, { key: 'rsa', domain: 'flaky.example' });
      cases.push({
        name: 'temperror',
        d: await deliver('carol@flaky.example', signed, id, '127.0.0.2'),
        want: [
          r('iprev', 'temperror', ['policy.iprev', '127.0.0.2']),
          r('spf', 'temperror', ['smtp.mailfrom', 'carol@flaky.example']),
          r(
            'dkim',
            'temperror',
            ...dkimProps('flaky.example', 'rsa', 'rsa-sha256', headerB(signed)),
          ),
          r('dmarc', 'temperror', ['header.from', 'flaky.example']),
        ],
      });
    }
    // ARC pass and fail, with comments that hold colons and commas; an SRS MAIL FROM.
    for (const broken of [false, true]) {
      const { id, data, b } = await listed();
      const sent = broken
        ? Buffer.from(data.toString('utf8').replace('Hello  Bob', 'Hello  Eve'))
        : data;
      cases.push({
        name: broken ? 'arc fail' : 'arc pass',
        d: await deliver(SRS, sent, id),
        want: [
          iprev,
          r('spf', 'pass', ['smtp.mailfrom', SRS]),
          r('dkim', 'fail', ...dkimProps('dkimpy.example', 'rsa', 'rsa-sha256', b)),
          r('dmarc', 'fail', ['header.from', 'dkimpy.example']),
          r('arc', broken ? 'fail' : 'pass', ['smtp.remote-ip', '127.0.0.1']),
        ],
      });
    }

    const { headers } = await dkimpy<{ headers: Parsed[] }>('authres', {
      values: cases.map((c) => c.d.value),
    });
    assert.equal(headers.length, cases.length);
    cases.forEach((c, i) => {
      const h = headers[i]!;
      assert.equal(h.error, undefined, `${c.name}: authres: ${h.error}\n${c.d.value}`);
      assert.equal(h.authservId, 'mail.example.org', c.name);
      assert.deepEqual(h.results, c.want, `${c.name}:\n${c.d.value}`);
      // And that is what we wrote, line by line: method=result, then each property as
      // written, plain or as a quoted string.
      assert.equal(h.results!.length, c.d.lines.length - 1, c.name);
      h.results!.forEach((res, k) => {
        const line = c.d.lines[k + 1]!;
        assert.ok(line.startsWith(`${res.method}=${res.result}`), `${c.name}: ${line}`);
        for (const [name, value] of res.props) {
          assert.ok(
            line.includes(` ${name}=${value}`) || line.includes(` ${name}="${value}"`),
            `${c.name}: ${name}=${value} in ${line}`,
          );
        }
      });
    });
  });
});
