import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { MockResolver } from '../dns/mock.js';
import { generateSelfSigned, type SelfSigned } from '../net/selfsigned.js';
import {
  MtaStsCache,
  MtaStsPolicyError,
  matchesMX,
  parsePolicy,
  parseStsRecords,
  type MtaStsFetch,
} from './mtasts.js';

const POLICY =
  'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.mx.example.net\r\nmax_age: 86400\r\n';

function policyError(fn: () => unknown, message: string): void {
  assert.throws(
    fn,
    (e: unknown) => e instanceof MtaStsPolicyError && e.message === message,
    message,
  );
}

describe('parsePolicy', () => {
  test('valid policy, CRLF or LF', () => {
    const want = {
      mode: 'enforce',
      mx: ['mail.example.com', '*.mx.example.net'],
      maxAgeSeconds: 86400,
      id: 'abc',
    };
    assert.deepEqual(parsePolicy(POLICY, 'abc'), want);
    assert.deepEqual(parsePolicy(POLICY.replace(/\r\n/g, '\n'), 'abc'), want);
  });

  test('unknown fields ignored, first of a repeated field used, mx deduplicated', () => {
    const text =
      'version: STSv1\nmode:testing\nmode: enforce\nextension.x: 1\nmx: MX.Example.com.\nmx: mx.example.com\nmax_age:\t31557600  \n\n';
    assert.deepEqual(parsePolicy(text), {
      mode: 'testing',
      mx: ['mx.example.com'],
      maxAgeSeconds: 31557600,
      id: '',
    });
  });

  test('mode none needs no mx', () => {
    assert.deepEqual(parsePolicy('version: STSv1\nmode: none\nmax_age: 0\n'), {
      mode: 'none',
      mx: [],
      maxAgeSeconds: 0,
      id: '',
    });
  });

  test('invalid policies', () => {
    policyError(() => parsePolicy(POLICY.replace('mode: enforce\r\n', '')), 'missing mode');
    policyError(() => parsePolicy(POLICY.replace('enforce', 'Enforce')), 'invalid mode "Enforce"');
    policyError(
      () => parsePolicy(POLICY.replace('86400', '31557601')),
      'invalid max_age "31557601": 0 to 31557600',
    );
    policyError(
      () => parsePolicy(POLICY.replace('86400', '-1')),
      'invalid max_age "-1": 0 to 31557600',
    );
    policyError(
      () => parsePolicy(POLICY.replace('86400', '1d')),
      'invalid max_age "1d": 0 to 31557600',
    );
    policyError(() => parsePolicy(POLICY.replace('max_age: 86400\r\n', '')), 'missing max_age');
    policyError(() => parsePolicy(POLICY.replace('version: STSv1\r\n', '')), 'missing version');
    policyError(() => parsePolicy(POLICY.replace('STSv1', 'STSv2')), 'unknown version "STSv2"');
    policyError(() => parsePolicy('version: STSv1\nmode: enforce\nmax_age: 5\n'), 'missing mx');
    policyError(() => parsePolicy(POLICY + 'mx: a.*.example\n'), 'invalid mx "a.*.example"');
    policyError(() => parsePolicy(POLICY + 'mx: *\n'), 'invalid mx "*"');
    policyError(() => parsePolicy(POLICY + '<html>\n'), 'invalid policy line "<html>"');
  });
});

describe('parseStsRecords', () => {
  test('exactly one v=STSv1 record with a valid id', () => {
    assert.equal(parseStsRecords(['v=spf1 -all', 'v=STSv1; id=20250301T1;']), '20250301T1');
    assert.equal(parseStsRecords(['v=STSv1 ;id=a ; ext_1=x']), 'a');
    assert.equal(parseStsRecords(['v=spf1 -all']), undefined);
    assert.equal(parseStsRecords([]), undefined);
    policyError(
      () => parseStsRecords(['v=STSv1; id=a', 'v=STSv1; id=b']),
      '2 "v=STSv1" TXT records',
    );
    policyError(
      () => parseStsRecords(['v=STSv1; id=a-b']),
      'TXT record without a valid id: "v=STSv1; id=a-b"',
    );
    policyError(
      () => parseStsRecords([`v=STSv1; id=${'a'.repeat(33)}`]),
      `TXT record without a valid id: "v=STSv1; id=${'a'.repeat(33)}"`,
    );
    policyError(() => parseStsRecords(['v=STSv1']), 'TXT record without a valid id: "v=STSv1"');
    policyError(() => parseStsRecords(['v=STSv1; id']), 'invalid TXT record field "id"');
  });
});

