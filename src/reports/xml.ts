// A small XML reader for reports: a pull tokenizer over one document that yields element
// starts, ends and text, checks well-formedness, and refuses what a report never needs
// and an attacker would: document type declarations and entity definitions (so nothing
// is ever expanded), references to undefined entities, and elements nested too deeply.
// Attributes are checked for syntax and dropped; namespace prefixes are dropped from
// element names; comments and processing instructions are skipped.
import { ReportError } from './errors.js';

export type XmlEvent =
  { type: 'open'; name: string } | { type: 'close'; name: string } | { type: 'text'; text: string };

/** Default limit on element nesting. */
export const MAX_XML_DEPTH = 32;

const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9._:\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\r\n]*/y;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function bad(what: string): ReportError {
  return new ReportError(`malformed XML: ${what}`);
}

/** Replaces the five predefined entities and character references; refuses any other. */
export function decodeReferences(raw: string): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&<]{0,32})(;?)/g, (_m, ref: string, semi: string) => {
    if (!semi) throw bad(`"&" not starting a reference near ${JSON.stringify(ref.slice(0, 16))}`);
    const p = PREDEFINED[ref];
    if (p !== undefined) return p;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    if (!m) {
      throw new ReportError(
        `XML refers to entity &${ref}; which is not defined (entities are not expanded)`,
      );
    }
    const cp = m[1] !== undefined ? parseInt(m[1], 16) : Number(m[2]);
    // XML 1.0 Char: no C0 controls other than tab, LF and CR, no surrogates.
    if (
      (cp < 0x20 && cp !== 0x09 && cp !== 0x0a && cp !== 0x0d) ||
      cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff)
    ) {
      throw bad(`character reference &${ref}; is not a character`);
    }
    return String.fromCodePoint(cp);
  });
}

/** The document as text: UTF-8, or Latin-1 when its declaration says so. */
export function decodeDocument(data: Buffer): string {
  if (
    data.length >= 2 &&
    ((data[0] === 0xfe && data[1] === 0xff) || (data[0] === 0xff && data[1] === 0xfe))
  ) {
    throw new ReportError('XML in UTF-16 is not supported');
  }
  const bom = data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf;
  const head = data.toString('latin1', 0, 200);
  const decl = /^(?:\uFEFF|\xEF\xBB\xBF)?<\?xml\s[^>]*?encoding\s*=\s*["']([^"']*)["']/.exec(head);
  const enc = (decl?.[1] ?? 'utf-8').toLowerCase();
  if (['utf-8', 'utf8', 'us-ascii', 'ascii'].includes(enc)) {
    return data.toString('utf8', bom ? 3 : 0);
  }
  if (['iso-8859-1', 'latin1', 'latin-1', 'iso_8859-1', 'windows-1252', 'cp1252'].includes(enc)) {
    return new TextDecoder('windows-1252').decode(data);
  }
  throw new ReportError(`XML encoding ${JSON.stringify(decl?.[1])} is not supported`);
}

/**
 * Reads one XML document event by event. next() returns null at the end of a complete
 * document and throws a ReportError on anything malformed or refused.
 */
export class XmlReader {
  private pos = 0;
  /** Qualified names of the open elements. */
  private readonly stack: string[] = [];
  private pendingClose: string | null = null;
  private rootDone = false;

  constructor(
    private readonly s: string,
    private readonly maxDepth = MAX_XML_DEPTH,
  ) {
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
  }

  get depth(): number {
    return this.stack.length;
  }

