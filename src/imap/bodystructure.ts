// ENVELOPE, BODY and BODYSTRUCTURE of a stored message (RFC 9051 §7.5.2), built from the
// Part tree kept with each message, and the lookup of numeric section parts
// (RFC 9051 §6.4.5). Output is a byte string (response.ts).
import { imapEnvelope, type Address, type Envelope, type Part } from '../message/index.js';
import { nstr, str } from './response.js';

export type StructureOptions = {
  /** UTF-8 allowed in quoted strings (IMAP4rev2 or UTF8=ACCEPT). */
  utf8: boolean;
  /** Describe message/global like message/rfc822 (the IMAP4rev2 media-message, RFC 9051 §9). */
  messageGlobal: boolean;
};

// RFC 9051 §9 address: "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")"
function addressText(a: Address, utf8: boolean): string {
  return `(${nstr(a.name, utf8)} ${nstr(a.adl, utf8)} ${nstr(a.mailbox, utf8)} ${nstr(a.host, utf8)})`;
}

// env-from etc.: "(" 1*address ")" / nil
function addressListText(list: Address[] | null, utf8: boolean): string {
  if (list === null || list.length === 0) return 'NIL';
  let s = '(';
  for (const a of list) s += addressText(a, utf8);
  return s + ')';
}

/**
 * ENVELOPE (RFC 9051 §7.5.2): date, subject, from, sender, reply-to, to, cc, bcc,
 * in-reply-to, message-id. Strings go out as stored: encoded words stay encoded.
 */
export function envelopeText(env: Envelope | undefined, utf8: boolean): string {
  const e = imapEnvelope(env);
  const from = addressListText(e.from, utf8);
  // Sender and Reply-To default to From: the same list is formatted once.
  const sender = e.sender === e.from ? from : addressListText(e.sender, utf8);
  const replyTo = e.replyTo === e.from ? from : addressListText(e.replyTo, utf8);
  const to = addressListText(e.to, utf8);
  const cc = addressListText(e.cc, utf8);
  const bcc = addressListText(e.bcc, utf8);
  const head = `(${nstr(e.date, utf8)} ${nstr(e.subject, utf8)} ${from} ${sender} ${replyTo}`;
  return `${head} ${to} ${cc} ${bcc} ${nstr(e.inReplyTo, utf8)} ${nstr(e.messageId, utf8)})`;
}

// body-fld-param: "(" string SP string *(SP string SP string) ")" / nil
function paramsText(params: Record<string, string> | undefined, utf8: boolean): string {
  if (params === undefined) return 'NIL';
  const out: string[] = [];
  for (const [k, v] of Object.entries(params)) out.push(str(k, utf8), str(v, utf8));
  return out.length === 0 ? 'NIL' : `(${out.join(' ')})`;
}

/**
 * Parameters as sent. A text/plain part without parameters, as a part without a
 * Content-Type is stored, is US-ASCII (RFC 2045 §5.2, RFC 2046 §4.1.2).
 */
function partParams(p: Part): Record<string, string> | undefined {
  if (p.type === 'text' && p.subtype === 'plain' && p.params === undefined) {
    return { charset: 'us-ascii' };
  }
  return p.params;
}

// body-fld-dsp: "(" string SP body-fld-param ")" / nil
function dispositionText(p: Part, utf8: boolean): string {
  const d = p.disposition;
  if (d === undefined) return 'NIL';
  return `(${str(d.type, utf8)} ${paramsText(d.params, utf8)})`;
}

// body-fld-lang: nstring / "(" string *(SP string) ")"
function languageText(p: Part, utf8: boolean): string {
  if (p.language === undefined || p.language.length === 0) return 'NIL';
  return `(${p.language.map((l) => str(l, utf8)).join(' ')})`;
}

// body-fields: body-fld-param SP body-fld-id SP body-fld-desc SP body-fld-enc SP body-fld-octets
function fieldsText(p: Part, utf8: boolean): string {
  return [
    paramsText(partParams(p), utf8),
    nstr(p.id, utf8),
    nstr(p.description, utf8),
    str(p.encoding, utf8),
    String(p.bodySize),
  ].join(' ');
}

/** A zero-length text/plain part: stands in where the tree has no usable structure. */
function emptyPart(at: number): Part {
  return {
    headerStart: at,
    bodyStart: at,
    end: at,
    type: 'text',
    subtype: 'plain',
    encoding: '7bit',
    bodySize: 0,
    bodyLines: 0,
  };
}