describe('matchesMX (RFC 8461 §4.1)', () => {
  const policy = { mx: ['mail.example.com', '*.example.net'] };
  test('exact names, case and trailing dot ignored', () => {
    assert.equal(matchesMX(policy, 'mail.example.com'), true);
    assert.equal(matchesMX(policy, 'MAIL.Example.COM.'), true);
    assert.equal(matchesMX(policy, 'xmail.example.com'), false);
    assert.equal(matchesMX(policy, 'a.mail.example.com'), false);
  });
  test('a wildcard matches exactly one leftmost label', () => {
    assert.equal(matchesMX(policy, 'mx1.example.net'), true);
    assert.equal(matchesMX(policy, 'MX1.EXAMPLE.NET.'), true);
    assert.equal(matchesMX(policy, 'a.b.example.net'), false);
    assert.equal(matchesMX(policy, 'example.net'), false);
    assert.equal(matchesMX(policy, '.example.net'), false);
    assert.equal(matchesMX(policy, 'xexample.net'), false);
    assert.equal(matchesMX({ mx: ['*.Example.COM.'] }, 'mx1.example.com'), true);
    assert.equal(matchesMX(policy, ''), false);
  });
});

/** A fetch serving a policy per domain, counting calls; `fail` makes it reject. */
function fakeFetch(policies: Map<string, string>) {
  const calls: string[] = [];
  let fail: string | undefined;
  const fetch: MtaStsFetch = async (url, opts) => {
    calls.push(url);
    assert.deepEqual(opts, { timeoutMs: 60_000, maxBytes: 65536 });
    if (fail !== undefined) throw new Error(fail);
    const host = new URL(url).hostname.replace(/^mta-sts\./, '');
    const body = policies.get(host);
    if (body === undefined) return { status: 404, contentType: 'text/html', body: '' };
    return { status: 200, contentType: 'text/plain; charset=utf-8', body };
  };
  return { fetch, calls, setFail: (f: string | undefined) => (fail = f) };
}

