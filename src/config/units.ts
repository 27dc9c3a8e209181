// Durations ("1m30s", "500ms") and byte sizes ("100 MiB") as written in configuration files.

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const durationPart = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses a duration such as "15s", "1m30s", "500ms", "2h" or "1.5s" to whole milliseconds.
 * "0" alone is allowed. Returns a problem description when the text is not a duration.
 */
export function parseDuration(text: string): number | string {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return 'empty duration, expected e.g. "15s", "1m30s" or "500ms"';
  if (s.startsWith('-')) return `negative duration ${JSON.stringify(text)}`;
  let total = 0;
  durationPart.lastIndex = 0;
  while (durationPart.lastIndex < s.length) {
    const at = durationPart.lastIndex;
    const m = durationPart.exec(s);
    if (!m) {
      const where = at === 0 ? '' : ` at ${JSON.stringify(s.slice(at))}`;
      return `invalid duration ${JSON.stringify(text)}${where}, expected numbers with units ms, s, m or h, e.g. "1m30s"`;
    }
    total += Number(m[1]) * (durationUnits[m[2] as string] as number);
  }
  if (!Number.isSafeInteger(Math.round(total))) {
    return `duration ${JSON.stringify(text)} is too long`;
  }
  return Math.round(total);
}

/** Formats milliseconds as the shortest duration text that parseDuration reads back. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}

const sizeUnits: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};
const sizePattern = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i;

/**
 * Parses a byte count: a non-negative integer, or a string with a unit such as
 * "100 MiB", "512KiB", "1.5 GB" (KB/MB/GB/TB are powers of 1000, KiB/MiB/GiB/TiB of 1024).
 * Returns a problem description when the value is not a size.
 */
export function parseSize(value: unknown): number | string {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      return `expected a non-negative whole number of bytes, got ${value}`;
    }
    return value;
  }
  if (typeof value !== 'string') {
    return `expected a number of bytes or a size like "100 MiB", got ${describeValue(value)}`;
  }
  const m = sizePattern.exec(value.trim());
  const unit = m ? sizeUnits[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    return `invalid size ${JSON.stringify(value)}, expected e.g. 1048576, "512 KiB", "100 MiB" or "2 GB"`;
  }
  const n = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n)) return `size ${JSON.stringify(value)} is too large`;
  return n;
}

/** Names the TOML type of a value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date-time';
  switch (typeof value) {
    case 'string':
      return `string ${JSON.stringify(value)}`;
    case 'number':
      return Number.isInteger(value) ? `integer ${value}` : `float ${value}`;
    case 'boolean':
      return `boolean ${value}`;
    case 'bigint':
      return `integer ${value}`;
    case 'object':
      return value === null ? 'null' : 'a table';
    default:
      return typeof value;
  }
}

/** Formats bytes with the largest binary unit that divides them exactly ("10 GiB"). */
export function formatSize(bytes: number): number | string {
  for (const unit of ['TiB', 'GiB', 'MiB', 'KiB'] as const) {
    const size = sizeUnits[unit.toLowerCase()] as number;
    if (bytes > 0 && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return bytes;
}
