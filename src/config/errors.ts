// Configuration errors: every problem names the file, the key path and what was expected.

/** One problem found in a configuration file. */
export interface ConfigProblem {
  /** TOML key path, e.g. `listeners.public.imaps.port`; empty for the whole file. */
  keyPath: string;
  /** What is wrong or what was expected. */
  problem: string;
}

/** Where a TOML syntax error was found (1-based). */
export interface SourcePosition {
  line: number;
  column: number;
}

function formatProblem(file: string, p: ConfigProblem): string {
  return p.keyPath === '' ? `${file}: ${p.problem}` : `${file}: ${p.keyPath}: ${p.problem}`;
}

/**
 * A configuration file could not be read, parsed or validated. `keyPath` and `problem`
 * are those of the first problem; `problems` holds all of them, one per message line.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly keyPath: string;
  readonly problem: string;
  readonly problems: readonly ConfigProblem[];
  /** Set for TOML syntax errors. */
  readonly position: SourcePosition | undefined;

  constructor(file: string, problems: readonly ConfigProblem[], position?: SourcePosition) {
    const list = problems.length > 0 ? problems : [{ keyPath: '', problem: 'invalid' }];
    const first = list[0] as ConfigProblem;
    super(list.map((p) => formatProblem(file, p)).join('\n'));
    this.file = file;
    this.keyPath = first.keyPath;
    this.problem = first.problem;
    this.problems = list;
    this.position = position;
  }
}

const bareKey = /^[A-Za-z0-9_-]+$/;

/** Formats a path as TOML keys: bare keys plain, others quoted, array indexes as `[n]`. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') {
      out += `[${seg}]`;
      continue;
    }
    const s = String(seg);
    const key = bareKey.test(s) ? s : JSON.stringify(s);
    out += out === '' ? key : `.${key}`;
  }
  return out;
}

/** Collects problems under a key-path prefix while validating one file. */
export class ProblemList {
  readonly items: ConfigProblem[] = [];

  add(path: readonly PropertyKey[], problem: string): void {
    this.items.push({ keyPath: formatKeyPath(path), problem });
  }

  get empty(): boolean {
    return this.items.length === 0;
  }

  /** Throws a ConfigError for `file` when any problem was collected. */
  throwIfAny(file: string): void {
    if (this.items.length > 0) throw new ConfigError(file, this.items);
  }
}
