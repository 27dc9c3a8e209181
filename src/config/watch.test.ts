import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DomainsConfig } from './domains.js';
import { ConfigError } from './errors.js';
import { tempDir } from './testutil.js';
import { watchDomainsConfig } from './watch.js';

type Event = { kind: 'change'; cfg: DomainsConfig } | { kind: 'error'; err: Error };

/** Collects watcher callbacks; next() waits for the next one. */
class Events {
  private readonly queue: Event[] = [];
  private waiter: ((e: Event) => void) | undefined;
  readonly all: Event[] = [];

  push(e: Event): void {
    this.all.push(e);
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(e);
    } else this.queue.push(e);
  }

  next(): Promise<Event> {
    const e = this.queue.shift();
    if (e) return Promise.resolve(e);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no watcher event within 5 s')), 5000);
      this.waiter = (ev) => {
        clearTimeout(t);
        resolve(ev);
      };
    });
  }
}

const domainsFor = (user: string) =>
  `[domains."example.com"]\n[accounts.${user}]\ndomain = "example.com"\ndestinations.${user} = {}\n`;

test('watcher reloads valid changes, reports invalid ones, follows renames', async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'domains.toml');
  writeFileSync(path, domainsFor('alice'));
  const events = new Events();
  const w = watchDomainsConfig(
    path,
    (cfg) => events.push({ kind: 'change', cfg }),
    (err) => events.push({ kind: 'error', err }),
    { debounceMs: 20 },
  );
  try {
    writeFileSync(path, domainsFor('bob'));
    let e = await events.next();
    assert.equal(e.kind, 'change');
    assert.deepEqual(e.kind === 'change' && Object.keys(e.cfg.accounts), ['bob']);

    writeFileSync(path, `${domainsFor('carol')}quota = "lots"\n`);
    e = await events.next();
    assert.equal(e.kind, 'error');
    assert.ok(e.kind === 'error' && e.err instanceof ConfigError);
    assert.equal(
      e.err.message,
      `${path}: accounts.carol.quota: invalid size "lots", expected e.g. 1048576, "512 KiB", "100 MiB" or "2 GB"`,
    );

    // An editor writing a new file and renaming it over the old one.
    const tmp = join(dir, '.domains.toml.swp');
    writeFileSync(tmp, domainsFor('dave'));
    renameSync(tmp, path);
    e = await events.next();
    assert.equal(e.kind, 'change');
    assert.deepEqual(e.kind === 'change' && Object.keys(e.cfg.accounts), ['dave']);

    // Other files in the directory are ignored; so is rewriting the accepted contents.
    writeFileSync(join(dir, 'other.toml'), 'x = 1\n');
    writeFileSync(path, domainsFor('dave'));
    await sleep(200);
    assert.deepEqual(
      events.all.map((ev) => ev.kind),
      ['change', 'error', 'change'],
    );
  } finally {
    w.close();
    cleanup();
  }
});

test('a closed watcher reports nothing', async () => {
  const { dir, cleanup } = tempDir();
  const path = join(dir, 'domains.toml');
  writeFileSync(path, domainsFor('alice'));
  const events = new Events();
  const w = watchDomainsConfig(
    path,
    (cfg) => events.push({ kind: 'change', cfg }),
    (err) => events.push({ kind: 'error', err }),
    { debounceMs: 5 },
  );
  try {
    writeFileSync(path, domainsFor('bob'));
    w.close();
    await sleep(100);
    assert.deepEqual(events.all, []);
  } finally {
    w.close();
    cleanup();
  }
});

test('emptiedBy: a version without accounts or domains does not replace one with some', async () => {
  const { emptiedBy } = await import('./watch.js');
  const { parseDomainsConfig } = await import('./domains.js');
  const cfg = (text: string) => parseDomainsConfig(text, 'domains.toml');
  const full = cfg(domainsFor('alice'));
  const cases: [string, string, RegExp | null][] = [
    ['empty file', '', /^has no accounts, the running configuration has 1: not loaded/],
    ['domains only', '[domains."example.com"]\n', /^has no accounts/],
    ['another account', domainsFor('bob'), null],
  ];
  for (const [name, text, want] of cases) {
    const got = emptiedBy(full, cfg(text));
    if (want) assert.match(got ?? '', want, name);
    else assert.equal(got, null, name);
  }
  // Nothing to lose: an empty running version accepts anything.
  assert.equal(emptiedBy(cfg(''), cfg('')), null);
});
