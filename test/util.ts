// Helpers shared by the server-level tests.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';

/** Connects and returns what the server sends first (its greeting line). */
export function firstLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d) => {
      data += d;
      // The first line is enough.
      if (data.includes('\r\n')) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}

/** Runs the `tidings` command (from the sources) and collects its output. */
export const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');

type Result = { code: number | null; stdout: string; stderr: string };

export function tidings(
  args: string[],
  opts: { input?: string; env?: Record<string, string> } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      env: { ...process.env, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(opts.input ?? '');
  });
}
