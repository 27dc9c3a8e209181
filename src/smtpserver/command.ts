// What every SMTP command handler shares: its signature, its result for metrics, and the
// check that the client said HELO or EHLO first. The command table (commands.ts) and the
// handlers depend on this file, never on each other.
import type { SmtpConn } from './conn.js';
import { userError } from './errors.js';
import { C, SE } from '../smtp/index.js';

export type CommandResult = { code: number; secode: string } | void;
export type Command = (c: SmtpConn, args: string) => Promise<CommandResult>;

/** Requires HELO/EHLO first (RFC 5321 §4.1.4). */
export function requireHello(c: SmtpConn): void {
  if (!c.hello) throw userError(C.BadSequence, SE.InvalidCmd1, 'no ehlo/helo yet');
}
