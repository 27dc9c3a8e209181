// The command table: name -> handler and the states it is valid in (RFC 9051 §3, §6).
// A known command in the wrong state gets NO; an unknown one BAD.
import { anyState, authenticated, notAuthenticated, selected, type CommandDef } from './types.js';
import { capability, id, logout, noop } from './any.js';
import { authenticate, login, starttls } from './auth.js';
import { enable } from './enable.js';
import { examine, select } from './select.js';
import { create, del, rename, subscribe, unsubscribe } from './manage.js';
import { list, lsub, namespace } from './list.js';
import { status } from './status.js';
import { append } from './append.js';
import { idle } from './idle.js';
import { check, close, copy, expunge, move, store, unselect, uidExpunge } from './selected.js';
import { fetchHandler } from './fetch.js';
import { searchHandler } from './search.js';
import { esearchHandler } from './esearch.js';
import { getmetadata, setmetadata } from './metadata.js';
import { getquota, getquotaroot, setquota } from './quota.js';
import { compress } from './compress.js';
import { sortHandler } from './sort.js';
import { threadHandler } from './thread.js';
import { replace } from './replace.js';
import { notify } from './notify.js';

const table: [string, CommandDef][] = [
  ['CAPABILITY', anyState(capability)],
  ['NOOP', anyState(noop)],
  ['LOGOUT', anyState(logout, { noChangesDuring: true })],
  ['ID', anyState(id)],
  ['STARTTLS', notAuthenticated(starttls)],
  ['AUTHENTICATE', notAuthenticated(authenticate)],
  ['LOGIN', notAuthenticated(login)],
  ['ENABLE', authenticated(enable)],
  ['SELECT', authenticated(select)],
  ['EXAMINE', authenticated(examine)],
  ['CREATE', authenticated(create)],
  ['DELETE', authenticated(del)],
  ['RENAME', authenticated(rename)],
  ['SUBSCRIBE', authenticated(subscribe)],
  ['UNSUBSCRIBE', authenticated(unsubscribe)],
  ['LIST', authenticated(list)],
  ['LSUB', authenticated(lsub)],
  ['NAMESPACE', authenticated(namespace)],
  ['STATUS', authenticated(status)],
  ['APPEND', authenticated(append)],
  ['IDLE', authenticated(idle)],
  ['NOTIFY', authenticated(notify)],
  ['COMPRESS', authenticated(compress)],
  ['GETQUOTA', authenticated(getquota)],
  ['GETQUOTAROOT', authenticated(getquotaroot)],
  ['SETQUOTA', authenticated(setquota)],
  ['CHECK', selected(check)],
  ['CLOSE', selected(close)],
  ['UNSELECT', selected(unselect)],
  ['EXPUNGE', selected(expunge)],
  ['UID EXPUNGE', selected(uidExpunge)],
  ['SEARCH', selected(searchHandler, { noChangesDuring: true })],
  ['UID SEARCH', selected(searchHandler)],
  ['ESEARCH', authenticated(esearchHandler)],
  ['GETMETADATA', authenticated(getmetadata)],
  ['SETMETADATA', authenticated(setmetadata)],
  ['SORT', selected(sortHandler, { noChangesDuring: true })],
  ['UID SORT', selected(sortHandler)],
  ['THREAD', selected(threadHandler, { noChangesDuring: true })],
  ['UID THREAD', selected(threadHandler)],
  ['FETCH', selected(fetchHandler, { noChangesDuring: true })],
  ['UID FETCH', selected(fetchHandler)],
  ['STORE', selected(store, { noChangesDuring: true })],
  ['UID STORE', selected(store)],
  ['COPY', selected(copy)],
  ['UID COPY', selected(copy)],
  ['MOVE', selected(move)],
  ['REPLACE', selected(replace)],
  ['UID REPLACE', selected(replace)],
  ['UID MOVE', selected(move)],
];

export const COMMANDS = new Map<string, CommandDef>(table);
export type { State } from './types.js';
