// Tokens of header fields for the junk filter, each prefixed by its field's name: the
// ones that tell most about a message's origin and kind (Subject, From, To, Cc,
// Reply-To, List-Id, X-Mailer, User-Agent), the path it took (the hosts and networks
// of its Received fields), how its sender's software writes identifiers and dates (the
// shapes of Message-ID and Date, the domain of the one and the time zone of the other),
// and those of each part's Content-Type. Mail software leaves its habits in these
// fields: bulk senders and their relays repeat them from one message to the next, and
// so do the servers of the people one corresponds with.
import {
  decodeEncodedWords,
  decodeHeaderValue,
  parseAddressList,
  type Address,
  type HeaderField,
  type Part,
} from '../message/index.js';
import { registrableDomain, type Tokens } from './tokens.js';

/** Received fields read: the last ones, nearest the message's origin. */
const MAX_RECEIVED = 3;
const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;
const IPV6 = /^(?:ipv6:)?([0-9a-f]{1,4}):([0-9a-f]{0,4}):([0-9a-f]{0,4}):[0-9a-f:.]*$/i;

function addressDomain(a: Address): string | null {
  return a.host ? a.host.toLowerCase().replace(/^\[|\]$/g, '') : null;
}

/**
 * The shape of an identifier or a date: each run of letters and digits becomes "d"
 * (digits), "h" (hexadecimal digits, some of them letters), "a" (letters) or "m" (any
 * other mix), the rest is kept, white space as one space; of the first 200
 * characters, 40 at most.
 * "<0000531f3b6e$000009ef@host>" is "<h$h@a>", "Thu, 30 May 2002 20:21:25 +0200" is
 * "a, d a d d:d:d +d".
 */
export function shape(s: string): string {
  let out = '';
  const end = Math.min(s.length, 200);
  for (let i = 0; i < end && out.length < 40;) {
    let c = s.charCodeAt(i);
    const lower = c | 0x20;
    if ((c >= 0x30 && c <= 0x39) || (lower >= 0x61 && lower <= 0x7a)) {
      // A run of letters and digits: all digits, all letters, hexadecimal or mixed.
      let digits = 0;
      let letters = 0;
      let hex = true;
      for (; i < end; i++) {
        c = s.charCodeAt(i);
        const l = c | 0x20;
        if (c >= 0x30 && c <= 0x39) digits++;
        else if (l >= 0x61 && l <= 0x7a) {
          letters++;
          if (l > 0x66) hex = false;
        } else break;
      }
      out += letters === 0 ? 'd' : digits === 0 ? 'a' : hex ? 'h' : 'm';
    } else if (c === 0x20 || c === 0x09) {
      while (i < end && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09)) i++;
      out += ' ';
    } else {
      out += s[i];
      i++;
    }
  }
  return out.slice(0, 40);
}

/**
 * Tokens of the path a message took: of each of the last MAX_RECEIVED Received fields
 * (the hops nearest its origin), before the date, the registrable domains of the host
 * names ("received:example.org") and the networks of the IP addresses, IPv4 as /24
 * ("received:ip:192.0.2"), IPv6 as /48. A sender's relays and networks recur, and so do
 * those of the botnets and bulk services that spam comes from; the fields above them,
 * of the relays that mail takes to reach the user, are the same in all mail and tell
 * nothing (on the SpamAssassin corpus, the last three fields tell as much as the first
 * ten). The field this server adds to a stored copy is learnt with it, though a message
 * being delivered does not have it yet: its tokens count when the same hosts and
 * networks appear in the path of other messages.
 */
function receivedTokens(received: readonly string[], c: Tokens): void {
  for (const value of received) {
    const semi = value.lastIndexOf(';');
    const end = Math.min(semi >= 0 ? semi : value.length, 1000);
    // Runs of letters, digits, dots and hyphens: host names and IPv4 addresses.
    let i = 0;
    while (i < end) {
      const start = i;
      let dots = 0;
      let third = -1; // the third dot, which ends an IPv4 address's /24
      let letters = false;
      let tld = 0; // letters since the last dot; -1 after a digit or hyphen
      for (; i < end; i++) {
        const ch = value.charCodeAt(i);
        if ((ch >= 0x61 && ch <= 0x7a) || (ch >= 0x41 && ch <= 0x5a)) {
          letters = true;
          if (tld >= 0) tld++;
        } else if ((ch >= 0x30 && ch <= 0x39) || ch === 0x2d) tld = -1;
        else if (ch === 0x2e) {
          if (++dots === 3) third = i;
          tld = 0;
        } else break;
      }
      if (i === start) i++;
      else if (dots > 0 && !letters) {
        if (dots === 3 && IPV4.test(value.slice(start, i))) {
          c.add(`received:ip:${value.slice(start, third)}`);
        }
      } else if (dots > 0 && tld >= 2 && i - start <= 253) {
        const d = registrableDomain(value.slice(start, i).toLowerCase());
        if (d) c.add(`received:${d}`);
      }
    }
    // IPv6 addresses are in brackets: "[2001:db8::1]", "[IPv6:2001:db8::1]".
    for (let at = value.indexOf('['); at >= 0 && at < end; at = value.indexOf('[', at + 1)) {
      const close = value.indexOf(']', at);
      if (close < 0) break;
      const m = IPV6.exec(value.slice(at + 1, close));
      if (m) c.add(`received:ip:${m[1]}:${m[2]}:${m[3]}`.toLowerCase());
    }
  }
}

