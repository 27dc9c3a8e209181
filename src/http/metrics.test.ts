import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../log/index.js';
import { registry } from '../metrics/index.js';
import { startMetricsServer } from './metrics.js';

const log = createLogger({ level: 'silent' });

test('metrics endpoint serves the exposition format', async () => {
  const srv = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, log });
  try {
    assert.ok(srv.port > 0);
    const base = `http://127.0.0.1:${srv.port}`;

    const ok = await fetch(`${base}/metrics`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    const text = await ok.text();
    assert.match(text, /^tidings_panic_total\{origin="imap"\} 0$/m);
    assert.match(text, /^# TYPE tidings_panic_total counter$/m);

    const withQuery = await fetch(`${base}/metrics?x=1`);
    assert.equal(withQuery.status, 200);
    await withQuery.arrayBuffer();

    const missing = await fetch(`${base}/other`);
    assert.equal(missing.status, 404);
    assert.equal(await missing.text(), 'not found\n');

    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    assert.equal(await post.text(), 'method not allowed\n');

    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  } finally {
    // Resolves although fetch keeps its keep-alive connection open.
    await srv.close();
  }
});

test('a port in use is reported with the address', async () => {
  const a = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, log });
  try {
    await assert.rejects(
      startMetricsServer({ host: '127.0.0.1', port: a.port, registry, log }),
      new RegExp(`^Error: metrics listener on 127\\.0\\.0\\.1 port ${a.port}: .*EADDRINUSE`),
    );
  } finally {
    await a.close();
  }
});
