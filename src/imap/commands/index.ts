// The command table: name -> handler and the states it is valid in (spec/imap.md §1.1).
// A known command in the wrong state gets NO; an unknown one BAD.
import { ANY, AUTH, NOTAUTH, SELECTED, type CommandDef } from './types.js';
import { capability, id, logout, noop } from './any.js';
import { authenticate, login, starttls } from './auth.js';
import {
  create,
  del,
  enable,
  examine,
  list,
  lsub,
  namespace,
  rename,
  select,
  status,
  subscribe,
  unsubscribe,
} from './mailbox.js';
import { append } from './append.js';
import { idle } from './idle.js';
import { check, close, copy, expunge, move, store, unselect, uidExpunge } from './selected.js';
import { fetchHandler } from './fetch.js';
import { searchHandler } from './search.js';

const table: [string, CommandDef][] = [
  ['CAPABILITY', { states: ANY, handler: capability }],
  ['NOOP', { states: ANY, handler: noop }],
  ['LOGOUT', { states: ANY, handler: logout }],
  ['ID', { states: ANY, handler: id }],
  ['STARTTLS', { states: NOTAUTH, handler: starttls }],
  ['AUTHENTICATE', { states: NOTAUTH, handler: authenticate }],
  ['LOGIN', { states: NOTAUTH, handler: login }],
  ['ENABLE', { states: AUTH, handler: enable }],
  ['SELECT', { states: AUTH, handler: select }],
  ['EXAMINE', { states: AUTH, handler: examine }],
  ['CREATE', { states: AUTH, handler: create }],
  ['DELETE', { states: AUTH, handler: del }],
  ['RENAME', { states: AUTH, handler: rename }],
  ['SUBSCRIBE', { states: AUTH, handler: subscribe }],
  ['UNSUBSCRIBE', { states: AUTH, handler: unsubscribe }],
  ['LIST', { states: AUTH, handler: list }],
  ['LSUB', { states: AUTH, handler: lsub }],
  ['NAMESPACE', { states: AUTH, handler: namespace }],
  ['STATUS', { states: AUTH, handler: status }],
  ['APPEND', { states: AUTH, handler: append }],
  ['IDLE', { states: AUTH, handler: idle }],
  ['CHECK', { states: SELECTED, handler: check }],
  ['CLOSE', { states: SELECTED, handler: close }],
  ['UNSELECT', { states: SELECTED, handler: unselect }],
  ['EXPUNGE', { states: SELECTED, handler: expunge }],
  ['UID EXPUNGE', { states: SELECTED, handler: uidExpunge }],
  ['SEARCH', { states: SELECTED, handler: searchHandler, noChangesDuring: true }],
  ['UID SEARCH', { states: SELECTED, handler: searchHandler }],
  ['FETCH', { states: SELECTED, handler: fetchHandler, noChangesDuring: true }],
  ['UID FETCH', { states: SELECTED, handler: fetchHandler }],
  ['STORE', { states: SELECTED, handler: store, noChangesDuring: true }],
  ['UID STORE', { states: SELECTED, handler: store }],
  ['COPY', { states: SELECTED, handler: copy }],
  ['UID COPY', { states: SELECTED, handler: copy }],
  ['MOVE', { states: SELECTED, handler: move }],
  ['UID MOVE', { states: SELECTED, handler: move }],
];

export const COMMANDS = new Map<string, CommandDef>(table);
export type { State } from './types.js';
