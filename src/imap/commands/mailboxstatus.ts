// STATUS data items (RFC 9051 §6.3.11, §7.3.2): parsing the attribute list and writing
// the untagged STATUS response; shared by STATUS and LIST ... RETURN (STATUS) (RFC 5819).
import type { AuthSession } from '../session.js';
import { ParseError, type Parser } from '../parser.js';
import { mailboxName, mailboxObjectId } from '../response.js';
import type { Mailbox } from '../../store/index.js';
import { enableCondstore } from '../condstore.js';

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
  'HIGHESTMODSEQ',
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

/** What some attributes need read beyond the mailbox's counts. */
type StatusReads = { deletedSize: number; highestModseq: number; recent: number };

/** The untagged STATUS response for a mailbox, without "* ". */
function statusLine(c: AuthSession, mb: Mailbox, attrs: string[], r: StatusReads): string {
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
        // RFC 9208 §4.3.2, in KiB like the STORAGE resource.
        return Math.ceil(r.deletedSize / 1024);
      case 'HIGHESTMODSEQ':
        return r.highestModseq; // RFC 7162 §3.1.7
      case 'MAILBOXID':
        return `(${mailboxObjectId(mb)})`; // RFC 8474 §4.2
      case 'RECENT':
        // RFC 3501 §6.3.10: the messages no session has been told of yet.
        return r.recent;
      default:
        throw new Error(`status attribute ${a} not handled`);
    }
  };
  return `STATUS ${mailboxName(mb.name, c.utf8)} (${attrs.map((a) => `${a} ${v(a)}`).join(' ')})`;
}

/** The STATUS response, reading what the attributes need beyond the mailbox's counts. */
export async function statusLineOf(c: AuthSession, mb: Mailbox, attrs: string[]): Promise<string> {
  const deletedSize = attrs.includes('DELETED-STORAGE') ? await c.account.deletedSize(mb.id) : 0;
  const highestModseq = attrs.includes('HIGHESTMODSEQ')
    ? await c.account.mailboxHighestModseq(mb.id)
    : 0;
  const recent = attrs.includes('RECENT') ? await c.account.recentCount(mb.id) : 0;
  return statusLine(c, mb, attrs, { deletedSize, highestModseq, recent });
}

/** Asking for HIGHESTMODSEQ is a CONDSTORE enabling command (RFC 7162 §3.1). */
export async function statusEnables(c: AuthSession, attrs: string[]): Promise<void> {
  if (attrs.includes('HIGHESTMODSEQ')) await enableCondstore(c);
}
