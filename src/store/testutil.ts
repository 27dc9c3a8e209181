// Helpers for store tests: a throwaway data directory and message builders.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store, type StoreOptions } from './store.js';

export async function tempStore(
  opts: Partial<StoreOptions> = {},
): Promise<{ store: Store; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tidings-store-'));
  const store = await Store.open({ dataDir: dir, cleanup: true, ...opts });
  return {
    store,
    dir,
    cleanup: async () => {
      await store.close().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function sampleMessage(n: number, extra = ''): Buffer {
  return Buffer.from(
    `From: sender${n}@example.org\r\nTo: rcpt@example.com\r\nSubject: Re: message ${n}\r\n` +
      `Message-ID: <m${n}@example.org>\r\nDate: Mon, 7 Feb 1994 21:52:25 -0800\r\n${extra}\r\n` +
      `Body of message ${n}.\r\n`,
  );
}
