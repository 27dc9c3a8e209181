// FETCH attribute grammar (RFC 9051 §6.4.5, §9 "fetch-att"; BINARY from RFC 3516 §4.2): the
// items a FETCH asks for, parsed into a list the FETCH command answers. Parsing only: the
// responses are written by the command.
import type { Parser } from './parser.js';
import { astr } from './response.js';

export type SectionText = '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

/** section-spec (RFC 9051 §9): part numbers, then an optional text part. */
export type Section = { path: number[]; text: SectionText; fields: string[] };

/** partial (RFC 9051 §9): the octets from origin, at most count of them. */
export type PartialSpec = { origin: number; count: number };

export type SimpleKind =
  | 'flags'
  | 'uid'
  | 'internaldate'
  | 'savedate'
  | 'size'
  | 'envelope'
  | 'body'
  | 'bodystructure'
  | 'emailid'
  | 'threadid'
  | 'modseq';

export type FetchItem =
  | { kind: SimpleKind }
  | {
      kind: 'section';
      binary: boolean;
      peek: boolean;
      section: Section;
      partial: PartialSpec | null;
      /** Name in the response, e.g. "BODY[1.MIME]<0>" or "RFC822.TEXT". */
      label: string;
    }
  | { kind: 'binarysize'; section: Section; label: string }
  /** RFC 8970 PREVIEW, with or without the LAZY modifier. */
  | { kind: 'preview'; lazy: boolean };

// RFC 9051 §6.4.5 macros.
const MACROS: Record<string, SimpleKind[]> = {
  ALL: ['flags', 'internaldate', 'size', 'envelope'],
  FAST: ['flags', 'internaldate', 'size'],
  FULL: ['flags', 'internaldate', 'size', 'envelope', 'body'],
};

const SIMPLE: Record<string, SimpleKind> = {
  FLAGS: 'flags',
  UID: 'uid',
  INTERNALDATE: 'internaldate',
  'RFC822.SIZE': 'size',
  ENVELOPE: 'envelope',
  BODYSTRUCTURE: 'bodystructure',
  // RFC 8514 §3.
  SAVEDATE: 'savedate',
  // RFC 8474 §5.
  EMAILID: 'emailid',
  THREADID: 'threadid',
  // RFC 7162 §3.1.4.2.
  MODSEQ: 'modseq',
};

function attName(p: Parser): string {
  const m = /^[A-Za-z0-9.]+/.exec(p.rest);
  if (!m) p.fail('expected fetch attribute');
  p.pos += m[0].length;
  return m[0].toUpperCase();
}

const nextIsDigit = (p: Parser): boolean => /^[0-9]/.test(p.rest.slice(0, 1));

/** fetch-att list, a single fetch-att, or a macro. */
export async function parseFetchAtts(p: Parser): Promise<FetchItem[]> {
  if (p.take('(')) {
    const items: FetchItem[] = [];
    do items.push(await parseAtt(p, attName(p)));
    while (p.take(' '));
    p.expect(')');
    return items;
  }
  const name = attName(p);
  const macro = MACROS[name];
  if (macro) return macro.map((kind) => ({ kind }));
  return [await parseAtt(p, name)];
}

async function parseAtt(p: Parser, name: string): Promise<FetchItem> {
  const simple = SIMPLE[name];
  if (simple) return { kind: simple };
  switch (name) {
    case 'BODY':
      if (!p.peek('[')) return { kind: 'body' };
      return sectionItem(p, 'BODY', false, false);
    case 'BODY.PEEK':
      return sectionItem(p, 'BODY', false, true);
    case 'BINARY':
      return sectionItem(p, 'BINARY', true, false);
    case 'BINARY.PEEK':
      return sectionItem(p, 'BINARY', true, true);
    case 'PREVIEW': {
      // RFC 8970 §4: PREVIEW [SP "(" preview-mod *(SP preview-mod) ")"], LAZY the only one.
      let lazy = false;
      // Not to be confused with fetch modifiers after a lone PREVIEW.
      if (/^ \(LAZY[ )]/i.test(p.rest) && p.take(' (')) {
        do {
          const mod = p.atom().toUpperCase();
          if (mod !== 'LAZY') p.fail(`unknown preview modifier ${mod}`);
          lazy = true;
        } while (p.take(' '));
        p.expect(')');
      }
      return { kind: 'preview', lazy };
    }
    case 'BINARY.SIZE': {
      const section = await parseSection(p, true);
      return {
        kind: 'binarysize',
        section,
        label: `BINARY.SIZE[${sectionLabel(section, p.utf8)}]`,
      };
    }
    // IMAP4rev1 forms (RFC 3501 §6.4.5): BODY[], BODY.PEEK[HEADER], BODY[TEXT].
    case 'RFC822':
      return rfc822Item('', false, 'RFC822');
    case 'RFC822.HEADER':
      return rfc822Item('HEADER', true, 'RFC822.HEADER');
    case 'RFC822.TEXT':
      return rfc822Item('TEXT', false, 'RFC822.TEXT');
  }
  p.fail(`unknown fetch attribute ${JSON.stringify(name)}`);
}

