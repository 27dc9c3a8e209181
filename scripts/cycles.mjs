#!/usr/bin/env node
// Finds import cycles between the TypeScript files under src/ (type-only imports count
// too: a cycle of types is still two files that cannot be understood one before the
// other). Prints each cycle and exits 1 when there is any; part of `npm run lint`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = resolve(process.argv[2] ?? 'src');

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts'))
      out.push(p);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]/g;
const files = walk(root);
const known = new Set(files);
const edges = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(dirname(f), m[1].replace(/\.js$/, '.ts'));
    if (known.has(target)) deps.add(target);
    else if (known.has(join(target, 'index.ts'))) deps.add(join(target, 'index.ts'));
  }
  edges.set(f, [...deps]);
}

// Tarjan's strongly connected components: every component of two or more files is a cycle.
let index = 0;
const idx = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
function visit(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)) {
    if (!idx.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1) components.push(comp);
  }
}
for (const f of files) if (!idx.has(f)) visit(f);

if (components.length === 0) process.exit(0);
for (const comp of components) {
  console.error(
    `import cycle: ${comp
      .map((f) => relative(process.cwd(), f))
      .sort()
      .join(', ')}`,
  );
}
process.exit(1);
