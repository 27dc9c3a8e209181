// Administrative requests: to the running server over its control socket, or, when no
// server runs, directly against the data directory.
import { connect } from 'node:net';
import { createLogger } from '../log/index.js';
import { Queue, queueAdmin, queueFileName, QueueError } from '../queue/index.js';
import { ctlPath } from '../server/ctl.js';
import { Store } from '../store/index.js';
import { ImportError, importMail, type ImportArgs } from '../server/importexport.js';
import { CliError, loadConfigOrExit } from './common.js';

type CtlReply = { ok: true; result: unknown } | { ok: false; error: string; code: string };

/**
 * The server's reply, or null when no server listens on the socket. Progress lines the
 * server sends before it go to `onProgress`.
 */
function viaSocket(
  path: string,
  op: string,
  args: object,
  onProgress?: (p: unknown) => void,
): Promise<CtlReply | null> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let buf = '';
    let connected = false;
    s.setEncoding('utf8');
    s.on('connect', () => {
      connected = true;
      s.write(JSON.stringify({ op, args }) + '\n');
    });
    s.on('data', (c: string) => {
      buf += c;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        if (!line.startsWith('{"progress":')) break;
        buf = buf.slice(nl + 1);
        try {
          onProgress?.((JSON.parse(line) as { progress: unknown }).progress);
        } catch {
          // A progress line that does not parse is only not shown.
        }
      }
    });
    s.on('end', () => {
      try {
        resolve(JSON.parse(buf) as CtlReply);
      } catch {
        reject(new CliError(`unreadable reply from the server on ${path}`));
      }
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED')) resolve(null);
      else reject(new CliError(`control socket ${path}: ${e.message}`));
    });
  });
}

/** Runs the operation against the queue in the data directory (no server running). */
async function direct(
  configDir: string,
  op: string,
  args: object,
  onProgress?: (p: unknown) => void,
): Promise<unknown> {
  const cfg = loadConfigOrExit(configDir);
  const store = await Store.open({ dataDir: cfg.static.data_dir });
  try {
    if (op === 'import') {
      const a = args as ImportArgs;
      return await importMail(store, a.account, a.mailbox, a.paths, onProgress, a.mode);
    }
    if (op === 'backup') {
      const a = args as { dir: string; copy?: boolean };
      return await store.backup(a.dir, { queueFile: queueFileName, copy: a.copy === true });
    }
    const queue = await Queue.open({
      store,
      domains: () => cfg.domains,
      hostname: cfg.static.hostname,
      log: createLogger({ level: 'warn', destination: process.stderr }),
      cleanup: false,
    });
    return await queueAdmin(queue, op, args as Record<string, unknown>);
  } finally {
    await store.close();
  }
}

/** Runs an administrative operation; errors become CliError with the server's text. */
export async function adminRequest(
  configDir: string,
  op: string,
  args: object,
  onProgress?: (p: unknown) => void,
): Promise<unknown> {
  const cfg = loadConfigOrExit(configDir);
  const r = await viaSocket(ctlPath(cfg.static.data_dir), op, args, onProgress);
  if (r === null) {
    try {
      return await direct(configDir, op, args, onProgress);
    } catch (e) {
      if (e instanceof QueueError) throw new CliError(e.message, e.code === 'invalid' ? 2 : 1);
      if (e instanceof ImportError) throw new CliError(e.message, 2);
      throw e;
    }
  }
  if (!r.ok) throw new CliError(r.error, r.code === 'invalid' ? 2 : 1);
  return r.result;
}
