// Logging: pino JSON lines with connection ids and three protocol-trace levels below
// `trace`. Traces are off by default; `traceauth` adds credentials, `tracedata` adds
// message data.
import { randomInt } from 'node:crypto';
import { pino, stdTimeFunctions, type DestinationStream, type LevelWithSilent } from 'pino';

/** Levels below pino's `trace` (10): credentials, then message data. */
export const CUSTOM_LEVELS = { traceauth: 8, tracedata: 6 } as const;

export type CustomLevel = keyof typeof CUSTOM_LEVELS;
export type LogLevel = LevelWithSilent | CustomLevel;
export type Logger = pino.Logger<CustomLevel>;
export type TraceKind = 'trace' | 'traceauth' | 'tracedata';

/** All accepted level names, lowest first. */
export const LOG_LEVELS: readonly LogLevel[] = [
  'tracedata',
  'traceauth',
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
];

export function isLogLevel(s: string): s is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(s);
}

export interface LoggerOptions {
  /** Minimum level written; default `info`. */
  level?: LogLevel;
  /** Where lines go; default standard output. */
  destination?: DestinationStream;
  /** Human-readable lines instead of JSON (for localserve). */
  pretty?: boolean;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? 'info';
  if (!isLogLevel(level)) throw new TypeError(`unknown log level ${JSON.stringify(level)}`);
  let dest: DestinationStream = opts.destination ?? pino.destination({ dest: 1, sync: false });
  if (opts.pretty) dest = prettyDestination(dest);
  return pino<CustomLevel>(
    {
      level,
      customLevels: CUSTOM_LEVELS,
      base: null,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

const CID_LENGTH = 10;
// Fixed-width base36 values (10 digits) so ids sort lexicographically in creation order.
let cidCounter = 36 ** (CID_LENGTH - 1) + randomInt(0, 2 ** 40);

/** A short connection id, unique within this process and increasing. */
export function newCid(): string {
  cidCounter += 1;
  return cidCounter.toString(36);
}

/**
 * Log one protocol line: `C: …` for client to server, `S: …` for server to client.
 * Nothing is converted unless the level is enabled.
 */
export function traceLine(
  log: Logger,
  dir: 'C' | 'S',
  line: Buffer | string,
  kind: TraceKind = 'trace',
): void {
  if (!log.isLevelEnabled(kind)) return;
  let text = typeof line === 'string' ? line : line.toString('utf8');
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);
  log[kind](`${dir}: ${text}`);
}

const PRETTY_SKIP = new Set(['level', 'time', 'msg']);

/** Render one JSON log line as `time LEVEL msg key=value …`. */
export function formatPretty(json: string): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : json + '\n';
  }
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : String(rec.time ?? '');
  const level = String(rec.level ?? '').toUpperCase();
  let out = `${time} ${level.padEnd(5)} ${String(rec.msg ?? '')}`;
  for (const [k, v] of Object.entries(rec)) {
    if (PRETTY_SKIP.has(k) || v === undefined) continue;
    out += ` ${k}=${prettyValue(v)}`;
  }
  return out + '\n';
}

function prettyValue(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  if (v !== null && typeof v === 'object') {
    const err = v as { stack?: unknown };
    if (typeof err.stack === 'string') return JSON.stringify(err.stack);
  }
  return JSON.stringify(v);
}

function prettyDestination(dest: DestinationStream): DestinationStream {
  return {
    write(msg: string): void {
      // pino writes one complete line per call.
      dest.write(formatPretty(msg));
    },
  };
}
