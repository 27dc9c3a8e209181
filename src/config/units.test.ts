import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatSize, parseDuration, parseSize } from './units.js';

test('parseDuration', () => {
  const ok: [string, number][] = [
    ['15s', 15_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['2h', 7_200_000],
    ['1.5s', 1500],
    ['1h1m1s1ms', 3_661_001],
    ['0', 0],
    ['0s', 0],
  ];
  for (const [text, ms] of ok) assert.equal(parseDuration(text), ms, text);
  assert.equal(
    parseDuration('15'),
    'invalid duration "15", expected numbers with units ms, s, m or h, e.g. "1m30s"',
  );
  assert.equal(
    parseDuration('1m30x'),
    'invalid duration "1m30x" at "30x", expected numbers with units ms, s, m or h, e.g. "1m30s"',
  );
  assert.equal(parseDuration('-1s'), 'negative duration "-1s"');
  assert.equal(parseDuration(''), 'empty duration, expected e.g. "15s", "1m30s" or "500ms"');
  for (const bad of ['1d', 's', '1 s', '1.s', '15S'])
    assert.equal(typeof parseDuration(bad), 'string', bad);
});

test('formatDuration reads back', () => {
  for (const ms of [0, 1, 500, 1000, 15_000, 90_000, 3_661_001, 259_200_000]) {
    assert.equal(parseDuration(formatDuration(ms)), ms);
  }
  assert.equal(formatDuration(90_000), '1m30s');
  assert.equal(formatDuration(0), '0s');
});

test('parseSize and formatSize', () => {
  assert.equal(parseSize(1024), 1024);
  assert.equal(parseSize(0), 0);
  assert.equal(parseSize('100 MiB'), 104_857_600);
  assert.equal(parseSize('512KiB'), 524_288);
  assert.equal(parseSize('2 GB'), 2_000_000_000);
  assert.equal(parseSize('1.5 kb'), 1500);
  assert.equal(parseSize('10 B'), 10);
  assert.equal(parseSize(-1), 'expected a non-negative whole number of bytes, got -1');
  assert.equal(parseSize(1.5), 'expected a non-negative whole number of bytes, got 1.5');
  assert.equal(
    parseSize('100 MiBs'),
    'invalid size "100 MiBs", expected e.g. 1048576, "512 KiB", "100 MiB" or "2 GB"',
  );
  assert.equal(
    parseSize(true),
    'expected a number of bytes or a size like "100 MiB", got boolean true',
  );
  assert.equal(formatSize(10 * 1024 ** 3), '10 GiB');
  assert.equal(formatSize(1536), 1536);
  assert.equal(formatSize(2048), '2 KiB');
  assert.equal(formatSize(0), 0);
});
