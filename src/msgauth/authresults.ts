// The Authentication-Results header (RFC 8601) and Received-SPF (RFC 7208 §9.1) that
// record verification results in a delivered message, and the authserv-id of an
// incoming Authentication-Results, to find those that claim to be ours (RFC 8601 §5).
import type { DnssecState } from '../dns/dnssec.js';

/**
 * The comment that says whether DNSSEC authenticated a result's lookups: "with dnssec"
 * or "without dnssec"; "" when the resolver cannot tell, so headers mention DNSSEC only
 * where it is known.
 */
export function dnssecComment(state: DnssecState): string {
  return state === 'with' ? 'with dnssec' : state === 'without' ? 'without dnssec' : '';
}

/** Comments joined with ", ", empty ones left out. */
export function joinComments(...parts: string[]): string {
  return parts.filter((p) => p !== '').join(', ');
}

/** One method's result: "dkim=pass (2048 bit rsa) header.d=example.com header.s=sel". */
export type AuthMethod = {
  method: string;
  result: string;
  /** A comment after the result. */
  comment?: string;
  /** reason= (RFC 8601 §2.2 reasonspec). */
  reason?: string;
  /** ptype.property=value pairs, in order ("header.d", "example.com"). */
  props?: [string, string][];
};

/** RFC 2045 token characters: no quoting needed. */
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/;

/**
 * [local-part "@"] domain-name as it stands, the local-part a dot-atom or a quoted-string
 * (RFC 5322 §3.4.1): "a b"@example.com is written so, not quoted again as a whole, which
 * would leave readers the text a b@example.com instead of the address.
 */
const ADDRESS =
  /^(?:(?:[!#$%&'*+\-/=?^_`{|}~0-9A-Za-z]+(?:\.[!#$%&'*+\-/=?^_`{|}~0-9A-Za-z]+)*|"(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\[\x20-\x7e])*")?@)?[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?(?:\.[0-9A-Za-z](?:[0-9A-Za-z-]*[0-9A-Za-z])?)*$/;

/** A value as a token, or a quoted string (RFC 8601 §2.2 "value" is RFC 2045's). */
export function authValue(v: string): string {
  if (TOKEN.test(v)) return v;
  return `"${v.replace(/[\\"]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ')}"`;
}

/** A comment: parentheses and backslashes escaped, no line breaks (RFC 5322 §3.2.2). */
export function authComment(v: string): string {
  return `(${v.replace(/[\\()]/g, (c) => `\\${c}`).replace(/[\r\n]+/g, ' ')})`;
}

function methodText(m: AuthMethod): string {
  const parts = [`${m.method}=${m.result}`];
  if (m.comment) parts.push(authComment(m.comment));
  if (m.reason) parts.push(`reason=${authValue(m.reason)}`);
  for (const [k, v] of m.props ?? []) {
    // RFC 8601 §2.2: pvalue is a value (token or quoted string), or an addr-spec or
    // domain name as they are.
    const plain = TOKEN.test(v) || ADDRESS.test(v);
    parts.push(`${k}=${plain ? v : authValue(v)}`);
  }
  return parts.join(' ');
}

/**
 * The Authentication-Results header field, CRLF-terminated: one method per folded line.
 * No methods gives "none" (RFC 8601 §2.2 no-result).
 */
export function authResultsHeader(authservId: string, methods: AuthMethod[]): string {
  if (methods.length === 0) return `Authentication-Results: ${authservId}; none\r\n`;
  return (
    `Authentication-Results: ${authservId};` +
    methods.map((m) => `\r\n\t${methodText(m)}`).join(';') +
    '\r\n'
  );
}

/** Received-SPF (RFC 7208 §9.1), CRLF-terminated. */
export function receivedSpfHeader(r: {
  status: string;
  comment: string;
  ip: string;
  envelopeFrom: string;
  helo: string;
  identity: string;
  receiver: string;
}): string {
  const kv: [string, string][] = [
    ['client-ip', r.ip],
    ['envelope-from', r.envelopeFrom],
    ['helo', r.helo],
    ['identity', r.identity],
    ['receiver', r.receiver],
  ];
  const pairs = kv.filter(([, v]) => v !== '').map(([k, v]) => `${k}=${authValue(v)};`);
  const comment = r.comment ? ` ${authComment(r.comment)}` : '';
  return `Received-SPF: ${r.status}${comment}\r\n\t${pairs.join(' ')}\r\n`;
}

/**
 * The authserv-id of an Authentication-Results value (RFC 8601 §2.2: the first token,
 * after any comment), lower-case; "" when there is none.
 */
export function authservId(value: string): string {
  let v = value.trimStart();
  // Skip leading comments, nested ones included.
  while (v.startsWith('(')) {
    let depth = 0;
    let i = 0;
    for (; i < v.length; i++) {
      const ch = v[i];
      if (ch === '\\') i++;
      else if (ch === '(') depth++;
      else if (ch === ')' && --depth === 0) break;
    }
    v = v.slice(i + 1).trimStart();
  }
  const m = /^"((?:[^"\\]|\\.)*)"|^([^\s;()]+)/.exec(v);
  if (!m) return '';
  return (m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!).toLowerCase();
}
