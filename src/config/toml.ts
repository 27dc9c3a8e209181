// Reading a TOML configuration file; errors name the file and, for syntax, line and column.
import { readFileSync } from 'node:fs';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from './errors.js';

/** Reads a file as UTF-8 text, turning I/O errors into a ConfigError. */
export function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new ConfigError(file, [{ keyPath: '', problem: `cannot read file: ${reason}` }]);
  }
}

/** Parses TOML text; a syntax error becomes a ConfigError with its position. */
export function parseToml(file: string, text: string): Record<string, unknown> {
  try {
    return parse(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document: /, '');
      throw new ConfigError(
        file,
        [
          {
            keyPath: '',
            problem: `TOML syntax error at line ${err.line}, column ${err.column}: ${first}`,
          },
        ],
        { line: err.line, column: err.column },
      );
    }
    throw err;
  }
}
