// Turns schema validation issues into configuration problems with TOML key paths.
import { z } from 'zod';
import { ProblemList } from './errors.js';
import { describeValue } from './units.js';

type RawIssue = z.core.$ZodRawIssue;

function sizeProblem(iss: RawIssue, kind: 'small' | 'big'): string {
  const bound = kind === 'small' ? iss.minimum : iss.maximum;
  const inclusive = iss.inclusive !== false;
  const word =
    kind === 'small' ? (inclusive ? 'at least' : 'more than') : inclusive ? 'at most' : 'less than';
  switch (iss.origin) {
    case 'array':
      return `must have ${word} ${String(bound)} item(s)`;
    case 'string':
      return `must be ${word} ${String(bound)} character(s) long`;
    default:
      return `must be ${word} ${String(bound)}, got ${describeValue(iss.input)}`;
  }
}

/** Error map giving every issue a message written for someone editing a TOML file. */
export function problemText(iss: RawIssue): string {
  switch (iss.code) {
    case 'invalid_type':
      if (iss.input === undefined) return 'required key is missing';
      if (iss.expected === 'int') return `expected an integer, got ${describeValue(iss.input)}`;
      return `expected ${tomlType(String(iss.expected))}, got ${describeValue(iss.input)}`;
    case 'too_small':
      return sizeProblem(iss, 'small');
    case 'too_big':
      return sizeProblem(iss, 'big');
    case 'invalid_value':
      return `expected one of ${(iss.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${describeValue(iss.input)}`;
    case 'invalid_format':
      return `invalid value ${describeValue(iss.input)}`;
    case 'unrecognized_keys':
      return 'unknown key';
    default:
      return iss.message ?? 'invalid value';
  }
}

function tomlType(expected: string): string {
  switch (expected) {
    case 'object':
      return 'a table';
    case 'array':
      return 'an array';
    case 'number':
      return 'a number';
    case 'int':
      return 'an integer';
    default:
      return `a ${expected}`;
  }
}

type Def = Record<string, unknown>;

function defOf(s: z.core.$ZodType): Def {
  return s._zod.def as unknown as Def;
}

/** Looks through defaults, optionals and pipes to the schema that parses the input. */
function unwrap(s: z.core.$ZodType): z.core.$ZodType {
  let cur = s;
  for (;;) {
    const def = defOf(cur);
    const inner = (def.innerType ?? (def.type === 'pipe' ? def.in : undefined)) as
      z.core.$ZodType | undefined;
    if (!inner) return cur;
    cur = inner;
  }
}

/** The schema at a path (object keys, record values, array elements), if any. */
function schemaAt(
  schema: z.core.$ZodType,
  path: readonly PropertyKey[],
): z.core.$ZodType | undefined {
  let cur: z.core.$ZodType | undefined = unwrap(schema);
  for (const seg of path) {
    if (!cur) return undefined;
    const def = defOf(cur);
    let next: z.core.$ZodType | undefined;
    if (def.type === 'object') next = (def.shape as Record<string, z.core.$ZodType>)[String(seg)];
    else if (def.type === 'record') next = def.valueType as z.core.$ZodType;
    else if (def.type === 'array') next = def.element as z.core.$ZodType;
    else if (def.type === 'tuple') next = (def.items as z.core.$ZodType[])[Number(seg)];
    cur = next && unwrap(next);
  }
  return cur;
}

/** The keys of the table at `path` in the schema, for "did you mean" suggestions. */
export function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  const s = schemaAt(schema, path);
  const def = s && defOf(s);
  return def?.type === 'object' ? Object.keys(def.shape as object) : [];
}

/** Every table key the schema knows, at any depth. */
export function schemaKeys(schema: z.core.$ZodType): Set<string> {
  const out = new Set<string>();
  const walk = (s: z.core.$ZodType | undefined): void => {
    if (!s) return;
    const def = defOf(unwrap(s));
    if (def.type === 'object') {
      for (const [k, v] of Object.entries(def.shape as Record<string, z.core.$ZodType>)) {
        out.add(k);
        walk(v);
      }
    }
    walk((def.valueType ?? def.element) as z.core.$ZodType | undefined);
  };
  walk(schema);
  return out;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(
        Math.min(
          (prev[j] as number) + 1,
          (cur[j - 1] as number) + 1,
          (prev[j - 1] as number) + cost,
        ),
      );
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

function suggest(key: string, known: readonly string[]): string {
  let best = '';
  let bestDist = 3;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k);
    if (d < bestDist) {
      best = k;
      bestDist = d;
    }
  }
  return best === '' ? '' : ` (did you mean "${best}"?)`;
}

/** Adds the issues of a failed parse of `schema` to `problems`, one per unknown key. */
export function addIssues(problems: ProblemList, error: z.ZodError, schema: z.core.$ZodType): void {
  for (const iss of error.issues) {
    if (iss.code === 'unrecognized_keys') {
      const known = keysAt(schema, iss.path);
      for (const key of iss.keys)
        problems.add([...iss.path, key], `unknown key${suggest(key, known)}`);
    } else {
      problems.add(iss.path, iss.message);
    }
  }
}
