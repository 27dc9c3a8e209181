// localserve: a complete local mail server for development and testing, with no root
// privileges and no configuration. The first start writes a configuration (ports 1000
// above the standard ones, on loopback), a self-signed certificate for localhost and
// one account; later starts reuse all of it. Every file is written whole or not at all
// and the account's password is on disk before any port opens, so a start interrupted
// at any moment (Ctrl-C) leaves nothing half done, and the next start completes it.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { writeFileAtomic } from '../config/index.js';
import { ensureSelfSigned } from '../net/index.js';
import { deriveSecrets } from '../sasl/index.js';
import { mkdirPrivate } from '../store/index.js';
import { Server, type ServerOptions } from './server.js';

export const LOCALSERVE_ACCOUNT = 'you';
export const LOCALSERVE_ADDRESS = 'you@localhost';
export const LOCALSERVE_PASSWORD = 'tidings';

export const LOCALSERVE_PORTS = {
  smtp: 1025,
  submission: 1587,
  submissions: 1465,
  imap: 1143,
  imaps: 1993,
  http: 1080,
  metrics: 1081,
} as const;

export function localserveDir(): string {
  return process.env.TIDINGS_LOCALSERVE_DIR || join(homedir(), '.config', 'tidings-localserve');
}

/** tidings.toml of localserve; `ports` other than the defaults are for tests. */
export function localserveStaticConfig(
  certFile: string,
  keyFile: string,
  ports: Record<keyof typeof LOCALSERVE_PORTS, number> = LOCALSERVE_PORTS,
): string {
  const p = ports;
  return `# Written by \`tidings localserve\` on first start. Edit freely; a restart applies changes.
hostname = "localhost"
data_dir = "../data"
log_level = "info"

[delays]
# No waiting in local testing.
first_time_sender = "0s"
auth_fail = "0s"
bad_client = "0s"
unknown_recipients = "0s"

[listeners.local]
ips = ["127.0.0.1", "::1"]
tls = { cert_file = ${JSON.stringify(certFile)}, key_file = ${JSON.stringify(keyFile)} }
smtp = { enabled = true, port = ${p.smtp} }
submission = { enabled = true, port = ${p.submission}, no_require_starttls = true }
submissions = { enabled = true, port = ${p.submissions} }
imap = { enabled = true, port = ${p.imap}, no_require_starttls = true }
imaps = { enabled = true, port = ${p.imaps} }
http = { enabled = true, port = ${p.http} }
metrics = { enabled = true, port = ${p.metrics} }
`;
}

function domainsConfigText(): string {
  return `# Written by \`tidings localserve\` on first start. Changes are picked up while running.
[domains.localhost]
description = "local testing"
localpart_catchall_separators = ["+"]

[accounts.${LOCALSERVE_ACCOUNT}]
domain = "localhost"
full_name = "You"

[accounts.${LOCALSERVE_ACCOUNT}.destinations."${LOCALSERVE_ADDRESS}"]
mailbox = "Inbox"
`;
}

const exists = (p: string) =>
  stat(p).then(
    () => true,
    () => false,
  );

/** Creates the localserve configuration on first start; returns the config directory. */
export async function ensureLocalserveConfig(
  dir = localserveDir(),
): Promise<{ configDir: string; created: boolean }> {
  const configDir = join(dir, 'config');
  // Private whatever the umask: it holds the TLS key (and DKIM keys, if added).
  await mkdirPrivate(configDir);
  const { cert_file: certFile, key_file: keyFile } = await ensureSelfSigned(configDir, [
    'localhost',
  ]);
  let created = false;
  if (!(await exists(join(configDir, 'tidings.toml')))) {
    const text = localserveStaticConfig(certFile, keyFile);
    await writeFileAtomic(join(configDir, 'tidings.toml'), text, 0o600);
    created = true;
  }
  if (!(await exists(join(configDir, 'domains.toml')))) {
    await writeFileAtomic(join(configDir, 'domains.toml'), domainsConfigText(), 0o600);
    created = true;
  }
  return { configDir, created };
}

/**
 * Gives the localserve account its password unless it has one: on first start, and
 * after a first start that was interrupted before this. setSecrets resolves once the
 * commit is durable.
 */
async function ensurePassword(server: Server): Promise<void> {
  if (!server.domains.accounts[LOCALSERVE_ACCOUNT]) return;
  const account = await server.store.account(LOCALSERVE_ACCOUNT);
  if (!(await account.secrets()))
    await account.setSecrets(await deriveSecrets(LOCALSERVE_PASSWORD));
}

/**
 * Starts localserve: configuration and account on first start, the account's password
 * whenever it has none, then the server with its listeners.
 */
export async function startLocalserve(
  dir = localserveDir(),
  opts: Partial<ServerOptions> = {},
): Promise<{ server: Server; configDir: string; created: boolean }> {
  const { configDir, created } = await ensureLocalserveConfig(dir);
  const server = await Server.start({
    pretty: true,
    tolerateMissingAddresses: true,
    localserve: { account: LOCALSERVE_ACCOUNT },
    ...opts,
    configDir,
    // A client that connects the moment a port opens can log in.
    beforeListen: async (s) => {
      await ensurePassword(s);
      await opts.beforeListen?.(s);
    },
  });
  return { server, configDir, created };
}
