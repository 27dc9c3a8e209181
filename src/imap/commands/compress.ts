// COMPRESS (RFC 4978): deflate for the rest of the connection.
import type { Handler } from './types.js';
import type { AuthSession } from '../session.js';
import { UserError } from '../errors.js';
import { HANDLED } from './types.js';

// RFC 4978 §3 COMPRESS; syntax §4 "compress". The OK goes out uncompressed; everything
// after it, both ways, is compressed.
export const compress: Handler<AuthSession> = async (c, tag, p) => {
  p.sp();
  const mechanism = p.atom().toUpperCase();
  p.end();
  if (c.compressed) throw new UserError('COMPRESSIONACTIVE', 'compression is already active');
  if (mechanism !== 'DEFLATE') {
    throw new UserError('', `unknown compression mechanism ${mechanism}, only DEFLATE`);
  }
  c.send(`${tag} OK DEFLATE active\r\n`);
  await c.flush();
  await c.startCompression();
  return HANDLED;
};