function rfc822Item(text: SectionText, peek: boolean, label: string): FetchItem {
  return {
    kind: 'section',
    binary: false,
    peek,
    section: { path: [], text, fields: [] },
    partial: null,
    label,
  };
}

async function sectionItem(
  p: Parser,
  word: string,
  binary: boolean,
  peek: boolean,
): Promise<FetchItem> {
  const section = await parseSection(p, binary);
  const partial = parsePartial(p);
  let label = `${word}[${sectionLabel(section, p.utf8)}]`;
  // The response names the origin octet for BODY and for BINARY (RFC 9051 §7.5.2
  // "BINARY[<section-binary>]<<number>>", RFC 3516 §4.2): a client matches a partial
  // response to its request by it. The ABNF of msg-att-static omits it for BINARY; the
  // text, Dovecot and the clients that rely on it win.
  if (partial) label += `<${partial.origin}>`;
  return { kind: 'section', binary, peek, section, partial, label };
}

/** section, or for BINARY section-binary = "[" [section-part] "]" (RFC 9051 §9). */
async function parseSection(p: Parser, binary: boolean): Promise<Section> {
  p.expect('[');
  const s: Section = { path: [], text: '', fields: [] };
  if (p.take(']')) return s;
  if (nextIsDigit(p)) {
    s.path.push(p.nzNumber());
    while (p.take('.')) {
      if (nextIsDigit(p)) {
        s.path.push(p.nzNumber());
        continue;
      }
      if (binary) p.fail('only part numbers allowed in a BINARY section');
      s.text = sectionText(p, true);
      break;
    }
  } else {
    if (binary) p.fail('only part numbers allowed in a BINARY section');
    s.text = sectionText(p, false);
  }
  if (s.text === 'HEADER.FIELDS' || s.text === 'HEADER.FIELDS.NOT') {
    p.sp();
    s.fields = await headerList(p);
  }
  p.expect(']');
  return s;
}

function sectionText(p: Parser, afterPart: boolean): SectionText {
  for (const t of ['HEADER.FIELDS.NOT', 'HEADER.FIELDS', 'HEADER', 'TEXT'] as const) {
    if (p.take(t)) return t;
  }
  // RFC 9051 §6.4.5: MIME must follow a part number.
  if (afterPart && p.take('MIME')) return 'MIME';
  p.fail('invalid section');
}

/** header-list = "(" header-fld-name *(SP header-fld-name) ")", names are astrings. */
async function headerList(p: Parser): Promise<string[]> {
  p.expect('(');
  const names = [await p.astring()];
  while (p.take(' ')) names.push(await p.astring());
  p.expect(')');
  return names;
}

/** partial = "<" number64 "." nz-number64 ">" */
function parsePartial(p: Parser): PartialSpec | null {
  if (!p.take('<')) return null;
  const origin = p.number64();
  p.expect('.');
  const count = p.number64();
  if (count === 0) p.fail('partial length must not be zero');
  p.expect('>');
  return { origin, count };
}

/** The section as echoed in the response; header names as astrings. */
function sectionLabel(s: Section, utf8: boolean): string {
  let out = s.path.join('.');
  if (s.text !== '') out += (out ? '.' : '') + s.text;
  if (s.fields.length > 0) out += ` (${s.fields.map((f) => astr(f, utf8)).join(' ')})`;
  return out;
}
