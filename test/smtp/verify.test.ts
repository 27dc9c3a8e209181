// Verification of incoming mail through the SMTP server: the Authentication-Results and
// Received-SPF headers of each delivered copy (exact lines), DMARC policies (reject,
// quarantine, pct, subdomain policy, strict alignment), overrides by a trusted ARC
// forwarder and by the account, forged Authentication-Results, a DNS server that never
// answers, and the DNSSEC state of iprev and SPF through a resolver that reports it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { sealMessage } from 'mailauth/lib/arc/index.js';
import {
  DOMAINS,
  ZONE,
  message,
  send,
  smtp,
  textOf,
  withServer,
  type SmtpTestServer,
} from './harness.js';
import {
  dkimRecord,
  dkimSign,
  generateDkimKey,
  parseDkimKey,
  type DkimSigner,
} from '../../src/msgauth/index.js';
import {
  MockResolver,
  StubResolver,
  SystemResolver,
  TestDNSServer,
  type MockZone,
  type Resolver,
} from '../../src/dns/index.js';

const ed = generateDkimKey('ed25519');
const edKey = parseDkimKey(ed.pem, 'ed.pem');
const rsa = generateDkimKey('rsa2048');
const rsaPem = createPrivateKey(rsa.pem).export({ type: 'pkcs8', format: 'pem' }).toString();

/** DNS of the senders: the client is 127.0.0.1, named client.example. */
const SENDERS: MockZone = {
  ...ZONE,
  a: {
    ...ZONE.a,
    'client.example': ['127.0.0.1'],
    // Sender domains take replies (MAIL FROM needs an MX or address).
    ...Object.fromEntries(
      [
        'good.example',
        'strict.example',
        'quarantined.example',
        'sampled.example',
        'org.example',
        'sub.org.example',
        'forwarder.example',
        'other-forwarder.example',
      ].map((d) => [d, ['192.0.2.20']]),
    ),
  },
  ptr: { '127.0.0.1': ['client.example'] },
  txt: {
    'good.example': ['v=spf1 ip4:127.0.0.1 -all'],
    '_dmarc.good.example': ['v=DMARC1; p=reject; rua=mailto:dmarc@good.example'],
    'sel._domainkey.good.example': [dkimRecord(ed)],
    'strict.example': ['v=spf1 -all'],
    '_dmarc.strict.example': ['v=DMARC1; p=reject; adkim=s'],
    'sel._domainkey.strict.example': [dkimRecord(ed)],
    'sel._domainkey.mail.strict.example': [dkimRecord(ed)],
    'quarantined.example': ['v=spf1 -all'],
    '_dmarc.quarantined.example': ['v=DMARC1; p=quarantine'],
    'sampled.example': ['v=spf1 -all'],
    '_dmarc.sampled.example': ['v=DMARC1; p=reject; pct=20'],
    'org.example': ['v=spf1 -all'],
    '_dmarc.org.example': ['v=DMARC1; p=none; sp=reject'],
    'forwarder.example': ['v=spf1 ip4:127.0.0.1 -all'],
    'arc._domainkey.forwarder.example': [dkimRecord(rsa)],
    'other-forwarder.example': ['v=spf1 ip4:127.0.0.1 -all'],
    'arc._domainkey.other-forwarder.example': [dkimRecord(rsa)],
  },
};

const DONE = ['250 2.0.0 message accepted'];
const DMARC_REJECT = ['550 5.7.26 dmarc policy rejects message from this domain'];

function signer(domain: string): DkimSigner {
  return { domain, selector: 'sel', key: edKey };
}

async function signed(data: string, domain: string): Promise<string> {
  return (await dkimSign(Buffer.from(data), [signer(domain)])) + data;
}

/** Stored messages of a mailbox, as text. */
async function stored(s: SmtpTestServer, name: string, account = 'mjl'): Promise<string[]> {
  const a = await s.store.account(account);
  const mb = await a.mailbox(name);
  if (!mb) return [];
  const out: string[] = [];
  for (const m of await a.messages(mb.id, await a.uids(mb.id))) {
    out.push((await a.readMessage(m)).toString());
  }
  return out;
}

/** The Authentication-Results field of a stored message, unfolded into its method lines. */
function authResults(msg: string): string[] {
  const m = /^Authentication-Results: ([^\r]*(?:\r\n\t[^\r]*)*)\r\n/m.exec(msg);
  assert.ok(m, `no Authentication-Results in ${msg.slice(0, 800)}`);
  return m[1]!.split(/;\r\n\t/);
}

