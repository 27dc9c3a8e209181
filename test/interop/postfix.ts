// A throwaway Postfix instance for interoperability tests: its own configuration, queue,
// data and Maildir directories and log file under one temporary directory, an smtpd on a
// free port of 127.0.0.1, a virtual domain delivered into one Maildir, and per-domain
// relaying to ports on 127.0.0.1. The system instance (/etc/postfix) is never touched:
// every command gets `-c <configdir>`, which Postfix allows the super-user without listing
// the directory in alternate_config_directories.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const POSTFIX = '/usr/sbin/postfix';
const POSTQUEUE = '/usr/sbin/postqueue';
const SCRIPT = '/usr/bin/script';

export type PostfixOptions = {
  /** Mail for this domain is delivered into the instance's Maildir. */
  localDomain: string;
  /** Recipient domain -> port on 127.0.0.1 that mail for the domain is relayed to. */
  relay?: Record<string, number>;
  /** myhostname, also the name in Postfix's EHLO; default "postfix.test". */
  hostname?: string;
};

export type PostfixInstance = {
  /** The smtpd port on 127.0.0.1. */
  port: number;
  /** The temporary directory holding everything of this instance. */
  dir: string;
  /** Messages delivered into the Maildir, raw (LF line ends), in arrival order. */
  maildir(): Promise<Buffer[]>;
  /** Waits until at least `n` messages were delivered; rejects with the log on timeout. */
  waitForMessages(n: number, timeoutMs: number): Promise<Buffer[]>;
  /** Attempts delivery of all deferred mail now (postqueue -f). */
  flush(): Promise<void>;
  /** The queue listing (postqueue -p). */
  queueList(): Promise<string>;
  /** The instance's log so far. */
  logs(): Promise<string>;
  /** Stops Postfix (forcefully when it does not stop) and removes the directory. */
  stop(): Promise<void>;
};

export function postfixAvailable(): boolean {
  return existsSync(POSTFIX);
}

/** Master processes still running, killed when the test process exits whatever happened. */
const running = new Map<string, { pidFile: string; dir: string }>();
let exitHookInstalled = false;

function killAll(): void {
  for (const r of running.values()) {
    const pid = readPid(r.pidFile);
    if (pid) killGroup(pid, 'SIGKILL');
    rmSync(r.dir, { recursive: true, force: true });
  }
  running.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAll);
  // Killed by a signal, 'exit' is not emitted: clean up, then die of the signal as before
  // unless someone else handles it.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

function readPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** The master is a session leader: its process group holds all Postfix daemons. */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Whether a process runs (a zombie waiting for its parent to reap it does not). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

type ExecResult = { code: number; stdout: string; stderr: string };

function exec(cmd: string, args: string[], timeoutMs = 20_000): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      // Not run at all, or killed at the time limit: say so.
      const failed = err && typeof err.code !== 'number' ? `${err.message}\n` : '';
      resolve({ code, stdout, stderr: failed + stderr });
    });
  });
}

