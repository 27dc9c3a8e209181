// The preview of a message (RFC 8970 §3): the start of its readable text, up to 256
// characters, for a message list. Taken from the first text/plain part that is not an
// attachment (or, without one, the first text/html part, tags removed), with quoted
// lines and the signature left out and white space collapsed.
import { partText, type RangeReader } from './text.js';
import type { Part } from './types.js';

/** RFC 8970 §3.1: at most 256 characters. */
export const PREVIEW_MAX = 256;
/** Bytes of a part read for its preview: enough for any 256 characters of text. */
const READ_MAX = 16 * 1024;

function isAttachment(p: Part): boolean {
  return p.disposition?.type === 'attachment';
}

/** The first part of `type/subtype` that is not an attachment, depth first. */
function firstPart(root: Part, subtype: string): Part | null {
  const stack: Part[] = [root];
  while (stack.length > 0) {
    const p = stack.pop() as Part;
    // Enclosed messages are someone else's text.
    if (p.message) continue;
    if (p.parts) {
      for (let i = p.parts.length - 1; i >= 0; i--) stack.push(p.parts[i] as Part);
      continue;
    }
    if (p.type === 'text' && p.subtype === subtype && !isAttachment(p)) return p;
  }
  return null;
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  copy: '©',
  reg: '®',
  euro: '€',
  hellip: '…',
  mdash: '—',
  ndash: '–',
  lsquo: '‘',
  rsquo: '’',
  ldquo: '“',
  rdquo: '”',
  szlig: 'ß',
};

/** Latin letters with a diacritic: "&eacute;" and the like, by their base letter. */
const ACCENTS: Record<string, string> = {
  acute: '\u0301',
  grave: '\u0300',
  circ: '\u0302',
  uml: '\u0308',
  tilde: '\u0303',
  cedil: '\u0327',
  ring: '\u030a',
};

function namedEntity(name: string): string | undefined {
  const known = ENTITIES[name.toLowerCase()];
  if (known) return known;
  const m = /^([a-zA-Z])(acute|grave|circ|uml|tilde|cedil|ring)$/.exec(name);
  return m ? (m[1]! + ACCENTS[m[2]!]!).normalize('NFC') : undefined;
}

/** Text of HTML: scripts, styles and tags removed, common entities decoded. */
export function htmlText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h\d)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d{1,7}|#x[0-9a-f]{1,6}|[a-z]+);/gi, (m, e: string) => {
      if (e[0] !== '#') return namedEntity(e) ?? m;
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    });
}

/** The preview of a text: quoted lines and the signature gone, white space collapsed. */
export function previewOf(text: string): string {
  const lines: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    // RFC 3676 §4.3: "-- " starts the signature.
    if (line === '-- ') break;
    if (/^\s*>/.test(line)) continue;
    lines.push(line);
  }
  const flat = lines.join(' ').replace(/\s+/gu, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= PREVIEW_MAX ? flat : chars.slice(0, PREVIEW_MAX).join('');
}

/** The preview of a stored message; "" when it has no readable text. */
export async function messagePreview(read: RangeReader, root: Part): Promise<string> {
  const plain = firstPart(root, 'plain');
  const part = plain ?? firstPart(root, 'html');
  if (!part) return '';
  const end = Math.min(part.end, part.bodyStart + READ_MAX);
  const text = partText(part, await read(part.bodyStart, end));
  return previewOf(plain ? text : htmlText(text));
}
