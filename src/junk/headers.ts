// Tokens of header fields for the junk filter, each prefixed by its field's name: the
// ones that tell most about a message's origin and kind (Subject, From, To, Cc,
// Reply-To, List-Id, X-Mailer, User-Agent), and those of each part's Content-Type.
import {
  decodeEncodedWords,
  decodeHeaderValue,
  headerValue,
  parseAddressList,
  type Address,
  type HeaderField,
  type Part,
} from '../message/index.js';
import type { Tokens } from './tokens.js';

function addressDomain(a: Address): string | null {
  return a.host ? a.host.toLowerCase().replace(/^\[|\]$/g, '') : null;
}

/** Tokens of the header fields that tell most about a message's origin and kind. */
export function headerTokens(fields: readonly HeaderField[], c: Tokens): void {
  const subject = headerValue(fields, 'subject');
  if (subject !== undefined) {
    const text = decodeHeaderValue(subject);
    c.words(text, 'subject:', true, true);
  } else c.add('subject:none');

  const from = parseAddressList(headerValue(fields, 'from') ?? '').filter((a) => a.host);
  const fromDomains = new Set<string>();
  for (const a of from.slice(0, 3)) {
    if (a.name) c.words(decodeEncodedWords(a.name), 'from:name:', false);
    const d = addressDomain(a);
    if (d) {
      fromDomains.add(d);
      c.add(`from:domain:${d}`);
      c.add(`from:addr:${(a.mailbox ?? '').toLowerCase()}@${d}`);
    }
  }
  if (from.length === 0) c.add('from:none');

  for (const [name, prefix] of [
    ['to', 'to:'],
    ['cc', 'cc:'],
  ] as const) {
    const value = headerValue(fields, name);
    if (value === undefined) {
      if (name === 'to') c.add('to:none');
      continue;
    }
    const list = parseAddressList(value);
    const domains = new Set(list.map(addressDomain).filter((d): d is string => d !== null));
    if (list.some((a) => a.host === null && a.mailbox !== null)) c.add(`${prefix}group`);
    let n = 0;
    for (const d of domains) if (n++ < 20) c.add(`${prefix}domain:${d}`);
  }

  const replyTo = headerValue(fields, 'reply-to');
  if (replyTo !== undefined) {
    for (const a of parseAddressList(replyTo).slice(0, 3)) {
      const d = addressDomain(a);
      if (!d) continue;
      c.add(`reply-to:domain:${d}`);
      if (!fromDomains.has(d)) c.add('reply-to:other-domain');
    }
  }

  const listId = headerValue(fields, 'list-id');
  if (listId !== undefined) {
    const id = /<([^<>]*)>/.exec(listId)?.[1] ?? listId;
    c.add(`list-id:${id.trim().toLowerCase().slice(0, 200)}`);
  }
  for (const name of ['x-mailer', 'user-agent']) {
    const v = headerValue(fields, name);
    if (v !== undefined) c.words(decodeHeaderValue(v), `${name}:`, false);
  }
}

/** Tokens of a part's Content-Type: media type, charset and an attachment's extension. */
export function contentTypeTokens(p: Part, c: Tokens): void {
  c.add(`content-type:${p.type}/${p.subtype}`);
  const charset = p.params?.charset;
  if (charset) c.add(`content-type:charset=${charset.toLowerCase().slice(0, 40)}`);
  if (p.encoding !== '7bit') c.add(`content-transfer-encoding:${p.encoding.slice(0, 40)}`);
  const name = p.disposition?.params?.filename ?? p.params?.name;
  const ext = name ? /\.([a-z0-9]{1,10})$/i.exec(name)?.[1] : undefined;
  if (ext) c.add(`content-type:name=.${ext.toLowerCase()}`);
}
