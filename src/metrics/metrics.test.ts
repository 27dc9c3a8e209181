import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PANIC_ORIGINS,
  defineCounter,
  defineGauge,
  defineHistogram,
  recordPanic,
  registry,
} from './metrics.js';

test('panic counter starts at 0 for every origin', async () => {
  const text = await registry.getSingleMetricAsString('tidings_panic_total');
  for (const origin of PANIC_ORIGINS) {
    assert.match(text, new RegExp(`^tidings_panic_total\\{origin="${origin}"\\} 0$`, 'm'));
  }
  recordPanic('queue');
  const after = await registry.getSingleMetricAsString('tidings_panic_total');
  assert.match(after, /^tidings_panic_total\{origin="queue"\} 1$/m);
  assert.match(after, /^tidings_panic_total\{origin="imap"\} 0$/m);
});

test('defining a metric twice returns the same object', async () => {
  const a = defineCounter({ name: 'tidings_test_twice_total', help: 'x', labelNames: ['k'] });
  const b = defineCounter({ name: 'tidings_test_twice_total', help: 'x', labelNames: ['k'] });
  assert.equal(a, b);
  a.inc({ k: 'v' }, 2);
  b.inc({ k: 'v' });
  const text = await registry.getSingleMetricAsString('tidings_test_twice_total');
  assert.match(text, /^tidings_test_twice_total\{k="v"\} 3$/m);

  const h1 = defineHistogram({ name: 'tidings_test_seconds', help: 'h', buckets: [0.1, 1] });
  assert.equal(defineHistogram({ name: 'tidings_test_seconds', help: 'h' }), h1);
  const g1 = defineGauge({ name: 'tidings_test_gauge', help: 'g' });
  assert.equal(defineGauge({ name: 'tidings_test_gauge', help: 'g' }), g1);
});

test('a name registered with another type is refused', () => {
  defineGauge({ name: 'tidings_test_kind', help: 'g' });
  assert.throws(
    () => defineCounter({ name: 'tidings_test_kind', help: 'c' }),
    /metric tidings_test_kind is already registered with another type/,
  );
});

test('default process metrics carry the prefix', async () => {
  const text = await registry.metrics();
  assert.match(text, /^tidings_process_cpu_user_seconds_total \d/m);
  assert.match(text, /^tidings_nodejs_heap_size_total_bytes \d/m);
});
