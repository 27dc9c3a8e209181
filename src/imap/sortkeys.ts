// Comparison keys shared by SORT and THREAD (RFC 5256 §2.2, §3): the i;ascii-casemap
// form of a string and the sent date of a message.

/** i;ascii-casemap (RFC 4790 §9.2): ASCII letters compared as upper case. */
export function casemap(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/** The sent date of a Date header value in UTC ms; without a valid one, `fallback`. */
export function sentDate(date: string | undefined, fallback: number): number {
  if (!date) return fallback;
  const t = Date.parse(date.replace(/\([^)]*\)/g, ' ').trim());
  return Number.isNaN(t) ? fallback : t;
}
