// The preview of a message (RFC 8970 §3): the start of its readable text, up to 256
// characters, for a message list. Taken from the first text/plain part that is not an
// attachment (or, without one, the first text/html part, tags removed), with quoted
// lines and the signature left out and white space collapsed.
import { partText, type RangeReader } from './text.js';
import { decodeEntities } from './html.js';
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

/** Text of HTML: scripts, styles and tags removed, common entities decoded. */
export function htmlText(html: string): string {
  const text = html
    .replace(/<(script|style|head)\b[^>]*>[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<br\s*\/?>|<\/(p|div|li|tr|h\d)\s*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ');
  return decodeEntities(text);
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
