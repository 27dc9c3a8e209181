// IMAP command parser (RFC 9051 §9). Works on one command line at a time; where the
// grammar allows a literal, the parser asks its source to read it (sending "+ " for a
// synchronizing literal) and to read the line that continues the command. Token methods
// are synchronous; only the ones that may meet a literal are async.
import { isAscii } from 'node:buffer';
import { decodeMailboxName, Utf7Error } from '../message/index.js';
import { UserError } from './errors.js';

/** A syntax error: answered with BAD (RFC 9051 §7.1.3). */
export class ParseError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ParseError';
  }
}

export type LiteralInfo = { size: number; sync: boolean; binary: boolean };

export interface LiteralSource {
  /** Reads a literal of the given size into memory (after "+ " when sync), enforcing limits. */
  readLiteral(lit: LiteralInfo): Promise<Buffer>;
  /** Reads the next line of the current command (after a literal). */
  nextLine(): Promise<Buffer>;
}

// Any number of digits: a size too large to read is still a literal announced, to refuse.
const LITERAL_MARKER = /^(~?)\{(\d{1,100})(\+?)\}$/;

/**
 * The literal a command line announces at its end, whatever the rest of the line says
 * (RFC 9051 §4.3: a line that ends in "{n}" or "{n+}" is followed by n octets of data).
 * An absurd size is returned as Infinity, for the caller to refuse.
 */
export function literalAtEnd(line: Buffer): LiteralInfo | null {
  if (line[line.length - 1] !== 0x7d) return null; // "}"
  const open = line.lastIndexOf(0x7b); // "{"
  if (open < 0) return null;
  const start = open > 0 && line[open - 1] === 0x7e ? open - 1 : open; // "~"
  const m = LITERAL_MARKER.exec(line.toString('latin1', start));
  if (!m) return null;
  const size = Number(m[2]);
  return {
    size: Number.isSafeInteger(size) ? size : Infinity,
    sync: m[3] !== '+',
    binary: m[1] === '~',
  };
}

const SP = 0x20;
const DQUOTE = 0x22;

// RFC 9051 §9: atom-specials are ( ) { SP CTL % * " \ ]
function isAtomChar(c: number): boolean {
  if (c <= 0x1f || c >= 0x7f) return false;
  switch (c) {
    case 0x28: // (
    case 0x29: // )
    case 0x7b: // {
    case SP:
    case 0x25: // %
    case 0x2a: // *
    case DQUOTE:
    case 0x5c: // \
    case 0x5d: // ]
      return false;
  }
  return true;
}

const isAstringChar = (c: number) => isAtomChar(c) || c === 0x5d;
const isListChar = (c: number) => isAstringChar(c) || c === 0x25 || c === 0x2a;
const isTagChar = (c: number) => isAstringChar(c) && c !== 0x2b; // no "+"

// C0, DEL, C1 and the Unicode line and paragraph separators (RFC 6855 §3).
const MAILBOX_CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

export class Parser {
  private line: Buffer;
  pos = 0;
  /** The whole command text seen so far (for logs and error context), literals elided. */
  private seen: string[] = [];

  constructor(
    line: Buffer,
    private readonly src: LiteralSource,
    /** UTF-8 allowed in quoted strings and mailbox names (IMAP4rev2 or UTF8=ACCEPT). */
    public utf8 = false,
  ) {
    this.line = line;
  }

  get rest(): string {
    return this.line.subarray(this.pos).toString('utf8');
  }

  get atEnd(): boolean {
    return this.pos >= this.line.length;
  }

  private peekByte(): number {
    return this.line[this.pos] ?? -1;
  }

  peek(ch: string): boolean {
    return this.peekByte() === ch.charCodeAt(0);
  }

  /** Consumes `s` (case-insensitive) if present. */
  take(s: string): boolean {
    const end = this.pos + s.length;
    if (end > this.line.length) return false;
    if (this.line.toString('latin1', this.pos, end).toLowerCase() !== s.toLowerCase()) return false;
    this.pos = end;
    return true;
  }

