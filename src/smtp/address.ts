// SMTP envelope addresses: domains, address literals, paths of MAIL FROM and RCPT TO,
// and the EHLO argument (RFC 5321 §4.1.2, §4.1.3; RFC 6531 §3.3 for UTF-8).
import { isIPv4, isIPv6 } from 'node:net';
import { domainToASCII, domainToUnicode } from 'node:url';
import { parseParams, type Param } from './params.js';

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

/** A domain in lower-case A-label (ascii) and U-label (unicode) form. */
export type Domain = { ascii: string; unicode: string };

export type Path = { localpart: string; domain: Domain | null; ipLiteral: string | null };

export type MailArgs = { path: Path | null; params: Param[] };

const NON_ASCII = /[^\x00-\x7f]/;
// RFC 5321 §4.1.2: sub-domain = Let-dig [Ldh-str]
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// Characters that may reach IDNA mapping in a U-label domain; excludes "%", "_", etc.
const UDOMAIN_CHARS = /^[A-Za-z0-9.\-\u0080-\uffff]+$/;
const MAX_LABEL = 63;
const MAX_DOMAIN = 255;
// RFC 5321 §4.5.3.1.3, counted including "<" and ">".
const MAX_PATH = 256;

function checkLabels(ascii: string): void {
  if (ascii.length > MAX_DOMAIN) throw new AddressError('domain too long');
  const labels = ascii.split('.');
  for (const label of labels) {
    if (label.length > MAX_LABEL) throw new AddressError('domain label too long');
    if (!LABEL.test(label)) throw new AddressError('invalid domain');
  }
  // A name whose last label is numeric would read as an IP address (RFC 3696 §2).
  if (/^[0-9]+$/.test(labels[labels.length - 1] as string)) {
    throw new AddressError('invalid domain');
  }
}

/**
 * Parses an RFC 5321 Domain; with utf8, U-labels are allowed too (RFC 6531 §3.3).
 * A-labels must be valid IDNA. A trailing dot is not allowed.
 */
export function parseDomain(s: string, utf8: boolean): Domain {
  if (s === '') throw new AddressError('missing domain');
  const nonAscii = NON_ASCII.test(s);
  if (nonAscii) {
    if (!utf8) throw new AddressError('non-ascii domain requires SMTPUTF8');
    if (!UDOMAIN_CHARS.test(s)) throw new AddressError('invalid domain');
  }
  const lower = s.toLowerCase();
  const ascii = domainToASCII(lower);
  // For ASCII input the IDNA conversion must be the identity: this rejects bad A-labels.
  if (ascii === '' || (!nonAscii && ascii !== lower)) throw new AddressError('invalid domain');
  checkLabels(ascii);
  const unicode = domainToUnicode(ascii);
  if (unicode === '') throw new AddressError('invalid domain');
  return { ascii, unicode };
}

/**
 * Parses an address literal (RFC 5321 §4.1.3): "[192.0.2.1]" or "[IPv6:2001:db8::1]".
 * Returns the IP text. General address literals (other tags) are not supported.
 */
export function parseAddressLiteral(s: string): string {
  if (s.length < 3 || s[0] !== '[' || s[s.length - 1] !== ']') {
    throw new AddressError('invalid address literal');
  }
  const inner = s.slice(1, -1);
  if (/^ipv6:/i.test(inner)) {
    const ip = inner.slice(5);
    // isIPv6 accepts zone ids ("%eth0"), which are not part of the grammar.
    if (!isIPv6(ip) || ip.includes('%')) throw new AddressError('invalid IPv6 address literal');
    return ip;
  }
  if (isIPv4(inner)) return inner;
  if (/^[A-Za-z0-9-]*[A-Za-z0-9]:/.test(inner)) {
    throw new AddressError('unsupported address literal');
  }
  throw new AddressError('invalid address literal');
}

/** Formats an IP as an address literal: "[192.0.2.1]" or "[IPv6:2001:db8::1]". */
export function formatAddressLiteral(ip: string): string {
  return isIPv6(ip) ? `[IPv6:${ip}]` : `[${ip}]`;
}

// RFC 5322 atext (used by RFC 5321 Atom), plus UTF8-non-ascii (RFC 6531 §3.3).
const ATEXT = "A-Za-z0-9!#$%&'*+\\-/=?^_`{|}~";
const DOT_STRING = new RegExp(`^[${ATEXT}]+(?:\\.[${ATEXT}]+)*$`);
const DOT_STRING_UTF8 = new RegExp(
  `^[${ATEXT}\\u0080-\\uffff]+(?:\\.[${ATEXT}\\u0080-\\uffff]+)*$`,
);

// RFC 5321 §4.1.2: qtextSMTP = %d32-33 / %d35-91 / %d93-126
function isQtext(c: number, utf8: boolean): boolean {
  return (c >= 32 && c <= 126 && c !== 34 && c !== 92) || (utf8 && c >= 0x80);
}

/** Parses a Quoted-string starting at s[start] === '"'; returns the text and the end index. */
function parseQuoted(s: string, start: number, utf8: boolean): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (c === 34) return { text, end: i + 1 };
    if (c === 92) {
      // quoted-pairSMTP = %d92 %d32-126
      const d = s.charCodeAt(i + 1);
      if (!(d >= 32 && d <= 126)) throw new AddressError('invalid quoted-pair in localpart');
      text += s[i + 1];
      i += 2;
    } else if (isQtext(c, utf8)) {
      text += s[i];
      i++;
    } else {
      throw new AddressError('invalid character in quoted localpart');
    }
  }
  throw new AddressError('unterminated quoted localpart');
}

