// Not-authenticated commands: STARTTLS, LOGIN, AUTHENTICATE (RFC 9051 §6.2; RFC 4959
// SASL-IR; spec/imap.md §1.3).
import { HANDLED, type Handler } from './types.js';
import { ParseError } from '../parser.js';
import { UserError } from '../errors.js';
import type { Conn } from '../connection.js';
import {
  channelBindingFromSocket,
  createSaslServer,
  spendPasswordCheck,
  verifyPassword,
  type SaslContext,
  type StoredSecrets,
} from '../../sasl/index.js';
import { accountAddresses, resolveAddress } from '../../config/index.js';
import type { TLSSocket } from 'node:tls';

export const starttls: Handler = async (c, tag, p) => {
  p.end();
  if (c.tlsActive) throw new ParseError('TLS already active');
  if (!c.ctx.tls) throw new ParseError('STARTTLS not available');
  // Capabilities are not repeated: the client must ask again (RFC 9051 §6.2.1).
  c.send(`${tag} OK STARTTLS (${c.cid}) done\r\n`);
  await c.flush();
  await c.startTLS();
  return HANDLED;
};

/** The account and login address for a user name: an address, or an account name. */
export function lookupLogin(
  c: Conn,
  username: string,
): { account: string; address: string } | null {
  const cfg = c.ctx.domains();
  const name = username.normalize('NFC');
  if (name.includes('@')) {
    const r = resolveAddress(cfg, name);
    if (r.kind === 'account') return { account: r.account, address: r.canonical };
    return null;
  }
  if (cfg.accounts[name]) return { account: name, address: accountAddresses(cfg, name)[0] ?? name };
  return null;
}

async function secretsOf(c: Conn, account: string): Promise<StoredSecrets | null> {
  return (await c.ctx.store.account(account)).secrets<StoredSecrets>();
}

export const login: Handler = async (c, _tag, p) => {
  p.sp();
  const user = await p.astring();
  p.sp();
  const pass = await p.astring();
  p.end();
  await c.authBackoff();
  if (!c.plaintextAllowed) {
    c.authFailure('', user, 'login', 'badprotocol');
    throw new UserError('PRIVACYREQUIRED', 'login only allowed with TLS');
  }
  const who = lookupLogin(c, user);
  if (!who) {
    await spendPasswordCheck(pass);
    c.authFailure('', user, 'login', 'badcredentials');
    throw new UserError('AUTHENTICATIONFAILED', 'login failed');
  }
  if (c.tlsIdentity && c.tlsIdentity.account !== who.account) {
    c.authFailure(who.account, user, 'login', 'badcredentials');
    throw new UserError('AUTHENTICATIONFAILED', 'login failed');
  }
  const secrets = await secretsOf(c, who.account);
  if (!secrets?.scrypt) {
    c.authFailure(who.account, user, 'login', 'error', false);
    throw new UserError('AUTHENTICATIONFAILED', 'no password set for this account');
  }
  if (!(await verifyPassword(secrets, pass))) {
    c.authFailure(who.account, user, 'login', 'badcredentials');
    throw new UserError('AUTHENTICATIONFAILED', 'login failed');
  }
  await c.loginAccount(who.account, who.address, 'login');
  return `[CAPABILITY ${c.capabilities()}]`;
};

const decode64 = (s: string): Buffer => {
  if (s === '=') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0)
    throw new ParseError('invalid base64');
  return Buffer.from(s, 'base64');
};

export const authenticate: Handler = async (c, _tag, p) => {
  p.sp();
  const mech = p.atom().toUpperCase();
  let initial: Buffer | null = null;
  if (p.take(' ')) initial = decode64(p.atom()); // SASL-IR (RFC 4959); "=" is empty
  p.end();
  return runSasl(c, mech, initial);
};

