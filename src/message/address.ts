// Address lists (RFC 5322 §3.4, with the obsolete forms of §4.4) parsed into IMAP
// ENVELOPE address structures (RFC 9051 §7.5.2). Parsing is lenient and never throws.
import type { Address } from './types.js';

type Kind = 'atom' | 'quoted' | 'literal' | 'special' | 'comment';

interface Token {
  kind: Kind;
  text: string;
  /** White space or a comment came before this token. */
  space: boolean;
}

const SPECIALS = '<>:;@,.';
const WSP = ' \t\r\n';

function readDelimited(s: string, i: number, close: string): { text: string; next: number } {
  let text = '';
  for (i++; i < s.length; i++) {
    const c = s[i] as string;
    if (c === close) return { text, next: i + 1 };
    if (c === '\\' && i + 1 < s.length) text += s[++i];
    else text += c;
  }
  return { text, next: i };
}

function readComment(s: string, i: number): { text: string; next: number } {
  // RFC 5322 §3.2.2: comments nest; the inner parentheses stay in the text.
  let depth = 0;
  let text = '';
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      text += s[++i];
      continue;
    }
    if (c === '(' && depth++ === 0) continue;
    if (c === ')' && --depth === 0) return { text: text.trim(), next: i + 1 };
    text += c;
  }
  return { text: text.trim(), next: i };
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let space = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i] as string;
    if (WSP.includes(c)) {
      space = true;
      i++;
    } else if (c === '(') {
      const r = readComment(s, i);
      out.push({ kind: 'comment', text: r.text, space: true });
      space = true;
      i = r.next;
    } else if (c === '"') {
      const r = readDelimited(s, i, '"');
      out.push({ kind: 'quoted', text: r.text, space });
      space = false;
      i = r.next;
    } else if (c === '[') {
      const close = s.indexOf(']', i);
      const next = close < 0 ? s.length : close + 1;
      out.push({ kind: 'literal', text: s.slice(i, next), space });
      space = false;
      i = next;
    } else if (SPECIALS.includes(c)) {
      out.push({ kind: 'special', text: c, space });
      space = false;
      i++;
    } else if (c === ')' || c === ']') {
      i++; // stray closer: ignored
    } else {
      let j = i + 1;
      while (
        j < s.length &&
        !WSP.includes(s[j] as string) &&
        !'()"[]<>:;@,.'.includes(s[j] as string)
      )
        j++;
      out.push({ kind: 'atom', text: s.slice(i, j), space });
      space = false;
      i = j;
    }
  }
  return out;
}

function isSpecial(t: Token | undefined, c: string): boolean {
  return t !== undefined && t.kind === 'special' && t.text === c;
}

/** A display name: words joined by single spaces, quoted strings unquoted. */
function phrase(toks: readonly Token[]): string | null {
  let out = '';
  for (const t of toks) {
    if (t.kind === 'comment') continue;
    if (t.space && out !== '') out += ' ';
    out += t.text;
  }
  out = out.trim();
  return out === '' ? null : out;
}

const DOT_ATOM =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\uffff]+)*$/;