/** Parses "Local-part @ (Domain / address-literal)" (RFC 5321 §4.1.2). */
function parseMailbox(s: string, utf8: boolean): Path {
  let localpart: string;
  let at: number;
  if (s[0] === '"') {
    const q = parseQuoted(s, 0, utf8);
    localpart = q.text;
    at = q.end;
    if (s[at] !== '@') throw new AddressError('missing @ after quoted localpart');
  } else {
    at = s.indexOf('@');
    if (at < 0) throw new AddressError('missing domain');
    localpart = s.slice(0, at);
    if (!(utf8 ? DOT_STRING_UTF8 : DOT_STRING).test(localpart)) {
      throw new AddressError('invalid localpart');
    }
  }
  const rest = s.slice(at + 1);
  if (rest.startsWith('['))
    return { localpart, domain: null, ipLiteral: parseAddressLiteral(rest) };
  return { localpart, domain: parseDomain(rest, utf8), ipLiteral: null };
}

/** Skips an A-d-l source route "@a,@b:" (RFC 5321 §4.1.2); returns where the mailbox starts. */
function skipSourceRoute(s: string, utf8: boolean): number {
  if (s[0] !== '@') return 0;
  const colon = s.indexOf(':');
  if (colon < 0) throw new AddressError('invalid source route');
  for (const hop of s.slice(0, colon).split(',')) {
    if (hop[0] !== '@') throw new AddressError('invalid source route');
    parseDomain(hop.slice(1), utf8);
  }
  return colon + 1;
}

/** Index of the ">" that ends a path starting with "<", skipping quoted strings; -1 if none. */
function findPathEnd(s: string): number {
  let quoted = false;
  for (let i = 1; i < s.length; i++) {
    const c = s[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === '>') {
      return i;
    }
  }
  return -1;
}

/** Splits "<path> params" into the path text (with brackets) and the parameter text. */
function splitPathArg(arg: string): { raw: string; rest: string } {
  const s = arg.startsWith(' ') ? arg.slice(1) : arg;
  if (!s.startsWith('<')) throw new AddressError('path must be enclosed in <>');
  const end = findPathEnd(s);
  if (end < 0) throw new AddressError('path must be enclosed in <>');
  const rest = s.slice(end + 1);
  if (rest !== '' && !rest.startsWith(' ')) throw new AddressError('expected space after path');
  return { raw: s.slice(0, end + 1), rest };
}

/** Parses "<...>" (not "<>"); postmaster without domain only where allowed. */
function parsePath(raw: string, utf8: boolean, allowPostmaster: boolean): Path {
  if (Buffer.byteLength(raw, 'utf8') > MAX_PATH) throw new AddressError('path too long');
  if (!utf8 && NON_ASCII.test(raw)) throw new AddressError('non-ascii address requires SMTPUTF8');
  const inner = raw.slice(1, -1);
  // RFC 5321 §4.1.1.3: "<Postmaster>" without domain, case-insensitive.
  if (allowPostmaster && inner.toLowerCase() === 'postmaster') {
    return { localpart: 'postmaster', domain: null, ipLiteral: null };
  }
  return parseMailbox(inner.slice(skipSourceRoute(inner, utf8)), utf8);
}

function hasSmtputf8(params: Param[]): boolean {
  return params.some((p) => p.key === 'SMTPUTF8');
}

/**
 * Parses the argument of MAIL after "FROM:". Parameters are parsed first, so an
 * SMTPUTF8 parameter allows UTF-8 in the path (RFC 6531 §3.4). Throws AddressError or
 * ParamError.
 */
export function parseMailFrom(arg: string): MailArgs {
  const { raw, rest } = splitPathArg(arg);
  const params = parseParams(rest);
  if (raw === '<>') return { path: null, params };
  return { path: parsePath(raw, hasSmtputf8(params), false), params };
}

/**
 * Parses the argument of RCPT after "TO:". `utf8` tells whether MAIL had SMTPUTF8.
 * "<postmaster>" is allowed, "<>" is not.
 */
export function parseRcptTo(arg: string, utf8: boolean): MailArgs {
  const { raw, rest } = splitPathArg(arg);
  const params = parseParams(rest);
  if (raw === '<>') throw new AddressError('null path not allowed for recipient');
  return { path: parsePath(raw, utf8, true), params };
}

/** Formats a localpart, as a quoted-string (RFC 5321 §4.1.2) when it is not a dot-string. */
export function formatLocalpart(lp: string): string {
  if (DOT_STRING_UTF8.test(lp)) return lp;
  return `"${lp.replace(/["\\]/g, '\\$&')}"`;
}

/** Formats a path without brackets; "" for the null path. */
export function formatPath(p: Path | null, unicode = false): string {
  if (p === null) return '';
  const lp = formatLocalpart(p.localpart);
  if (p.ipLiteral !== null) return `${lp}@${formatAddressLiteral(p.ipLiteral)}`;
  if (p.domain === null) return lp;
  return `${lp}@${unicode ? p.domain.unicode : p.domain.ascii}`;
}

/**
 * Parses the EHLO/HELO argument: a domain or an address literal. Text after an address
 * literal is tolerated (some clients add their name).
 */
export function parseEhloArg(
  arg: string,
  utf8: boolean,
): { domain: Domain | null; ipLiteral: string | null } {
  const s = arg.replace(/^ +| +$/g, '');
  if (s === '') throw new AddressError('missing domain');
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0) throw new AddressError('invalid address literal');
    const rest = s.slice(end + 1);
    if (rest !== '' && !rest.startsWith(' ')) throw new AddressError('invalid address literal');
    return { domain: null, ipLiteral: parseAddressLiteral(s.slice(0, end + 1)) };
  }
  return { domain: parseDomain(s, utf8), ipLiteral: null };
}
