// Quick ACKs (TCP_QUICKACK, Linux) after each reply, through a small native addon built
// at install (native/quickack.c). Without them, a client that sends a command in two
// writes with Nagle's algorithm on (an IMAP literal's data, then the CRLF that ends the
// command: Python's imaplib does this) waits for our delayed ACK of the first, 40 ms,
// before it sends the second. Where the addon could not be built (no C compiler) or the
// system has no TCP_QUICKACK, this does nothing and such clients are slower, not broken.
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

type Addon = { quickack(fd: number): boolean };

let addon: Addon | null | undefined;

function load(): Addon | null {
  if (addon !== undefined) return addon;
  const require = createRequire(import.meta.url);
  addon = null;
  // From src/net or dist/net the addon is two levels up; from a build of the benchmarks
  // (.bench-build/src/net), three.
  for (const up of ['../..', '../../..']) {
    try {
      addon = require(`${up}/native/build/quickack.node`) as Addon;
      break;
    } catch {
      // Not there; try further up.
    }
  }
  return addon;
}

/** Whether quick ACKs can be set here (the addon is built). */
export function quickAckAvailable(): boolean {
  return load() !== null;
}

/**
 * Asks the kernel to acknowledge the next data from the client at once; returns whether
 * it could. Call after each reply is written: the kernel falls back to delayed ACKs by
 * itself.
 */
export function quickAck(socket: Socket): boolean {
  const a = addon === undefined ? load() : addon;
  if (a === null) return false;
  // The TCP handle's descriptor (a TLS socket exposes the one it runs over).
  const fd = (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 && a.quickack(fd);
}
