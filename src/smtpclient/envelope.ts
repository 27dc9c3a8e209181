// MAIL and RCPT commands with their ESMTP parameters (RFC 5321 §4.1.1.2-3, RFC 1870,
// RFC 6152, RFC 6531, RFC 8689, RFC 3461), and the checks made before sending any.
import { encodeUtf8AddrXtext, encodeXtext, formatOrcpt, formatPath } from '../smtp/index.js';
import type { Envelope, Recipient, ReplyInfo } from './types.js';

const NON_ASCII = /[^\x00-\x7f]/;
const CONTROL = /[\x00-\x1f\x7f]/;
// A domain or address literal as given; no IDNA conversion, but nothing that breaks the path.
const DOMAIN = /^[^\s<>@"\\,;()]+$/;
// RFC 3461 §4.2: addr-type is an atom.
const ADDR_TYPE = /^[A-Za-z0-9!#$%&'*+\-/?^_`{|}~]+$/;

/**
 * Formats "local@domain" (the localpart unquoted) as a path without brackets. Throws
 * TypeError for addresses the caller must not hand in: control characters, non-ASCII
 * without SMTPUTF8, a missing domain (except for "postmaster" as recipient).
 */
export function formatAddress(address: string, utf8: boolean, recipient: boolean): string {
  const what = recipient ? 'recipient' : 'sender';
  if (CONTROL.test(address)) throw new TypeError(`${what} address has control characters`);
  // RFC 6531 §3.2: UTF-8 in the envelope only with SMTPUTF8.
  if (!utf8 && NON_ASCII.test(address)) {
    throw new TypeError(`${what} address is not ASCII but smtputf8 is not set`);
  }
  const at = address.lastIndexOf('@');
  const localpart = at < 0 ? address : address.slice(0, at);
  if (localpart === '') throw new TypeError(`${what} address has an empty localpart`);
  if (at < 0) {
    // RFC 5321 §4.1.1.3: "postmaster" without a domain is a valid recipient.
    if (recipient && localpart.toLowerCase() === 'postmaster') return localpart;
    throw new TypeError(`${what} address has no domain`);
  }
  const domain = address.slice(at + 1);
  if (!DOMAIN.test(domain)) throw new TypeError(`${what} address has an invalid domain`);
  return formatPath({ localpart, domain: { ascii: domain, unicode: domain }, ipLiteral: null });
}

/** ORCPT value (RFC 3461 §4.2); a non-ASCII address uses type utf-8 (RFC 6533 §3). */
export function orcptValue(o: { addrType: string; address: string }): string {
  if (!ADDR_TYPE.test(o.addrType)) throw new TypeError('invalid ORCPT address type');
  if (CONTROL.test(o.address)) throw new TypeError('ORCPT address has control characters');
  if (NON_ASCII.test(o.address)) return `utf-8;${encodeUtf8AddrXtext(o.address)}`;
  return formatOrcpt(o);
}

export type Commands = { mail: string; rcpts: string[] };

/** Builds MAIL and RCPT for the extensions the server announced. Throws TypeError. */
export function buildCommands(env: Envelope, ext: ReadonlyMap<string, string>): Commands {
  if (env.recipients.length === 0) throw new TypeError('envelope has no recipients');
  if (!Number.isSafeInteger(env.size) || env.size < 0) throw new TypeError('invalid size');
  const utf8 = env.smtputf8;
  const dsn = ext.has('DSN');
  const from = env.from === null ? '' : formatAddress(env.from, utf8, false);
  let mail = `MAIL FROM:<${from}>`;
  if (ext.has('SIZE')) mail += ` SIZE=${env.size}`; // RFC 1870 §6
  if (env.has8bit) mail += ' BODY=8BITMIME'; // RFC 6152 §2
  if (utf8) mail += ' SMTPUTF8'; // RFC 6531 §3.4
  if (env.requireTLS) mail += ' REQUIRETLS'; // RFC 8689 §4.1
  if (dsn && env.ret) mail += ` RET=${env.ret}`; // RFC 3461 §4.3
  if (dsn && env.envid !== undefined) {
    if (!/^[\x20-\x7e]+$/.test(env.envid)) throw new TypeError('ENVID must be printable ASCII');
    mail += ` ENVID=${encodeXtext(env.envid)}`; // RFC 3461 §4.4
  }
  const rcpts = env.recipients.map((r) => rcptCommand(r, utf8, dsn));
  return { mail, rcpts };
}

function rcptCommand(r: Recipient, utf8: boolean, dsn: boolean): string {
  let cmd = `RCPT TO:<${formatAddress(r.address, utf8, true)}>`;
  if (!dsn) return cmd;
  // RFC 3461 §4.1: NEVER alone, or a comma list.
  if (r.notify !== undefined) {
    const v = r.notify === 'NEVER' ? 'NEVER' : r.notify.join(',');
    if (v === '') throw new TypeError('empty NOTIFY list');
    cmd += ` NOTIFY=${v}`;
  }
  if (r.orcpt !== undefined) cmd += ` ORCPT=${orcptValue(r.orcpt)}`;
  return cmd;
}

function local(code: number, secode: string, text: string): ReplyInfo {
  return { code, secode, text, lines: [text], local: true };
}

/**
 * A permanent failure decided before MAIL, when the server cannot take the message as
 * it is: too big, 8-bit or UTF-8 without support, REQUIRETLS impossible.
 */
export function policyFailure(
  env: Envelope,
  ext: ReadonlyMap<string, string>,
  tls: boolean,
): ReplyInfo | null {
  // RFC 1870 §4: a SIZE of 0 (or none) means no fixed limit.
  const limit = /^[0-9]+$/.test(ext.get('SIZE') ?? '') ? Number(ext.get('SIZE')) : 0;
  if (limit > 0 && env.size > limit) {
    return local(
      552,
      '5.3.4',
      `message of ${env.size} octets exceeds the remote limit of ${limit}`,
    );
  }
  // RFC 6152 §3: no downgrade here; the message needs 8BITMIME.
  if (env.has8bit && !ext.has('8BITMIME')) {
    return local(554, '5.6.3', 'remote server does not support 8BITMIME, message has 8-bit data');
  }
  // RFC 6531 §3.2.
  if (env.smtputf8 && !ext.has('SMTPUTF8')) {
    return local(554, '5.6.7', 'remote server does not support SMTPUTF8, message needs it');
  }
  // RFC 8689 §4.2.1: REQUIRETLS needs a TLS connection to a server announcing it.
  if (env.requireTLS && !(tls && ext.has('REQUIRETLS'))) {
    const why = tls ? 'remote server does not support REQUIRETLS' : 'connection is not TLS';
    return local(550, '5.7.30', `REQUIRETLS needed but ${why}`);
  }
  return null;
}