async function execOK(cmd: string, args: string[]): Promise<string> {
  const r = await exec(cmd, args);
  if (r.code !== 0) {
    throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code}: ${r.stderr}${r.stdout}`);
  }
  return r.stdout;
}

async function userIds(name: string): Promise<{ uid: number; gid: number }> {
  const uid = Number((await execOK('id', ['-u', name])).trim());
  const gid = Number((await execOK('id', ['-g', name])).trim());
  return { uid, gid };
}

/** A port nobody listens on right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves once the port answers with an SMTP greeting; false after the deadline. */
async function greets(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port });
      let buf = '';
      const done = (v: boolean) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(false));
      s.on('error', () => done(false));
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        if (buf.includes('\r\n')) {
          s.end('QUIT\r\n');
          done(buf.startsWith('220'));
        }
      });
    });
    if (ok) return true;
    await sleep(50);
  }
  return false;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Layout = {
  dir: string;
  config: string;
  queue: string;
  data: string;
  mail: string;
  log: string;
};

function mainCf(l: Layout, opts: PostfixOptions, ids: { uid: number; gid: number }): string {
  const host = opts.hostname ?? 'postfix.test';
  const settings: [string, string][] = [
    ['compatibility_level', '3.6'],
    ['config_directory', l.config],
    ['queue_directory', l.queue],
    ['data_directory', l.data],
    // No syslog here: postlogd writes this file; it must lie under an allowed prefix.
    ['maillog_file', l.log],
    ['maillog_file_prefixes', l.dir],
    ['inet_interfaces', '127.0.0.1'],
    ['inet_protocols', 'ipv4'],
    ['myhostname', host],
    ['mydomain', host],
    ['myorigin', host],
    ['mydestination', ''],
    ['alias_maps', ''],
    ['alias_database', ''],
    ['biff', 'no'],
    ['append_dot_mydomain', 'no'],
    ['mynetworks', '127.0.0.0/8'],
    ['smtpd_relay_restrictions', 'permit_mynetworks, reject_unauth_destination'],
    ['relay_domains', ''],
    // Header fields pass through as sent: no canonical rewriting of address headers for
    // local clients (which 127.0.0.1 is, being an inet_interfaces address).
    ['local_header_rewrite_clients', ''],
    ['virtual_mailbox_domains', opts.localDomain],
    ['virtual_mailbox_base', l.mail],
    ['virtual_mailbox_maps', 'static:inbox/'],
    ['virtual_uid_maps', `static:${ids.uid}`],
    ['virtual_gid_maps', `static:${ids.gid}`],
    // The default (51200000) is below message_size_limit, which the virtual agent refuses.
    ['virtual_mailbox_limit', '0'],
    ['message_size_limit', String(64 * 1024 * 1024)],
    ['transport_maps', `texthash:${join(l.config, 'transport')}`],
    ['smtp_dns_support_level', 'disabled'],
    ['smtp_tls_security_level', 'may'],
    ['smtp_tls_loglevel', '1'],
    ['smtpd_tls_security_level', 'none'],
    ['smtputf8_enable', 'yes'],
    // Quick retries, and a dead transport is tried again soon.
    ['queue_run_delay', '1s'],
    ['minimal_backoff_time', '1s'],
    ['maximal_backoff_time', '2s'],
    ['transport_retry_time', '1s'],
    ['service_throttle_time', '1s'],
  ];
  return settings.map(([k, v]) => `${k} = ${v}`).join('\n') + '\n';
}

/** No chroot anywhere: the daemons read the temporary directories by their full paths. */
function masterCf(port: number): string {
  const services = [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'pickup unix n - n 60 1 pickup',
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'proxywrite unix - - n - 1 proxymap',
    'smtp unix - - n - - smtp',
    'relay unix - - n - - smtp',
    'showq unix n - n - - showq',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
  ];
  return services.join('\n') + '\n';
}

function transportMap(relay: Record<string, number>): string {
  return Object.entries(relay)
    .map(([domain, port]) => `${domain} smtp:[127.0.0.1]:${port}\n`)
    .join('');
}

async function prepare(opts: PostfixOptions): Promise<Layout> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-postfix-'));
  // The daemons run as the postfix user and must reach the directories inside.
  await chmod(dir, 0o755);
  const l: Layout = {
    dir,
    config: join(dir, 'etc'),
    queue: join(dir, 'spool'),
    data: join(dir, 'data'),
    mail: join(dir, 'mail'),
    log: join(dir, 'maillog'),
  };
  const ids = await userIds('postfix');
  for (const d of [l.config, l.queue, l.data, l.mail]) await mkdir(d, { mode: 0o755 });
  await chown(l.data, ids.uid, ids.gid);
  await chown(l.mail, ids.uid, ids.gid);
  await writeFile(join(l.config, 'main.cf'), mainCf(l, opts, ids));
  await writeFile(join(l.config, 'transport'), transportMap(opts.relay ?? {}));
  return l;
}

/** Starts master (postfix start also creates the queue directories) and waits for smtpd. */
async function launch(l: Layout, port: number): Promise<string | null> {
  await writeFile(join(l.config, 'master.cf'), masterCf(port));
  const r = await exec(POSTFIX, ['-c', l.config, 'start']);
  if (r.code === 0 && (await greets(port, 10_000))) return null;
  const log = await readFile(l.log, 'utf8').catch(() => '');
  return (
    `postfix start: exit ${r.code}\n${r.stderr}${r.stdout}\n` +
    `postfix check: ${await checkDiagnostics(l)}\nmaillog:\n${log}`
  );
}

/**
 * Postfix commands print errors on stderr only when it is a terminal (otherwise they go
 * to syslog, absent here, and errors in main.cf come before maillog_file is known):
 * run the check under a pseudo-terminal to see them.
 */
async function checkDiagnostics(l: Layout): Promise<string> {
  if (!existsSync(SCRIPT)) return `(${SCRIPT} missing)`;
  const r = await exec(SCRIPT, ['-qec', `${POSTFIX} -c ${l.config} check`, '/dev/null']);
  return `exit ${r.code}\n${r.stdout}${r.stderr}`;
}

async function halt(l: Layout): Promise<void> {
  const pidFile = join(l.queue, 'pid', 'master.pid');
  const pid = readPid(pidFile);
  await exec(POSTFIX, ['-c', l.config, 'stop'], 10_000);
  if (!pid) return;
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await sleep(20);
  killGroup(pid, 'SIGKILL');
}

/** Delivered Maildir files, ordered by the arrival time in their names (seconds, usec). */
async function readMaildir(base: string): Promise<Buffer[]> {
  const files: { key: bigint; name: string; path: string }[] = [];
  for (const sub of ['new', 'cur']) {
    const d = join(base, 'inbox', sub);
    const names = await readdir(d).catch(() => [] as string[]);
    for (const name of names) {
      const m = /^(\d+)\.(?:[^.]*M(\d+))?/.exec(name);
      const key = m ? BigInt(m[1] ?? '0') * 1_000_000n + BigInt(m[2] ?? '0') : 0n;
      files.push({ key, name, path: join(d, name) });
    }
  }
  files.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.name < b.name ? -1 : 1));
  return Promise.all(files.map((f) => readFile(f.path)));
}

export async function startPostfix(opts: PostfixOptions): Promise<PostfixInstance> {
  if (!postfixAvailable()) throw new Error(`${POSTFIX} is not installed`);
  if (process.getuid?.() !== 0) throw new Error('a private Postfix instance needs root');
  const l = await prepare(opts);
  installExitHook();
  running.set(l.dir, { pidFile: join(l.queue, 'pid', 'master.pid'), dir: l.dir });
  let port = 0;
  let failure: string | null = 'not started';
  // Another process may take the chosen port before master binds it: try a new one.
  for (let attempt = 0; attempt < 3 && failure; attempt++) {
    if (attempt > 0) await halt(l);
    port = await freePort();
    failure = await launch(l, port);
    if (failure && !/Address already in use/.test(failure)) break;
  }
  if (failure) {
    await halt(l);
    running.delete(l.dir);
    await rm(l.dir, { recursive: true, force: true });
    throw new Error(`Postfix did not start:\n${failure}`);
  }
  return instance(l, port);
}

function instance(l: Layout, port: number): PostfixInstance {
  let stopped = false;
  const logs = () => readFile(l.log, 'utf8').catch(() => '');
  const queueList = () => execOK(POSTQUEUE, ['-c', l.config, '-p']);
  return {
    port,
    dir: l.dir,
    maildir: () => readMaildir(l.mail),
    async waitForMessages(n, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const msgs = await readMaildir(l.mail);
        if (msgs.length >= n) return msgs;
        if (Date.now() > deadline) {
          throw new Error(
            `${msgs.length} of ${n} messages delivered within ${timeoutMs} ms\n` +
              `queue:\n${await queueList().catch((e: Error) => e.message)}\nmaillog:\n${await logs()}`,
          );
        }
        await sleep(50);
      }
    },
    async flush() {
      await execOK(POSTQUEUE, ['-c', l.config, '-f']);
    },
    queueList,
    logs,
    async stop() {
      if (stopped) return;
      stopped = true;
      await halt(l);
      running.delete(l.dir);
      await rm(l.dir, { recursive: true, force: true });
    },
  };
}
