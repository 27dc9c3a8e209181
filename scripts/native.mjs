#!/usr/bin/env node
// Builds the native addon (native/quickack.c -> native/build/quickack.node) with the
// system's C compiler and the Node-API headers of the node-api-headers package. Run by
// `npm install`. It never fails the install: without a compiler, or on a system other
// than Linux, the server runs without quick ACKs (see src/net/quickack.ts) and says so.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'native', 'build', 'quickack.node');

function skip(why) {
  console.log(`tidings: native addon not built (${why}); TCP quick ACKs stay off`);
  process.exit(0);
}

if (process.platform !== 'linux') skip(`not needed on ${process.platform}`);
let include;
try {
  include = createRequire(import.meta.url)('node-api-headers').include_dir;
} catch {
  skip('node-api-headers is not installed');
}
mkdirSync(dirname(out), { recursive: true });
// The first compiler found; g++ builds the C file as C++, which node_api.h allows.
const compilers = process.env.CC ? [process.env.CC] : ['cc', 'gcc', 'g++'];
const tried = [];
for (const cc of compilers) {
  const args = ['-O2', '-Wall', '-shared', '-fPIC', '-I', include];
  const r = spawnSync(cc, [...args, join(root, 'native', 'quickack.c'), '-o', out], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.error) {
    tried.push(`${cc}: ${r.error.code ?? r.error.message}`);
    continue;
  }
  if (r.status === 0) process.exit(0);
  skip(`${cc} exited with status ${r.status}`);
}
skip(`no C compiler (${tried.join(', ')})`);
