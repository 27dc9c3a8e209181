// localserve (development mode): special localparts make a command fail; the
// convention is described in src/smtp/localserve.ts.
import type { SmtpConn } from './conn.js';
import { SmtpError } from './errors.js';
import { C, SE, localserveEffect, type LocalserveStage } from '../smtp/index.js';

export { localserveEffect, type LocalserveStage };

/** The error for a forced code: the enhanced code is the class with ".0.0". */
export function localserveError(code: number): SmtpError {
  return new SmtpError(code, SE.Other0, `failure with code ${code} due to special localpart`, {
    user: true,
  });
}

/**
 * The error after a forced hang. The client asked for it, so it is a user error: it is
 * not logged or counted as a failure of ours.
 */
export function localserveTimeoutError(): SmtpError {
  return new SmtpError(C.LocalError, SE.OtherMailSystem0, 'timing out due to special localpart', {
    user: true,
  });
}

/** Fails (or hangs) a command when a localserve special localpart asks for it. */
export async function localserveFailure(
  c: SmtpConn,
  localpart: string,
  stage: LocalserveStage,
): Promise<void> {
  const eff = localserveEffect(localpart, stage);
  if (!eff) return;
  if (eff.timeout) {
    c.log.info({ stage }, 'timing out due to special localpart');
    await new Promise((r) => setTimeout(r, c.ctx.delays.localserveTimeout));
    throw localserveTimeoutError();
  }
  c.log.info({ stage, code: eff.code }, 'failure due to special localpart');
  throw localserveError(eff.code);
}
