// SMTP replies (RFC 5321 §4.2) with enhanced status codes (RFC 2034, RFC 3463):
// formatting for the server, parsing for the client.

// Longest reply line without CRLF (RFC 5321 §4.5.3.1.5 allows 512 with CRLF).
const MAX_LINE = 510;
// When wrapping, a break at a space at or after this column is preferred.
const BREAK_FROM = 400;

/** The full enhanced code for a reply, e.g. (451, "7.1") → "4.7.1". */
export function enhancedCode(code: number, secode: string): string {
  return `${Math.floor(code / 100)}.${secode}`;
}

/** Number of leading chars of `s` whose UTF-8 form fits in `maxBytes`, not splitting pairs. */
function fitChars(s: string, maxBytes: number): number {
  let bytes = 0;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    const pair = c >= 0xd800 && c <= 0xdbff && i + 1 < s.length;
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : pair ? 4 : 3;
    if (bytes + n > maxBytes) break;
    bytes += n;
    i += pair ? 2 : 1;
  }
  return i;
}

/** Splits one text line so that prefix plus text stays within MAX_LINE octets. */
function wrap(text: string, prefixLen: number): string[] {
  const avail = MAX_LINE - prefixLen;
  const out: string[] = [];
  let rest = text;
  while (Buffer.byteLength(rest, 'utf8') > avail) {
    const k = fitChars(rest, avail);
    const sp = rest.lastIndexOf(' ', k);
    if (sp > 0 && prefixLen + Buffer.byteLength(rest.slice(0, sp), 'utf8') >= BREAK_FROM) {
      out.push(rest.slice(0, sp));
      rest = rest.slice(sp + 1);
    } else {
      out.push(rest.slice(0, k));
      rest = rest.slice(k);
    }
  }
  out.push(rest);
  return out;
}

/**
 * Formats a complete reply, each line ending in CRLF. A "\n" in msg starts a new line;
 * long lines are wrapped. Every line carries the enhanced code when secode is given
 * (its class follows the basic code: 451 with "7.1" is "451 4.7.1").
 */
export function formatReply(code: number, secode: string | null, msg: string): string {
  const ecode = secode === null ? '' : enhancedCode(code, secode);
  const prefixLen = 4 + (ecode === '' ? 0 : ecode.length + 1);
  const texts = msg.split(/\r\n|\r|\n/).flatMap((t) => wrap(t, prefixLen));
  let out = '';
  texts.forEach((text, i) => {
    const last = i === texts.length - 1;
    const body = ecode === '' ? text : text === '' ? ecode : `${ecode} ${text}`;
    // RFC 5321 §4.2: the final line is "code" alone or "code SP text".
    out += body === '' && last ? `${code}\r\n` : `${code}${last ? ' ' : '-'}${body}\r\n`;
  });
  return out;
}

/** A reply as seen by a client. */
export type Reply = { code: number; secode: string | null; lines: string[]; text: string };

export class ReplySyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplySyntaxError';
  }
}

// RFC 5321 §4.2: Reply-code [ ("-" / SP) textstring ]; first digit 2-5.
const REPLY_LINE = /^([2-5][0-9][0-9])(?:([ -])([^]*))?$/;
// RFC 3463 §2: class.subject.detail, subject and detail 1-3 digits.
const ENHANCED = /^([245])\.([0-9]{1,3}\.[0-9]{1,3})(?: |$)/;

/**
 * Collects the lines of one reply. push() returns the Reply once its last line arrives,
 * and starts over for the next one. Throws ReplySyntaxError on malformed lines, a code
 * change in a multi-line reply, or more than `maxLines` lines.
 */
export class ReplyParser {
  private code = 0;
  private secode: string | null = null;
  private lines: string[] = [];

  constructor(private readonly maxLines = 1000) {}

  push(line: string): Reply | null {
    const m = REPLY_LINE.exec(line);
    if (!m) this.fail('malformed reply line');
    const code = Number(m[1]);
    let text = m[3] ?? '';
    const first = this.lines.length === 0;
    if (!first && code !== this.code) this.fail('reply code changed within a multi-line reply');
    if (this.lines.length >= this.maxLines) this.fail('reply has too many lines');
    const e = ENHANCED.exec(text);
    if (e && Number(e[1]) === Math.floor(code / 100) && (first || this.secode !== null)) {
      if (first) this.secode = `${e[1]}.${e[2]}`;
      text = text.slice(e[0].length);
    }
    this.code = code;
    this.lines.push(text);
    if (m[2] === '-') return null;
    const reply: Reply = {
      code,
      secode: this.secode,
      lines: this.lines,
      text: this.lines.join('\n'),
    };
    this.reset();
    return reply;
  }

  private reset(): void {
    this.code = 0;
    this.secode = null;
    this.lines = [];
  }

  private fail(message: string): never {
    this.reset();
    throw new ReplySyntaxError(message);
  }
}
