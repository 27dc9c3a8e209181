// COMPRESS=DEFLATE (RFC 4978): the connection's two directions as raw deflate streams
// (RFC 1951) inside the socket (and its TLS).
//
// Responses: every flush of the writer ends with a sync flush of the compressor, so the
// client can decode each response as soon as it arrives. Commands: the inflater emits
// what it can decode as data arrives, whatever the client's flushing: a full or sync
// flush, a partial flush (which leaves the last bits of a block to an empty fixed block
// that follows), or none at all until later. Reads stay bounded: the line reader pauses
// the inflater when it holds enough, and the pipe then pauses the socket.
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { createDeflateRaw, createInflateRaw, constants } from 'node:zlib';
import type { Logger } from '../log/index.js';

export type DeflateStreams = {
  /** The client's commands, inflated. */
  input: Readable;
  /** Responses written here go out compressed. */
  output: Writable;
  /**
   * Sends everything written so far (Z_SYNC_FLUSH); resolves once the compressed bytes
   * are handed to the socket, so a close that follows loses none.
   */
  flush: () => Promise<void>;
};

/**
 * Starts compression on `socket`; `buffered` are bytes read after the tagged OK of
 * COMPRESS (compressed already, RFC 4978 §3). An invalid stream from the client closes
 * the connection.
 */
export function deflateStreams(socket: Socket, buffered: Buffer, log: Logger): DeflateStreams {
  const inflate = createInflateRaw();
  const deflate = createDeflateRaw({ level: 6 });
  socket.once('close', () => {
    inflate.destroy();
    deflate.destroy();
  });
  inflate.on('error', (err) => {
    log.info({ err: err.message }, 'compressed data from the client is not valid deflate');
    socket.destroy();
  });
  deflate.on('error', () => socket.destroy());
  deflate.pipe(socket);
  if (buffered.length > 0) inflate.write(buffered);
  socket.pipe(inflate);
  socket.resume();
  return {
    input: inflate,
    output: deflate,
    flush: () =>
      new Promise<void>((resolve) => {
        if (deflate.destroyed) return resolve();
        // The callback runs once the flushed bytes are out of zlib; the pipe writes them
        // to the socket in the same turn of the event loop, before anything else runs.
        deflate.flush(constants.Z_SYNC_FLUSH, () => setImmediate(resolve));
      }),
  };
}