function receivedSpf(msg: string): string {
  const m = /^Received-SPF: ([^\r]*(?:\r\n\t[^\r]*)*)\r\n/m.exec(msg);
  assert.ok(m);
  return m[1]!.replace(/\r\n\t/g, ' ');
}

const reason = (msg: string) => /^X-Tidings-Reason: ([^\r]*)\r\n/m.exec(msg)?.[1];

async function withSenders(
  opts: Parameters<typeof withServer>[0],
  fn: (s: SmtpTestServer) => Promise<void>,
) {
  await withServer(opts, async (s) => {
    s.resolver.setZone(SENDERS);
    await fn(s);
  });
}

test('verify: a signed message from an SPF-allowed host passes everything; exact headers', async () => {
  await withSenders({}, async (s) => {
    const c = await smtp(s);
    const data = await signed(message({ from: 'Alice <alice@good.example>' }), 'good.example');
    const field = data.slice(0, data.indexOf('\r\nFrom: ')).replace(/\r\n[ \t]+/g, ' ');
    const b = /[;\s]b=([^;\s]{12})/.exec(field)![1]!;
    assert.deepEqual(textOf(await send(c, 'alice@good.example', ['mjl@example.org'], data)), DONE);
    const [msg] = await stored(s, 'Inbox');
    assert.deepEqual(authResults(msg!), [
      'mail.example.org',
      'iprev=pass (client.example) policy.iprev=127.0.0.1',
      'spf=pass smtp.mailfrom=alice@good.example',
      `dkim=pass (ed25519) header.d=good.example header.s=sel header.a=ed25519-sha256 header.b=${b.includes('/') ? `"${b}"` : b}`,
      'dmarc=pass (p=reject) header.from=good.example',
    ]);
    assert.equal(
      receivedSpf(msg!),
      'pass (mail.example.org: domain of alice@good.example designates 127.0.0.1 as permitted sender)' +
        ' client-ip=127.0.0.1; envelope-from="alice@good.example"; helo=client.example; identity=mailfrom; receiver=mail.example.org;',
    );
    // RFC 8601 §2.1 order: Return-Path, then Authentication-Results, Received-SPF, Received.
    assert.match(
      msg!,
      /^X-Tidings-Reason: no-bad-signals\r\nDelivered-To: [^\r]+\r\nReturn-Path: [^\r]+\r\nAuthentication-Results: [^]*\r\nReceived-SPF: [^]*\r\nReceived: /,
    );
    c.close();
  });
});

test('verify: DMARC p=reject without an aligned pass is refused with 5.7.26', async () => {
  await withSenders({}, async (s) => {
    const c = await smtp(s);
    // Forged From: SPF passes for another domain, no signature.
    const data = message({ from: 'Bank <alice@good.example>' });
    assert.deepEqual(
      textOf(await send(c, 'someone@forwarder.example', ['mjl@example.org'], data)),
      DMARC_REJECT,
    );
    assert.deepEqual(await stored(s, 'Inbox'), []);
    // A signature by another domain does not align either.
    const other = await signed(data, 'strict.example');
    assert.deepEqual(
      textOf(await send(c, 'x@forwarder.example', ['mjl@example.org'], other)),
      DMARC_REJECT,
    );
    c.close();
  });
});

test('verify: quarantine delivers to Junk; pct samples out; a subdomain gets sp', async () => {
  let sample = 50;
  await withSenders({ verification: { sample: () => sample } }, async (s) => {
    const c = await smtp(s);
    const q = message({ from: 'q@quarantined.example', subject: 'quarantined' });
    assert.deepEqual(textOf(await send(c, 'q@quarantined.example', ['mjl@example.org'], q)), DONE);
    const [junk] = await stored(s, 'Junk');
    assert.equal(reason(junk!), 'dmarc-policy; dmarc policy quarantine of quarantined.example');
    assert.ok(
      authResults(junk!).includes('dmarc=fail (p=quarantine) header.from=quarantined.example'),
    );
    // pct=20: a sample of 50 is outside it; reject becomes quarantine (RFC 7489 §6.6.4).
    const p = message({ from: 'p@sampled.example', subject: 'sampled' });
    assert.deepEqual(textOf(await send(c, 'p@sampled.example', ['mjl@example.org'], p)), DONE);
    const [, sampled] = await stored(s, 'Junk');
    assert.equal(reason(sampled!), 'dmarc-policy; dmarc policy quarantine of sampled.example');
    assert.ok(
      authResults(sampled!).includes(
        'dmarc=fail (p=reject, sampled_out) header.from=sampled.example',
      ),
    );
    sample = 10;
    assert.deepEqual(
      textOf(await send(c, 'p@sampled.example', ['mjl@example.org'], p)),
      DMARC_REJECT,
    );
    // No record at sub.org.example: the org domain's sp applies, not its p=none.
    const sub = message({ from: 'x@sub.org.example' });
    assert.deepEqual(
      textOf(await send(c, 'x@sub.org.example', ['mjl@example.org'], sub)),
      DMARC_REJECT,
    );
    assert.deepEqual(
      textOf(
        await send(c, 'x@org.example', ['mjl@example.org'], message({ from: 'x@org.example' })),
      ),
      DONE,
    );
    c.close();
  });
});