describe('MtaStsCache', () => {
  function setup() {
    const resolver = new MockResolver({ txt: { '_mta-sts.example.com': ['v=STSv1; id=one'] } });
    const policies = new Map([['example.com', POLICY]]);
    const f = fakeFetch(policies);
    let now = 1_000_000;
    const clock = () => now;
    const advance = (ms: number) => (now += ms);
    return {
      resolver,
      policies,
      ...f,
      cache: new MtaStsCache({ resolver, fetch: f.fetch, clock }),
      advance,
    };
  }
  const policyOne = {
    mode: 'enforce',
    mx: ['mail.example.com', '*.mx.example.net'],
    maxAgeSeconds: 86400,
  };

  test('fetches once; the same id reuses the cache; a new id fetches again', async () => {
    const s = setup();
    assert.deepEqual(await s.cache.lookup('Example.COM.'), { policy: { ...policyOne, id: 'one' } });
    assert.deepEqual(s.calls, ['https://mta-sts.example.com/.well-known/mta-sts.txt']);
    s.advance(3600_000);
    assert.deepEqual(await s.cache.lookup('example.com'), { policy: { ...policyOne, id: 'one' } });
    assert.equal(s.calls.length, 1);
    s.resolver.update((z) => void (z.txt = { '_mta-sts.example.com': ['v=STSv1; id=two'] }));
    s.policies.set('example.com', POLICY.replace('enforce', 'testing'));
    const r = await s.cache.lookup('example.com');
    assert.equal(s.calls.length, 2);
    assert.deepEqual(r, { policy: { ...policyOne, mode: 'testing', id: 'two' } });
  });

  test('an expired policy is fetched again even with the same id', async () => {
    const s = setup();
    await s.cache.lookup('example.com');
    s.advance(86_399_999);
    await s.cache.lookup('example.com');
    assert.equal(s.calls.length, 1);
    s.advance(1);
    assert.equal((await s.cache.lookup('example.com')).policy?.id, 'one');
    assert.equal(s.calls.length, 2);
  });

  test('DNS failure or a missing record keeps the cached policy until it expires', async () => {
    const s = setup();
    await s.cache.lookup('example.com');
    s.resolver.update((z) => void (z.fail = { 'TXT _mta-sts.example.com': 'temporary' }));
    assert.deepEqual(await s.cache.lookup('example.com'), { policy: { ...policyOne, id: 'one' } });
    s.resolver.setZone({});
    assert.deepEqual(await s.cache.lookup('example.com'), { policy: { ...policyOne, id: 'one' } });
    assert.equal(s.calls.length, 1);
    s.advance(86_400_000);
    assert.deepEqual(await s.cache.lookup('example.com'), { policy: null });
    s.resolver.setZone({ fail: { 'TXT _mta-sts.example.com': 'temporary' } });
    assert.deepEqual(await s.cache.lookup('example.com'), {
      policy: null,
      error:
        'MTA-STS TXT record of example.com: TXT lookup of _mta-sts.example.com: server failure (SERVFAIL)',
    });
  });

  test('a failed fetch keeps the cached policy', async () => {
    const s = setup();
    await s.cache.lookup('example.com');
    s.resolver.update((z) => void (z.txt = { '_mta-sts.example.com': ['v=STSv1; id=two'] }));
    s.setFail('connection refused');
    assert.deepEqual(await s.cache.lookup('example.com'), { policy: { ...policyOne, id: 'one' } });
    s.setFail(undefined);
    s.policies.set('example.com', 'garbage');
    assert.deepEqual(await s.cache.lookup('example.com'), { policy: { ...policyOne, id: 'one' } });
    assert.equal(s.calls.length, 3);
  });

  test('without a cached policy: no record, failures, several records', async () => {
    const s = setup();
    assert.deepEqual(await s.cache.lookup('example.org'), { policy: null });
    s.resolver.setZone({ txt: { '_mta-sts.example.com': ['v=STSv1; id=a', 'v=STSv1; id=b'] } });
    assert.deepEqual(await s.cache.lookup('example.com'), {
      policy: null,
      error: 'MTA-STS TXT record of example.com: 2 "v=STSv1" TXT records',
      failure: 'sts-policy-invalid',
    });
    s.resolver.setZone({ txt: { '_mta-sts.example.com': ['v=STSv1; id=a'] } });
    s.setFail('connection refused');
    assert.deepEqual(await s.cache.lookup('example.com'), {
      policy: null,
      error: 'MTA-STS policy of example.com: connection refused',
      failure: 'sts-policy-fetch-error',
    });
    s.setFail(undefined);
    s.policies.delete('example.com');
    assert.deepEqual(await s.cache.lookup('example.com'), {
      policy: null,
      error:
        'MTA-STS policy of example.com: https://mta-sts.example.com/.well-known/mta-sts.txt: HTTP status 404',
      failure: 'sts-policy-fetch-error',
    });
    assert.deepEqual(await s.cache.lookup('bad domain'), {
      policy: null,
      error: 'invalid domain "bad domain"',
    });
    assert.equal(s.calls.length, 2);
  });

  test('fetch results are checked: status, content type, size', async () => {
    const resolver = new MockResolver({ txt: { '_mta-sts.example.com': ['v=STSv1; id=a'] } });
    const url = 'https://mta-sts.example.com/.well-known/mta-sts.txt';
    const cases: [Awaited<ReturnType<MtaStsFetch>>, string][] = [
      [
        { status: 301, contentType: 'text/plain', body: POLICY },
        `${url}: HTTP status 301 (redirects are not followed)`,
      ],
      [
        { status: 200, contentType: 'text/html', body: POLICY },
        `${url}: content type "text/html", not text/plain`,
      ],
      [
        { status: 200, contentType: 'text/plain', body: POLICY + ' '.repeat(65536) },
        `${url}: policy is larger than 65536 bytes`,
      ],
    ];
    for (const [res, msg] of cases) {
      const cache = new MtaStsCache({ resolver, fetch: async () => res });
      assert.deepEqual(await cache.lookup('example.com'), {
        policy: null,
        error: `MTA-STS policy of example.com: ${msg}`,
        failure: 'sts-policy-fetch-error',
      });
    }
  });

  test('concurrent lookups share one fetch; the cache is bounded', async () => {
    const zone = { txt: {} as Record<string, string[]> };
    const policies = new Map<string, string>();
    for (const d of ['a.example', 'b.example', 'c.example']) {
      zone.txt[`_mta-sts.${d}`] = ['v=STSv1; id=1'];
      policies.set(d, POLICY);
    }
    const f = fakeFetch(policies);
    const cache = new MtaStsCache({
      resolver: new MockResolver(zone),
      fetch: f.fetch,
      maxEntries: 2,
    });
    const [x, y] = await Promise.all([cache.lookup('a.example'), cache.lookup('A.example')]);
    assert.equal(x, y);
    assert.equal(f.calls.length, 1);
    await cache.lookup('b.example');
    await cache.lookup('c.example');
    assert.equal(cache.size, 2);
    assert.equal(f.calls.length, 3);
    await cache.lookup('c.example');
    await cache.lookup('b.example');
    assert.equal(f.calls.length, 3);
    await cache.lookup('a.example');
    assert.equal(f.calls.length, 4);
    assert.equal(cache.size, 2);
  });
});

