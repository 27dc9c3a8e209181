// Comparison keys shared by SORT and THREAD (RFC 5256 §2.2, §3): the i;ascii-casemap
// form of a string. (The sent date is stored with each message: see the message module.)

/** i;ascii-casemap (RFC 4790 §9.2): ASCII letters compared as upper case. */
export function casemap(s: string): string {
  // Plain ASCII, the usual case, upper-cases at once; elsewhere only a-z change.
  return /^[\x00-\x7f]*$/.test(s) ? s.toUpperCase() : s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}