test('verify: adkim=s needs the exact From domain; a subdomain signature does not align', async () => {
  await withSenders({}, async (s) => {
    const c = await smtp(s);
    const data = message({ from: 'a@strict.example' });
    const sub = await signed(data, 'mail.strict.example');
    assert.deepEqual(
      textOf(await send(c, 'a@strict.example', ['mjl@example.org'], sub)),
      DMARC_REJECT,
    );
    const exact = await signed(data, 'strict.example');
    assert.deepEqual(textOf(await send(c, 'a@strict.example', ['mjl@example.org'], exact)), DONE);
    c.close();
  });
});

/** A message from good.example (p=reject), changed and ARC-sealed by `forwarder`. */
async function forwarded(forwarder: string): Promise<string> {
  const orig = await signed(
    message({ from: 'Alice <alice@good.example>', subject: 'hello' }),
    'good.example',
  );
  // The list adds a subject tag: the original signature breaks.
  const changed = orig.replace('Subject: hello', 'Subject: [list] hello');
  const seal = await sealMessage(Buffer.from(changed), {
    signingDomain: forwarder,
    selector: 'arc',
    privateKey: rsaPem,
    authResults: `${forwarder}; dkim=pass header.d=good.example; dmarc=pass header.from=good.example`,
    cv: 'none',
  } as never);
  return seal.toString() + changed;
}

test('verify: a valid ARC chain from a trusted forwarder overrides a DMARC reject', async () => {
  const domains =
    DOMAINS +
    `
[accounts.trusting]
domain = "example.org"
destinations = { "trusting@example.org" = {} }
trusted_arc_sealers = ["other-forwarder.example"]
`;
  await withSenders(
    { domains, verification: { trustedArcSealers: ['forwarder.example'] } },
    async (s) => {
      const c = await smtp(s);
      const data = await forwarded('forwarder.example');
      assert.deepEqual(
        textOf(await send(c, 'bounce@forwarder.example', ['mjl@example.org'], data)),
        DONE,
      );
      const [msg] = await stored(s, 'Inbox');
      const ar = authResults(msg!);
      assert.ok(
        ar.includes(
          'dmarc=fail (p=reject, override trusted_forwarder: arc sealed by forwarder.example) header.from=good.example',
        ),
        ar.join('\n'),
      );
      assert.ok(ar.includes('arc=pass (i=1 sealer forwarder.example) smtp.remote-ip=127.0.0.1'));
      assert.match(
        ar.find((l) => l.startsWith('dkim='))!,
        /^dkim=fail /,
      );
      // Another forwarder: trusted by one account only.
      const other = await forwarded('other-forwarder.example');
      assert.deepEqual(
        textOf(await send(c, 'b@other-forwarder.example', ['mjl@example.org'], other)),
        DMARC_REJECT,
      );
      assert.deepEqual(
        textOf(await send(c, 'b@other-forwarder.example', ['trusting@example.org'], other)),
        DONE,
      );
      c.close();
    },
  );
});

test('verify: an account can allow DMARC failures from a domain', async () => {
  const domains = DOMAINS.replace(
    'destinations = { "mjl@example.org" = {}, "other@example.org" = { mailbox = "Other" } }',
    'destinations = { "mjl@example.org" = {}, "other@example.org" = { mailbox = "Other" } }\nallow_dmarc_failures_from = ["good.example"]',
  );
  await withSenders({ domains }, async (s) => {
    const c = await smtp(s);
    const data = message({ from: 'news@lists.good.example' });
    // Accepted for mjl, refused for limited: the sender hears of limited in a DSN.
    assert.deepEqual(
      textOf(
        await send(c, 'x@forwarder.example', ['mjl@example.org', 'limited@example.org'], data),
      ),
      DONE,
    );
    const dsn = s.recorded.added.at(-1)?.data.toString() ?? '';
    assert.match(dsn, /^Status: 5\.7\.26\r$/m);
    assert.match(dsn, /^Final-Recipient: rfc822;limited@example\.org\r$/m);
    const [msg] = await stored(s, 'Inbox');
    assert.equal(
      reason(msg!),
      'no-bad-signals; dmarc policy reject of good.example; overridden: local_policy (account allows good.example)',
    );
    assert.deepEqual(await stored(s, 'Inbox', 'limited'), []);
    c.close();
  });
});