describe('MtaStsCache with the default HTTPS fetch', () => {
  let cert: SelfSigned;
  let other: SelfSigned;
  let server: Server;
  let port: number;
  let respond: (res: import('node:http').ServerResponse) => void;

  before(async () => {
    [cert, other] = await Promise.all([
      generateSelfSigned({ hostnames: ['mta-sts.example.com'] }),
      generateSelfSigned({ hostnames: ['mta-sts.example.com'] }),
    ]);
    server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
      assert.equal(req.url, '/.well-known/mta-sts.txt');
      assert.equal(req.headers.host, 'mta-sts.example.com');
      respond(res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  function cache(ca: string, viaResolver = false, timeoutMs = 60_000) {
    const resolver = new MockResolver({
      txt: {
        '_mta-sts.example.com': ['v=STSv1; id=x1'],
        '_mta-sts.example.org': ['v=STSv1; id=x1'],
      },
      a: { 'mta-sts.example.com': ['127.0.0.1'] },
    });
    // With viaResolver the host name stays and its address comes from the resolver.
    const host = viaResolver ? 'mta-sts.example.com' : '127.0.0.1';
    return new MtaStsCache({
      resolver,
      httpsCA: ca,
      connectTo: () => ({ host, port }),
      timeoutMs,
    });
  }
  const url = 'https://mta-sts.example.com/.well-known/mta-sts.txt';

  test('200 text/plain is accepted', async () => {
    respond = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(POLICY);
    };
    const want = {
      policy: {
        mode: 'enforce',
        mx: ['mail.example.com', '*.mx.example.net'],
        maxAgeSeconds: 86400,
        id: 'x1',
      },
    };
    assert.deepEqual(await cache(cert.certPem).lookup('example.com'), want);
    assert.deepEqual(await cache(cert.certPem, true).lookup('example.com'), want);
  });

  test('a redirect is not followed', async () => {
    respond = (res) => {
      res.writeHead(302, { location: 'https://mta-sts.example.com/other.txt' });
      res.end();
    };
    assert.deepEqual(await cache(cert.certPem).lookup('example.com'), {
      policy: null,
      error: `MTA-STS policy of example.com: ${url}: HTTP status 302 (redirects are not followed)`,
      failure: 'sts-policy-fetch-error',
    });
  });

  test('another content type is refused', async () => {
    respond = (res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(POLICY);
    };
    assert.deepEqual(await cache(cert.certPem).lookup('example.com'), {
      policy: null,
      error: `MTA-STS policy of example.com: ${url}: content type "text/html; charset=utf-8", not text/plain`,
      failure: 'sts-policy-fetch-error',
    });
  });

  test('an oversized policy is refused', async () => {
    respond = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(POLICY + '#'.repeat(70_000));
    };
    assert.deepEqual(await cache(cert.certPem).lookup('example.com'), {
      policy: null,
      error: `MTA-STS policy of example.com: ${url}: policy is larger than 65536 bytes`,
      failure: 'sts-policy-fetch-error',
    });
  });

  test('an untrusted certificate is refused', async () => {
    respond = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(POLICY);
    };
    const r = await cache(other.certPem).lookup('example.com');
    assert.equal(r.policy, null);
    assert.match(
      r.error ?? '',
      /^MTA-STS policy of example\.com: https:\/\/mta-sts\.example\.com\/\.well-known\/mta-sts\.txt: self[- ]signed certificate/,
    );
  });

  test('a certificate for another name is refused', async () => {
    const r = await cache(cert.certPem).lookup('example.org');
    assert.equal(r.policy, null);
    assert.match(
      r.error ?? '',
      /^MTA-STS policy of example\.org: https:\/\/mta-sts\.example\.org\/\.well-known\/mta-sts\.txt: Hostname\/IP does not match certificate's altnames/,
    );
  });

  test('a server that does not answer times out', async () => {
    respond = (res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('version: STSv1\r\n');
    };
    assert.deepEqual(await cache(cert.certPem, false, 200).lookup('example.com'), {
      policy: null,
      error: `MTA-STS policy of example.com: ${url}: no response within 200 ms`,
      failure: 'sts-policy-fetch-error',
    });
  });
});
