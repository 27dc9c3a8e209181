// Threading fields stored with each message, and offset shifting for a delivery prefix.
import { buildEnvelope, parseHeaderBlock, threadingFields, type Part } from '../message/index.js';

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

/** A prefix line that is no trace field: one the envelope or threading reads. */
const ENVELOPE_FIELD =
  /^(?:date|subject|from|sender|reply-to|to|cc|bcc|in-reply-to|message-id|references)[ \t]*:/im;

/**
 * Structure and threading fields of prefix+file. Prefix lines are part of the message's
 * header: when they hold a field the envelope or threading reads (submission adds
 * Message-ID and Date when missing), both are taken from prefix and header together,
 * the first occurrence of a field winning as in the header itself.
 */
export function storedStructure(
  msg: { part: Part; header: Buffer },
  prefix: Buffer | null | undefined,
): { part: Part; thread: ThreadFields } {
  const n = prefix?.length ?? 0;
  const part = shiftPart(msg.part, n);
  if (!prefix || n === 0 || !ENVELOPE_FIELD.test(prefix.toString('latin1'))) {
    return { part, thread: threadFields(msg.header) };
  }
  const header = Buffer.concat([prefix, msg.header]);
  const envelope = buildEnvelope(parseHeaderBlock(header));
  return { part: { ...part, envelope }, thread: threadFields(header) };
}
