// INPROGRESS (RFC 9585): a command that runs long tells the client how far it got, in
// an untagged OK with the command's tag, what is done and the goal, so that neither the
// user nor the client's timeout gives up on it. Sent once the command has run for a
// while (10 s by default), then at that interval; flushed at once.
import type { ImapSession } from './session.js';
import { quote } from './response.js';

export const DEFAULT_INPROGRESS_MS = 10_000;

export interface Progress {
  /** Reports `done` of `goal` (null when unknown) if the interval has passed. */
  tick(done: number, goal: number | null): Promise<void>;
}

export function progressFor(c: ImapSession, tag: string, what: string): Progress {
  const every = c.ctx.delays.inProgress ?? DEFAULT_INPROGRESS_MS;
  // RFC 9585 §3: NIL where the tag could end the response code early.
  const t = tag.includes(']') ? 'NIL' : quote(tag);
  let last = performance.now();
  return {
    async tick(done, goal) {
      const now = performance.now();
      if (now - last < every) return;
      last = now;
      c.untagged(`OK [INPROGRESS (${t} ${done} ${goal ?? 'NIL'})] ${what}`);
      await c.flush();
    },
  };
}