function isMessageType(p: Part, opts: StructureOptions): boolean {
  return (
    p.type === 'message' &&
    (p.subtype === 'rfc822' || (p.subtype === 'global' && opts.messageGlobal))
  );
}

// body-ext-1part: body-fld-md5 SP body-fld-dsp SP body-fld-lang SP body-fld-loc
function ext1Text(p: Part, utf8: boolean): string {
  return ` ${nstr(p.md5, utf8)} ${dispositionText(p, utf8)} ${languageText(p, utf8)} ${nstr(p.location, utf8)}`;
}

// body-ext-mpart: body-fld-param SP body-fld-dsp SP body-fld-lang SP body-fld-loc
function extMpartText(p: Part, utf8: boolean): string {
  return ` ${paramsText(p.params, utf8)} ${dispositionText(p, utf8)} ${languageText(p, utf8)} ${nstr(p.location, utf8)}`;
}

function multipartText(p: Part, extended: boolean, opts: StructureOptions): string {
  // body-type-mpart needs at least one body: a multipart the parser found no parts in
  // gets one empty text/plain part.
  const children = p.parts !== undefined && p.parts.length > 0 ? p.parts : [emptyPart(p.bodyStart)];
  let s = '(';
  for (const c of children) s += partText(c, extended, opts);
  s += ` ${str(p.subtype, opts.utf8)}`;
  if (extended) s += extMpartText(p, opts.utf8);
  return s + ')';
}

function partText(p: Part, extended: boolean, opts: StructureOptions): string {
  if (p.type === 'multipart') return multipartText(p, extended, opts);
  const { utf8 } = opts;
  let s = `(${str(p.type, utf8)} ${str(p.subtype, utf8)} ${fieldsText(p, utf8)}`;
  if (isMessageType(p, opts)) {
    // body-type-msg: ... SP envelope SP body SP body-fld-lines. An enclosed message the
    // parser did not enter (e.g. base64 encoded) gets an empty envelope and body.
    const inner = p.message;
    s += ` ${envelopeText(inner?.envelope, utf8)}`;
    s += ` ${partText(inner ?? emptyPart(p.bodyStart), extended, opts)}`;
    s += ` ${p.bodyLines ?? 0}`;
  } else if (p.type === 'text') {
    s += ` ${p.bodyLines ?? 0}`;
  }
  if (extended) s += ext1Text(p, utf8);
  return s + ')';
}

/**
 * BODY (extended = false) or BODYSTRUCTURE (extended = true) of a part tree, per the
 * body production of RFC 9051 §9: type, subtype, parameters, id, description, encoding
 * and size; lines for text/*; envelope, body and lines for message/rfc822; extension
 * data (md5, disposition, language, location; for multiparts parameters, disposition,
 * language, location) for BODYSTRUCTURE.
 */
export function bodyStructureText(root: Part, extended: boolean, opts: StructureOptions): string {
  return partText(root, extended, opts);
}

/**
 * The part a numeric section path names (RFC 9051 §6.4.5), or null when there is none.
 * Parts of a multipart are numbered from 1; a non-multipart message (the top level, or
 * one enclosed in message/rfc822) has only part 1, its body; a number after a
 * message/rfc822 part counts in the enclosed message. The empty path is the message.
 */
export function findPart(root: Part, path: readonly number[]): Part | null {
  let node = root;
  let isMessage = true;
  for (const n of path) {
    const next = childPart(node, n, isMessage);
    if (next === null) return null;
    isMessage = next.isMessage;
    node = next.part;
  }
  return node;
}

function childPart(
  node: Part,
  n: number,
  isMessage: boolean,
): { part: Part; isMessage: boolean } | null {
  if (node.type === 'multipart') {
    const c = node.parts?.[n - 1];
    return c === undefined ? null : { part: c, isMessage: false };
  }
  // The single part of a non-multipart message is its body: the same entity.
  if (isMessage) return n === 1 ? { part: node, isMessage: false } : null;
  if (node.message !== undefined) return childPart(node.message, n, true);
  return null;
}

/** Whether a part has no children: BINARY decodes only such parts. */
export function isLeaf(p: Part): boolean {
  return p.type !== 'multipart' && p.message === undefined;
}
