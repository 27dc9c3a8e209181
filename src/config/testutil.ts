// Test helpers for configuration errors and temporary config directories.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from './errors.js';

/** Asserts that `fn` throws a ConfigError for `file` with exactly these problems. */
export function assertProblems(
  fn: () => unknown,
  file: string,
  problems: [string, string][],
): ConfigError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.file, file);
  assert.deepEqual(
    caught.problems.map((p) => [p.keyPath, p.problem]),
    problems,
  );
  const [keyPath, problem] = problems[0] as [string, string];
  assert.equal(caught.keyPath, keyPath);
  assert.equal(caught.problem, problem);
  assert.equal(
    caught.message,
    problems.map(([k, p]) => (k === '' ? `${file}: ${p}` : `${file}: ${k}: ${p}`)).join('\n'),
  );
  return caught;
}

/** A fresh directory under the system temp dir, removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'tidings-config-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
