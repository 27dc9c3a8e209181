#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with node's test runner (through tsx).
// Arguments narrow the run: `npm test -- src/store` runs only files under that path.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const roots = ['src', 'test'];
const filters = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));

function walk(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
}

const files = [];
for (const r of roots) walk(r, files);
const selected = files
  .map((f) => relative('.', f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.startsWith(x) || f.includes(x)))
  .sort();
if (selected.length === 0) {
  console.error('no test files match', filters.join(' '));
  process.exit(1);
}
const reporter = 'spec';
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-reporter=${reporter}`,
    '--test-concurrency=2',
    '--test-timeout=120000',
    ...flags,
    ...selected,
  ],
  { stdio: 'inherit', env: { ...process.env, TIDINGS_TEST: '1' } },
);
process.exit(r.status ?? 1);
