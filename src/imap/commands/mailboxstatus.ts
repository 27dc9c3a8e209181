// STATUS data items (RFC 9051 §6.3.11, §7.3.2): parsing the attribute list and writing
// the untagged STATUS response; shared by STATUS and LIST ... RETURN (STATUS) (RFC 5819).
import type { AuthSession } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { mailboxName, mailboxObjectId } from '../response.js';
import type { Mailbox } from '../../store/index.js';

const STATUS_ATTRS = [
  'MESSAGES',
  'UIDNEXT',
  'UIDVALIDITY',
  'UNSEEN',
  'DELETED',
  'SIZE',
  'RECENT',
  'APPENDLIMIT',
  'MAILBOXID',
  'DELETED-STORAGE',
];

/** "(" status-att *(SP status-att) ")" (RFC 9051 §9), upper-cased. */
export function parseStatusAttrs(p: Parser): string[] {
  p.expect('(');
  const attrs: string[] = [];
  do {
    const a = p.atom().toUpperCase();
    if (!STATUS_ATTRS.includes(a)) throw new ParseError(`unknown status attribute ${a}`);
    attrs.push(a);
  } while (p.take(' '));
  p.expect(')');
  return attrs;
}

/**
 * The untagged STATUS response for a mailbox, without "* ". DELETED-STORAGE (RFC 9208
 * §4.3.2, in KiB like the STORAGE resource) needs a read: see statusLineOf.
 */
export function statusLine(c: AuthSession, mb: Mailbox, attrs: string[], deletedSize = 0): string {
  const v = (a: string): number | string => {
    switch (a) {
      case 'MESSAGES':
        return mb.counts.total;
      case 'UIDNEXT':
        return mb.uidnext;
      case 'UIDVALIDITY':
        return mb.uidvalidity;
      case 'UNSEEN':
        return mb.counts.unseen;
      case 'DELETED':
        return mb.counts.deleted;
      case 'SIZE':
        return mb.counts.size;
      case 'APPENDLIMIT':
        return c.ctx.limits.maxMessageSize;
      case 'DELETED-STORAGE':
        return Math.ceil(deletedSize / 1024);
      case 'MAILBOXID':
        return `(${mailboxObjectId(mb)})`; // RFC 8474 §4.2
      default:
        return 0; // RECENT: not tracked (always 0)
    }
  };
  return `STATUS ${mailboxName(mb.name, c.utf8)} (${attrs.map((a) => `${a} ${v(a)}`).join(' ')})`;
}

/** statusLine, reading what the attributes need beyond the mailbox's counts. */
export async function statusLineOf(c: AuthSession, mb: Mailbox, attrs: string[]): Promise<string> {
  const deleted = attrs.includes('DELETED-STORAGE') ? await c.account.deletedSize(mb.id) : 0;
  return statusLine(c, mb, attrs, deleted);
}
