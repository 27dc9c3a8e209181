// An account's derived password secrets (never the password itself), kept in its
// database as one JSON row.
import type { AccountCore } from './core.js';

export function secrets<T = unknown>(core: AccountCore): T | null {
  const r = core.stmt('SELECT secrets FROM password').get() as { secrets: string } | undefined;
  return r ? (JSON.parse(r.secrets) as T) : null;
}

export function setSecrets(core: AccountCore, secrets: unknown): Promise<void> {
  return core.withLock(() => {
    core
      .stmt(
        'INSERT INTO password (id, secrets) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET secrets = excluded.secrets',
      )
      .run(JSON.stringify(secrets));
    core.committedWithoutChanges();
  });
}
