// What the SMTP and IMAP benchmarks share: the server runs in a child process (the
// benchmark file itself with `--server`) driven over IPC, so that its memory and CPU are
// measured alone, and started with the node flags of the `tidings` executable.
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The node flags the `tidings` executable runs with (the first line of src/cli/main.ts). */
export function serverNodeFlags(): string[] {
  // Through tsx this is bench/*.ts next to src/*.ts; compiled, both are .js.
  const ext = import.meta.url.endsWith('.ts') ? 'ts' : 'js';
  const main = readFileSync(new URL(`../src/cli/main.${ext}`, import.meta.url), 'utf8');
  const m = /^#!\/usr\/bin\/env -S node((?: --[\w-]+(?:=\S+)?)*)\s*\n/.exec(main);
  return m ? m[1]!.trim().split(/\s+/).filter(Boolean) : [];
}

export type TrackReport = {
  peakRss: number;
  peakHeapUsed: number;
  peakExternal: number;
  /** Share of wall time the event loop was busy (synchronous work, fsync in SQLite included). */
  elu: number;
  cpuSeconds: number;
  wallSeconds: number;
};

/** Peak memory, CPU time and event-loop use over an interval, sampled every 10 ms. */
export class UsageTracker {
  private timer: NodeJS.Timeout;
  private peakRss = 0;
  private peakHeapUsed = 0;
  private peakExternal = 0;
  private elu = performance.eventLoopUtilization();
  private cpu = process.cpuUsage();
  private t0 = performance.now();

  constructor() {
    this.timer = setInterval(() => this.sample(), 10);
    this.sample();
  }

  private sample(): void {
    const m = process.memoryUsage();
    this.peakRss = Math.max(this.peakRss, m.rss);
    this.peakHeapUsed = Math.max(this.peakHeapUsed, m.heapUsed);
    this.peakExternal = Math.max(this.peakExternal, m.external);
  }

  stop(): TrackReport {
    this.sample();
    clearInterval(this.timer);
    const cpu = process.cpuUsage(this.cpu);
    return {
      peakRss: this.peakRss,
      peakHeapUsed: this.peakHeapUsed,
      peakExternal: this.peakExternal,
      elu: performance.eventLoopUtilization(this.elu).utilization,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      wallSeconds: (performance.now() - this.t0) / 1000,
    };
  }
}

type Op = { op: string };

/**
 * In the child: answers the benchmark's requests with `handle` ("stop" closes the server
 * and ends the channel), then reports the server's port.
 */
export function serveRequests<R extends Op>(
  handle: (req: R) => Promise<unknown>,
  close: () => Promise<void>,
  port: number,
): void {
  process.on('message', (req: R & { id: number }) => {
    handle(req).then(
      (result) => {
        process.send!({ id: req.id, result });
        if (req.op === 'stop') process.disconnect();
      },
      (e: unknown) => process.send!({ id: req.id, error: String((e as Error)?.stack ?? e) }),
    );
  });
  // Ctrl-C reaches the whole process group: leave when the benchmark's channel closes,
  // cleaning up, whether it stopped us or went away.
  process.on('SIGINT', () => {});
  process.on('disconnect', () => void close().finally(() => process.exit(0)));
  process.send!({ id: 0, result: { port } });
}

/** The server child process (`benchFile` run with `--server`), driven over IPC. */
export class ServerProcess<R extends Op> {
  private n = 0;
  private calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  port = 0;

  private constructor(readonly child: ChildProcess) {
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.calls.get(m.id);
      if (!w) return;
      this.calls.delete(m.id);
      if (m.error !== undefined) w.reject(new Error(`server: ${m.error}`));
      else w.resolve(m.result);
    });
    child.on('exit', (code) => {
      for (const w of this.calls.values()) w.reject(new Error(`server exited (${code})`));
      this.calls.clear();
    });
  }

  /**
   * Compiled (npm run bench:*), the child runs as the server does in production, without
   * tsx. TIDINGS_BENCH_PROF=<dir> writes a CPU profile of it there;
   * TIDINGS_BENCH_NODE_FLAGS adds flags for its node (--trace-gc, say).
   */
  static async start<R extends Op>(benchFile: string): Promise<ServerProcess<R>> {
    const execArgv = [
      '--expose-gc',
      ...(benchFile.endsWith('.ts') ? ['--import', 'tsx'] : []),
      ...serverNodeFlags(),
    ];
    const prof = process.env.TIDINGS_BENCH_PROF;
    if (prof) execArgv.push('--cpu-prof', `--cpu-prof-dir=${prof}`);
    execArgv.push(...(process.env.TIDINGS_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean));
    const child = fork(fileURLToPath(benchFile), ['--server'], {
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const s = new ServerProcess<R>(child);
    const ready = await s.wait<{ port: number }>(0);
    s.port = ready.port;
    return s;
  }

  private wait<T>(id: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  call<T>(req: R): Promise<T> {
    const id = ++this.n;
    const p = this.wait<T>(id);
    this.child.send({ ...req, id });
    return p;
  }

  /** The kernel's peak resident set of the child since it started (VmHWM), in bytes. */
  peakRssSinceStart(): number {
    try {
      const status = readFileSync(`/proc/${this.child.pid}/status`, 'utf8');
      const m = /^VmHWM:\s+(\d+) kB$/m.exec(status);
      return m ? Number(m[1]) * 1024 : NaN;
    } catch {
      return NaN;
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    await Promise.race([
      this.call({ op: 'stop' } as R).catch(() => {}),
      new Promise((r) => setTimeout(r, 15_000)),
    ]);
    const timer = setTimeout(() => this.child.kill(), 5000);
    await exited;
    clearTimeout(timer);
  }
}

export const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
export const verdict = (ok: boolean) => (ok ? 'ok' : 'MISSED');

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}
