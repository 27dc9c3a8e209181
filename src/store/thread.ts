// Threading fields stored with each message, and offset shifting for a delivery prefix.
import { threadingFields, type Part } from '../message/index.js';

export type ThreadFields = {
  messageId: string;
  inReplyTo: string;
  references: string[];
  subjectBase: string;
};

/** Message-ID, In-Reply-To, References and base subject (RFC 5256 §2.1), as stored. */
export function threadFields(header: Buffer): ThreadFields {
  const t = threadingFields(header);
  return {
    messageId: t.messageId ?? '',
    inReplyTo: t.inReplyTo ?? '',
    references: t.references,
    subjectBase: t.baseSubject,
  };
}

const OFFSET_KEYS = ['headerStart', 'bodyStart', 'end'] as const;

/**
 * The structure of prefix+file from the structure of the file: every offset moves by
 * the prefix length, except the top-level header start, which stays at 0 (the prefix
 * lines belong to the top-level header).
 */
export function shiftPart(part: Part, n: number): Part {
  if (n === 0) return part;
  const shifted = shiftTree(part, n) as Part;
  (shifted as unknown as Record<string, number>).headerStart = 0;
  return shifted;
}

function shiftTree(v: unknown, n: number): unknown {
  if (Array.isArray(v)) return v.map((x) => shiftTree(x, n));
  if (v === null || typeof v !== 'object') return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if ((OFFSET_KEYS as readonly string[]).includes(k) && typeof x === 'number') out[k] = x + n;
    else if (k === 'parts' || k === 'message') out[k] = shiftTree(x, n);
    else out[k] = x;
  }
  return out;
}
