// Decoded text of a message for IMAP SEARCH (RFC 9051 §6.4.4 BODY and TEXT): header
// fields with encoded words decoded, and every text/* part transfer- and charset-decoded.
// Only header blocks and text parts are read; other bodies are never loaded.
import { decodeToText } from './charset.js';
import { decodeHeaderValue, decodeTransfer } from './decode.js';
import { parseHeaderBlock } from './header.js';
import type { Part } from './types.js';

/** Reads bytes [start, end) of a stored message. */
export type RangeReader = (start: number, end: number) => Promise<Buffer>;

export interface TextOptions {
  /** Bytes read at most from one text part; the rest is not searched. Default 8 MiB. */
  maxPartBytes?: number;
  /** Bytes read at most from all text parts together. Default 32 MiB. */
  maxTotalBytes?: number;
}

export interface MessageText {
  /** Header fields of the message as "Name: decoded value" lines. */
  header: string;
  /** Text parts and the headers of enclosed messages, in order, separated by newlines. */
  body: string;
}

/** "Name: value" lines of a header block, values unfolded and decoded. */
export function headerText(header: Buffer): string {
  return parseHeaderBlock(header)
    .map((f) => `${f.name}: ${decodeHeaderValue(f.value)}`)
    .join('\n');
}

/** Decoded text of one text/* part's body bytes. */
export function partText(part: Part, body: Buffer): string {
  const decoded = decodeTransfer(part.encoding, body).data;
  return decodeToText(decoded, part.params?.charset);
}

function readerFor(source: Buffer | RangeReader): RangeReader {
  if (typeof source === 'function') return source;
  return (start, end) => Promise.resolve(source.subarray(start, end));
}

const YIELD_BYTES = 1024 * 1024;

/**
 * The searchable text of a message, given its bytes (or a reader) and its part tree.
 * Parts are walked without recursion, so any nesting depth is safe.
 */
export async function messageText(
  source: Buffer | RangeReader,
  root: Part,
  opts: TextOptions = {},
): Promise<MessageText> {
  const read = readerFor(source);
  const maxPart = opts.maxPartBytes ?? 8 * 1024 * 1024;
  let budget = opts.maxTotalBytes ?? 32 * 1024 * 1024;
  const header = headerText(await read(root.headerStart, root.bodyStart));
  const body: string[] = [];
  let sinceYield = 0;
  const stack: Part[] = [root];
  while (stack.length > 0) {
    const p = stack.pop() as Part;
    if (p !== root && p.envelope !== undefined) {
      body.push(headerText(await read(p.headerStart, p.bodyStart)));
    }
    if (p.message) stack.push(p.message);
    else if (p.parts) for (let i = p.parts.length - 1; i >= 0; i--) stack.push(p.parts[i] as Part);
    else if (p.type === 'text' && budget > 0) {
      const n = Math.min(p.end - p.bodyStart, maxPart, budget);
      budget -= n;
      body.push(partText(p, await read(p.bodyStart, p.bodyStart + n)));
      sinceYield += n;
      if (sinceYield >= YIELD_BYTES) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  return { header, body: body.join('\n') };
}