async function runSasl(c: Conn, mech: string, initial: Buffer | null): Promise<string> {
  await c.authBackoff();
  const m = mech.toLowerCase();
  if (mech === 'LOGIN') throw new UserError('', 'method not supported');
  if (mech === 'PLAIN' && !c.plaintextAllowed) {
    c.authFailure('', '', m, 'badprotocol');
    throw new UserError('PRIVACYREQUIRED', 'PLAIN only allowed with TLS');
  }
  if (mech === 'EXTERNAL' && !c.tlsIdentity) throw new UserError('', 'no client certificate');
  const ctx: SaslContext = {
    hostname: c.ctx.hostname,
    lookup: async (username) => {
      const who = lookupLogin(c, username);
      if (!who) return null;
      return { account: who.account, secrets: await secretsOf(c, who.account) };
    },
    tls: c.tlsActive ? channelBindingFromSocket(c.socket as TLSSocket) : null,
    externalIdentity: c.tlsIdentity,
    allowAddresses: async (account, address) => lookupLogin(c, address)?.account === account,
  };
  const server = createSaslServer(mech, ctx);
  if (!server) throw new UserError('', 'method not supported');
  let response: Buffer | null = initial;
  for (;;) {
    const step = await server.step(response);
    if (step.kind === 'challenge') {
      c.send(`+ ${step.data.toString('base64')}\r\n`);
      await c.flush();
      response = await readSaslLine(c);
      if (response === null) {
        c.authFailure('', '', m, 'aborted', false);
        throw new ParseError('authentication aborted');
      }
      continue;
    }
    if (step.kind === 'success') {
      if (step.final && step.final.length > 0) {
        // RFC 9051 §6.2.2: server-final data goes in a continuation; the client answers
        // with an empty line.
        c.send(`+ ${step.final.toString('base64')}\r\n`);
        await c.flush();
        const r = await readSaslLine(c);
        if (r === null || r.length !== 0) {
          throw new ParseError('expected empty response after final server data');
        }
      }
      if (c.tlsIdentity && c.tlsIdentity.account !== step.account) {
        c.authFailure(step.account, step.username, m, 'badcredentials');
        throw new UserError('AUTHENTICATIONFAILED', 'authentication failed');
      }
      await c.loginAccount(
        step.account,
        lookupLogin(c, step.username)?.address ?? step.username,
        m,
      );
      return `[CAPABILITY ${c.capabilities()}]`;
    }
    switch (step.reason) {
      case 'badProtocol':
        c.authFailure('', '', m, 'badprotocol');
        throw new ParseError(step.message);
      case 'aborted':
        c.authFailure('', '', m, 'aborted', false);
        throw new ParseError('authentication aborted');
      case 'missingSecrets':
        c.authFailure('', '', m, 'error', false);
        throw new UserError('', `${mech} not possible for this account: set the password again`);
      case 'unknownUser':
        c.authFailure('', '', m, 'badcredentials');
        // No code: do not tell whether the account exists.
        if (mech.startsWith('SCRAM')) throw new UserError('', 'scram not possible');
        throw new UserError('AUTHENTICATIONFAILED', 'authentication failed');
      case 'authzFailed':
        c.authFailure('', '', m, 'badcredentials');
        throw new UserError('AUTHORIZATIONFAILED', 'authorization failed');
      case 'badChannelBinding':
        c.log.warn({ mech }, 'channel binding mismatch, potential man-in-the-middle');
        c.authFailure('', '', m, 'badchannelbinding');
        throw new UserError('AUTHENTICATIONFAILED', 'channel binding mismatch, potential mitm');
      case 'channelBindingUnavailable':
        c.authFailure('', '', m, 'badprotocol', false);
        throw new UserError('', step.message);
      default:
        c.authFailure('', '', m, 'badcredentials');
        throw new UserError('AUTHENTICATIONFAILED', 'authentication failed');
    }
  }
}

/** A client response line: base64, or null for "*" (abort, RFC 9051 §6.2.2). */
async function readSaslLine(c: Conn): Promise<Buffer | null> {
  const line = (await c.nextLine()).toString('latin1');
  if (line === '*') return null;
  return line === '' ? Buffer.alloc(0) : decode64(line);
}
