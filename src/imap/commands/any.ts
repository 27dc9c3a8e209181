// Commands valid in any state: CAPABILITY, NOOP, LOGOUT, ID (RFC 9051 §6.1, RFC 2971).
import type { Handler } from './types.js';
import { ParseError } from '../parser.js';
import { PRODUCT, VERSION } from '../../version.js';
import { quote, bytes } from '../response.js';

// RFC 9051 §6.1.1 CAPABILITY; syntax §9 "command-any".
export const capability: Handler = async (c, _tag, p) => {
  p.end();
  c.untagged(`CAPABILITY ${c.capabilities()}`);
};

// RFC 9051 §6.1.2 NOOP; syntax §9 "command-any". Pending changes go out before the
// tagged reply: this is how clients poll.
export const noop: Handler = async (_c, _tag, p) => {
  p.end();
};

// RFC 9051 §6.1.3 LOGOUT; syntax §9 "command-any".
export const logout: Handler = async (c, _tag, p) => {
  p.end();
  c.untagged('BYE thanks');
  c.state = 'logout';
};

// RFC 2971 §3.1 ID; syntax RFC 2971 §4 "id". Records the client's name for login
// attempts; answers with ours.
export const id: Handler = async (c, _tag, p) => {
  p.sp();
  const fields = new Map<string, string | null>();
  if (!p.take('NIL')) {
    p.expect('(');
    while (!p.take(')')) {
      if (fields.size > 0) p.sp();
      const k = (await p.string()).toString('utf8');
      p.sp();
      const v = await p.nstring();
      const key = k.toLowerCase();
      if (fields.has(key)) throw new ParseError(`duplicate ID key ${JSON.stringify(k)}`);
      if (fields.size >= 30) throw new ParseError('too many ID fields');
      fields.set(key, v === null ? null : v.toString('utf8'));
    }
  }
  p.end();
  const name = fields.get('name');
  const version = fields.get('version');
  if (name) {
    c.userAgent = [name, version].filter(Boolean).join(' ').slice(0, 200);
    c.log.info({ userAgent: c.userAgent }, 'client id');
    c.logins.flush();
  }
  const ours = [`"name" ${quote(PRODUCT)}`];
  if (c.state !== 'notauth') ours.push(`"version" ${quote(VERSION)}`);
  c.untagged(bytes(`ID (${ours.join(' ')})`));
};