/**
 * Tokens of Message-ID and Date as the sender's software wrote them: the shape of the
 * identifier's left side and its domain ("message-id:@example.org"; "@ip" for an address,
 * "@none" without one), the shape of the date and its zone ("date:zone:+0200").
 */
function idDateTokens(values: ReadonlyMap<string, string>, c: Tokens): void {
  const id = values.get('message-id');
  if (id === undefined) c.add('message-id:none');
  else {
    const m = /^<?([^<>@]*)@?([^<>]*)>?/.exec(id.trim()) as RegExpExecArray;
    const right = (m[2] as string).trim().toLowerCase();
    const domain =
      right === ''
        ? 'none'
        : /^\[?[\d.]+\]?$/.test(right) || right.startsWith('[')
          ? 'ip'
          : (registrableDomain(right) ?? right.slice(0, 60));
    c.add(`message-id:shape:${shape(m[1] as string)}`);
    c.add(`message-id:@${domain}`);
  }
  const date = values.get('date');
  if (date === undefined) c.add('date:none');
  else {
    const d = date.replace(/\([^()]*\)/g, ' ').trim();
    c.add(`date:shape:${shape(d)}`);
    const zone = /(?:^|\s)([+-]\d{4}|[a-z]{1,5})$/i.exec(d);
    if (zone) c.add(`date:zone:${(zone[1] as string).toLowerCase()}`);
  }
}

/** Tokens of the header fields that tell most about a message's origin and kind. */
export function headerTokens(fields: readonly HeaderField[], c: Tokens): void {
  // The first value of each field by its lower-case name, and the last Received fields.
  const values = new Map<string, string>();
  const received: string[] = [];
  for (const f of fields) {
    const name = f.name.toLowerCase();
    if (name === 'received') {
      if (received.push(f.value) > MAX_RECEIVED) received.shift();
    } else if (!values.has(name)) values.set(name, f.value);
  }
  const subject = values.get('subject');
  if (subject !== undefined) {
    const text = decodeHeaderValue(subject);
    c.words(text, 'subject:', true, true);
  } else c.add('subject:none');

  const from = parseAddressList(values.get('from') ?? '').filter((a) => a.host);
  const fromDomains = new Set<string>();
  for (const a of from.slice(0, 3)) {
    if (a.name) c.words(decodeEncodedWords(a.name), 'from:name:', false);
    const d = addressDomain(a);
    if (d) {
      fromDomains.add(d);
      c.add(`from:domain:${d}`);
      c.add(`from:addr:${(a.mailbox ?? '').toLowerCase()}@${d}`);
    }
  }
  if (from.length === 0) c.add('from:none');

  for (const [name, prefix] of [
    ['to', 'to:'],
    ['cc', 'cc:'],
  ] as const) {
    const value = values.get(name);
    if (value === undefined) {
      if (name === 'to') c.add('to:none');
      continue;
    }
    const list = parseAddressList(value);
    const domains = new Set(list.map(addressDomain).filter((d): d is string => d !== null));
    if (list.some((a) => a.host === null && a.mailbox !== null)) c.add(`${prefix}group`);
    let n = 0;
    for (const d of domains) if (n++ < 20) c.add(`${prefix}domain:${d}`);
  }

  const replyTo = values.get('reply-to');
  if (replyTo !== undefined) {
    for (const a of parseAddressList(replyTo).slice(0, 3)) {
      const d = addressDomain(a);
      if (!d) continue;
      c.add(`reply-to:domain:${d}`);
      if (!fromDomains.has(d)) c.add('reply-to:other-domain');
    }
  }

  const listId = values.get('list-id');
  if (listId !== undefined) {
    const id = /<([^<>]*)>/.exec(listId)?.[1] ?? listId;
    c.add(`list-id:${id.trim().toLowerCase().slice(0, 200)}`);
  }
  for (const name of ['x-mailer', 'user-agent']) {
    const v = values.get(name);
    if (v !== undefined) c.words(decodeHeaderValue(v), `${name}:`, false);
  }
  receivedTokens(received, c);
  idDateTokens(values, c);
}

/** Tokens of a part's Content-Type: media type, charset and an attachment's extension. */
export function contentTypeTokens(p: Part, c: Tokens): void {
  c.add(`content-type:${p.type}/${p.subtype}`);
  const charset = p.params?.charset;
  if (charset) c.add(`content-type:charset=${charset.toLowerCase().slice(0, 40)}`);
  if (p.encoding !== '7bit') c.add(`content-transfer-encoding:${p.encoding.slice(0, 40)}`);
  const name = p.disposition?.params?.filename ?? p.params?.name;
  const ext = name ? /\.([a-z0-9]{1,10})$/i.exec(name)?.[1] : undefined;
  if (ext) c.add(`content-type:name=.${ext.toLowerCase()}`);
}
