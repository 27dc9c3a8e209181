// The command table's types (RFC 9051 §6: commands and the states they are valid in). A
// handler is typed by its state: one for the authenticated state receives a session with
// its account, one for the selected state also its selected mailbox.
import type { Parser } from '../parser.js';
import type { AuthSession, ImapSession, SelectedSession, State } from '../session.js';

export type { State } from '../session.js';

/** Returned by a handler that wrote its own tagged response. */
export const HANDLED = Symbol('handled');

/**
 * A handler parses its arguments fully, acts, and returns the response code text for
 * the tagged OK (e.g. "[READ-WRITE]"), nothing, or HANDLED.
 */
export type Handler<S extends ImapSession = ImapSession> = (
  c: S,
  tag: string,
  p: Parser,
  name: string,
) => Promise<string | void | typeof HANDLED>;

type Options = {
  /**
   * No untagged EXPUNGE may be sent while the command runs or before its tagged reply
   * (non-UID FETCH, STORE, SEARCH: RFC 9051 §7.5.1), so pending changes stay queued.
   * LOGOUT too: a client that is leaving has dropped its view of the mailbox, and
   * updates after BYE only show up in its logs as errors.
   */
  noChangesDuring?: boolean;
};

/** Where a command is valid, and its handler typed for that. */
export type CommandDef = Options &
  (
    | { states: 'any' | 'notauth'; handler: Handler<ImapSession> }
    | { states: 'auth'; handler: Handler<AuthSession> }
    | { states: 'selected'; handler: Handler<SelectedSession> }
  );

/** Whether a command of `def` may run in `state`. */
export function validIn(def: CommandDef, state: State): boolean {
  switch (def.states) {
    case 'any':
      return state !== 'logout';
    case 'notauth':
      return state === 'notauth';
    case 'auth':
      return state === 'auth' || state === 'selected';
    case 'selected':
      return state === 'selected';
  }
}

export const anyState = (handler: Handler<ImapSession>, o: Options = {}): CommandDef => ({
  states: 'any',
  handler,
  ...o,
});
export const notAuthenticated = (handler: Handler<ImapSession>): CommandDef => ({
  states: 'notauth',
  handler,
});
export const authenticated = (handler: Handler<AuthSession>, o: Options = {}): CommandDef => ({
  states: 'auth',
  handler,
  ...o,
});
export const selected = (handler: Handler<SelectedSession>, o: Options = {}): CommandDef => ({
  states: 'selected',
  handler,
  ...o,
});