  expect(s: string, what = JSON.stringify(s)): void {
    if (!this.take(s)) this.fail(`expected ${what}`);
  }

  sp(): void {
    if (this.peekByte() !== SP) this.fail('expected space');
    this.pos++;
  }

  end(): void {
    if (!this.atEnd) this.fail(`unexpected text at end: ${JSON.stringify(this.rest.slice(0, 40))}`);
  }

  fail(msg: string, code?: string): never {
    throw new ParseError(msg, code);
  }

  private run(pred: (c: number) => boolean): string {
    const start = this.pos;
    while (this.pos < this.line.length && pred(this.line[this.pos] as number)) this.pos++;
    return this.line.toString('latin1', start, this.pos);
  }

  tag(): string {
    const t = this.run(isTagChar);
    if (t === '') this.fail('expected tag');
    return t;
  }

  atom(): string {
    const a = this.run(isAtomChar);
    if (a === '') this.fail('expected atom');
    return a;
  }

  /** An atom that may include "]" (ASTRING-CHAR), e.g. BODY[...] section parts are not this. */
  astringAtom(): string {
    const a = this.run(isAstringChar);
    if (a === '') this.fail('expected atom');
    return a;
  }

  /** The digits here, at most 19 of them; `what` names the token in errors. */
  private digits(what: string): string {
    const start = this.pos;
    while (this.pos < this.line.length) {
      const c = this.line[this.pos] as number;
      if (c < 0x30 || c > 0x39) break;
      this.pos++;
    }
    if (this.pos === start) this.fail(`expected ${what}`);
    const s = this.line.toString('latin1', start, this.pos);
    if (s.length > 19) this.fail(`${what} too large`);
    return s;
  }

