// Threading fields: message ids (RFC 5322 §3.6.4) and the base subject of RFC 5256 §2.1.
import { decodeHeaderValue } from './decode.js';
import { headerValue, parseHeaderBlock } from './header.js';

const BRACKETED = /<([^<>]*)>/g;
const BARE_ID = /^[^\s<>@]+@[^\s<>@]+$/;

function bracketedIds(value: string): string[] {
  const ids: string[] = [];
  for (const m of value.matchAll(BRACKETED)) {
    // Folding may have put white space inside the brackets.
    const id = (m[1] as string).replace(/\s+/g, '');
    if (id !== '') ids.push(id);
  }
  return ids;
}

/**
 * The message id in a Message-ID value, without angle brackets: the first "<...>",
 * or a bare "local@domain" as some software writes. Undefined when there is none.
 */
export function messageId(value: string): string | undefined {
  const first = bracketedIds(value)[0];
  if (first !== undefined) return first;
  const bare = value.trim();
  return BARE_ID.test(bare) ? bare : undefined;
}

/** The ids of a References value, in order, without brackets and duplicates. */
export function references(value: string): string[] {
  return [...new Set(bracketedIds(value))];
}

/**
 * The parent id from an In-Reply-To value: its first message id (RFC 5256 §3 uses the
 * first valid one; the field sometimes holds several, or other text).
 */
export function inReplyTo(value: string): string | undefined {
  return messageId(value);
}

const WSP_CHAR = /[ \t]/;
// RFC 5256 §5: subj-blob = "[" *BLOBCHAR "]" *WSP
const LEADER = /(?:\[[^[\]]*\][ \t]*)*(?:re|fwd?)[ \t]*(?:\[[^[\]]*\][ \t]*)?:/iy;
const BLOB = /\[[^[\]]*\][ \t]*/y;

/** Index just past a subj-leader at pos (RFC 5256 §5), or -1. */
function leaderEnd(s: string, pos: number): number {
  if (WSP_CHAR.test(s[pos] ?? '')) return pos + 1;
  LEADER.lastIndex = pos;
  return LEADER.test(s) ? LEADER.lastIndex : -1;
}

function lastNonSpace(s: string, start: number, end: number): number {
  let i = end - 1;
  while (i >= start && WSP_CHAR.test(s[i] as string)) i--;
  return i;
}

/**
 * The base subject of RFC 5256 §2.1, used for SORT and THREAD by subject: encoded words
 * decoded, white space folded, and "Re:", "Fwd:", "[blob]" leaders, "(fwd)" trailers and
 * "[fwd: ...]" wrappers removed. Case is kept; compare base subjects case-insensitively.
 */
export function baseSubject(subject: string): string {
  // (1) Decode, turn tabs and continuations into spaces, fold runs of spaces.
  const s = decodeHeaderValue(subject)
    .replace(/[\t\r\n]/g, ' ')
    .replace(/ {2,}/g, ' ');
  let pos = 0;
  let end = s.length;
  for (;;) {
    // (2) Trailing "(fwd)" and white space.
    for (;;) {
      if (end > pos && WSP_CHAR.test(s[end - 1] as string)) end--;
      else if (end - pos >= 5 && s.slice(end - 5, end).toLowerCase() === '(fwd)') end -= 5;
      else break;
    }
    // (3)-(5) Leaders, and blobs that do not make up the whole subject.
    const last = lastNonSpace(s, pos, end);
    for (;;) {
      const le = pos < end ? leaderEnd(s, pos) : -1;
      if (le > pos && le <= end) {
        pos = le;
        continue;
      }
      // No leader here, so none after any of the blobs that follow either: strip them
      // all (keeping a non-empty rest), then look for a leader once more.
      let moved = false;
      for (;;) {
        BLOB.lastIndex = pos;
        if (!(pos < end && BLOB.test(s) && BLOB.lastIndex <= end && last >= BLOB.lastIndex)) break;
        pos = BLOB.lastIndex;
        moved = true;
      }
      if (!moved) break;
    }
    // (6) "[fwd: ... ]" around the subject: unwrap and start again.
    if (end - pos >= 6 && s.slice(pos, pos + 5).toLowerCase() === '[fwd:' && s[end - 1] === ']') {
      pos += 5;
      end -= 1;
      continue;
    }
    return s.slice(pos, end);
  }
}

/**
 * The sent date of a message (RFC 5256 §2.2, §3 DATE): its Date header value in UTC ms,
 * comments left out; without a valid one, `fallback` (the internal date).
 */
export function sentDate(date: string | undefined, fallback: number): number {
  if (!date) return fallback;
  const t = Date.parse(date.replace(/\([^)]*\)/g, ' ').trim());
  return Number.isNaN(t) ? fallback : t;
}

/** Threading facts of a message header block. */
export interface ThreadingFields {
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  baseSubject: string;
}

/** Message-ID, In-Reply-To, References and base subject from a header block. */
export function threadingFields(header: Buffer): ThreadingFields {
  const fields = parseHeaderBlock(header);
  const out: ThreadingFields = {
    references: references(headerValue(fields, 'references') ?? ''),
    baseSubject: baseSubject(headerValue(fields, 'subject') ?? ''),
  };
  const id = messageId(headerValue(fields, 'message-id') ?? '');
  if (id !== undefined) out.messageId = id;
  const parent = inReplyTo(headerValue(fields, 'in-reply-to') ?? '');
  if (parent !== undefined) out.inReplyTo = parent;
  return out;
}
