// Envelope addresses as text: the localpart stays a dot-string when it is one and is
// quoted otherwise (RFC 5321 §4.1.2, RFC 6531 §3.3 for UTF-8).
import type { Path } from './types.js';

// atext (RFC 5322 §3.2.3) plus UTF-8 (RFC 6532 §3.2).
const DOT_STRING =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+)*$/u;

export function formatLocalpart(lp: string): string {
  if (DOT_STRING.test(lp)) return lp;
  return '"' + lp.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

/** "localpart@domain", quoting the localpart when needed. */
export function formatAddress(p: Path): string {
  return `${formatLocalpart(p.localpart)}@${p.domain}`;
}

/** A reverse-path or forward-path with angle brackets: "<>" for the null path. */
export function formatPath(p: Path | null): string {
  return p === null ? '<>' : `<${formatAddress(p)}>`;
}

/** A sender for logs and grouping keys: the bare address, "<>" for the null path. */
export function senderText(p: Path | null): string {
  return p === null ? '<>' : formatAddress(p);
}