test('verify: Authentication-Results claiming our host name are obscured, others kept', async () => {
  await withSenders({}, async (s) => {
    const c = await smtp(s);
    const data = message({
      from: 'alice@good.example',
      extra:
        'Authentication-Results: mail.example.org; dkim=pass header.d=bank.example\r\n' +
        'Authentication-Results: (comment) MAIL.EXAMPLE.ORG; spf=pass\r\n' +
        'Authentication-Results: mx.good.example; spf=pass\r\n',
    });
    assert.deepEqual(textOf(await send(c, 'alice@good.example', ['mjl@example.org'], data)), DONE);
    const [msg] = await stored(s, 'Inbox');
    const body = msg!.slice(msg!.indexOf('\r\nFrom: ') + 2);
    assert.match(
      body,
      /^X-Removed-Auth-Results: mail\.example\.org; dkim=pass header\.d=bank\.example\r$/m,
    );
    assert.match(body, /^X-Removed-Auth-Results: \(comment\) MAIL\.EXAMPLE\.ORG; spf=pass\r$/m);
    assert.match(body, /^Authentication-Results: mx\.good\.example; spf=pass\r$/m);
    assert.equal(body.match(/^Authentication-Results: /gm)?.length, 1);
    c.close();
  });
});

test('verify: a DNS server that never answers gives temperrors, and mail still flows', async () => {
  await withSenders({ verification: { timeoutMs: 200 } }, async (s) => {
    const hang = () => new Promise<never>(() => {});
    const r = s.resolver;
    r.txt = hang;
    r.ptr = hang;
    const c = await smtp(s);
    const data = message({ from: 'alice@good.example' });
    assert.deepEqual(textOf(await send(c, 'alice@good.example', ['mjl@example.org'], data)), DONE);
    const [msg] = await stored(s, 'Inbox');
    const ar = authResults(msg!);
    assert.ok(ar.includes('iprev=temperror policy.iprev=127.0.0.1'), ar.join('\n'));
    assert.match(
      ar.find((l) => l.startsWith('spf='))!,
      /^spf=temperror /,
    );
    assert.match(
      ar.find((l) => l.startsWith('dmarc='))!,
      /^dmarc=temperror /,
    );
    // Another connection is served meanwhile and after.
    const c2 = await smtp(s);
    await c2.ok('NOOP');
    c.close();
    c2.close();
  });
});

/**
 * A delivery from alice@good.example (or `from`) verified through `resolver`, which asks
 * `dns`; the Authentication-Results iprev and spf lines and Received-SPF of the copy.
 */
async function verifiedThrough(
  resolver: Resolver,
  from = 'alice@good.example',
  signer?: string,
): Promise<{ iprev: string; spf: string; receivedSpf: string; dkim?: string }> {
  let out: { iprev: string; spf: string; receivedSpf: string; dkim?: string } = {
    iprev: '',
    spf: '',
    receivedSpf: '',
  };
  await withServer({ dns: resolver }, async (s) => {
    const c = await smtp(s);
    const unsigned = message({ from: `Alice <${from}>` });
    const data = signer ? await signed(unsigned, signer) : unsigned;
    assert.deepEqual(textOf(await send(c, from, ['mjl@example.org'], data)), DONE);
    c.close();
    const [msg] = await stored(s, 'Inbox');
    const ar = authResults(msg!);
    out = {
      iprev: ar.find((l) => l.startsWith('iprev='))!,
      spf: ar.find((l) => l.startsWith('spf='))!,
      receivedSpf: receivedSpf(msg!),
      ...(signer ? { dkim: ar.find((l) => l.startsWith('dkim='))!.split(' header.a=')[0]! } : {}),
    };
  });
  return out;
}

const PASS_SPF = (from: string, dnssec: string) =>
  `pass (mail.example.org: domain of ${from} designates 127.0.0.1 as permitted sender${dnssec})` +
  ` client-ip=127.0.0.1; envelope-from="${from}"; helo=client.example; identity=mailfrom; receiver=mail.example.org;`;

