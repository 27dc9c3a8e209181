// localserve: special localparts make a stage of mail handling fail, so developers can
// test how their software handles SMTP errors (development mode only). The localpart
// starts with the stage it affects and ends in a reply code or "timeout":
//   mailfrom550@...   MAIL FROM fails with 550
//   rcptto451@...     RCPT TO fails with 451
//   data554@...       the message is refused after DATA for this recipient
//   queue550@...      the queue's delivery attempt fails with 550
//   rcpttotimeout@... no reply for an hour

export type LocalserveStage = 'mailfrom' | 'rcptto' | 'data' | 'queue';

export type LocalserveEffect = { timeout: true } | { timeout: false; code: number } | null;

/** The forced outcome a localpart asks for at a stage, if any. */
export function localserveEffect(localpart: string, stage: LocalserveStage): LocalserveEffect {
  const lp = localpart.toLowerCase();
  if (!lp.startsWith(stage)) return null;
  const rest = lp.slice(stage.length);
  if (rest === 'timeout') return { timeout: true };
  const m = /^([45]\d\d)$/.exec(rest);
  return m ? { timeout: false, code: Number(m[1]) } : null;
}
