// The command table's types (RFC 9051 §6: commands and the states they are valid in).
import type { Conn } from '../connection.js';
import type { Parser } from '../parser.js';

export type State = 'notauth' | 'auth' | 'selected' | 'logout';

/** Returned by a handler that wrote its own tagged response. */
export const HANDLED = Symbol('handled');

/**
 * A handler parses its arguments fully, acts, and returns the response code text for
 * the tagged OK (e.g. "[READ-WRITE]"), nothing, or HANDLED.
 */
export type Handler = (
  c: Conn,
  tag: string,
  p: Parser,
  name: string,
) => Promise<string | void | typeof HANDLED>;

export type CommandDef = {
  states: readonly State[];
  handler: Handler;
  /**
   * No untagged EXPUNGE may be sent while the command runs or before its tagged reply
   * (non-UID FETCH, STORE, SEARCH: RFC 9051 §7.5.1), so pending changes stay queued.
   */
  noChangesDuring?: boolean;
};

export const ANY: readonly State[] = ['notauth', 'auth', 'selected'];
export const NOTAUTH: readonly State[] = ['notauth'];
export const AUTH: readonly State[] = ['auth', 'selected'];
export const SELECTED: readonly State[] = ['selected'];
