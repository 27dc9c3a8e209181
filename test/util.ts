// Helpers shared by the server-level tests.
import net from 'node:net';

/** Connects and returns what the server sends first (its greeting line). */
export function firstLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let data = '';
    s.on('data', (d) => {
      data += d;
      // The first line is enough.
      if (data.includes('\r\n')) {
        s.destroy();
        resolve(data);
      }
    });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
}