test('verify: through the stub resolver, signed names are "with dnssec", others "without"', async () => {
  // A validating resolver on loopback: good.example and the client's reverse and forward
  // names are signed; forwarder.example is not.
  const dns = await TestDNSServer.start({
    ...SENDERS,
    authentic: ['good.example', '127.0.0.1', 'client.example'],
  });
  try {
    const stub = new StubResolver({ servers: [dns.address], timeoutMs: 2000, tries: 1 });
    assert.deepEqual(await verifiedThrough(stub), {
      iprev: 'iprev=pass (client.example, with dnssec) policy.iprev=127.0.0.1',
      spf: 'spf=pass (with dnssec) smtp.mailfrom=alice@good.example',
      receivedSpf: PASS_SPF('alice@good.example', ', with dnssec'),
    });
    assert.deepEqual(await verifiedThrough(stub, 'bob@forwarder.example'), {
      iprev: 'iprev=pass (client.example, with dnssec) policy.iprev=127.0.0.1',
      spf: 'spf=pass (without dnssec) smtp.mailfrom=bob@forwarder.example',
      receivedSpf: PASS_SPF('bob@forwarder.example', ', without dnssec'),
    });
    // The reverse name signed but not the forward one: the pass rests on both.
    dns.setZone({ ...SENDERS, authentic: ['good.example', '127.0.0.1'] });
    assert.equal(
      (await verifiedThrough(stub)).iprev,
      'iprev=pass (client.example, without dnssec) policy.iprev=127.0.0.1',
    );
    // No PTR record, authenticated as absent.
    dns.setZone({ ...SENDERS, ptr: {}, authentic: ['good.example', 'in-addr.arpa'] });
    assert.equal(
      (await verifiedThrough(stub)).iprev,
      'iprev=permerror (with dnssec) policy.iprev=127.0.0.1',
    );
  } finally {
    await dns.close();
  }
});

test('verify: a DKIM key record from a signed zone is "with dnssec", from another "without"', async () => {
  const dns = await TestDNSServer.start({ ...SENDERS, authentic: ['good.example', '127.0.0.1'] });
  try {
    const stub = new StubResolver({ servers: [dns.address], timeoutMs: 2000, tries: 1 });
    const good = await verifiedThrough(stub, 'alice@good.example', 'good.example');
    assert.equal(good.dkim, 'dkim=pass (ed25519, with dnssec) header.d=good.example header.s=sel');
    const other = await verifiedThrough(stub, 'alice@good.example', 'strict.example');
    assert.equal(
      other.dkim,
      'dkim=pass (ed25519, without dnssec) header.d=strict.example header.s=sel',
    );
    // A resolver that cannot tell: no comment.
    const mock = await verifiedThrough(
      new MockResolver(SENDERS),
      'alice@good.example',
      'good.example',
    );
    assert.equal(mock.dkim, 'dkim=pass (ed25519) header.d=good.example header.s=sel');
  } finally {
    await dns.close();
  }
});

test('verify: resolvers that cannot tell leave DNSSEC out of the headers', async () => {
  const dns = await TestDNSServer.start({ ...SENDERS, authentic: ['good.example', '127.0.0.1'] });
  const unchanged = {
    iprev: 'iprev=pass (client.example) policy.iprev=127.0.0.1',
    spf: 'spf=pass smtp.mailfrom=alice@good.example',
    receivedSpf: PASS_SPF('alice@good.example', ''),
  };
  try {
    // node:dns does not show the AD bit. (Its reverse lookup reads the hosts file first,
    // where 127.0.0.1 is usually localhost, so iprev depends on the machine.)
    const system = new SystemResolver({ servers: [dns.address], timeoutMs: 2000, tries: 1 });
    const viaSystem = await verifiedThrough(system);
    assert.deepEqual({ ...viaSystem, iprev: '' }, { ...unchanged, iprev: '' });
    assert.match(
      viaSystem.iprev,
      /^iprev=(pass \(client\.example\)|fail) policy\.iprev=127\.0\.0\.1$/,
    );
    // A resolver whose AD bit is not believed (as one on another host without trust_ad).
    const remote = new StubResolver({
      servers: [dns.address],
      timeoutMs: 2000,
      tries: 1,
      isTrusted: () => false,
    });
    assert.deepEqual(await verifiedThrough(remote), unchanged);
  } finally {
    await dns.close();
  }
});
