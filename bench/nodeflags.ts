// The node flags the `tidings` executable runs with (the first line of src/cli/main.ts),
// for the benchmarks' server processes, so that they run as the server does.
import { readFileSync } from 'node:fs';

export function serverNodeFlags(): string[] {
  // Through tsx this is bench/*.ts next to src/*.ts; compiled, both are .js.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const main = readFileSync(new URL(`../src/cli/main.${ext}`, import.meta.url), 'utf8');
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)\s*\n/.exec(main);
  return m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
}
