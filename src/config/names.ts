// Names found in configuration: domains, email addresses, account and mailbox names.
import { domainToASCII } from 'node:url';

const labelPattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * Validates a domain name and returns its lower-case ASCII (IDNA) form, or a problem
 * description. IP addresses, trailing dots, underscores and empty labels are refused.
 */
export function normalizeDomain(input: string): { domain: string } | { problem: string } {
  const quoted = JSON.stringify(input);
  if (input === '') return { problem: 'empty domain name' };
  if (input.endsWith('.')) return { problem: `domain ${quoted} must not end with a dot` };
  const ascii = domainToASCII(input);
  if (ascii === '') return { problem: `invalid domain name ${quoted}` };
  // RFC 1035 §2.3.4: 63 octets per label, 255 per name on the wire (253 as text).
  if (ascii.length > 253) return { problem: `domain ${quoted} is longer than 253 characters` };
  const labels = ascii.split('.');
  for (const label of labels) {
    if (!labelPattern.test(label)) {
      return {
        problem: `invalid domain name ${quoted}: label ${JSON.stringify(label)} must be 1-63 letters, digits or inner hyphens`,
      };
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] as string)) {
    return { problem: `${quoted} is an IP address or numeric, not a domain name` };
  }
  return { domain: ascii };
}

/** A mailbox name was refused; `reason` says why (without the name). */
export class MailboxNameError extends Error {
  override readonly name = 'MailboxNameError';
  readonly reason: string;
  readonly mailbox: string;

  constructor(mailbox: string, reason: string) {
    super(`invalid mailbox name ${JSON.stringify(mailbox)}: ${reason}`);
    this.mailbox = mailbox;
    this.reason = reason;
  }
}

// C0, DEL, C1 controls and the Unicode line/paragraph separators; lone surrogates.
const mailboxControl = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u;
const loneSurrogate = /[\ud800-\udfff]/u;

/**
 * Checks a mailbox name and returns its normal form: `/` separates levels, a first level
 * of "inbox" in any case becomes "Inbox". Throws MailboxNameError for an empty name,
 * leading, trailing or double slashes, "." or ".." levels, a leading "#", control
 * characters, or text not in Unicode NFC.
 */
export function checkMailboxName(name: string): string {
  if (name === '') throw new MailboxNameError(name, 'empty name');
  if (loneSurrogate.test(name)) throw new MailboxNameError(name, 'not valid Unicode');
  if (name.normalize('NFC') !== name) {
    throw new MailboxNameError(name, 'not in Unicode normalization form C (NFC)');
  }
  if (mailboxControl.test(name)) throw new MailboxNameError(name, 'contains control characters');
  if (name.startsWith('#')) throw new MailboxNameError(name, 'starts with "#"');
  if (name.startsWith('/')) throw new MailboxNameError(name, 'starts with "/"');
  if (name.endsWith('/')) throw new MailboxNameError(name, 'ends with "/"');
  const parts = name.split('/');
  for (const part of parts) {
    if (part === '') throw new MailboxNameError(name, 'contains "//"');
    if (part === '.' || part === '..') {
      throw new MailboxNameError(name, `contains a "${part}" level`);
    }
  }
  // RFC 9051 §5.1: INBOX is case-insensitive.
  if ((parts[0] as string).toLowerCase() === 'inbox') parts[0] = 'Inbox';
  return parts.join('/');
}

const accountNamePattern = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$/;

/**
 * Account names become directory names: ASCII letters, digits, ".", "-" and "_",
 * at most 64 characters, not starting with ".". Returns a problem or undefined.
 */
export function checkAccountName(name: string): string | undefined {
  if (accountNamePattern.test(name)) return undefined;
  if (name.length > 64) return `account name is longer than 64 characters`;
  if (name.startsWith('.')) return `account name must not start with "."`;
  return `invalid account name ${JSON.stringify(name)}: use letters, digits, ".", "-" and "_"`;
}

// RFC 5322 §3.2.3 atext, extended with non-ASCII by RFC 6531 §3.3.
const atom = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10ffff}]+$/u;

/** Validates a dot-atom localpart (NFC-normalised); returns it or a problem. */
export function normalizeLocalpart(input: string): { localpart: string } | { problem: string } {
  const lp = input.normalize('NFC');
  const quoted = JSON.stringify(input);
  if (lp === '') return { problem: 'empty localpart' };
  // RFC 5321 §4.5.3.1.1: at most 64 octets.
  if (Buffer.byteLength(lp) > 64) {
    return { problem: `localpart ${quoted} is longer than 64 octets` };
  }
  if (mailboxControl.test(lp) || loneSurrogate.test(lp)) {
    return { problem: `localpart ${quoted} contains control characters` };
  }
  for (const a of lp.split('.')) {
    if (!atom.test(a)) {
      return {
        problem: `invalid localpart ${quoted}: expected a dot-atom (no quotes, spaces, "@", leading, trailing or double dots)`,
      };
    }
  }
  return { localpart: lp };
}

/** A parsed address; `domain` is lower-case ASCII, `localpart` as written (NFC). */
export interface ParsedAddress {
  localpart: string;
  domain: string;
}

/** Splits "localpart@domain" at the last "@" and validates both halves. */
export function parseAddress(input: string): ParsedAddress | { problem: string } {
  const at = input.lastIndexOf('@');
  if (at < 0) return { problem: `address ${JSON.stringify(input)} has no "@"` };
  const lp = normalizeLocalpart(input.slice(0, at));
  if ('problem' in lp) return lp;
  const d = normalizeDomain(input.slice(at + 1));
  if ('problem' in d) return d;
  return { localpart: lp.localpart, domain: d.domain };
}
