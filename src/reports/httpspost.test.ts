// Posting TLS reports over HTTPS (RFC 8460 §5.3.2) to a real local server: the request
// as sent, 2xx as success, other answers and redirects as failures, the time bound, the
// certificate check, and the refusal of internal addresses, whether written in the URI
// or found in DNS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { MockResolver } from '../dns/index.js';
import { generateSelfSigned } from '../net/index.js';
import { httpsPost, isInternalAddress } from './httpspost.js';

type Seen = { method: string; url: string; type: string; host: string; body: Buffer };
let server: Server;
let port = 0;
let ca = '';
const seen: Seen[] = [];

before(async () => {
  const cert = await generateSelfSigned({ hostnames: ['reports.example'] });
  ca = cert.certPem;
  server = createServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        type: req.headers['content-type'] ?? '',
        host: req.headers.host ?? '',
        body: Buffer.concat(chunks),
      });
      if (req.url === '/slow') return; // never answers
      if (req.url === '/moved') {
        res.writeHead(302, { location: 'https://reports.example/ok' }).end();
      } else if (req.url === '/broken') res.writeHead(500).end('no');
      else res.writeHead(req.url === '/accepted' ? 202 : 200).end('thanks');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const local = () => ({ host: '127.0.0.1', port });

test('a report is posted with its type; 2xx is success, anything else a failure', async () => {
  const post = httpsPost({ ca, connectTo: local, timeoutMs: 10_000 });
  const body = Buffer.from([0x1f, 0x8b, 1, 2, 3]);
  await post('https://reports.example/ok?x=1', body, 'application/tlsrpt+gzip');
  await post('https://reports.example/accepted', body, 'application/tlsrpt+gzip');
  assert.deepEqual(seen.slice(0, 2), [
    {
      method: 'POST',
      url: '/ok?x=1',
      type: 'application/tlsrpt+gzip',
      host: 'reports.example',
      body,
    },
    {
      method: 'POST',
      url: '/accepted',
      type: 'application/tlsrpt+gzip',
      host: 'reports.example',
      body,
    },
  ]);
  await assert.rejects(
    post('https://reports.example/broken', body, 'application/tlsrpt+gzip'),
    /^Error: https:\/\/reports\.example\/broken: HTTP status 500$/,
  );
  // Redirects are not followed.
  await assert.rejects(
    post('https://reports.example/moved', body, 'application/tlsrpt+gzip'),
    /HTTP status 302$/,
  );
  assert.equal(seen.filter((s) => s.url === '/ok').length, 0);
});

test('bounded in time; the certificate must be for the host name and trusted', async () => {
  const body = Buffer.from('x');
  await assert.rejects(
    httpsPost({ ca, connectTo: local, timeoutMs: 300 })(
      'https://reports.example/slow',
      body,
      'application/tlsrpt+gzip',
    ),
    /no answer within 300 ms/,
  );
  await assert.rejects(
    httpsPost({ ca, connectTo: local })('https://other.example/ok', body, 'x'),
    /other\.example/,
  );
  await assert.rejects(
    httpsPost({ connectTo: local })('https://reports.example/ok', body, 'x'),
    /self-signed|unable to verify|self signed/,
  );
});

test('internal addresses are refused, in the URI or in DNS; only https, no credentials', async () => {
  const table: [string, boolean][] = [
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.16.0.1', true],
    ['172.32.0.1', false],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['224.0.0.1', true],
    ['8.8.8.8', false],
    ['::1', true],
    ['::', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:8.8.8.8', false],
    ['::ffff:7f00:1', true],
    ['64:ff9b::a00:1', true],
    ['fe80::1', true],
    ['fd00::1', true],
    ['ff02::1', true],
    ['2001:db8::1', true],
    ['2a00:1450::1', false],
    ['not an address', true],
  ];
  for (const [ip, internal] of table) assert.equal(isInternalAddress(ip), internal, ip);
  const resolver = new MockResolver({
    a: { 'inside.example': ['10.0.0.7', '127.0.0.1'] },
    aaaa: { 'inside.example': ['fd00::7'] },
  });
  const post = httpsPost({ resolver, timeoutMs: 5000 });
  const body = Buffer.from('x');
  await assert.rejects(post('https://127.0.0.1/x', body, 'x'), /an internal address/);
  await assert.rejects(post('https://[::1]:8443/x', body, 'x'), /an internal address/);
  await assert.rejects(
    post('https://inside.example/x', body, 'x'),
    /inside\.example has only internal addresses/,
  );
  await assert.rejects(post('http://reports.example/x', body, 'x'), /not an https URL/);
  await assert.rejects(post('https://u:p@reports.example/x', body, 'x'), /credentials/);
  await assert.rejects(post('https://', body, 'x'), /not a URL/);
});
