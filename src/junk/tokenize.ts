// Tokens of a message for the Bayesian junk filter: selected header fields prefixed by
// their name, the decoded text of its text parts (HTML turned to text, link domains as
// tokens), lower-cased words with digits collapsed, and bigrams of adjacent words. The
// work per message is bounded: bytes parsed, bytes of text read per part and in total,
// and the number of distinct tokens.
import {
  decodeEntities,
  decodeToText,
  decodeTransfer,
  parseHeaderBlock,
  parseMessage,
  type HeaderField,
  type Part,
} from '../message/index.js';
import { contentTypeTokens, headerTokens } from './headers.js';
import { Tokens } from './tokens.js';

export { MAX_WORD, MIN_WORD, Tokens, collapseDigits, tokenKey } from './tokens.js';

export type TokenizeOptions = {
  /** Bytes of a message parsed for its structure when no part tree is given. Default 1 MiB. */
  maxParseBytes?: number;
  /** Encoded bytes read from one text part. Default 256 KiB. */
  maxPartBytes?: number;
  /** Characters of decoded text taken from all parts together. Default 256 KiB. */
  maxTextChars?: number;
  /**
   * Distinct tokens at most; the rest of the message is not read. Default 5,000: a
   * 100 KB letter has some 10,000 with its bigrams, and on the SpamAssassin corpus the
   * first 5,000 classify as well as all of them, at half the work.
   */
  maxTokens?: number;
};

export const TOKENIZE_DEFAULTS: Required<TokenizeOptions> = {
  maxParseBytes: 1024 * 1024,
  maxPartBytes: 256 * 1024,
  maxTextChars: 256 * 1024,
  maxTokens: 5_000,
};

const HTML_DROP = /<(script|style)\b[^>]*>[\s\S]*?<\/\1\s*>|<!--[\s\S]*?-->/gi;
const HTML_LINK =
  /\b(?:href|src|action)\s*=\s*["']?\s*(?:https?:)?\/\/([a-z0-9][a-z0-9.-]{0,253})/gi;
const HTML_TAG = /<[!/a-z][^<>]*>/gi;
/** The visible text of an HTML document; link hosts go to the collector. */
export function htmlToText(html: string, c?: Tokens, seen = new Set<string>()): string {
  const s = html.replace(HTML_DROP, ' ');
  c?.links(s, HTML_LINK, seen);
  return decodeEntities(s.replace(HTML_TAG, ' '));
}

/**
 * The distinct tokens of a message. `root` is its part tree when already known (a
 * stored message's), with offsets into `message`; otherwise the message is parsed.
 */
export function tokenize(message: Buffer, root?: Part, opts: TokenizeOptions = {}): Tokens {
  const o = { ...TOKENIZE_DEFAULTS, ...opts };
  // About one distinct token per 10 bytes of a message.
  const c = new Tokens(o.maxTokens, message.length / 10);
  // The top-level header fields: from the parser when it runs (its envelopes are not
  // needed), parsed here for a given part tree.
  let fields: HeaderField[] | undefined;
  if (!root) {
    root = parseMessage(message.subarray(0, o.maxParseBytes), {
      envelopes: false,
      onHeader: (_p, _h, f) => (fields ??= f),
    });
  }
  fields ??= parseHeaderBlock(message.subarray(root.headerStart, root.bodyStart));
  headerTokens(fields, c);

  let textBudget = o.maxTextChars;
  const seenHosts = new Set<string>();
  const stack: Part[] = [root];
  let parts = 0;
  while (stack.length > 0 && !c.full && parts++ < 100) {
    const p = stack.pop() as Part;
    if (p.message) {
      stack.push(p.message);
      continue;
    }
    if (p.parts) {
      for (let i = p.parts.length - 1; i >= 0; i--) stack.push(p.parts[i] as Part);
      continue;
    }
    contentTypeTokens(p, c);
    if (p.type !== 'text' || textBudget <= 0) continue;
    const end = Math.min(p.end, p.bodyStart + o.maxPartBytes, message.length);
    if (end <= p.bodyStart) continue;
    const raw = decodeTransfer(p.encoding, message.subarray(p.bodyStart, end)).data;
    let text = decodeToText(raw, p.params?.charset);
    if (text.length > textBudget) text = text.slice(0, textBudget);
    textBudget -= text.length;
    if (p.subtype === 'html') text = htmlToText(text, c, seenHosts);
    else c.textLinks(text, seenHosts);
    c.words(text, '', true, true);
  }
  return c;
}
