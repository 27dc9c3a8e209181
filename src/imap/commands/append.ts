// APPEND with MULTIAPPEND (RFC 3502: all messages or none), LITERAL+ (RFC 7888), binary
// literals (RFC 3516) and UTF8 (RFC 6855). Message literals stream into temp files and
// are checked up front: the mailbox must exist (TRYCREATE) and fit the quota (OVERQUOTA)
// before "+ " invites a synchronizing literal. A NUL octet is a syntax error except in a
// literal8 (RFC 9051 §9: CHAR8 excludes NUL).
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { UserError } from '../errors.js';
import { ParseError, type Parser } from '../parser.js';
import {
  splitFlags,
  type Mailbox,
  type PreparedMessage,
  type NewMessage,
} from '../../store/index.js';
import { addOwn, applyChanges } from '../changes.js';
import { compactSet } from '../uids.js';

/** The messages of an APPEND (or REPLACE) command, in temp files, checked. */
type AppendItems = { items: NewMessage[]; prepared: PreparedMessage[] };

/**
 * Reads the messages of an APPEND (or the one of a REPLACE, `single`): optional flags,
 * date and UTF8 wrapper, then the literal, streamed into a temp file. The caller cleans
 * up `prepared` whatever happens; on failure the rest of the command is still read.
 */
export async function readAppendMessages(
  c: AuthSession,
  p: Parser,
  mb: Mailbox | null,
  out: AppendItems,
  single = false,
): Promise<void> {
  const account = c.account;
  let failure: UserError | ParseError | null = null;
  let total = 0;
  let count = 0;
  for (;;) {
    let flags: string[] = [];
    let date: number | undefined;
    if (p.peek('(')) {
      flags = p.flagList();
      p.sp();
    }
    if (p.peek('"')) {
      date = p.dateTime();
      p.sp();
    }
    const utf8 = p.take('UTF8 (');
    const lit = p.literalHere();
    if (!lit) throw new ParseError('expected message literal');
    if (utf8 && !lit.binary) throw new ParseError('UTF8 APPEND needs a binary literal ~{n}');
    c.checkMessageLiteral(lit);
    total += lit.size;
    // Checked before the first "+ " (or, for non-synchronizing literals, reported after
    // reading the data, which is on its way anyway).
    if (!failure && !mb) failure = new UserError('TRYCREATE', 'mailbox does not exist');
    count++;
    const over: string | null = failure ? null : await account.overQuota(total, count);
    if (over) failure = new UserError('OVERQUOTA', over);
    if (!failure && lit.size === 0) failure = new UserError('', 'empty message, cancelling append');
    if (failure && lit.sync) throw failure;
    if (lit.sync) {
      c.send('+ \r\n');
      await c.flush();
    }
    const tmp = await c.ctx.store.tempMessage();
    try {
      for await (const chunk of c.readLiteralStream(lit.size)) {
        if (!failure && !lit.binary && chunk.includes(0)) {
          // The rest is read and dropped, so the command ends in step with the client.
          failure = new ParseError('NUL in message, allowed only in a literal8 ~{n}');
        }
        if (!failure) await tmp.write(chunk);
      }
      if (failure) await tmp.abort();
      else {
        const pm = await tmp.finish({ syncLater: true });
        out.prepared.push(pm);
        const { bits, keywords } = splitFlags(flags.filter((f) => f.toLowerCase() !== '\\recent'));
        out.items.push({ message: pm, flags: bits, keywords, internalDate: date });
      }
    } catch (e) {
      await tmp.abort();
      throw e;
    }
    c.log.trace({ size: lit.size }, 'append message data');
    await p.continueLine();
    if (utf8) p.expect(')');
    if (single || p.atEnd) break;
    p.sp();
  }
  if (failure) throw failure;
}

/**
 * Adds the read messages; tells a session that has the mailbox selected. Returns the
 * APPENDUID response code (RFC 4315 §3); `announce` sends it before any EXISTS.
 */
export async function addAppended(
  c: AuthSession,
  mb: Mailbox,
  items: NewMessage[],
  announce?: (code: string) => void,
) {
  const r = await c.account.addMessages(mb.id, items, { from: c.session });
  const code = `APPENDUID ${r.mailbox.uidvalidity} ${compactSet(r.messages.map((m) => m.uid))}`;
  announce?.(code);
  const sel = c.selected;
  if (sel && sel.mailbox.id === r.mailbox.id) {
    // Changes committed before ours first, then our own UIDs: sequence numbers follow
    // UID order (RFC 9051 §2.3.1.2), and ours are the newest.
    if (c.session) applyChanges(c, c.session.takeBeforeOwnCommit(), 'own');
    addOwn(
      c,
      sel,
      r.messages.map((m) => m.uid),
    );
  }
  return code;
}

// RFC 9051 §6.3.12 APPEND; syntax §9 "append".
export const append: Handler<AuthSession> = async (c, _tag, p) => {
  p.sp();
  const name = await p.mailbox();
  p.sp();
  const mb = await c.account.mailbox(name);
  const read: AppendItems = { items: [], prepared: [] };
  try {
    await readAppendMessages(c, p, mb, read);
    return `[${await addAppended(c, mb!, read.items)}]`;
  } finally {
    await Promise.all(read.prepared.map((pm) => pm.cleanup()));
  }
};
