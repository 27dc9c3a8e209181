// Editing TOML text in place: a table is added or removed, or an array grows by one
// element, and every other byte of the file (comments, blank lines, key order, quoting)
// stays as it was. The edited text is parsed again and must hold exactly the data the
// edit intends, or nothing is returned.
import { parse } from 'smol-toml';
import { formatKeyPath } from './errors.js';

/** A path of TOML keys, e.g. ["accounts", "alice"]. */
export type TomlPath = readonly string[];

type Value = unknown;
type Table = Record<string, Value>;

/** An edit of a TOML document. */
export type TomlEdit =
  | {
      /**
       * A new table at `path` with `value`'s keys, written as a [header] table. It goes
       * after the last table under the first of `after` that has one, else before the
       * first table under any of `before`, else at the end.
       */
      op: 'addTable';
      path: TomlPath;
      value: Table;
      after?: TomlPath[];
      before?: TomlPath[];
    }
  | {
      /**
       * The table or key at `path` with everything under it. A table takes the comment
       * lines directly above its header (no blank line between) with it.
       */
      op: 'remove';
      path: TomlPath;
    }
  | {
      /** `item` appended to the array at `path`; a missing array is created. */
      op: 'append';
      path: TomlPath;
      item: Value;
    };

/** An edit that cannot be made in place; `keyPath` says where. */
export class TomlEditError extends Error {
  override readonly name = 'TomlEditError';
  constructor(
    readonly keyPath: string,
    readonly problem: string,
  ) {
    super(keyPath === '' ? problem : `${keyPath}: ${problem}`);
  }
}

// ---- reading the layout ----

type LineKind = 'blank' | 'comment' | 'code';

interface Line {
  start: number;
  /** Offset of the next line (after the line break), or the text length. */
  next: number;
  kind: LineKind;
}

interface Header {
  path: string[];
  array: boolean;
  line: number;
}

interface ValueSpan {
  type: 'array' | 'table' | 'other';
  /** Arrays: where a new element goes (after the last one, or after "["). */
  appendAt: number;
  empty: boolean;
}

interface Pair {
  /** Table path and key together. */
  path: string[];
  line: number;
  endLine: number;
  value: ValueSpan;
  /** Index of the header whose table holds it; -1 for the root table. */
  table: number;
}

interface Layout {
  text: string;
  eol: string;
  lines: Line[];
  headers: Header[];
  pairs: Pair[];
}

const ESCAPES: Record<string, string> = {
  b: '\b',
  t: '\t',
  n: '\n',
  f: '\f',
  r: '\r',
  e: '\x1b',
  '"': '"',
  '\\': '\\',
};

