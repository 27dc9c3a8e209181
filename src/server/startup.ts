// Problems that keep the server from starting, told the way an admin needs them: which
// file, key, port or directory, and what to do about it, without a stack trace.
import { join } from 'node:path';
import { ConfigError, type StaticConfig } from '../config/index.js';
import { TlsConfigError, loadTlsContext } from '../net/index.js';
import { isStorageFull } from '../store/index.js';

/** A problem with the machine or the configuration, not a bug: its message says it all. */
export class StartupError extends Error {
  override name = 'StartupError';
}

/**
 * Loads every listener's certificates and keys, as the server will, so that `config
 * check` finds a missing or unreadable file before a start does. Problems name the
 * listener's tls key and the file.
 */
export function tlsProblems(st: StaticConfig, staticFile: string): ConfigError | null {
  const problems: { keyPath: string; problem: string }[] = [];
  for (const [name, l] of Object.entries(st.listeners)) {
    if (!l.tls) continue;
    try {
      loadTlsContext(l.tls.keys);
    } catch (e) {
      if (!(e instanceof TlsConfigError)) throw e;
      problems.push({ keyPath: `listeners.${name}.tls`, problem: e.message });
    }
  }
  return problems.length > 0 ? new ConfigError(staticFile, problems) : null;
}

/** Why a listener could not be opened, with what the admin can do about it. */
export function listenError(
  e: unknown,
  where: { configDir: string; listener: string; service: string; ip: string; port: number },
): Error {
  const { listener, service, ip, port } = where;
  const at = `listener ${listener}: ${service} on ${ip} port ${port}`;
  const key = `[listeners.${listener}] ${service}.port in ${join(where.configDir, 'tidings.toml')}`;
  switch ((e as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new StartupError(
        `${at}: the port is in use by another program (or another Tidings); stop it, or set another port: ${key}`,
      );
    case 'EACCES':
      return new StartupError(
        `${at}: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability; grant it, or set another port: ${key}`,
      );
    case 'EADDRNOTAVAIL':
      return new StartupError(
        `${at}: this machine has no such address; fix ips in [listeners.${listener}]`,
      );
    default:
      return new Error(`${at}: ${(e as Error).message}`, { cause: e });
  }
}

/** Storage trouble while opening the data directory, said plainly; other errors as they are. */
export function dataDirError(e: unknown, dataDir: string): unknown {
  if (isStorageFull(e)) {
    return new StartupError(
      `no space left on the file system of the data directory ${dataDir} (${(e as Error).message}); free some space and start again`,
    );
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (
    code === 'EACCES' ||
    code === 'EROFS' ||
    code === 'SQLITE_READONLY' ||
    code === 'SQLITE_CANTOPEN'
  ) {
    return new StartupError(
      `cannot write to the data directory ${dataDir} (${(e as Error).message}); check its owner, permissions and mount`,
    );
  }
  return e;
}
