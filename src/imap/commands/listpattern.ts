// LIST and LSUB name matching (RFC 9051 §6.3.9): a reference and patterns with the
// wildcards "*" and "%", matched against mailbox names without backtracking.

// Pattern tokens: a code unit to match literally, or a wildcard (RFC 9051 §6.3.9).
const STAR = -1; // "*": zero or more characters
const PERCENT = -2; // "%": zero or more characters other than the hierarchy delimiter
const DELIM = 0x2f; // "/"

/**
 * A LIST/LSUB pattern, matched by following all pattern positions at once (an NFA)
 * instead of backtracking. Each character of a name advances a position by at most one
 * literal, so at most about twice the name length positions are live: a pattern full of
 * wildcards costs little, however long it is.
 */
export class MailboxPattern {
  private readonly toks: number[] = [];
  // Live positions before and after the current character, and a stamp per position
  // so each is listed once per step.
  private cur: Uint32Array;
  private next: Uint32Array;
  private seen: Uint32Array;
  private stamp = 0;

  constructor(full: string) {
    for (let i = 0; i < full.length; i++) {
      const ch = full.charCodeAt(i);
      const t = ch === 0x2a ? STAR : ch === 0x25 ? PERCENT : ch;
      const last = this.toks.length - 1;
      // A run of wildcards matches what "*" matches if it holds one, else what "%" does.
      if (t < 0 && last >= 0 && (this.toks[last] as number) < 0) {
        if (t === STAR) this.toks[last] = STAR;
      } else {
        this.toks.push(t);
      }
    }
    const n = this.toks.length + 1;
    this.cur = new Uint32Array(n);
    this.next = new Uint32Array(n);
    this.seen = new Uint32Array(n);
  }

  matches(name: string): boolean {
    const toks = this.toks;
    const end = toks.length;
    let cur = this.cur;
    let next = this.next;
    let live = this.add(0, cur, 0, this.newStamp());
    for (let i = 0; i < name.length; i++) {
      const ch = name.charCodeAt(i);
      const stamp = this.newStamp();
      let n = 0;
      for (let j = 0; j < live; j++) {
        const pos = cur[j] as number;
        if (pos === end) continue;
        const t = toks[pos] as number;
        if (t === STAR || (t === PERCENT && ch !== DELIM)) n = this.add(pos, next, n, stamp);
        else if (t === ch) n = this.add(pos + 1, next, n, stamp);
      }
      if (n === 0) return false;
      [cur, next] = [next, cur];
      live = n;
    }
    for (let j = 0; j < live; j++) if (cur[j] === end) return true;
    return false;
  }

  /** Adds a position, and the one after it when it is a wildcard (which may match nothing). */
  private add(pos: number, list: Uint32Array, n: number, stamp: number): number {
    let p = pos;
    while (this.seen[p] !== stamp) {
      this.seen[p] = stamp;
      list[n++] = p;
      if (p === this.toks.length || (this.toks[p] as number) >= 0) break;
      p++;
    }
    return n;
  }

  private newStamp(): number {
    if (this.stamp === 0xffffffff) {
      this.seen.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }
}

/** The names a LIST/LSUB reference and patterns select (RFC 9051 §6.3.9). */
export class NameMatcher {
  private readonly patterns: MailboxPattern[];

  constructor(ref: string, patterns: string[]) {
    this.patterns = patterns.map((p) => new MailboxPattern(canonicalPattern(ref, p)));
  }

  /**
   * INBOX is listed when "INBOX" matches the pattern (RFC 9051 §6.3.9); the stored
   * name "Inbox" matches as well.
   */
  matches(name: string): boolean {
    const inbox = name.startsWith('Inbox') && (name.length === 5 || name[5] === '/');
    const upper = inbox ? 'INBOX' + name.slice(5) : '';
    return this.patterns.some((p) => p.matches(name) || (inbox && p.matches(upper)));
  }
}

/** Reference and pattern as one pattern: a pattern starting with "/" stands alone. */
function canonicalPattern(ref: string, pattern: string): string {
  let full = pattern;
  if (ref !== '' && !pattern.startsWith('/')) {
    full = ref.endsWith('/') ? ref + pattern : `${ref}/${pattern}`;
  }
  // A first level of INBOX in any case is the INBOX (RFC 9051 §5.1).
  if (/^inbox(\/|$)/i.test(full)) full = 'Inbox' + full.slice(5);
  return full;
}