  /** number (RFC 9051 §9): digits only, no sign; bounded to 32 or 63 bits. */
  number(max = 0xffffffff): number {
    const s = this.digits('number');
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n > max) this.fail('number too large');
    return n;
  }

  nzNumber(max = 0xffffffff): number {
    const n = this.number(max);
    if (n === 0) this.fail('expected non-zero number');
    return n;
  }

  number64(): number {
    return this.number(Number.MAX_SAFE_INTEGER);
  }

  /**
   * mod-sequence-valzer (RFC 7162 §7): up to 2^63-1. Values past 2^53, which no modseq
   * here reaches, are read as 2^53 - 1: "after every change" either way.
   */
  modSeq(): number {
    const s = this.digits('mod-sequence value');
    if (BigInt(s) > 0x7fffffffffffffffn) this.fail('mod-sequence value too large');
    return Math.min(Number(s), Number.MAX_SAFE_INTEGER);
  }

  /** A literal marker at the end of the current line: {n}, {n+} or ~{n}. */
  literalHere(): LiteralInfo | null {
    const m = LITERAL_MARKER.exec(this.line.toString('latin1', this.pos));
    if (!m) return null;
    const size = Number(m[2]);
    if (!Number.isSafeInteger(size)) this.fail('literal size too large', 'TOOBIG');
    return { size, sync: m[3] !== '+', binary: m[1] === '~' };
  }

  /** Reads the literal at the end of the line, then continues with the next line. */
  private async literal(allowBinary = false): Promise<Buffer> {
    const lit = this.literalHere();
    if (!lit) this.fail('expected literal');
    if (lit.binary && !allowBinary) this.fail('binary literal not allowed here');
    this.seen.push(this.line.toString('utf8', 0, this.pos), `{${lit.size}}`);
    const data = await this.src.readLiteral(lit);
    await this.continueLine();
    return data;
  }

  /** Switches to the next line of the command, after a literal. */
  async continueLine(): Promise<void> {
    this.line = await this.src.nextLine();
    this.pos = 0;
  }

  /** The command as received, with literals elided (for logs). */
  get text(): string {
    return this.seen.join('') + this.line.toString('utf8');
  }

  private quoted(): Buffer {
    if (this.peekByte() !== DQUOTE) this.fail('expected quoted string');
    this.pos++;
    const out: number[] = [];
    for (;;) {
      const c = this.line[this.pos];
      if (c === undefined) this.fail('unterminated quoted string');
      this.pos++;
      if (c === DQUOTE) break;
      if (c === 0x5c) {
        const e = this.line[this.pos];
        if (e !== DQUOTE && e !== 0x5c) this.fail('invalid escape in quoted string');
        out.push(e);
        this.pos++;
        continue;
      }
      if (c === 0x0d || c === 0x0a || c === 0) this.fail('invalid character in quoted string');
      if (c >= 0x80 && !this.utf8)
        this.fail('8-bit character in quoted string without UTF8=ACCEPT');
      out.push(c);
    }
    const b = Buffer.from(out);
    if (this.utf8 && !isValidUtf8(b)) this.fail('invalid UTF-8 in quoted string');
    return b;
  }

  /** string = quoted / literal */
  async string(allowBinary = false): Promise<Buffer> {
    if (this.peekByte() === DQUOTE) return this.quoted();
    return this.literal(allowBinary);
  }

  /** astring = 1*ASTRING-CHAR / string; a raw atom's 8-bit octets must be UTF-8. */
  async astring(): Promise<string> {
    const c = this.peekByte();
    if (c === DQUOTE || c === 0x7b) return (await this.string()).toString('utf8');
    const b = this.astringAtomOctets();
    if (!isValidUtf8(b)) this.fail('invalid UTF-8 in atom');
    return b.toString('utf8');
  }

  /**
   * An atom of ASTRING-CHARs; with UTF-8 enabled, also 8-bit octets anywhere in it: RFC
   * 9051 allows UTF-8 in atoms via utf8-quoted only, but clients send raw UTF-8 atoms.
   */
  private astringAtomOctets(): Buffer {
    const start = this.pos;
    if (this.utf8) this.run((x) => isAstringChar(x) || x >= 0x80);
    else this.run(isAstringChar);
    if (this.pos === start) this.fail('expected atom');
    return this.line.subarray(start, this.pos);
  }

  /** An astring's octets, as sent. */
  private async astringOctets(): Promise<Buffer> {
    const c = this.peekByte();
    if (c === DQUOTE || c === 0x7b) return this.string();
    return this.astringAtomOctets();
  }

  async nstring(): Promise<Buffer | null> {
    if (this.take('NIL')) return null;
    return this.string();
  }

  /** A mailbox name: astring, modified UTF-7 decoded unless UTF-8 is enabled; INBOX normalised. */
  async mailbox(): Promise<string> {
    return this.decodeMailbox(await this.astringOctets());
  }

  /** A LIST/LSUB reference name: a mailbox, without INBOX normalisation. */
  async mailboxRef(): Promise<string> {
    return this.decodeMailbox(await this.astringOctets(), false);
  }

  /** list-mailbox = 1*list-char / string (RFC 9051 §6.3.9). */
  async listMailbox(): Promise<string> {
    const c = this.peekByte();
    let b: Buffer;
    if (c === DQUOTE || c === 0x7b) b = await this.string();
    else {
      const start = this.pos;
      if (this.utf8) this.run((x) => isListChar(x) || x >= 0x80);
      else this.run(isListChar);
      if (this.pos === start) this.fail('expected mailbox pattern');
      b = this.line.subarray(start, this.pos);
    }
    return this.decodeMailbox(b, false);
  }

  /**
   * A mailbox name (or pattern) from its octets (RFC 9051 §5.1, RFC 6855 §3): valid UTF-8
   * once UTF-8 is enabled, else 7-bit modified UTF-7; no control characters either way
   * (RFC 5198 §2). Octets that break these rules are refused, never replaced.
   */
  private decodeMailbox(b: Buffer, normalizeInbox = true): string {
    let name: string;
    if (this.utf8) {
      if (!isValidUtf8(b)) this.fail('invalid UTF-8 in mailbox name');
      name = b.toString('utf8');
    } else {
      if (!isAscii(b)) this.fail('8-bit mailbox name without UTF8=ACCEPT, use modified UTF-7');
      const wire = b.toString('latin1');
      // Controls as sent, or encoded in modified UTF-7 (checked below).
      if (MAILBOX_CONTROL.test(wire)) this.fail('control characters in mailbox name');
      try {
        name = decodeMailboxName(wire);
      } catch (e) {
        // Well-formed syntax (an astring) naming no mailbox that can exist: NO, as for
        // any mailbox that does not exist, not BAD (RFC 9051 §5.1.3 only says how names
        // are to be encoded; Dovecot answers such names with NO too).
        if (e instanceof Utf7Error) {
          throw new UserError('CANNOT', `invalid modified UTF-7 mailbox name: ${e.message}`);
        }
        throw e;
      }
    }
    if (MAILBOX_CONTROL.test(name)) this.fail('control characters in mailbox name');
    // Names are stored in NFC, as RFC 9051 §5.1 requires (Net-Unicode, RFC 5198 §2);
    // clients may send another form.
    name = name.normalize('NFC');
    if (
      normalizeInbox &&
      (name.toLowerCase() === 'inbox' || name.toLowerCase().startsWith('inbox/'))
    ) {
      name = 'Inbox' + name.slice(5);
    }
    return name;
  }

  /** flag-list = "(" [flag *(SP flag)] ")" ; returns raw flag names. */
  flagList(): string[] {
    this.expect('(');
    const out: string[] = [];
    while (!this.take(')')) {
      if (out.length > 0) this.sp();
      out.push(this.flag());
    }
    return out;
  }

  /** flag = "\" atom (system flag) / keyword (atom). */
  flag(): string {
    if (this.take('\\')) return '\\' + this.atom();
    return this.atom();
  }

  /** A sequence set: "1:3,5,7:*", or "$" (the saved search result) when allowed. */
  sequenceSet(allowSaved = true): NumSetSpec {
    if (this.take('$')) {
      if (!allowSaved) this.fail('$ not allowed here');
      return { saved: true, ranges: [] };
    }
    const ranges: [number, number][] = [];
    do {
      const a = this.seqNumber();
      let b = a;
      if (this.take(':')) b = this.seqNumber();
      ranges.push([a, b]);
    } while (this.take(','));
    return { saved: false, ranges };
  }

  /** seq-number = nz-number / "*"; "*" is returned as -1. */
  private seqNumber(): number {
    if (this.take('*')) return -1;
    return this.nzNumber();
  }

  /** date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE */
  dateTime(): number {
    const m = /^"([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)"/.exec(
      this.line.toString('latin1', this.pos, this.pos + 40),
    );
    if (!m) this.fail('invalid date-time');
    this.pos += m[0].length;
    const month = MONTHS.indexOf((m[2] as string).toLowerCase());
    if (month < 0) this.fail('invalid month in date-time');
    const day = Number((m[1] as string).trim());
    const [y, hh, mm, ss] = [Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])];
    const off = (m[7] === '-' ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
    if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60) this.fail('invalid date-time');
    return Date.UTC(y, month, day, hh, mm, ss) - off * 60_000;
  }

  /** date = date-text / DQUOTE date-text DQUOTE; returns the UTC midnight of that day. */
  date(): number {
    const q = this.take('"');
    const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})/.exec(
      this.line.toString('latin1', this.pos, this.pos + 12),
    );
    if (!m) this.fail('invalid date');
    this.pos += m[0].length;
    if (q) this.expect('"');
    const month = MONTHS.indexOf((m[2] as string).toLowerCase());
    const day = Number(m[1]);
    if (month < 0 || day < 1 || day > 31) this.fail('invalid date');
    return Date.UTC(Number(m[3]), month, day);
  }
}

export type NumSetSpec = { saved: boolean; ranges: [number, number][] };

function isValidUtf8(b: Buffer): boolean {
  if (isAscii(b)) return true;
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}
