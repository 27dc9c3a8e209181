// Connections at once per destination host: a counting semaphore per key, with waiters
// served in arrival order. Keys without holders or waiters are forgotten.

type Slot = { held: number; waiters: Array<() => void> };

export class HostLimiter {
  private readonly slots = new Map<string, Slot>();

  constructor(private readonly max: number) {}

  /** Waits for a slot for `host`; the returned function gives it back (once). */
  async acquire(host: string): Promise<() => void> {
    let s = this.slots.get(host);
    if (!s) {
      s = { held: 0, waiters: [] };
      this.slots.set(host, s);
    }
    if (s.held >= this.max) {
      const slot = s;
      await new Promise<void>((resolve) => slot.waiters.push(resolve));
    } else {
      s.held++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(host);
    };
  }

  private release(host: string): void {
    const s = this.slots.get(host);
    if (!s) return;
    const next = s.waiters.shift();
    // The slot passes straight to the next waiter; `held` stays the same.
    if (next) next();
    else if (--s.held === 0) this.slots.delete(host);
  }

  /** Slots held for `host` now. */
  inUse(host: string): number {
    return this.slots.get(host)?.held ?? 0;
  }
}
