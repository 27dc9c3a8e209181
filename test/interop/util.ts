// Shared pieces for the interoperability tests: test messages, a deadline wrapper and a
// child-process runner with a time limit.
import { spawn } from 'node:child_process';

/** Joins lines with CRLF and ends the last one with CRLF. */
export const crlf = (...lines: string[]): Buffer =>
  Buffer.from(lines.join('\r\n') + '\r\n', 'utf8');

/** A small message for mjl@example.org whose Subject and Message-ID follow `subject`. */
export const subjectMessage = (subject: string, from = 'Sender <sender@example.net>'): Buffer =>
  crlf(
    `From: ${from}`,
    'To: mjl@example.org',
    `Subject: ${subject}`,
    'Date: Tue, 01 Apr 2025 10:00:00 +0000',
    `Message-ID: <${subject.replace(/ /g, '-')}@example.net>`,
    '',
    `Body of ${subject}.`,
  );

/** Rejects when `p` does not settle within `ms`, naming `what` in the error. */
export async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type RunResult = {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
};

/** Runs a program to completion, killing it after `timeoutMs`. Never rejects on exit code. */
export function run(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}