function quote(s: string): string {
  return '"' + s.replace(/[\\"]/g, '\\$&') + '"';
}

/** The local part: a quoted string that needs no quoting is unquoted (RFC 5322 §3.4.1). */
function localPart(toks: readonly Token[]): string {
  const words = toks.filter((t) => t.kind !== 'comment');
  if (words.length === 1 && words[0]?.kind === 'quoted') {
    const text = words[0].text;
    return DOT_ATOM.test(text) ? text : quote(text);
  }
  return words.map((t) => (t.kind === 'quoted' ? quote(t.text) : t.text)).join('');
}

function joinText(toks: readonly Token[]): string {
  return toks
    .filter((t) => t.kind !== 'comment')
    .map((t) => t.text)
    .join('');
}

function lastComment(toks: readonly Token[]): string | null {
  for (let i = toks.length - 1; i >= 0; i--) {
    const t = toks[i] as Token;
    if (t.kind === 'comment' && t.text !== '') return t.text;
  }
  return null;
}

/** addr-spec: local "@" domain. A missing domain gives host "" (null would mean a group). */
function addrSpec(toks: readonly Token[], name: string | null, adl: string | null): Address {
  const at = toks.findIndex((t) => isSpecial(t, '@'));
  if (at < 0) return { name, adl, mailbox: localPart(toks), host: '' };
  return { name, adl, mailbox: localPart(toks.slice(0, at)), host: joinText(toks.slice(at + 1)) };
}

/** One mailbox from tokens [a, b); `angle` is the index of "<" or -1. */
function mailbox(toks: readonly Token[], a: number, b: number, angle: number): Address | null {
  if (angle < 0) {
    const part = toks.slice(a, b);
    if (!part.some((t) => t.kind !== 'comment')) return null;
    // RFC 5322 §4.4 style "addr (Name)": the comment is the only name there is.
    return addrSpec(part, lastComment(part), null);
  }
  let close = angle + 1;
  while (close < b && !isSpecial(toks[close], '>')) close++;
  let inner = toks.slice(angle + 1, close).filter((t) => t.kind !== 'comment');
  let adl: string | null = null;
  // RFC 5322 §4.4 obs-route: "@a,@b:" before the address.
  if (isSpecial(inner[0], '@')) {
    const colon = inner.findIndex((t) => isSpecial(t, ':'));
    if (colon > 0) {
      adl = joinText(inner.slice(0, colon));
      inner = inner.slice(colon + 1);
    }
  }
  const name = phrase(toks.slice(a, angle)) ?? lastComment(toks.slice(close, b));
  return addrSpec(inner, name, adl);
}

/** The end of the address starting at i, and where its "<" or group ":" is. */
function scanAddress(
  toks: readonly Token[],
  nextClose: Int32Array,
  i: number,
  inGroup: boolean,
): { end: number; angle: number; colon: number } {
  let angle = -1;
  let j = i;
  while (j < toks.length) {
    const t = toks[j] as Token;
    if (t.kind === 'special') {
      if (t.text === ',' || (t.text === ';' && inGroup)) break;
      if (t.text === ':' && !inGroup && angle < 0) return { end: j, angle, colon: j };
      if (t.text === '<' && angle < 0) {
        angle = j;
        const k = nextClose[j + 1] ?? toks.length;
        if (k === toks.length) {
          // Unterminated "<": the address ends at the next comma.
          while (j < toks.length && !isSpecial(toks[j], ',')) j++;
          break;
        }
        j = k;
      }
    }
    j++;
  }
  return { end: j, angle, colon: -1 };
}

/**
 * Parses an address list header value. Groups become a start marker (mailbox = group
 * name, host = null) and an end marker (mailbox = null, host = null), as RFC 3501 §7.4.2
 * describes. Names and local parts stay undecoded; RFC 2047 words are left as they are.
 */
export function parseAddressList(value: string): Address[] {
  const toks = tokenize(value);
  // nextClose[i]: index of the first ">" at or after i, so scanning stays linear.
  const nextClose = new Int32Array(toks.length + 1);
  nextClose[toks.length] = toks.length;
  for (let k = toks.length - 1; k >= 0; k--) {
    nextClose[k] = isSpecial(toks[k], '>') ? k : (nextClose[k + 1] as number);
  }
  const out: Address[] = [];
  let inGroup = false;
  let i = 0;
  while (i < toks.length) {
    const t = toks[i] as Token;
    if (isSpecial(t, ',')) {
      i++;
      continue;
    }
    if (isSpecial(t, ';')) {
      if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
      inGroup = false;
      i++;
      continue;
    }
    const s = scanAddress(toks, nextClose, i, inGroup);
    if (s.colon >= 0) {
      const group = phrase(toks.slice(i, s.colon)) ?? '';
      out.push({ name: null, adl: null, mailbox: group, host: null });
      inGroup = true;
      i = s.colon + 1;
      continue;
    }
    const a = mailbox(toks, i, s.end, s.angle);
    if (a) out.push(a);
    i = Math.max(s.end, i + 1);
  }
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null });
  return out;
}
