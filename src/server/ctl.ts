// The control socket: a Unix socket in the data directory (mode 0600) where the running
// server answers administrative requests from the `tidings` command. One JSON request
// line per connection, one JSON response line: {"ok":true,"result":...} or
// {"ok":false,"error":"...","code":"..."}. A long request (an import) may send
// {"progress":...} lines before it.
import { chmod, unlink } from 'node:fs/promises';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log/index.js';

export const CTL_SOCKET = 'ctl.sock';
/** Longest request line. */
const MAX_REQUEST = 64 * 1024;

export type CtlHandler = (
  op: string,
  args: Record<string, unknown>,
  progress: (p: unknown) => void,
) => Promise<unknown>;

export function ctlPath(dataDir: string): string {
  return join(dataDir, CTL_SOCKET);
}

export type CtlServer = { path: string; close(): Promise<void> };

export async function startCtlServer(
  dataDir: string,
  handler: CtlHandler,
  log: Logger,
): Promise<CtlServer> {
  const path = ctlPath(dataDir);
  // A socket file left by a process that is gone would make listen fail.
  await unlink(path).catch(() => undefined);
  const server = createServer((s) => serve(s, handler, log));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  await chmod(path, 0o600);
  return { path, close: () => close(server, path) };
}

async function close(server: NetServer, path: string): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await unlink(path).catch(() => undefined);
}

function serve(s: Socket, handler: CtlHandler, log: Logger): void {
  let buf = '';
  s.setEncoding('utf8');
  s.on('error', () => undefined);
  s.on('data', (chunk: string) => {
    buf += chunk;
    const nl = buf.indexOf('\n');
    if (nl < 0) {
      if (buf.length > MAX_REQUEST)
        reply(s, { ok: false, error: 'request too long', code: 'invalid' });
      return;
    }
    s.removeAllListeners('data');
    const progress = (p: unknown) => {
      if (!s.destroyed) s.write(JSON.stringify({ progress: p }) + '\n');
    };
    void answer(buf.slice(0, nl), handler, log, progress).then((r) => reply(s, r));
  });
}

async function answer(
  line: string,
  handler: CtlHandler,
  log: Logger,
  progress: (p: unknown) => void,
): Promise<object> {
  let req: unknown;
  try {
    req = JSON.parse(line);
  } catch {
    return { ok: false, error: 'request is not JSON', code: 'invalid' };
  }
  const { op, args } = (req ?? {}) as { op?: unknown; args?: unknown };
  if (
    typeof op !== 'string' ||
    (args !== undefined && (typeof args !== 'object' || args === null))
  ) {
    return { ok: false, error: 'request needs "op" (text) and "args" (object)', code: 'invalid' };
  }
  try {
    const result = await handler(op, (args ?? {}) as Record<string, unknown>, progress);
    log.info({ op }, 'control request');
    return { ok: true, result };
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') log.error({ err: e, op }, 'control request failed');
    return {
      ok: false,
      error: (e as Error).message,
      code: typeof code === 'string' ? code : 'error',
    };
  }
}

function reply(s: Socket, r: object): void {
  s.end(JSON.stringify(r) + '\n');
}