/** Splits text into statements. The text is already known to be valid TOML. */
function scan(text: string): Layout {
  const lines: Line[] = [];
  for (let start = 0; start < text.length || lines.length === 0;) {
    const nl = text.indexOf('\n', start);
    const next = nl < 0 ? text.length : nl + 1;
    const body = text.slice(start, nl < 0 ? text.length : nl);
    const kind: LineKind = /^[ \t]*\r?$/.test(body)
      ? 'blank'
      : /^[ \t]*#/.test(body)
        ? 'comment'
        : 'code';
    lines.push({ start, next, kind });
    if (nl < 0) break;
    start = next;
  }
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = lines.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((lines[mid] as Line).start <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  let i = 0;
  const n = text.length;
  const fail = (what: string): never => {
    throw new TomlEditError('', `cannot edit line ${lineOf(i) + 1} in place: expected ${what}`);
  };
  const ws = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const comment = () => {
    if (text[i] === '#') while (i < n && text[i] !== '\n') i++;
  };
  // Inside arrays and inline tables: whitespace, line breaks and comments.
  const wsnl = () => {
    for (;;) {
      ws();
      if (text[i] === '#') comment();
      else if (text[i] === '\n' || text[i] === '\r') i++;
      else return;
    }
  };

  /** A quoted string; returns its value for basic and literal strings. */
  const string = (): string => {
    const q = text[i] as string;
    if (text.startsWith(q.repeat(3), i)) {
      i += 3;
      for (;;) {
        if (i >= n) fail(`closing ${q.repeat(3)}`);
        if (q === '"' && text[i] === '\\') i += 2;
        else if (text.startsWith(q.repeat(3), i)) {
          i += 3;
          // Up to two quotes right before the delimiter belong to the string.
          for (let k = 0; k < 2 && text[i] === q; k++) i++;
          return '';
        } else i++;
      }
    }
    i++;
    let out = '';
    for (;;) {
      const c = text[i];
      if (c === undefined || c === '\n') return fail(`closing ${q}`);
      i++;
      if (c === q) return out;
      if (c !== '\\' || q === "'") {
        out += c;
        continue;
      }
      const e = text[i++] as string;
      const hex = e === 'u' ? 4 : e === 'U' ? 8 : e === 'x' ? 2 : 0;
      if (hex > 0) {
        out += String.fromCodePoint(parseInt(text.slice(i, i + hex), 16));
        i += hex;
      } else out += ESCAPES[e] ?? fail('a string escape');
    }
  };

  const simpleKey = (): string => {
    if (text[i] === '"' || text[i] === "'") return string();
    const m = /[A-Za-z0-9_-]+/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return fail('a key');
    i += r[0].length;
    return r[0];
  };

  const dottedKey = (): string[] => {
    const parts: string[] = [];
    for (;;) {
      ws();
      parts.push(simpleKey());
      ws();
      if (text[i] !== '.') return parts;
      i++;
    }
  };

  const value = (): ValueSpan => {
    const start = i;
    const c = text[i];
    if (c === '"' || c === "'") {
      string();
      return { type: 'other', appendAt: i, empty: false };
    }
    if (c === '[' || c === '{') {
      const close = c === '[' ? ']' : '}';
      i++;
      let appendAt = i;
      let empty = true;
      for (;;) {
        wsnl();
        if (text[i] === close) break;
        if (c === '{') {
          dottedKey();
          if (text[i++] !== '=') fail('"="');
          ws();
        }
        value();
        appendAt = i;
        empty = false;
        wsnl();
        if (text[i] === ',') i++;
        else if (text[i] !== close) fail(`"," or "${close}"`);
      }
      i++;
      return { type: c === '[' ? 'array' : 'table', appendAt, empty };
    }
    while (i < n && !',]}#\n\r'.includes(text[i] as string)) i++;
    while (i > start && (text[i - 1] === ' ' || text[i - 1] === '\t')) i--;
    if (i === start) fail('a value');
    return { type: 'other', appendAt: i, empty: false };
  };

  const headers: Header[] = [];
  const pairs: Pair[] = [];
  let table: string[] = [];
  while (i < n) {
    ws();
    const c = text[i];
    if (c === undefined) break;
    if (c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      comment();
      continue;
    }
    const line = lineOf(i);
    if (c === '[') {
      const array = text[i + 1] === '[';
      i += array ? 2 : 1;
      table = dottedKey();
      if (!text.startsWith(array ? ']]' : ']', i)) fail('"]"');
      i += array ? 2 : 1;
      headers.push({ path: table, array, line });
    } else {
      const key = dottedKey();
      if (text[i++] !== '=') fail('"="');
      ws();
      const v = value();
      const endLine = lineOf(i - 1);
      for (let l = line + 1; l <= endLine; l++) (lines[l] as Line).kind = 'code';
      pairs.push({ path: [...table, ...key], line, endLine, value: v, table: headers.length - 1 });
    }
    ws();
    comment();
    if (i < n && text[i] !== '\n' && text[i] !== '\r') fail('the end of the line');
  }
  return { text, eol: text.includes('\r\n') ? '\r\n' : '\n', lines, headers, pairs };
}

// ---- positions ----

function startsWith(path: readonly string[], prefix: TomlPath): boolean {
  return prefix.length <= path.length && prefix.every((k, j) => path[j] === k);
}

function line(l: Layout, i: number): Line {
  return l.lines[i] as Line;
}

/**
 * First line of a header's comment block: the comment lines right above it. A block that
 * starts the file describes the file, not the table.
 */
function leadStart(l: Layout, h: number): number {
  const header = (l.headers[h] as Header).line;
  let s = header;
  while (s > 0 && line(l, s - 1).kind === 'comment') s--;
  return s === 0 ? header : s;
}

/** The line after a header's table ends: where the next header's comment block starts. */
function spanEnd(l: Layout, h: number): number {
  return h + 1 < l.headers.length ? leadStart(l, h + 1) : l.lines.length;
}

/** Last non-blank line of a header's table, comments included. */
function contentEnd(l: Layout, h: number): number {
  let e = spanEnd(l, h) - 1;
  while (e > (l.headers[h] as Header).line && line(l, e).kind === 'blank') e--;
  return e;
}

/** Last line of the last key of a table (the header line when it has none); -1: none. */
function lastPairLine(l: Layout, h: number): number {
  let last = h >= 0 ? (l.headers[h] as Header).line : -1;
  for (const p of l.pairs) if (p.table === h) last = p.endLine;
  return last;
}

/** Offset just after line `i`, with a line break added to the text if it has none. */
function afterLine(l: Layout, i: number): { at: number; pre: string } {
  const ln = line(l, i);
  const broken = ln.next > ln.start && l.text[ln.next - 1] === '\n';
  return { at: ln.next, pre: broken ? '' : l.eol };
}

/** A key (not a table header) at a proper prefix of `path`: it holds the path inline. */
function inlineOwner(l: Layout, path: TomlPath): Pair | undefined {
  return l.pairs.find((p) => p.path.length < path.length && startsWith(path, p.path));
}

function refuseInline(l: Layout, path: TomlPath): void {
  const owner = inlineOwner(l, path);
  if (owner) {
    throw new TomlEditError(
      formatKeyPath(owner.path),
      `is written as an inline value, which cannot be edited in place; change ${formatKeyPath(path)} by hand`,
    );
  }
}

// ---- writing values ----

/** A TOML basic string. */
export function formatTomlString(s: string): string {
  return `"${s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => {
    const short = {
      '\\': '\\\\',
      '"': '\\"',
      '\b': '\\b',
      '\t': '\\t',
      '\n': '\\n',
      '\f': '\\f',
      '\r': '\\r',
    }[c];
    return short ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
  })}"`;
}

function formatKey(k: string): string {
  return /^[A-Za-z0-9_-]+$/.test(k) ? k : formatTomlString(k);
}

function formatPath(path: TomlPath): string {
  return path.map(formatKey).join('.');
}

function formatValue(v: Value): string {
  if (typeof v === 'string') return formatTomlString(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  if (Array.isArray(v)) return `[${v.map(formatValue).join(', ')}]`;
  if (isTable(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) return '{}';
    return `{ ${entries.map(([k, x]) => `${formatKey(k)} = ${formatValue(x)}`).join(', ')} }`;
  }
  throw new TypeError(`cannot write ${typeof v} as a TOML value`);
}

function isTable(v: Value): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

// ---- the edits ----

interface Splice {
  at: number;
  end: number;
  text: string;
}

function addTable(l: Layout, e: Extract<TomlEdit, { op: 'addTable' }>): Splice {
  refuseInline(l, e.path);
  const body = Object.entries(e.value).map(
    ([k, v]) => `${formatKey(k)} = ${formatValue(v)}${l.eol}`,
  );
  const table = `[${formatPath(e.path)}]${l.eol}${body.join('')}`;
  for (const prefix of e.after ?? []) {
    const h = l.headers.findLastIndex((x) => startsWith(x.path, prefix));
    if (h < 0) continue;
    const end = contentEnd(l, h);
    const { at, pre } = afterLine(l, end);
    // Tables written without blank lines between them get none either.
    const above = leadStart(l, h) - 1;
    const tight =
      above >= 0
        ? line(l, above).kind !== 'blank'
        : end + 1 < l.lines.length && line(l, end + 1).kind !== 'blank';
    return { at, end: at, text: `${pre}${tight ? '' : l.eol}${table}` };
  }
  for (const prefix of e.before ?? []) {
    const h = l.headers.findIndex((x) => startsWith(x.path, prefix));
    if (h < 0) continue;
    const at = line(l, leadStart(l, h)).start;
    return { at, end: at, text: `${table}${l.eol}` };
  }
  let last = l.lines.length - 1;
  while (last >= 0 && line(l, last).kind === 'blank') last--;
  if (last < 0) return { at: 0, end: 0, text: table };
  const { at, pre } = afterLine(l, last);
  return { at, end: at, text: `${pre}${l.eol}${table}` };
}

function remove(l: Layout, path: TomlPath): Splice[] {
  refuseInline(l, path);
  const ranges: [number, number][] = [];
  l.headers.forEach((h, k) => {
    if (!startsWith(h.path, path)) return;
    // From the blank lines before its comment block to its last non-blank line.
    let first = leadStart(l, k);
    while (first > 0 && line(l, first - 1).kind === 'blank') first--;
    let last = contentEnd(l, k);
    if (first === 0) {
      while (last + 1 < l.lines.length && line(l, last + 1).kind === 'blank') last++;
    }
    ranges.push([line(l, first).start, line(l, last).next]);
  });
  for (const p of l.pairs) {
    if (startsWith(p.path, path)) ranges.push([line(l, p.line).start, line(l, p.endLine).next]);
  }
  if (ranges.length === 0) throw new TomlEditError(formatKeyPath(path), 'not found');
  ranges.sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const top = merged[merged.length - 1];
    if (top && r[0] <= top[1]) top[1] = Math.max(top[1], r[1]);
    else merged.push([...r]);
  }
  return merged.map(([at, end]) => ({ at, end, text: '' }));
}

function append(l: Layout, path: TomlPath, item: Value): Splice {
  const v = formatValue(item);
  const pair = l.pairs.find((p) => p.path.length === path.length && startsWith(p.path, path));
  if (pair) {
    if (pair.value.type !== 'array') {
      throw new TomlEditError(formatKeyPath(path), 'is not an array');
    }
    const at = pair.value.appendAt;
    return { at, end: at, text: pair.value.empty ? v : `, ${v}` };
  }
  refuseInline(l, path);
  // A new key in the table's own [header], else as a dotted key in the nearest table
  // above it.
  const tablePath = path.slice(0, -1);
  let best = -1;
  l.headers.forEach((h, k) => {
    if (h.array || !startsWith(tablePath, h.path)) return;
    if (best < 0 || h.path.length > (l.headers[best] as Header).path.length) best = k;
  });
  const rel = path.slice(best < 0 ? 0 : (l.headers[best] as Header).path.length);
  const text = `${formatPath(rel)} = [${v}]${l.eol}`;
  const after = lastPairLine(l, best);
  if (after >= 0) {
    const { at, pre } = afterLine(l, after);
    return { at, end: at, text: pre + text };
  }
  const at = l.headers.length > 0 ? line(l, leadStart(l, 0)).start : l.text.length;
  return { at, end: at, text: l.headers.length > 0 ? text + l.eol : text };
}

function applyEdit(text: string, e: TomlEdit): string {
  const l = scan(text);
  const splices =
    e.op === 'addTable'
      ? [addTable(l, e)]
      : e.op === 'remove'
        ? remove(l, e.path)
        : [append(l, e.path, e.item)];
  let out = text;
  for (const s of splices.sort((a, b) => b.at - a.at)) {
    out = out.slice(0, s.at) + s.text + out.slice(s.end);
  }
  return out;
}

// ---- checking the result ----

/** A table without a prototype, so that any key (even "__proto__") is just a key. */
function newTable(): Table {
  return Object.create(null) as Table;
}

/** Copies tables and arrays; leaves are shared. */
function copy(v: Value): Value {
  if (Array.isArray(v)) return v.map(copy);
  if (!isTable(v)) return v;
  const out = newTable();
  for (const [k, x] of Object.entries(v)) out[k] = copy(x);
  return out;
}

/** The table at `path`, created as needed. */
function tableAt(root: Table, path: TomlPath): Table {
  let t = root;
  for (const k of path) {
    const next = t[k];
    if (isTable(next)) t = next;
    else t = t[k] = newTable();
  }
  return t;
}

/**
 * Applies an edit to parsed data, as the text edit should have. Tables emptied by a
 * removal may vanish from the text: their paths go into `vanish`.
 */
function applyToData(data: Table, e: TomlEdit, vanish: Set<string>): void {
  const parent = tableAt(data, e.path.slice(0, -1));
  const key = e.path[e.path.length - 1] as string;
  if (e.op === 'addTable') parent[key] = copy(e.value);
  else if (e.op === 'append') {
    const arr = parent[key];
    parent[key] = [...(Array.isArray(arr) ? arr : []), copy(e.item)];
  } else {
    delete parent[key];
    for (let k = e.path.length - 1; k > 0; k--) {
      const t = tableAt(data, e.path.slice(0, k));
      if (Object.keys(t).length > 0) break;
      vanish.add(JSON.stringify(e.path.slice(0, k)));
    }
  }
}

function sameData(a: Value, b: Value, path: string[], vanish: Set<string>): boolean {
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, k) => sameData(x, b[k], [...path, ''], vanish));
  }
  if (a instanceof Date && b instanceof Date) return a.toISOString() === b.toISOString();
  if (isTable(a) && isTable(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const p = [...path, k];
      if (k in a && k in b) {
        if (!sameData(a[k], b[k], p, vanish)) return false;
        continue;
      }
      const only = k in a ? a[k] : b[k];
      const empty = isTable(only) && Object.keys(only).length === 0;
      if (!empty || !vanish.has(JSON.stringify(p))) return false;
    }
    return true;
  }
  return Object.is(a, b);
}

/**
 * Applies edits to TOML text in order and returns the new text. Throws TomlEditError
 * when an edit cannot be made in place, or when the result would not hold exactly the
 * intended data.
 */
export function editToml(text: string, edits: readonly TomlEdit[]): string {
  const before = parse(text) as Table;
  let out = text;
  for (const e of edits) out = applyEdit(out, e);
  const where = edits.length > 0 ? formatKeyPath((edits[0] as TomlEdit).path) : '';
  let after: Table;
  try {
    after = parse(out) as Table;
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    throw new TomlEditError(where, `cannot be changed in place (${why}); edit the file by hand`);
  }
  const expected = copy(before) as Table;
  const vanish = new Set<string>();
  for (const e of edits) applyToData(expected, e, vanish);
  if (!sameData(expected, after, [], vanish)) {
    throw new TomlEditError(
      where,
      'cannot be changed in place without touching other keys; edit the file by hand',
    );
  }
  return out;
}
