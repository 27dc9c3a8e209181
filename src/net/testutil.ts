// Test helpers for connection code (excluded from the build): a connected pair of TCP
// sockets over loopback.
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface SocketPair {
  /** The accepted (server) side. */
  server: Socket;
  /** The connecting (client) side. */
  client: Socket;
  /** Destroy both sockets. */
  close(): void;
}

export function socketPair(): Promise<SocketPair> {
  return new Promise((resolve, reject) => {
    const listener = createServer();
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => {
      const { port } = listener.address() as AddressInfo;
      let client: Socket | null = null;
      listener.once('connection', (server: Socket) => {
        listener.close();
        const c = client as Socket;
        const done = () =>
          resolve({
            server,
            client: c,
            close: () => {
              server.destroy();
              c.destroy();
            },
          });
        if (c.connecting) c.once('connect', done);
        else done();
      });
      client = connect(port, '127.0.0.1');
      client.once('error', reject);
    });
  });
}