  next(): XmlEvent | null {
    if (this.pendingClose !== null) {
      const name = this.pendingClose;
      this.pendingClose = null;
      return this.close(name);
    }
    const s = this.s;
    for (;;) {
      if (this.pos >= s.length) {
        if (this.stack.length > 0) {
          throw bad(`document ends inside <${this.stack[this.stack.length - 1]}>`);
        }
        if (!this.rootDone) throw bad('no root element');
        return null;
      }
      if (s.charCodeAt(this.pos) !== 0x3c /* < */) {
        let end = s.indexOf('<', this.pos);
        if (end < 0) end = s.length;
        const raw = s.slice(this.pos, end);
        this.pos = end;
        if (this.stack.length === 0) {
          if (/[^ \t\r\n]/.test(raw)) throw bad('text outside the root element');
          continue;
        }
        return { type: 'text', text: decodeReferences(raw) };
      }
      if (s.startsWith('<?', this.pos)) {
        const end = s.indexOf('?>', this.pos + 2);
        if (end < 0) throw bad('unterminated processing instruction');
        this.pos = end + 2;
        continue;
      }
      if (s.startsWith('<!--', this.pos)) {
        const end = s.indexOf('-->', this.pos + 4);
        if (end < 0) throw bad('unterminated comment');
        this.pos = end + 3;
        continue;
      }
      if (s.startsWith('<![CDATA[', this.pos)) {
        if (this.stack.length === 0) throw bad('CDATA outside the root element');
        const end = s.indexOf(']]>', this.pos + 9);
        if (end < 0) throw bad('unterminated CDATA section');
        const text = s.slice(this.pos + 9, end);
        this.pos = end + 3;
        return { type: 'text', text };
      }
      if (s.startsWith('<!', this.pos)) {
        const decl = /^<!([A-Za-z]*)/.exec(s.slice(this.pos, this.pos + 12))?.[1] ?? '';
        throw new ReportError(
          decl.toUpperCase() === 'DOCTYPE' || decl.toUpperCase() === 'ENTITY'
            ? `XML with a <!${decl.toUpperCase()}> declaration is refused: reports need no DTD or entities`
            : `malformed XML: unexpected <!${decl}`,
        );
      }
      if (s.startsWith('</', this.pos)) return this.endTag();
      return this.startTag();
    }
  }

  private name(): string {
    NAME.lastIndex = this.pos;
    const m = NAME.exec(this.s);
    if (!m) throw bad(`expected a name at offset ${this.pos}`);
    this.pos = NAME.lastIndex;
    return m[0];
  }

  private space(): boolean {
    SPACE.lastIndex = this.pos;
    SPACE.exec(this.s);
    const moved = SPACE.lastIndex > this.pos;
    this.pos = SPACE.lastIndex;
    return moved;
  }

  private startTag(): XmlEvent {
    const s = this.s;
    this.pos++;
    const qname = this.name();
    if (this.rootDone) throw bad(`element <${qname}> after the root element`);
    for (;;) {
      const spaced = this.space();
      if (s.startsWith('/>', this.pos)) {
        this.pos += 2;
        this.pendingClose = qname;
        break;
      }
      if (s.charCodeAt(this.pos) === 0x3e /* > */) {
        this.pos++;
        break;
      }
      if (!spaced) throw bad(`in start tag <${qname}>`);
      this.name();
      this.space();
      if (s.charCodeAt(this.pos) !== 0x3d /* = */)
        throw bad(`attribute without value in <${qname}>`);
      this.pos++;
      this.space();
      const q = s[this.pos];
      if (q !== '"' && q !== "'") throw bad(`unquoted attribute value in <${qname}>`);
      const end = s.indexOf(q, this.pos + 1);
      if (end < 0) throw bad(`unterminated attribute value in <${qname}>`);
      const value = s.slice(this.pos + 1, end);
      if (value.includes('<')) throw bad(`"<" in an attribute value of <${qname}>`);
      decodeReferences(value);
      this.pos = end + 1;
    }
    if (this.stack.length >= this.maxDepth) {
      throw new ReportError(`XML elements are nested more than ${this.maxDepth} deep`);
    }
    this.stack.push(qname);
    return { type: 'open', name: localName(qname) };
  }

  private endTag(): XmlEvent {
    this.pos += 2;
    const qname = this.name();
    this.space();
    if (this.s.charCodeAt(this.pos) !== 0x3e) throw bad(`in end tag </${qname}>`);
    this.pos++;
    const open = this.stack[this.stack.length - 1];
    if (open !== qname) {
      throw bad(
        open === undefined ? `end tag </${qname}> without start` : `</${qname}> closes <${open}>`,
      );
    }
    return this.close(qname);
  }

  private close(qname: string): XmlEvent {
    this.stack.pop();
    if (this.stack.length === 0) this.rootDone = true;
    return { type: 'close', name: localName(qname) };
  }
}

function localName(qname: string): string {
  const i = qname.indexOf(':');
  return i < 0 ? qname : qname.slice(i + 1);
}
