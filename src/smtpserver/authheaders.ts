// Authentication-Results fields in an incoming message that claim to be ours (their
// authserv-id is our host name) are forgeries or leftovers; RFC 8601 §5 has the border
// MTA delete or obscure them. They are renamed in place to a field of the same length,
// so the message's stored offsets stay valid and nothing is copied.
import { open } from 'node:fs/promises';
import { authservId } from '../msgauth/index.js';
import type { PreparedMessage } from '../store/index.js';
import type { MessageInfo } from './msginfo.js';

const NAME = 'Authentication-Results';
/** Same length as NAME: a rename keeps every offset of the message. */
export const OBSCURED_NAME = 'X-Removed-Auth-Results';

/** Renames our-looking Authentication-Results fields; returns how many. */
export async function obscureOwnAuthResults(
  msg: PreparedMessage,
  info: MessageInfo,
  hostname: string,
): Promise<number> {
  const host = hostname.toLowerCase();
  const header = msg.header;
  const offsets: number[] = [];
  for (const f of info.fields) {
    if (f.name.toLowerCase() !== NAME.toLowerCase()) continue;
    if (authservId(f.value) !== host) continue;
    // The field's bytes are a view into the header block, which starts the file.
    if (f.raw.buffer !== header.buffer) continue;
    offsets.push(f.raw.byteOffset - header.byteOffset);
  }
  if (offsets.length === 0) return 0;
  const fh = await open(msg.path, 'r+');
  try {
    for (const at of offsets) await fh.write(OBSCURED_NAME, at, 'latin1');
    await fh.sync();
  } finally {
    await fh.close();
  }
  return offsets.length;
}
